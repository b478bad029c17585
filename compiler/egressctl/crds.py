"""Validate rendered objects against CustomResourceDefinitions, CEL rules included.

The checks are the ones the API server makes when an object is created, so egressctl
can report a rejection before anything is applied:

* the structural OpenAPI schema of the served version: types, ``nullable``, enums,
  ``required``, bounds, lengths, patterns, item and property counts, cheap string
  formats, ``oneOf``/``anyOf``/``allOf``/``not``, ``x-kubernetes-int-or-string``,
  ``x-kubernetes-preserve-unknown-fields`` and ``x-kubernetes-list-type``;
* fields the schema does not declare, reported as ``unknown field "x"`` (kubectl's
  server-side field validation rejects them; the server would otherwise prune them);
* the light ObjectMeta checks the server makes on ``metadata``;
* every ``x-kubernetes-validations`` CEL rule, at the node that declares it, with
  ``self`` bound to that node's value, evaluated only when the node is present and
  neither it nor anything under it has a type or enum error (the server likewise holds
  CEL back when such "blocking" errors exist).  Transition rules (``oldSelf``) and rules
  that call a function this module cannot provide are skipped and listed in
  :attr:`CrdSet.skipped_rules`.

CEL runs on the ``common-expression-language`` bindings (``cel``).  Their native
library and :mod:`cel.stdlib` cover the CEL core and the cel-go string, list, set and
math extensions; this module adds the Kubernetes IP, CIDR, URL, regex and list
functions.  Known differences from the API server: ``quantity`` and ``format.*`` are not
provided (rules using them are skipped), ``string(ip(...))`` is not supported,
``duration()`` does not accept the ``µs`` unit, and ``date-time``/``byte``/``duration``
strings reach CEL as strings rather than timestamps, bytes and durations.

Pure apart from :meth:`CrdSet.from_file` (reads a file) and :meth:`CrdSet.from_cluster`
(runs kubectl through :mod:`egressctl.runners`).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime
import ipaddress
import itertools
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import yaml

try:  # common-expression-language needs Python 3.11+; on 3.10 CEL rules are skipped
    import cel
    from cel.stdlib import STDLIB_FUNCTIONS, index_of, last_index_of
except ImportError:  # pragma: no cover - exercised only on Python 3.10
    cel = None  # type: ignore[assignment]
    STDLIB_FUNCTIONS = {}
    index_of = last_index_of = None  # type: ignore[assignment]

from egressctl import runners
from egressctl.errors import ToolError, UsageError
from egressctl.files import read_bounded, utf8_problem, yaml_problem

_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
CRD_FILE_MAX_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class CrdProblem:
    """One reason the API server would reject an object."""

    kind: str  # e.g. "ServiceEntry"
    name: str  # metadata.name
    path: str  # dotted path into the object, e.g. "spec.ports[0].number" ("" for root)
    message: str  # what is wrong; for CEL failures the rule's message (or the rule text)
    rule: str = ""  # the CEL rule text when the problem came from a CEL rule

    def format(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.kind}/{self.name}: {where}{self.message}"


# ---------------------------------------------------------------------------
# Kubernetes CEL extension functions
#
# The bindings convert only plain values, so IPs, CIDRs and URLs travel through CEL as
# one-key maps: equality still works (`ip("::1") == ip("0::1")`), and the member
# functions below unwrap them.

_IP = "__k8s_ip__"
_CIDR = "__k8s_cidr__"
_URL = "__k8s_url__"

_Addr = ipaddress.IPv4Address | ipaddress.IPv6Address
_Iface = ipaddress.IPv4Interface | ipaddress.IPv6Interface


def _parse_ip(text: Any) -> _Addr:
    if not isinstance(text, str):
        raise TypeError(f"ip: expected a string, got {type(text).__name__}")
    if "%" in text:
        raise ValueError(f"IP address with zone value is not allowed: {text}")
    addr = ipaddress.ip_address(text)
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        raise ValueError(f"IPv4-mapped IPv6 address is not allowed: {text}")
    return addr


def _parse_cidr(text: Any) -> _Iface:
    if not isinstance(text, str):
        raise TypeError(f"cidr: expected a string, got {type(text).__name__}")
    address, slash, _ = text.partition("/")
    if not slash:
        raise ValueError(f"network address parse error: no '/' in {text!r}")
    _parse_ip(address)
    return ipaddress.ip_interface(text)


def _as_ip(value: Any) -> _Addr:
    if isinstance(value, Mapping) and _IP in value:
        return ipaddress.ip_address(value[_IP])
    return _parse_ip(value)


def _as_cidr(value: Any) -> _Iface:
    if isinstance(value, Mapping) and _CIDR in value:
        return ipaddress.ip_interface(value[_CIDR])
    return _parse_cidr(value)


def _ip(value: Any) -> dict[str, str]:
    """``ip(string)``, and ``cidr.ip()`` (the address part of a CIDR)."""
    if isinstance(value, Mapping) and _CIDR in value:
        return {_IP: str(ipaddress.ip_interface(value[_CIDR]).ip)}
    return {_IP: str(_parse_ip(value))}


def _is_ip(text: Any) -> bool:
    try:
        _parse_ip(text)
    except (TypeError, ValueError):
        return False
    return True


def _is_canonical(text: Any) -> bool:
    return bool(str(_parse_ip(text)) == text)


def _family(value: Any) -> int:
    return _as_ip(value).version


def _is_link_local_multicast(value: Any) -> bool:
    addr = _as_ip(value)
    if addr.version == 4:
        return addr in ipaddress.ip_network("224.0.0.0/24")
    packed = addr.packed
    return packed[0] == 0xFF and packed[1] & 0x0F == 0x02


def _is_global_unicast(value: Any) -> bool:
    # Go's net.IP.IsGlobalUnicast, not Python's is_global (which excludes private ranges).
    addr = _as_ip(value)
    if addr == ipaddress.ip_address("255.255.255.255"):
        return False
    return not (addr.is_unspecified or addr.is_loopback or addr.is_multicast or addr.is_link_local)


def _cidr(text: Any) -> dict[str, str]:
    iface = _parse_cidr(text)
    return {_CIDR: f"{iface.ip}/{iface.network.prefixlen}"}


def _is_cidr(text: Any) -> bool:
    try:
        _parse_cidr(text)
    except (TypeError, ValueError):
        return False
    return True


def _contains_ip(cidr: Any, ip: Any) -> bool:
    network = _as_cidr(cidr).network
    addr = _as_ip(ip)
    return addr.version == network.version and addr in network


def _contains_cidr(cidr: Any, other: Any) -> bool:
    outer = _as_cidr(cidr).network
    inner = _as_cidr(other).network
    return inner.version == outer.version and inner.subnet_of(outer)  # type: ignore[arg-type]


def _prefix_length(cidr: Any) -> int:
    return _as_cidr(cidr).network.prefixlen


def _masked(cidr: Any) -> dict[str, str]:
    return {_CIDR: str(_as_cidr(cidr).network)}


def _go_scheme(raw: str) -> tuple[str, str]:
    """Go's url.getScheme: the scheme (lower-cased) and the rest."""
    for i, char in enumerate(raw):
        if char.isascii() and char.isalpha():
            continue
        if char.isascii() and (char.isdigit() or char in "+-."):
            if i == 0:
                return "", raw
            continue
        if char == ":":
            if i == 0:
                raise ValueError("missing protocol scheme")
            return raw[:i].lower(), raw[i + 1 :]
        return "", raw
    return "", raw


