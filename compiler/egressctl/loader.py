"""Read inventory and environment files into the model, with source positions.

This is the only module that knows where things are written.  Files are parsed with
ruamel.yaml (round-trip, so every mapping key and sequence item has a line and column)
into a small tree of :class:`Node` objects; layering (Helm's rules: maps merge, lists
replace, ``null`` removes) happens on that tree, so every value keeps the file and line
it came from; then the tree is read into :mod:`egressctl.model` objects.  Every problem
is collected as a :class:`Finding`; nothing stops at the first one.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from egressctl.errors import Finding, InventoryError, Loc, Severity
from egressctl.model import (
    API_VERSIONS,
    DEFAULT_API_VERSION,
    DEFAULT_PROTOCOL_BY_PORT,
    PROTOCOLS,
    Capture,
    Environment,
    Inventory,
    IPNetwork,
    IstioChart,
    Location,
    Policy,
    Port,
    Resolution,
    Service,
)

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_ALIAS_EXPANSION = 10_000  # nodes that aliases may add to a document


# ---------------------------------------------------------------------------
# The located tree


@dataclass(slots=True)
class Node:
    """A YAML value and where it was written.

    ``value`` is ``dict[str, Node]``, ``list[Node]`` or a scalar (str, int, float,
    bool, None).  For mappings, ``key_locs`` holds the position of each key.
    """

    value: Any
    loc: Loc
    key_locs: dict[str, Loc] | None = None

    @property
    def is_map(self) -> bool:
        return isinstance(self.value, dict)

    @property
    def is_list(self) -> bool:
        return isinstance(self.value, list)


def merge(base: Node | None, over: Node) -> Node:
    """Layer ``over`` onto ``base`` the way Helm layers ``-f`` files."""
    if base is None or not (base.is_map and over.is_map):
        return _drop_nulls(over)
    items = dict(base.value)
    key_locs = dict(base.key_locs or {})
    for key, child in over.value.items():
        if child.value is None:
            items.pop(key, None)
            key_locs.pop(key, None)
            continue
        items[key] = merge(items.get(key), child)
        key_locs[key] = (over.key_locs or {}).get(key, child.loc)
    return Node(items, over.loc if base.loc.file == "" else base.loc, key_locs)


def _drop_nulls(node: Node) -> Node:
    if not node.is_map:
        return node
    kept = {k: _drop_nulls(v) for k, v in node.value.items() if v.value is not None}
    locs = {k: v for k, v in (node.key_locs or {}).items() if k in kept}
    return Node(kept, node.loc, locs)


# ---------------------------------------------------------------------------
# Reading YAML files


class _Collector:
    """Collects findings; the loader's only mutable state."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def error(self, code: str, loc: Loc, path: str, message: str, hint: str = "") -> None:
        self.findings.append(Finding(code, Severity.ERROR, loc, path, message, hint))

    def warn(self, code: str, loc: Loc, path: str, message: str, hint: str = "") -> None:
        self.findings.append(Finding(code, Severity.WARNING, loc, path, message, hint))

    @property
    def failed(self) -> bool:
        return any(f.severity is Severity.ERROR for f in self.findings)

    def raise_if_failed(self) -> None:
        if self.failed:
            raise InventoryError(sorted(self.findings, key=_finding_order))


def _finding_order(f: Finding) -> tuple[str, int, int]:
    return (f.loc.file, f.loc.line, f.loc.col)


def read_yaml(path: Path, shown: str, out: _Collector) -> Node | None:
    """Parse one YAML file into a :class:`Node`; ``None`` (with findings) on failure."""
    top = Loc(shown)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            out.error(
                "file-too-large",
                top,
                "",
                f"file is {size:,} bytes; the limit is {MAX_FILE_BYTES:,}",
            )
            return None
        raw = path.read_bytes()
    except FileNotFoundError:
        out.error("file-missing", top, "", f"file not found (looked for {path.resolve()})")
        return None
    except IsADirectoryError:
        out.error("file-missing", top, "", "is a folder, not a YAML file")
        return None
    except OSError as exc:
        out.error("file-unreadable", top, "", f"cannot read file: {exc.strerror}")
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        out.error("not-utf8", Loc(shown, line, col), "", "file is not UTF-8 text")
        return None
    return parse_yaml_text(text, shown, out)


