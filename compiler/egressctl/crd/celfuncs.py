"""The Kubernetes CEL library: the functions the API server adds to CEL, in Python.

The ``common-expression-language`` bindings (``cel``) and :mod:`cel.stdlib` cover the
CEL core and the cel-go string, list, set and math extensions; this module adds the
Kubernetes IP, CIDR, URL, regex and list functions (k8s.io/apiserver/pkg/cel/library)
and says which function names a compiled rule may call:

* :data:`FUNCTIONS`: every Python-provided function, by its full name ("ip.isCanonical");
* :data:`BY_SHORT_NAME`: the same, by the last segment of the name, which is how
  ``Program.functions()`` names a call;
* :data:`NATIVE`: what the Rust interpreter provides itself.

Not provided: ``quantity`` and ``format.*`` (rules using them are skipped), and
``string(ip(...))``.

The bindings convert only plain values, so IPs, CIDRs and URLs travel through CEL as
one-key maps: equality still works (``ip("::1") == ip("0::1")``), and the member
functions below unwrap them.
"""

from __future__ import annotations

import ipaddress
import itertools
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs

try:  # common-expression-language needs Python 3.11+; on 3.10 CEL rules are skipped
    from cel.stdlib import STDLIB_FUNCTIONS, index_of, last_index_of
except ImportError:  # pragma: no cover - exercised only on Python 3.10
    STDLIB_FUNCTIONS = {}
    index_of = last_index_of = None  # type: ignore[assignment]

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

FUNCTIONS: dict[str, Callable[..., Any]] = {**STDLIB_FUNCTIONS, **_K8S_FUNCTIONS}

# What the Rust interpreter provides itself; macros (has, all, exists, exists_one, map,
# filter) never show up in Program.functions().
NATIVE = frozenset(
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
BY_SHORT_NAME: dict[str, list[str]] = {}
for _name in FUNCTIONS:
    BY_SHORT_NAME.setdefault(_name.rpartition(".")[2], []).append(_name)