_PORT_RE = re.compile(r"\d*")
_BAD_ESCAPE_RE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _parse_url(raw: Any) -> dict[str, Any]:
    """Go's url.ParseRequestURI, which Kubernetes' ``url()`` and ``isURL()`` use."""
    if not isinstance(raw, str):
        raise TypeError(f"url: expected a string, got {type(raw).__name__}")
    if not raw:
        raise ValueError("empty url")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in raw):
        raise ValueError("invalid control character in URL")
    scheme, rest = _go_scheme(raw)
    query = ""
    if rest.endswith("?") and rest.count("?") == 1:
        rest = rest[:-1]
    else:
        rest, _, query = rest.partition("?")
    url: dict[str, Any] = {_URL: raw, "scheme": scheme, "host": "", "query": query}
    if not rest.startswith("/"):
        if not scheme:
            raise ValueError("invalid URI for request")
        url["path"] = ""
        return url
    if scheme and rest.startswith("//"):
        authority, slash, tail = rest[2:].partition("/")
        rest = slash + tail
        host = authority.rpartition("@")[2]
        if host.startswith("["):
            end = host.find("]")
            if end < 0:
                raise ValueError("missing ']' in host")
            port_part = host[end + 1 :]
            if port_part and (port_part[0] != ":" or not _PORT_RE.fullmatch(port_part[1:])):
                raise ValueError(f"invalid port {port_part!r} after host")
        elif ":" in host and not _PORT_RE.fullmatch(host.rpartition(":")[2]):
            raise ValueError(f"invalid port {':' + host.rpartition(':')[2]!r} after host")
        url["host"] = host
    if _BAD_ESCAPE_RE.search(rest):
        raise ValueError("invalid URL escape")
    url["path"] = rest
    return url


def _is_url(raw: Any) -> bool:
    try:
        _parse_url(raw)
    except (TypeError, ValueError):
        return False
    return True


def _url_part(url: Any) -> Mapping[str, Any]:
    if isinstance(url, Mapping) and _URL in url:
        return url
    raise TypeError("expected a URL made by url()")


def _split_host(host: str) -> tuple[str, str]:
    if host.startswith("["):
        end = host.find("]")
        return host[1:end], host[end + 2 :]
    name, colon, port = host.rpartition(":")
    return (name, port) if colon else (host, "")


def _get_hostname(url: Any) -> str:
    return _split_host(str(_url_part(url)["host"]))[0]


def _get_port(url: Any) -> str:
    return _split_host(str(_url_part(url)["host"]))[1]


def _get_query(url: Any) -> dict[str, list[str]]:
    return parse_qs(str(_url_part(url)["query"]), keep_blank_values=True)


def _is_sorted(items: Any) -> bool:
    return all(a <= b for a, b in itertools.pairwise(items))