def parse_yaml_text(text: str, shown: str, out: _Collector) -> Node | None:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    yaml = YAML(typ="rt", pure=True)
    yaml.allow_duplicate_keys = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = Loc(shown, mark.line + 1, mark.column + 1) if mark else Loc(shown)
        problem = exc.problem or exc.context or "invalid YAML"
        if "found character '\\t'" in str(problem) or "\\t" in str(problem):
            problem = "tab character: YAML indentation must use spaces"
        out.error("yaml-syntax", loc, "", f"YAML does not parse: {_one_line(problem)}")
        return None
    except YAMLError as exc:
        out.error("yaml-syntax", Loc(shown), "", f"YAML does not parse: {_one_line(str(exc))}")
        return None
    return _Converter(shown, out).convert(data, Loc(shown, 1, 1))


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


_PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{t}" for t in ("map", "seq", "str", "int", "float", "bool", "null")
)


class _Converter:
    """ruamel's round-trip objects → :class:`Node`, refusing tags and alias bombs."""

    def __init__(self, shown: str, out: _Collector) -> None:
        self.shown = shown
        self.out = out
        self.seen: dict[int, tuple[Node, int]] = {}
        self.expanded = 0
        self.overflow = False

    def convert(self, data: Any, loc: Loc) -> Node | None:
        node, _ = self._convert(data, loc)
        if self.overflow:
            return None
        return node

    def _pos(self, line: int | None, col: int | None = None, *, near: Loc | None = None) -> Loc:
        if line is None or col is None:
            return near or Loc(self.shown)
        return Loc(self.shown, line + 1, col + 1)

    def _at(self, pair: tuple[int, int] | None, near: Loc) -> Loc:
        return self._pos(*pair, near=near) if pair else near

    def _convert(self, data: Any, loc: Loc) -> tuple[Node, int]:
        from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar

        key = id(data)
        if isinstance(data, (CommentedMap, CommentedSeq)) and key in self.seen:
            node, size = self.seen[key]
            self.expanded += size
            if self.expanded > MAX_ALIAS_EXPANSION and not self.overflow:
                self.overflow = True
                self.out.error(
                    "yaml-alias-bomb",
                    loc,
                    "",
                    f"aliases expand the document by more than {MAX_ALIAS_EXPANSION:,} values",
                )
            return node, size
        tag = getattr(getattr(data, "tag", None), "value", None)
        if isinstance(data, TaggedScalar) or (tag and str(tag) not in _PLAIN_TAGS):
            self.out.error(
                "yaml-tag",
                loc,
                "",
                f"YAML tag {tag or getattr(data, 'tag', '?')!s} is not allowed: "
                "only plain maps, lists, strings, numbers and booleans",
            )
            return Node(None, loc), 1
        if isinstance(data, CommentedMap):
            items: dict[str, Node] = {}
            key_locs: dict[str, Loc] = {}
            size = 1
            here = self._pos(data.lc.line, data.lc.col) if data.lc.line is not None else loc
            for k, v in data.items():
                kl = self._at(data.lc.key(k), here)
                vl = self._at(data.lc.value(k), kl)
                if not isinstance(k, str) or isinstance(k, bool):
                    self.out.error(
                        "key-type", kl, "", f'key {k!r} must be a string (quote it: "{k}")'
                    )
                    continue
                child, n = self._convert(v, vl)
                items[str(k)] = child
                key_locs[str(k)] = kl
                size += n
            node = Node(items, here, key_locs)
        elif isinstance(data, CommentedSeq):
            elems: list[Node] = []
            size = 1
            here = self._pos(data.lc.line, data.lc.col) if data.lc.line is not None else loc
            for i, v in enumerate(data):
                child, n = self._convert(v, self._at(data.lc.item(i), here))
                elems.append(child)
                size += n
            node = Node(elems, here)
        elif data is None or isinstance(data, (bool, int, float, str)):
            value: Any = data
            if isinstance(data, str):
                value = str(data)
            elif isinstance(data, bool):
                value = bool(data)
            elif isinstance(data, int):
                value = int(data)
            elif isinstance(data, float):
                value = float(data)
            return Node(value, loc), 1
        else:
            self.out.error(
                "yaml-type",
                loc,
                "",
                f"a {type(data).__name__} value is not allowed here (dates, binary and "
                "sets are not part of an inventory; quote the value to make it a string)",
            )
            return Node(None, loc), 1
        self.seen[key] = (node, size)
        return node, size


# ---------------------------------------------------------------------------
# Typed reading of a located map


_TYPE_NAMES = {
    dict: "a mapping",
    list: "a list",
    str: "a string",
    int: "an integer",
    bool: "true or false",
}


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    return "a string"


def _is(value: Any, typ: type) -> bool:
    if typ is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, typ)


class MapReader:
    """Reads the keys of one mapping, type-checks them, and reports what is unknown."""

    def __init__(self, node: Node, path: str, out: _Collector) -> None:
        self.node = node
        self.path = path
        self.out = out
        self.used: set[str] = set()

    def sub(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def key_loc(self, key: str) -> Loc:
        return (self.node.key_locs or {}).get(key, self.node.loc)

    def get(self, key: str, typ: type, *, required: bool = False) -> Node | None:
        self.used.add(key)
        child: Node | None = self.node.value.get(key)
        if child is None or child.value is None:
            if required:
                self.out.error(
                    "key-missing",
                    self.node.loc,
                    self.path,
                    f"`{key}` is required",
                )
            return None
        if not _is(child.value, typ):
            self.out.error(
                "wrong-type",
                child.loc,
                self.sub(key),
                f"must be {_TYPE_NAMES[typ]}, not {_type_name(child.value)}",
            )
            return None
        return child

    def string(self, key: str, *, required: bool = False) -> tuple[str, Loc] | None:
        child = self.get(key, str, required=required)
        if child is None:
            return None
        return str(child.value), child.loc

    def enum(self, key: str, choices: list[str], *, code: str) -> tuple[str, Loc] | None:
        got = self.string(key)
        if got is None:
            return None
        value, loc = got
        upper = value.strip().upper()
        if upper not in choices:
            self.out.error(
                code,
                loc,
                self.sub(key),
                f"{value!r} is not one of {', '.join(choices)}",
                _did_you_mean(upper, choices),
            )
            return None
        return upper, loc

    def string_list(self, key: str) -> list[tuple[str, Loc]] | None:
        child = self.get(key, list)
        if child is None:
            return None
        items: list[tuple[str, Loc]] = []
        for i, elem in enumerate(child.value):
            if not _is(elem.value, str):
                self.out.error(
                    "wrong-type",
                    elem.loc,
                    f"{self.sub(key)}[{i}]",
                    f"must be a string, not {_type_name(elem.value)}",
                )
                continue
            items.append((str(elem.value), elem.loc))
        return items

    def finish(self, known: list[str] | None = None) -> None:
        """Report every key that was never asked for, in sorted order."""
        allowed = sorted(known if known is not None else self.used)
        for key in sorted(self.node.value):
            if key in self.used or key in allowed:
                continue
            self.out.error(
                "unknown-key",
                self.key_loc(key),
                self.sub(key),
                "unknown key",
                _did_you_mean(key, allowed) or f"known keys here: {', '.join(allowed)}",
            )


def _did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in choices}
        close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
        close = [lowered[c] for c in close]
    return f"did you mean `{close[0]}`?" if close else ""