def _find(text: str, pattern: str) -> str:
    match = re.search(pattern, text)
    return match.group(0) if match else ""


def _find_all(text: str, pattern: str, limit: int = -1) -> list[str]:
    found = [m.group(0) for m in re.finditer(pattern, text)]
    return found if limit < 0 else found[:limit]


def _index_of(target: Any, item: Any, *rest: Any) -> int:
    if isinstance(target, list):
        return target.index(item) if item in target else -1
    return index_of(target, item, *rest)


def _last_index_of(target: Any, item: Any, *rest: Any) -> int:
    if isinstance(target, list):
        return len(target) - 1 - target[::-1].index(item) if item in target else -1
    return last_index_of(target, item, *rest)


_K8S_FUNCTIONS: dict[str, Callable[..., Any]] = {
    # IP and CIDR (k8s.io/apiserver/pkg/cel/library/ip.go, cidr.go)
    "isIP": _is_ip,
    "ip": _ip,
    "ip.isCanonical": _is_canonical,
    "family": _family,
    "isUnspecified": lambda v: _as_ip(v).is_unspecified,
    "isLoopback": lambda v: _as_ip(v).is_loopback,
    "isLinkLocalMulticast": _is_link_local_multicast,
    "isLinkLocalUnicast": lambda v: _as_ip(v).is_link_local,
    "isGlobalUnicast": _is_global_unicast,
    "isCIDR": _is_cidr,
    "cidr": _cidr,
    "containsIP": _contains_ip,
    "containsCIDR": _contains_cidr,
    "prefixLength": _prefix_length,
    "masked": _masked,
    # URLs (library/urls.go)
    "isURL": _is_url,
    "url": _parse_url,
    "getScheme": lambda u: _url_part(u)["scheme"],
    "getHost": lambda u: _url_part(u)["host"],
    "getHostname": _get_hostname,
    "getPort": _get_port,
    "getEscapedPath": lambda u: _url_part(u)["path"],
    "getQuery": _get_query,
    # regex and lists (library/regex.go, lists.go)
    "find": _find,
    "findAll": _find_all,
    "isSorted": _is_sorted,
    "indexOf": _index_of,
    "lastIndexOf": _last_index_of,
}

_FUNCTIONS: dict[str, Callable[..., Any]] = {**STDLIB_FUNCTIONS, **_K8S_FUNCTIONS}

# What the Rust interpreter provides itself; macros (has, all, exists, exists_one, map,
# filter) never show up in Program.functions().
_NATIVE = frozenset(
    [
        "size",
        "contains",
        "startsWith",
        "endsWith",
        "matches",
        "int",
        "uint",
        "double",
        "string",
        "bytes",
        "timestamp",
        "duration",
        "dyn",
        "type",
        "getFullYear",
        "getMonth",
        "getDayOfYear",
        "getDayOfMonth",
        "getDate",
        "getDayOfWeek",
        "getHours",
        "getMinutes",
        "getSeconds",
        "getMilliseconds",
        "of",
        "none",
        "ofNonZeroValue",
        "hasValue",
        "value",
        "or",
        "orValue",
    ]
)

# Program.functions() names a namespaced call ("ip.isCanonical") by its last segment.
_BY_SHORT_NAME: dict[str, list[str]] = {}
for _name in _FUNCTIONS:
    _BY_SHORT_NAME.setdefault(_name.rpartition(".")[2], []).append(_name)

# Evaluation errors the bindings raise: no such key, no such overload, a function that
# failed, an integer out of range…  Each means "the rule could not be evaluated".
_CEL_LOG = logging.getLogger("cel")

_CEL_ERRORS = (KeyError, TypeError, ValueError, RuntimeError, IndexError, ArithmeticError)


# ---------------------------------------------------------------------------
# Compiled rules


@dataclass(frozen=True, slots=True)
class _Program:
    """One compiled CEL expression and the Python functions it needs."""

    program: Any  # cel.Program
    functions: Mapping[str, Callable[..., Any]]

    def execute(self, value: Any) -> Any:
        if not self.functions:
            return self.program.execute({"self": value})
        context = cel.Context(variables={"self": value}, functions=dict(self.functions))
        # The bindings log a Python function's exception (logger "cel") before raising it;
        # the caller reports the exception itself, so keep the log quiet meanwhile.
        quiet, _CEL_LOG.disabled = _CEL_LOG.disabled, True
        try:
            return self.program.execute(context)
        finally:
            _CEL_LOG.disabled = quiet


@dataclass(frozen=True, slots=True)
class _Rule:
    rule: str
    message: str
    field_path: str  # the rule's fieldPath in CrdProblem form: "value", "[key]" or ""
    program: _Program
    message_program: _Program | None