def _require_map(node: Node | None, path: str, out: _Collector, what: str) -> Node | None:
    if node is None:
        return None
    if node.value is None:
        out.error("empty-file", node.loc, path, f"{what} is empty")
        return None
    if not node.is_map:
        out.error(
            "wrong-type", node.loc, path, f"{what} must be a mapping, not {_type_name(node.value)}"
        )
        return None
    return node


# ---------------------------------------------------------------------------
# Inventory

INVENTORY_KEYS = ["capture", "policy", "services"]
SERVICE_KEYS = ["host", "hosts", "location", "ports", "resolution"]
PORT_KEYS = ["name", "number", "protocol", "targetPort"]
CAPTURE_KEYS = ["exclude", "include"]

_PORT_RE = re.compile(r"^\s*(\d+)\s*(?:/\s*([A-Za-z0-9_-]*)\s*)?$")


def parse_inventory(node: Node, out: _Collector, sources: tuple[str, ...] = ()) -> Inventory:
    """Read a (merged) inventory tree into the model; problems go to ``out``."""
    r = MapReader(node, "", out)
    policy = Policy.ALLOW_ANY
    got = r.enum("policy", [p.value for p in Policy], code="policy-invalid")
    if got is not None:
        policy = Policy(got[0])
    capture = _parse_capture(r, out)
    services: list[Service] = []
    svc_node = r.get("services", dict)
    if svc_node is not None:
        for name, child in svc_node.value.items():
            key_loc = (svc_node.key_locs or {}).get(name, child.loc)
            svc = _parse_service(name, key_loc, child, out)
            if svc is not None:
                services.append(svc)
    r.finish(INVENTORY_KEYS)
    return Inventory(policy, capture, tuple(services), sources)


def _parse_capture(r: MapReader, out: _Collector) -> Capture:
    node = r.get("capture", dict)
    if node is None:
        return Capture()
    c = MapReader(node, "capture", out)
    include = c.string_list("include") if "include" in node.value else None
    exclude = c.string_list("exclude") or []
    c.finish(CAPTURE_KEYS)
    inc = None if include is None else tuple(_cidrs(include, "capture.include", out))
    return Capture(include=inc, exclude=tuple(_cidrs(exclude, "capture.exclude", out)))


def _cidrs(items: list[tuple[str, Loc]], path: str, out: _Collector) -> Iterator[IPNetwork]:
    for i, (text, loc) in enumerate(items):
        where = f"{path}[{i}]"
        try:
            net = ipaddress.ip_network(text.strip(), strict=False)
        except ValueError:
            out.error(
                "cidr-invalid",
                loc,
                where,
                f"{text!r} is not an IP range",
                "write a CIDR such as 10.96.0.0/12 or fd00::/8",
            )
            continue
        if "/" in text and net.network_address != ipaddress.ip_interface(text.strip()).ip:
            out.warn(
                "cidr-host-bits",
                loc,
                where,
                f"{text!r} has host bits set; {net} is used",
                f"write {net}",
            )
        yield net


def _parse_service(name: str, key_loc: Loc, node: Node, out: _Collector) -> Service | None:
    path = f"services.{name}"
    if node.value is None:
        return None
    if not node.is_map:
        out.error(
            "wrong-type",
            node.loc,
            path,
            f"a service must be a mapping, not {_type_name(node.value)}",
            "write `host:` and `ports:` under the service name",
        )
        return None
    r = MapReader(node, path, out)
    hosts, host_locs = _parse_hosts(r, out)
    ports = _parse_ports(r, out)
    resolution = None
    got = r.enum("resolution", [x.value for x in Resolution], code="resolution-invalid")
    if got is not None:
        resolution = Resolution(got[0])
    location = Location.MESH_EXTERNAL
    got = r.enum("location", [x.value for x in Location], code="location-invalid")
    if got is not None:
        location = Location(got[0])
    r.finish(SERVICE_KEYS)
    if not hosts or ports is None:
        return None
    if resolution is None:
        resolution = Resolution.NONE if any("*" in h for h in hosts) else Resolution.DNS
    return Service(name, hosts, ports, resolution, location, key_loc, host_locs)


def _parse_hosts(r: MapReader, out: _Collector) -> tuple[tuple[str, ...], tuple[Loc, ...]]:
    has_host = "host" in r.node.value
    has_hosts = "hosts" in r.node.value
    if has_host and has_hosts:
        out.error(
            "host-and-hosts",
            r.key_loc("hosts"),
            r.sub("hosts"),
            "`host` and `hosts` are both set",
            "keep one: `host: a.example.com` or `hosts: [a.example.com, b.example.com]`",
        )
    items: list[tuple[str, Loc]] = []
    if has_host:
        got = r.string("host")
        if got is not None:
            items = [got]
    if has_hosts:
        items = r.string_list("hosts") or []
        if not items and r.node.value["hosts"].is_list:
            out.error("hosts-empty", r.node.value["hosts"].loc, r.sub("hosts"), "no hosts listed")
    if not has_host and not has_hosts:
        out.error(
            "key-missing",
            r.node.loc,
            r.path,
            "`host` (or `hosts`) is required",
            "add `host: api.example.com`",
        )
    r.used.update({"host", "hosts"})
    return tuple(h.strip().lower() for h, _ in items), tuple(loc for _, loc in items)


def _parse_ports(r: MapReader, out: _Collector) -> tuple[Port, ...] | None:
    node = r.get("ports", list, required=True)
    if node is None:
        return None
    if not node.value:
        out.error(
            "ports-empty", node.loc, r.sub("ports"), "no ports listed", "add e.g. `443/https`"
        )
        return None
    raw: list[tuple[int, str, str | None, int | None, Loc]] = []
    ok = True
    for i, elem in enumerate(node.value):
        parsed = _parse_port(elem, f"{r.sub('ports')}[{i}]", out)
        if parsed is None:
            ok = False
        else:
            raw.append(parsed)
    if not ok:
        return None
    return tuple(_name_ports(raw))


def _parse_port(
    elem: Node, path: str, out: _Collector
) -> tuple[int, str, str | None, int | None, Loc] | None:
    value = elem.value
    if _is(value, int):
        return _port_from(value, None, None, None, elem.loc, path, out)
    if isinstance(value, str):
        m = _PORT_RE.match(value)
        if not m:
            out.error(
                "port-spelling",
                elem.loc,
                path,
                f"{value!r} is not a port",
                "write PORT/PROTOCOL, e.g. 443/https or 5432/tcp",
            )
            return None
        return _port_from(int(m.group(1)), m.group(2) or None, None, None, elem.loc, path, out)
    if isinstance(value, dict):
        r = MapReader(elem, path, out)
        num = r.get("number", int, required=True)
        proto = r.string("protocol")
        name = r.string("name")
        target = r.get("targetPort", int)
        r.finish(PORT_KEYS)
        if num is None:
            return None
        target_value = None
        if target is not None:
            target_value = int(target.value)
            if not 1 <= target_value <= 65535:
                out.error(
                    "port-range",
                    target.loc,
                    f"{path}.targetPort",
                    f"port number {target_value} must be in the range 1..65535",
                )
                return None
        return _port_from(
            int(num.value),
            proto[0] if proto else None,
            name[0] if name else None,
            target_value,
            num.loc,
            path,
            out,
        )
    out.error(
        "port-spelling",
        elem.loc,
        path,
        f"a port must be PORT/PROTOCOL or a mapping, not {_type_name(value)}",
        "write e.g. 443/https, or {number: 8443, protocol: tls}",
    )
    return None