class _Compiler:
    """Compiles each distinct CEL expression once; remembers the ones it cannot run."""

    def __init__(self) -> None:
        self._cache: dict[str, _Program | str] = {}
        self.skipped: list[str] = []
        self.label = ""  # the CRD kind and version being compiled, for skipped rules

    def program(self, text: str) -> _Program | str:
        """The compiled program, or why it cannot be evaluated."""
        cached = self._cache.get(text)
        if cached is None:
            cached = self._cache[text] = _compile(text)
        return cached

    def rule(self, raw: Any, where: str) -> _Rule | None:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("rule"), str):
            self.skipped.append(f"{self.label} {where}: not a rule: {raw!r}")
            return None
        text = raw["rule"]
        compiled = self.program(text)
        if isinstance(compiled, str):
            self.skipped.append(f"{self.label} {where}: {compiled}: {text}")
            return None
        message_program = None
        if isinstance(raw.get("messageExpression"), str):
            candidate = self.program(raw["messageExpression"])
            message_program = candidate if isinstance(candidate, _Program) else None
        return _Rule(
            rule=text,
            message=str(raw.get("message") or ""),
            field_path=_relative_path(str(raw.get("fieldPath") or "")),
            program=compiled,
            message_program=message_program,
        )


def _compile(text: str) -> _Program | str:
    if cel is None:
        return "CEL is unavailable (needs Python 3.11+ and common-expression-language)"
    try:
        program = cel.compile(text)
    except (ValueError, RuntimeError) as exc:
        return f"does not compile ({str(exc).splitlines()[0]})"
    if "oldSelf" in program.variables():
        return "transition rule (uses oldSelf)"
    used = [f for f in program.functions() if not f.startswith(("_", "@", "!_", "-_"))]
    functions: dict[str, Callable[..., Any]] = {}
    unknown: list[str] = []
    for name in used:
        full_names = _BY_SHORT_NAME.get(name, [])
        if not full_names and name not in _NATIVE:
            unknown.append(name)
        for full in full_names:
            functions[full] = _FUNCTIONS[full]
    if unknown:
        return "uses unsupported function " + ", ".join(sorted(set(unknown)))
    return _Program(program, functions)


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"no such key: {exc.args[0] if exc.args else ''}"
    # Drop the bindings' plumbing and generic advice ("… Check function arguments …").
    text = str(exc).replace("Python function call failed: ", "")
    return text.split(". ", 1)[0].rstrip(".")


# ---------------------------------------------------------------------------
# Compiled schemas

_KINDS = ("object", "array", "string", "integer", "number", "boolean")


class _Schema:
    """One node of a structural schema, with its CEL rules compiled."""

    def __init__(self, raw: Mapping[str, Any], where: str, compiler: _Compiler, junctor: bool):
        self.type: str | None = raw.get("type") if raw.get("type") in _KINDS else None
        self.nullable = bool(raw.get("nullable"))
        self.int_or_string = bool(raw.get("x-kubernetes-int-or-string"))
        self.preserve = bool(raw.get("x-kubernetes-preserve-unknown-fields"))
        self.embedded = bool(raw.get("x-kubernetes-embedded-resource"))
        props = raw.get("properties")
        self.properties: dict[str, _Schema] | None = None
        if isinstance(props, Mapping):
            self.properties = {
                str(key): _Schema(sub, _join(where, str(key)), compiler, junctor)
                for key, sub in props.items()
                if isinstance(sub, Mapping)
            }
        additional = raw.get("additionalProperties")
        self.additional: _Schema | bool | None = None
        if isinstance(additional, Mapping):
            self.additional = _Schema(additional, f"{where}[*]", compiler, junctor)
        elif isinstance(additional, bool):
            self.additional = additional
        items = raw.get("items")
        self.items = (
            _Schema(items, f"{where}[*]", compiler, junctor) if isinstance(items, Mapping) else None
        )
        self.required: tuple[str, ...] = tuple(str(r) for r in raw.get("required") or ())
        enum = raw.get("enum")
        self.enum: tuple[Any, ...] | None = tuple(enum) if isinstance(enum, list) else None
        self.minimum: float | None = _number(raw.get("minimum"))
        self.maximum: float | None = _number(raw.get("maximum"))
        self.exclusive_minimum = bool(raw.get("exclusiveMinimum"))
        self.exclusive_maximum = bool(raw.get("exclusiveMaximum"))
        self.multiple_of: float | None = _number(raw.get("multipleOf"))
        self.min_length: int | None = raw.get("minLength")
        self.max_length: int | None = raw.get("maxLength")
        self.min_items: int | None = raw.get("minItems")
        self.max_items: int | None = raw.get("maxItems")
        self.min_properties: int | None = raw.get("minProperties")
        self.max_properties: int | None = raw.get("maxProperties")
        self.pattern: re.Pattern[str] | None = None
        if isinstance(raw.get("pattern"), str):
            # Kubernetes uses Go's RE2; a pattern Python's re cannot read is not checked.
            with contextlib.suppress(re.error):
                self.pattern = re.compile(raw["pattern"])
        self.format: str | None = raw.get("format") if raw.get("format") in _FORMATS else None
        self.list_type: str | None = raw.get("x-kubernetes-list-type")
        self.list_map_keys: tuple[str, ...] = tuple(raw.get("x-kubernetes-list-map-keys") or ())

        def subs(key: str) -> tuple[_Schema, ...]:
            found = raw.get(key)
            if not isinstance(found, list):
                return ()
            return tuple(
                _Schema(s, f"{where}<{key}[{i}]>", compiler, True)
                for i, s in enumerate(found)
                if isinstance(s, Mapping)
            )

        self.all_of = subs("allOf")
        self.any_of = subs("anyOf")
        self.one_of = subs("oneOf")
        self.not_ = (
            _Schema(raw["not"], f"{where}<not>", compiler, True)
            if isinstance(raw.get("not"), Mapping)
            else None
        )
        rules: list[_Rule] = []
        if not junctor:
            for raw_rule in raw.get("x-kubernetes-validations") or ():
                rule = compiler.rule(raw_rule, where or "(root)")
                if rule is not None:
                    rules.append(rule)
        self.rules = tuple(rules)


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# ---------------------------------------------------------------------------
# Validation