def _port_from(
    number: int,
    protocol: str | None,
    name: str | None,
    target: int | None,
    loc: Loc,
    path: str,
    out: _Collector,
) -> tuple[int, str, str | None, int | None, Loc] | None:
    if not 1 <= number <= 65535:
        out.error("port-range", loc, path, f"port number {number} must be in the range 1..65535")
        return None
    if protocol is None or protocol == "":
        inferred = DEFAULT_PROTOCOL_BY_PORT.get(number)
        if inferred is None:
            out.error(
                "port-protocol-missing",
                loc,
                path,
                f"port {number} needs a protocol",
                f"write {number}/tcp, {number}/tls, {number}/http … "
                "(only 80 and 443 imply http and https)",
            )
            return None
        return number, inferred, name, target, loc
    canonical = PROTOCOLS.get(protocol.lower())
    if canonical is None:
        out.error(
            "port-protocol-invalid",
            loc,
            path,
            f"unsupported protocol {protocol!r}",
            _did_you_mean(protocol.lower(), sorted(PROTOCOLS))
            or f"use one of {', '.join(sorted(PROTOCOLS))}",
        )
        return None
    return number, canonical, name, target, loc


def _name_ports(
    raw: list[tuple[int, str, str | None, int | None, Loc]],
) -> Iterator[Port]:
    """Give every port a name: explicit names win; otherwise the protocol, lowercased,
    with ``-NUMBER`` added when that name is taken within the service."""
    taken = {name for _, _, name, _, _ in raw if name}
    for number, protocol, name, target, loc in raw:
        if name is None:
            base = protocol.lower().replace("_", "-")
            name = base
            if name in taken:
                name = f"{base}-{number}"
            suffix = 2
            while name in taken:
                name = f"{base}-{number}-{suffix}"
                suffix += 1
            taken.add(name)
        yield Port(number, protocol, name, target, loc)


# ---------------------------------------------------------------------------
# Files → model


def load_inventory(
    paths: list[Path], shown: list[str] | None = None
) -> tuple[Inventory, list[Finding]]:
    """Load and layer inventory files (later ones win).  Raises InventoryError."""
    out = _Collector()
    names = shown or [str(p) for p in paths]
    merged = _layer_files(paths, names, out)
    out.raise_if_failed()
    assert merged is not None  # noqa: S101 - _layer_files reported why otherwise
    return _finish_inventory(merged, tuple(names), out)


def _layer_files(paths: list[Path], names: list[str], out: _Collector) -> Node | None:
    merged: Node | None = None
    for path, name in zip(paths, names, strict=True):
        node = _require_map(read_yaml(path, name, out), "", out, "the inventory file")
        if node is not None:
            merged = merge(merged, node)
    return merged


def _finish_inventory(
    merged: Node, sources: tuple[str, ...], out: _Collector
) -> tuple[Inventory, list[Finding]]:
    from egressctl.validate import validate_inventory

    inventory = parse_inventory(merged, out, sources)
    out.raise_if_failed()
    out.findings.extend(validate_inventory(inventory))
    out.raise_if_failed()
    return inventory, sorted(out.findings, key=_finding_order)


ENV_KEYS = ["context", "egress", "inventory", "istio", "namespace", "networkingApiVersion"]
ISTIO_KEYS = ["chart", "release", "values"]


def resolve_env_path(env: str, cwd: Path) -> Path:
    """``--env NAME`` → ``values/NAME.yaml`` under ``cwd``; ``--env PATH`` → that file."""
    candidate = Path(env)
    if candidate.suffix in (".yaml", ".yml") or "/" in env or candidate.is_file():
        return candidate if candidate.is_absolute() else cwd / candidate
    return cwd / "values" / f"{env}.yaml"


def env_name(path: Path) -> str:
    return path.stem


def load_environment(env: str, cwd: Path | None = None) -> tuple[Environment, list[Finding]]:
    """Load an environment file, its inventory files and its overrides."""
    base = cwd or Path.cwd()
    path = resolve_env_path(env, base)
    shown = _shown(path, base)
    out = _Collector()
    node = _require_map(read_yaml(path, shown, out), "", out, "the environment file")
    out.raise_if_failed()
    assert node is not None  # noqa: S101 - reported above otherwise
    r = MapReader(node, "", out)
    folder = path.parent

    inv_files: list[tuple[str, Loc]] = []
    inv_node = r.node.value.get("inventory")
    if inv_node is not None and isinstance(inv_node.value, str):
        r.used.add("inventory")
        inv_files = [(inv_node.value, inv_node.loc)]
    else:
        got = r.string_list("inventory")
        if got is None and (inv_node is None or inv_node.value is None):
            out.error(
                "key-missing",
                node.loc,
                "",
                "`inventory` is required",
                "add `inventory: [egress.yaml]` (paths relative to this file)",
            )
        inv_files = got or []
        if inv_node is not None and inv_node.is_list and not inv_node.value:
            out.error("inventory-empty", inv_node.loc, "inventory", "no inventory files listed")
    context = r.string("context", required=True)
    namespace = r.string("namespace")
    api = DEFAULT_API_VERSION
    got_api = r.string("networkingApiVersion")
    if got_api is not None:
        api_text = got_api[0].strip().removeprefix("networking.istio.io/")
        if api_text not in API_VERSIONS:
            out.error(
                "api-version-invalid",
                got_api[1],
                "networkingApiVersion",
                f"{got_api[0]!r} is not one of {', '.join(API_VERSIONS)}",
                "v1 needs Istio 1.22+, v1beta1 Istio 1.5+, v1alpha3 serves every release",
            )
        else:
            api = api_text
    istio = _parse_istio(r, folder, base, out)
    egress = r.get("egress", dict)
    r.finish(ENV_KEYS)

    inv_paths: list[Path] = []
    inv_shown: list[str] = []
    for i, (rel, loc) in enumerate(inv_files):
        p = folder / rel
        if not p.is_file():
            out.error(
                "file-missing",
                loc,
                f"inventory[{i}]",
                f"inventory file {rel!r} not found (looked for {p.resolve()})",
            )
            continue
        inv_paths.append(p)
        inv_shown.append(_shown(p, base))
    out.raise_if_failed()

    merged = _layer_files(inv_paths, inv_shown, out)
    if egress is not None and merged is not None:
        merged = merge(merged, egress)
    out.raise_if_failed()
    assert merged is not None  # noqa: S101 - at least one inventory file was read
    inventory, findings = _finish_inventory(merged, (*inv_shown, shown), out)
    assert context is not None  # noqa: S101 - required, reported otherwise
    environment = Environment(
        name=env_name(path),
        file=shown,
        context=context[0],
        namespace=namespace[0] if namespace else "istio-system",
        api_version=api,
        istio=istio,
        inventory=inventory,
    )
    return environment, findings


def _parse_istio(r: MapReader, folder: Path, base: Path, out: _Collector) -> IstioChart | None:
    node = r.get("istio", dict)
    if node is None:
        return None
    ir = MapReader(node, "istio", out)
    chart = ir.string("chart", required=True)
    release = ir.string("release")
    values = ir.string_list("values") or []
    ir.finish(ISTIO_KEYS)
    if chart is None:
        return None
    chart_path = folder / chart[0]
    if not chart_path.exists():
        out.error(
            "file-missing",
            chart[1],
            "istio.chart",
            f"Istio chart {chart[0]!r} not found (looked for {chart_path.resolve()})",
        )
    value_paths = []
    for i, (rel, loc) in enumerate(values):
        p = folder / rel
        if not p.is_file():
            out.error(
                "file-missing",
                loc,
                f"istio.values[{i}]",
                f"values file {rel!r} not found (looked for {p.resolve()})",
            )
        value_paths.append(str(p.resolve()))
    return IstioChart(
        chart=str(chart_path.resolve()),
        release=release[0] if release else "istiod",
        values=tuple(value_paths),
    )


def _shown(path: Path, base: Path) -> str:
    """A path as the user would write it: relative to the working folder when inside it."""
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path)


Collector = _Collector