_Out = list[tuple[str, str, str]]  # (path, message, rule)

_DATE_TIME_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?"
)
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_UUID_RE = re.compile(r"[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}")


def _valid_byte(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _valid_ip(version: int) -> Callable[[str], bool]:
    def check(text: str) -> bool:
        try:
            return ipaddress.ip_address(text).version == version
        except ValueError:
            return False

    return check


def _valid_cidr(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return "/" in text


_FORMATS: dict[str, Callable[[str], bool]] = {
    "date-time": lambda s: _DATE_TIME_RE.fullmatch(s) is not None,
    "datetime": lambda s: _DATE_TIME_RE.fullmatch(s) is not None,
    "date": lambda s: _DATE_RE.fullmatch(s) is not None,
    "byte": _valid_byte,
    "uuid": lambda s: _UUID_RE.fullmatch(s) is not None,
    "ipv4": _valid_ip(4),
    "ipv6": _valid_ip(6),
    "cidr": _valid_cidr,
}

_IMPLICIT = frozenset({"apiVersion", "kind", "metadata"})


def _kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, (str, datetime.date)):
        return "string"  # PyYAML reads an unquoted date as a date; the API server, a string
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    return type(value).__name__


def _show(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def _same(a: Any, b: Any) -> bool:
    return _kind_of(a) == _kind_of(b) and a == b


def _check(s: _Schema, value: Any, path: str, out: _Out, strict: bool) -> tuple[Any, bool]:
    """Check ``value`` against ``s``, appending problems to ``out``.

    ``strict`` is the structural pass; it is off inside oneOf/anyOf/allOf/not, where
    only value constraints apply.  Returns the value the server would store (nulls and
    unknown fields pruned; numbers as doubles where the schema says ``number``) and
    whether CEL rules may run on it: False after a type or enum error at or below.
    """
    kind = _kind_of(value)
    if isinstance(value, datetime.date):
        value = value.isoformat()
    elif kind == "number" and s.type == "integer" and value.is_integer():
        kind, value = "integer", int(value)  # JSON does not tell 443.0 from 443
    if kind == "null":
        if s.nullable or (s.type is None and not s.int_or_string):
            return value, True
        out.append((path, f"must be of type {s.type or 'integer or string'}, got null", ""))
        return value, False
    if s.type is not None:
        if kind != s.type and not (s.type == "number" and kind == "integer"):
            out.append((path, f"must be of type {s.type}, got {kind} {_show(value)}", ""))
            return value, False
    elif s.int_or_string and kind not in ("integer", "string"):
        out.append((path, f"must be an integer or a string, got {kind} {_show(value)}", ""))
        return value, False
    ok = True
    if s.enum is not None and not any(_same(value, e) for e in s.enum):
        allowed = ", ".join(_show(e) for e in s.enum)
        out.append((path, f"unsupported value {_show(value)}: supported values: {allowed}", ""))
        ok = False

    if kind == "object":
        value, ok_below = _check_object(s, value, path, out, strict)
        ok = ok and ok_below
    elif kind == "array":
        value, ok_below = _check_array(s, value, path, out, strict)
        ok = ok and ok_below
    elif kind == "string":
        _check_string(s, value, path, out)
    elif kind in ("integer", "number"):
        _check_number(s, value, path, out)
        if s.type == "number" and kind == "integer" and strict:
            value = float(value)

    if s.all_of or s.any_of or s.one_of or s.not_ is not None:
        _check_junctors(s, value, path, out)
    if strict and ok and s.rules:
        _run_rules(s, value, path, out)
    return value, ok


def _check_object(
    s: _Schema, value: Mapping[str, Any], path: str, out: _Out, strict: bool
) -> tuple[Any, bool]:
    ok = True
    kept: dict[str, Any] = {}
    changed = False
    props = s.properties or {}
    implicit = strict and (s.embedded or path == "")
    for key, child in value.items():
        sub = props.get(key)
        if implicit and key in _IMPLICIT:
            # apiVersion and kind picked the schema; metadata is ObjectMeta, checked by
            # _check_metadata.  A CRD may still constrain metadata's values.
            if sub is not None:
                _check(sub, child, key, out, strict=False)
            kept[key] = child
            continue
        if sub is None:
            if isinstance(s.additional, _Schema):
                sub = s.additional
                child_path = f"{path}[{key}]"
            elif s.additional is True or s.preserve or not strict:
                kept[key] = child
                continue
            elif s.properties is None and s.additional is None and s.type is None:
                kept[key] = child  # an untyped value-only schema
                continue
            else:
                out.append((path, f'unknown field "{key}"', ""))
                changed = True
                continue
        else:
            child_path = _join(path, key)
        if child is None and strict and not sub.nullable:
            changed = True  # the server prunes a null it was not told to keep
            continue
        stored, child_ok = _check(sub, child, child_path, out, strict)
        ok = ok and child_ok
        changed = changed or stored is not child
        kept[key] = stored
    for key in s.required:
        if key not in kept:
            out.append((path, f'missing required field "{key}"', ""))
    if s.min_properties is not None and len(kept) < s.min_properties:
        out.append((path, f"must have at least {s.min_properties} properties", ""))
    if s.max_properties is not None and len(kept) > s.max_properties:
        out.append((path, f"must have at most {s.max_properties} properties", ""))
    return (kept if changed else value), ok


def _check_array(
    s: _Schema, value: list[Any], path: str, out: _Out, strict: bool
) -> tuple[Any, bool]:
    ok = True
    stored_items: list[Any] = []
    changed = False
    for i, item in enumerate(value):
        if s.items is None:
            stored_items.append(item)
            continue
        stored, item_ok = _check(s.items, item, f"{path}[{i}]", out, strict)
        ok = ok and item_ok
        changed = changed or stored is not item
        stored_items.append(stored)
    if s.min_items is not None and len(value) < s.min_items:
        out.append((path, f"must have at least {s.min_items} items, got {len(value)}", ""))
    if s.max_items is not None and len(value) > s.max_items:
        out.append((path, f"must have at most {s.max_items} items, got {len(value)}", ""))
    if s.list_type in ("set", "map"):
        seen: set[str] = set()
        for i, item in enumerate(stored_items):
            if s.list_type == "map" and isinstance(item, Mapping):
                ident = ", ".join(f"{k}={_show(item.get(k))}" for k in s.list_map_keys)
            else:
                ident = _show(item)
            if ident in seen:
                out.append((f"{path}[{i}]", f"duplicate entry with {ident}", ""))
            seen.add(ident)
    return (stored_items if changed else value), ok


def _check_string(s: _Schema, value: str, path: str, out: _Out) -> None:
    if s.min_length is not None and len(value) < s.min_length:
        out.append((path, f"must be at least {s.min_length} characters long", ""))
    if s.max_length is not None and len(value) > s.max_length:
        out.append((path, f"may be at most {s.max_length} characters long", ""))
    if s.pattern is not None and not s.pattern.search(value):
        out.append((path, f"{_show(value)} does not match pattern {s.pattern.pattern!r}", ""))
    if s.format is not None and not _FORMATS[s.format](value):
        out.append((path, f"{_show(value)} is not a valid {s.format}", ""))


def _check_number(s: _Schema, value: float, path: str, out: _Out) -> None:
    if s.minimum is not None:
        if s.exclusive_minimum and value <= s.minimum:
            out.append((path, f"must be greater than {s.minimum}, got {value}", ""))
        elif value < s.minimum:
            out.append((path, f"must be greater than or equal to {s.minimum}, got {value}", ""))
    if s.maximum is not None:
        if s.exclusive_maximum and value >= s.maximum:
            out.append((path, f"must be less than {s.maximum}, got {value}", ""))
        elif value > s.maximum:
            out.append((path, f"must be less than or equal to {s.maximum}, got {value}", ""))
    if s.multiple_of and value % s.multiple_of:
        out.append((path, f"must be a multiple of {s.multiple_of}, got {value}", ""))


def _passes(s: _Schema, value: Any, path: str) -> tuple[bool, _Out]:
    found: _Out = []
    _check(s, value, path, found, strict=False)
    return not found, found


def _check_junctors(s: _Schema, value: Any, path: str, out: _Out) -> None:
    for sub in s.all_of:
        _check(sub, value, path, out, strict=False)
    if s.any_of and not any(_passes(sub, value, path)[0] for sub in s.any_of):
        out.append((path, "must match at least one of the anyOf schemas", ""))
    if s.one_of:
        matched = [sub for sub in s.one_of if _passes(sub, value, path)[0]]
        if len(matched) != 1:
            out.append((path, _one_of_message(s.one_of, matched, value), ""))
    if s.not_ is not None and _passes(s.not_, value, path)[0]:
        out.append((path, 'must not match the "not" schema', ""))


def _one_of_message(branches: tuple[_Schema, ...], matched: list[_Schema], value: Any) -> str:
    # Istio writes "at most one of these fields" as oneOf: [not anyOf required…, required a,
    # required b…]; name the fields that are set rather than the schema plumbing.
    fields = [b.required[0] for b in branches if len(b.required) == 1]
    if len(matched) > 1 and fields and isinstance(value, Mapping):
        allowed = ", ".join(f'"{f}"' for f in fields)
        present = ", ".join(f'"{f}"' for f in fields if f in value)
        return f"only one of {allowed} may be set; found {present}"
    return f"must match exactly one of the oneOf schemas, matched {len(matched)}"


def _run_rules(s: _Schema, value: Any, path: str, out: _Out) -> None:
    for rule in s.rules:
        where = _field_path(path, rule.field_path)
        try:
            result = rule.program.execute(value)
        except _CEL_ERRORS as exc:
            out.append((where, f"rule could not be evaluated: {_error_text(exc)}", rule.rule))
            continue
        if result is True:
            continue
        if result is not False:
            message = f"rule did not evaluate to a bool (got {_kind_of(result)})"
        else:
            message = _rule_message(rule, value)
        out.append((where, message, rule.rule))


def _rule_message(rule: _Rule, value: Any) -> str:
    if rule.message_program is not None:
        with contextlib.suppress(*_CEL_ERRORS):
            text = rule.message_program.execute(value)
            if isinstance(text, str) and text.strip():
                return text
    return rule.message or rule.rule


def _relative_path(field_path: str) -> str:
    """A rule's ``fieldPath`` (".x['key']") as a CrdProblem path suffix ("x[key]")."""
    return re.sub(r"\['([^']*)'\]", r"[\1]", field_path.strip()).lstrip(".")


def _field_path(path: str, extra: str) -> str:
    if not extra:
        return path
    if not path or extra.startswith("["):
        return path + extra
    return f"{path}.{extra}"


# ---------------------------------------------------------------------------
# metadata: what the API server checks on every custom resource

_META_FIELDS = frozenset(
    [
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    ]
)
_DNS_LABEL_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_QUALIFIED_NAME_RE = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")


def _is_subdomain(text: str) -> bool:
    return len(text) <= 253 and _DNS_SUBDOMAIN_RE.fullmatch(text) is not None


def _is_qualified_name(key: str) -> bool:
    prefix, slash, name = key.rpartition("/")
    if slash and not _is_subdomain(prefix):
        return False
    return len(name) <= 63 and _QUALIFIED_NAME_RE.fullmatch(name) is not None


def _check_metadata(meta: Any, out: _Out) -> None:
    if meta is None:
        out.append(("", 'missing required field "metadata"', ""))
        return
    if not isinstance(meta, Mapping):
        out.append(("metadata", f"must be of type object, got {_kind_of(meta)}", ""))
        return
    for key in sorted(set(meta) - _META_FIELDS):
        out.append(("metadata", f'unknown field "{key}"', ""))
    name = meta.get("name")
    if name is None:
        if meta.get("generateName") is None:
            out.append(("metadata", 'missing required field "name"', ""))
    elif not isinstance(name, str) or not _is_subdomain(name):
        out.append(
            (
                "metadata.name",
                f"invalid name {_show(name)}: must be a lowercase RFC 1123 subdomain "
                "(lower-case letters, digits, '-' and '.'; at most 253 characters)",
                "",
            )
        )
    namespace = meta.get("namespace")
    if namespace is not None and (
        not isinstance(namespace, str)
        or len(namespace) > 63
        or not _DNS_LABEL_RE.fullmatch(namespace)
    ):
        out.append(
            ("metadata.namespace", f"invalid namespace {_show(namespace)}: not a DNS label", "")
        )
    for field in ("labels", "annotations"):
        entries = meta.get(field)
        if entries is None:
            continue
        if not isinstance(entries, Mapping):
            out.append(
                (f"metadata.{field}", f"must be of type object, got {_kind_of(entries)}", "")
            )
            continue
        for key, text in entries.items():
            where = f"metadata.{field}[{key}]"
            if not isinstance(key, str) or not _is_qualified_name(key):
                out.append((where, f"invalid key {_show(key)}: not a qualified name", ""))
            if isinstance(text, datetime.date):
                text = text.isoformat()
            if not isinstance(text, str):
                out.append((where, f"must be of type string, got {_kind_of(text)}", ""))
            elif field == "labels" and (
                len(text) > 63 or (text and not _QUALIFIED_NAME_RE.fullmatch(text))
            ):
                out.append((where, f"invalid label value {_show(text)}", ""))


# ---------------------------------------------------------------------------
# The set of CRDs


def _split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


class CrdSet:
    """The served versions of a set of CRDs, ready to validate objects against.

    Build one with :meth:`from_documents`, :meth:`from_file` or :meth:`from_cluster`.
    """

    def __init__(
        self,
        schemas: Mapping[tuple[str, str, str], _Schema],
        source: str,
        skipped_rules: list[str],
    ) -> None:
        self.source = source
        self.skipped_rules = skipped_rules
        self._schemas = dict(schemas)
        self._groups = {group for group, _, _ in self._schemas}
        self._versions: dict[tuple[str, str], list[str]] = {}
        for group, version, kind in self._schemas:
            self._versions.setdefault((group, kind), []).append(version)

    @classmethod
    def from_documents(cls, docs: Iterable[Mapping[str, Any]], source: str) -> CrdSet:
        """Every CustomResourceDefinition in ``docs``; other documents are ignored."""
        compiler = _Compiler()
        schemas: dict[tuple[str, str, str], _Schema] = {}
        for index, doc in enumerate(docs):
            if not isinstance(doc, Mapping) or doc.get("kind") != "CustomResourceDefinition":
                continue
            name = (doc.get("metadata") or {}).get("name") or f"document {index + 1}"
            where = f"{source}: CustomResourceDefinition {name}"
            if doc.get("apiVersion") != "apiextensions.k8s.io/v1":
                raise UsageError(f"{where}: apiVersion must be apiextensions.k8s.io/v1")
            try:
                spec = doc["spec"]
                group = str(spec["group"])
                kind = str(spec["names"]["kind"])
                versions = list(spec["versions"])
                for version in versions:
                    if not version.get("served"):
                        continue
                    raw = version["schema"]["openAPIV3Schema"]
                    compiler.label = f"{kind} {version['name']}"
                    root = _Schema(raw, "", compiler, junctor=False)
                    schemas[(group, str(version["name"]), kind)] = root
            except (KeyError, TypeError, AttributeError) as exc:
                raise UsageError(
                    f"{where}: not a valid CustomResourceDefinition ({type(exc).__name__}: {exc})"
                ) from exc
        if not schemas:
            raise UsageError(f"{source}: no served CustomResourceDefinition found")
        return cls(schemas, source, compiler.skipped)

    @classmethod
    def from_file(cls, path: Path) -> CrdSet:
        """The CRDs in a multi-document YAML file (such as Istio's crd-all.gen.yaml): a
        regular file of at most 64 MiB, UTF-8 YAML."""
        try:
            raw = read_bounded(path, CRD_FILE_MAX_BYTES)
        except OSError as exc:
            raise UsageError(f"{path}: cannot read CRDs: {exc.strerror or exc}") from None
        problem = utf8_problem(raw)
        if problem is not None:
            raise UsageError(f"{path}: cannot read CRDs: {problem}")
        try:
            docs = [d for d in yaml.load_all(raw.decode("utf-8"), Loader=_SafeLoader) if d]
        except (yaml.YAMLError, RecursionError) as exc:
            raise UsageError(f"{path}: not valid YAML: {yaml_problem(exc)}") from None
        return cls.from_documents(docs, str(path))

    @classmethod
    def from_cluster(cls, context: str | None) -> CrdSet:
        """The CRDs installed in the cluster of ``context`` (the current one if None)."""
        args = ["get", "customresourcedefinitions", "--output", "json"]
        step = "read CRDs from the cluster"
        res = runners.kubectl(args, step=step, context=context)
        try:
            items = json.loads(res.stdout)["items"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ToolError(
                step, res.argv, res.returncode, problem=f"it printed no list of CRDs ({exc})"
            ) from exc
        where = f"the cluster (context {context})" if context else "the cluster (current context)"
        return cls.from_documents(items, where)

    def served(self, api_version: str, kind: str) -> bool:
        """Whether a CRD in the set serves ``kind`` at ``api_version``."""
        group, version = _split_api_version(api_version)
        return (group, version, kind) in self._schemas

    def validate(self, obj: Mapping[str, Any]) -> list[CrdProblem]:
        """Everything the API server would reject in ``obj``."""
        if not isinstance(obj, Mapping):
            return [CrdProblem("", "", "", f"must be of type object, got {_kind_of(obj)}")]
        kind = obj.get("kind")
        meta = obj.get("metadata")
        name = meta.get("name") if isinstance(meta, Mapping) else None
        kind_text = kind if isinstance(kind, str) else ""
        name_text = name if isinstance(name, str) else ""
        out: _Out = []
        schema = self._schema_for(obj.get("apiVersion"), kind, out)
        if schema is not None:
            _check_metadata(meta, out)
            _check(schema, obj, "", out, strict=True)
        return [CrdProblem(kind_text, name_text, p, m, r) for p, m, r in out]

    def validate_all(self, objs: Iterable[Mapping[str, Any]]) -> list[CrdProblem]:
        """:meth:`validate` every object whose API group a CRD in the set defines.

        Objects of other groups (core kinds such as ConfigMap) are skipped; an object of
        a known group whose version or kind is not served is reported."""
        problems: list[CrdProblem] = []
        for obj in objs:
            api_version = obj.get("apiVersion") if isinstance(obj, Mapping) else None
            if isinstance(api_version, str) and (
                _split_api_version(api_version)[0] not in self._groups
            ):
                continue
            problems.extend(self.validate(obj))
        return problems

    def _schema_for(self, api_version: Any, kind: Any, out: _Out) -> _Schema | None:
        if not isinstance(api_version, str) or not api_version:
            out.append(("", 'missing required field "apiVersion"', ""))
            return None
        if not isinstance(kind, str) or not kind:
            out.append(("", 'missing required field "kind"', ""))
            return None
        group, version = _split_api_version(api_version)
        schema = self._schemas.get((group, version, kind))
        if schema is not None:
            return schema
        served = self._versions.get((group, kind))
        if served:
            versions = ", ".join(sorted(served))
            message = (
                f'version "{version}" of {kind}.{group} is not served by {self.source} '
                f"(served: {versions})"
            )
            out.append(("apiVersion", message, ""))
        elif group in self._groups:
            out.append(("kind", f'{kind} is not a kind of group "{group}" in {self.source}', ""))
        else:
            out.append(("apiVersion", f'no CRD in {self.source} defines group "{group}"', ""))
        return None
