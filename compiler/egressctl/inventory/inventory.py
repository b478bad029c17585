"""An inventory, read from (merged) data into the model: policy, capture, and each
service with its hosts, ports and endpoints.  Pure: problems go to the :class:`Reader`
with key paths; nothing is located here."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from egressctl.errors import Anchor, KeyPath
from egressctl.inventory.expiry import read_expires
from egressctl.inventory.gateways import gateway_unknown_keys, read_gateway_part
from egressctl.inventory.keys import (
    CAPTURE_KEYS,
    ENDPOINT_KEYS,
    INVENTORY_KEYS,
    ORIGINATE_KEYS,
    PORT_KEYS,
    SERVICE_KEYS,
)
from egressctl.inventory.model import (
    DEFAULT_PROTOCOL_BY_PORT,
    PROTOCOLS,
    Acknowledgements,
    Capture,
    Endpoint,
    Inventory,
    Location,
    Origination,
    Part,
    Policy,
    Port,
    Resolution,
    Service,
    TlsMode,
)
from egressctl.inventory.namespaces import (
    read_export_listed,
    read_namespaces,
    unknown_namespace_keys,
)
from egressctl.inventory.reader import Reader, did_you_mean, is_type, type_name

T = TypeVar("T")

_PORT_RE = re.compile(r"^\s*(\d+)\s*(?:/\s*([A-Za-z0-9_-]*)\s*)?$")


@dataclass(frozen=True, slots=True)
class _PortSpec:
    """A port as written, its protocol made canonical; named later, once all the
    service's ports are known."""

    number: int
    protocol: str
    name: str | None = None
    target_port: int | None = None
    originate: Origination | None = None


class _Parts:
    """The parts of one entry that reading could not read as written (:class:`Part`):
    what was read of a part that met an error is not what the file says, so the model
    holds an empty value in its place and the rules that need it are skipped."""

    def __init__(self, r: Reader) -> None:
        self.r = r
        self.unread: set[Part] = set()

    def read(self, part: Part, read: Callable[[], T | None]) -> T | None:
        """``read()``, or None (and ``part`` unread) when reading it met an error."""
        mark = self.r.mark()
        value = read()
        if self.r.erred_since(mark):
            self.unread.add(part)
            return None
        return value


def parse_inventory(data: Any, r: Reader, sources: tuple[str, ...] = ()) -> Inventory:
    """Read a (merged) inventory into the model; problems go to ``r``.  Unknown keys are
    :func:`unknown_keys`' business, layer by layer.  Reading goes on past errors: the
    model holds every entry it could read, each with the parts it could not
    (``unread``), so that the rules still judge the rest."""
    m = r.mapping(data, (), "the inventory") or {}
    parts = _Parts(r)
    got = parts.read(
        Part.POLICY, lambda: r.enum(m, "policy", (), [p.value for p in Policy], "policy-invalid")
    )
    policy = Policy.ALLOW_ANY if got is None else Policy(got)
    capture = _capture(m, r, parts)
    services: list[Service] = []
    raw = r.get(m, "services", (), dict)
    if raw is None and m.get("services") is not None:
        parts.unread.add(Part.SERVICES)  # not a mapping
    for name, value in (raw or {}).items():
        if not isinstance(name, str):
            r.err("key-type", ("services",), f"service name {name!r} must be a string")
            parts.unread.add(Part.SERVICES)
            continue
        svc = _service(name, value, r)
        if svc is not None:
            services.append(svc)
        elif value is not None:
            parts.unread.add(Part.SERVICES)
    gw = read_gateway_part(m, r, services)
    return Inventory(
        policy=policy,
        capture=capture,
        services=gw.services,
        gateways=gw.gateways,
        default_via=gw.default_via,
        sources=sources,
        unread=frozenset(parts.unread),
        namespaces=read_namespaces(m, r, tuple(s.name for s in services)),
        export_listed=read_export_listed(m, r),
    )


def unknown_keys(data: Any, r: Reader, base: KeyPath = ()) -> None:
    """Unknown keys of one inventory layer, whatever their value.  Layering drops null
    values, so unknown keys are looked for in each layer before merging (and
    :func:`parse_inventory`, which reads the merged data, does not look again)."""
    if not isinstance(data, dict):
        return
    r.fields(data, base, INVENTORY_KEYS)
    unknown_namespace_keys(data, r, base)
    gateway_unknown_keys(data, r, base)
    capture = data.get("capture")
    if isinstance(capture, dict):
        r.fields(capture, (*base, "capture"), CAPTURE_KEYS)
    services = data.get("services")
    if not isinstance(services, dict):
        return
    for name, svc in services.items():
        if not isinstance(name, str) or not isinstance(svc, dict):
            continue
        path: KeyPath = (*base, "services", name)
        r.fields(svc, path, SERVICE_KEYS)
        ports = svc.get("ports")
        for i, port in enumerate(ports if isinstance(ports, list) else ()):
            if isinstance(port, dict):
                r.fields(port, (*path, "ports", i), PORT_KEYS)
                originate = port.get("originate")
                if isinstance(originate, dict):
                    r.fields(originate, (*path, "ports", i, "originate"), ORIGINATE_KEYS)
        endpoints = svc.get("endpoints")
        for i, endpoint in enumerate(endpoints if isinstance(endpoints, list) else ()):
            if isinstance(endpoint, dict):
                r.fields(endpoint, (*path, "endpoints", i), ENDPOINT_KEYS)


def _capture(m: dict[str, Any], r: Reader, parts: _Parts) -> Capture:
    """`capture:`; a list with an item that is no range is unread as a whole (an
    unread include captures everything, an unread exclude excludes nothing)."""
    raw = m.get("capture")
    if raw is None:
        return Capture()
    c = r.mapping(raw, ("capture",), "`capture`")
    if c is None:
        parts.unread |= {Part.INCLUDE, Part.EXCLUDE}
        return Capture()
    include = parts.read(Part.INCLUDE, lambda: r.cidrs(c, "include", ("capture",)))
    exclude = parts.read(Part.EXCLUDE, lambda: r.cidrs(c, "exclude", ("capture",))) or []
    return Capture(
        include=None if include is None else tuple(include),
        exclude=tuple(exclude),
        acknowledge=_acknowledge(c, ("capture",), r),
    )


def _acknowledge(m: dict[str, Any], path: KeyPath, r: Reader) -> Acknowledgements:
    """`acknowledge: {CODE: reason}`: each reason a non-empty string.  Whether CODE names
    a warning that fires here is the rules' business (:mod:`egressctl.rules.acknowledge`)."""
    raw = m.get("acknowledge")
    if raw is None:
        return ()
    apath = (*path, "acknowledge")
    got = r.mapping(raw, apath, "`acknowledge`")
    if got is None:
        return ()
    out: list[tuple[str, str]] = []
    for code, reason in got.items():
        if not isinstance(code, str) or reason is None:
            continue  # a key that is no string is reported by `mapping`; null: removed
        if not isinstance(reason, str):
            r.err(
                "wrong-type",
                (*apath, code),
                f"the reason must be a string, not {type_name(reason)}",
                f'write `{code}: "why this is accepted"`',
            )
        elif not reason.strip():
            r.err(
                "acknowledge-no-reason",
                (*apath, code),
                f"acknowledging {code!r} needs a reason",
                f'write `{code}: "why this is accepted"`: reviewers read it',
            )
        else:
            out.append((code.strip(), reason.strip()))
    return tuple(out)


def _service(name: str, value: Any, r: Reader) -> Service | None:
    path: KeyPath = ("services", name)
    if value is None:
        return None
    if not isinstance(value, dict):
        r.err(
            "wrong-type",
            path,
            f"a service must be a mapping, not {type_name(value)}",
            "write `host:` and `ports:` under the service name",
        )
        return None
    m = r.mapping(value, path) or {}
    parts = _Parts(r)
    hosts = parts.read(Part.HOSTS, lambda: _hosts(m, path, r)) or []
    ports = parts.read(Part.PORTS, lambda: _ports(m, path, r)) or []
    res = parts.read(
        Part.RESOLUTION,
        lambda: r.enum(m, "resolution", path, [x.value for x in Resolution], "resolution-invalid"),
    )
    loc = parts.read(
        Part.LOCATION,
        lambda: r.enum(m, "location", path, [x.value for x in Location], "location-invalid"),
    )
    addresses = parts.read(Part.ADDRESSES, lambda: r.strings(m, "addresses", path)) or []
    endpoints = parts.read(Part.ENDPOINTS, lambda: _endpoints(m, path, r)) or []
    export_to = parts.read(Part.EXPORT_TO, lambda: r.strings(m, "exportTo", path)) or []
    meta = {k: r.string(m, k, path) for k in ("owner", "reason", "ticket")}
    expires = read_expires(m, path, r)
    acknowledge = _acknowledge(m, path, r)
    if res is None:
        resolution = _inferred_resolution(hosts, addresses, bool(endpoints))
        if parts.unread & {Part.HOSTS, Part.ADDRESSES, Part.ENDPOINTS}:
            parts.unread.add(Part.RESOLUTION)  # inferred from what could not be read
    else:
        resolution = Resolution(res)
    return Service(
        name=name,
        hosts=tuple(hosts),
        ports=tuple(ports),
        resolution=resolution,
        location=Location(loc) if loc else Location.MESH_EXTERNAL,
        addresses=tuple(a.strip() for a in addresses),
        endpoints=tuple(endpoints),
        export_to=tuple(e.strip() for e in export_to),
        owner=meta["owner"],
        reason=meta["reason"],
        ticket=meta["ticket"],
        single_host="host" in m,
        acknowledge=acknowledge,
        unread=frozenset(parts.unread),
        expires=expires,
    )


def _inferred_resolution(hosts: list[str], addresses: list[str], endpoints: bool) -> Resolution:
    """NONE for a wildcard host; NONE for a service with addresses and no endpoints (the
    address dialled is the one Envoy connects to: an IP means the same as its /32 or
    /128); NONE for a CIDR range in any case; else DNS."""
    if any("*" in h for h in hosts):
        return Resolution.NONE
    if addresses and (not endpoints or any(_is_range(a) for a in addresses)):
        return Resolution.NONE
    return Resolution.DNS


def _is_range(address: str) -> bool:
    """More than one address (``10.0.0.0/8``; not ``10.0.0.1`` nor ``10.0.0.1/32``)."""
    try:
        return ipaddress.ip_network(address.strip(), strict=False).num_addresses > 1
    except ValueError:
        return "/" in address  # invalid (`address-invalid`): read as written


def _hosts(m: dict[str, Any], path: KeyPath, r: Reader) -> list[str] | None:
    has_host, has_hosts = "host" in m, "hosts" in m
    if has_host and has_hosts:
        r.err(
            "host-and-hosts",
            (*path, "hosts"),
            "`host` and `hosts` are both set",
            "keep one: `host: a.example.com` or `hosts: [a.example.com, b.example.com]`",
            anchor=Anchor.KEY,
        )
        return None
    if has_hosts:
        items = r.strings(m, "hosts", path)
        if m["hosts"] == []:
            r.err(
                "hosts-empty",
                (*path, "hosts"),
                "no hosts listed",
                "list at least one host, or use `host: a.example.com`",
            )
            return None
    elif has_host:
        one = r.string(m, "host", path)
        items = None if one is None else [one]
    else:
        r.err("key-missing", path, "`host` (or `hosts`) is required", "add `host: api.example.com`")
        return None
    if items is None:
        return None
    return [h.strip().lower() for h in items]


def _ports(m: dict[str, Any], path: KeyPath, r: Reader) -> list[Port] | None:
    raw = r.get(m, "ports", path, list, required=True)
    if raw is None:
        return None
    if not raw:
        r.err("ports-empty", (*path, "ports"), "no ports listed", "add e.g. `443/https`")
        return None
    parsed: list[_PortSpec] = []
    ok = True
    for i, item in enumerate(raw):
        one = _port(item, (*path, "ports", i), r)
        if one is None:
            ok = False
        else:
            parsed.append(one)
    if not ok:
        return None
    return _name_ports(parsed)


def _port(item: Any, path: KeyPath, r: Reader) -> _PortSpec | None:
    if is_type(item, int):
        return _port_from(item, None, path, r)
    if isinstance(item, str):
        match = _PORT_RE.match(item)
        if not match:
            r.err(
                "port-spelling",
                path,
                f"{item!r} is not a port",
                "write PORT/PROTOCOL, e.g. 443/https or 5432/tcp",
            )
            return None
        return _port_from(int(match.group(1)), match.group(2) or None, path, r)
    if isinstance(item, dict):
        p = r.mapping(item, path) or {}
        number = r.get(p, "number", path, int, required=True)
        protocol = r.string(p, "protocol", path)
        name = r.string(p, "name", path)
        target = r.get(p, "targetPort", path, int)
        originate = _originate(p, path, r) if "originate" in p else None
        if number is None:
            return None
        if target is not None and not 1 <= target <= 65535:
            r.err(
                "port-range",
                (*path, "targetPort"),
                f"port number {target} must be in the range 1..65535",
            )
            return None
        if originate is not None and target is None:
            target = 443  # the sidecar speaks TLS to the host's HTTPS port
        return _port_from(
            number, protocol, path, r, name=name, target_port=target, originate=originate
        )
    r.err(
        "port-spelling",
        path,
        f"a port must be PORT/PROTOCOL or a mapping, not {type_name(item)}",
        "write e.g. 443/https, or {number: 8443, protocol: tls}",
    )
    return None


def _port_from(
    number: int,
    protocol: str | None,
    path: KeyPath,
    r: Reader,
    *,
    name: str | None = None,
    target_port: int | None = None,
    originate: Origination | None = None,
) -> _PortSpec | None:
    if not 1 <= number <= 65535:
        r.err("port-range", path, f"port number {number} must be in the range 1..65535")
        return None
    if not protocol:
        inferred = DEFAULT_PROTOCOL_BY_PORT.get(number)
        if inferred is None:
            r.err(
                "port-protocol-missing",
                path,
                f"port {number} needs a protocol",
                f"write {number}/tcp, {number}/tls, {number}/http … "
                "(only 80 and 443 imply http and https)",
            )
            return None
        return _PortSpec(
            number=number,
            protocol=inferred,
            name=name,
            target_port=target_port,
            originate=originate,
        )
    canonical = PROTOCOLS.get(protocol.strip().lower())
    if canonical is None:
        r.err(
            "port-protocol-invalid",
            path,
            f"unsupported protocol {protocol!r}",
            did_you_mean(protocol.lower(), sorted(PROTOCOLS))
            or f"use one of {', '.join(sorted(PROTOCOLS))}",
        )
        return None
    return _PortSpec(
        number=number,
        protocol=canonical,
        name=name,
        target_port=target_port,
        originate=originate,
    )


def _originate(p: dict[str, Any], path: KeyPath, r: Reader) -> Origination | None:
    raw = p["originate"]
    opath = (*path, "originate")
    if isinstance(raw, str):
        raw = {"mode": raw}
    o = r.mapping(raw, opath, "`originate`")
    if o is None:
        return None
    mode = r.enum(o, "mode", opath, [m.value for m in TlsMode], "tls-mode-invalid")
    if mode is None:
        if "mode" not in o:
            r.err("key-missing", opath, "`mode` is required", "write `mode: SIMPLE`")
        return None
    selector = r.string_map(o, "workloadSelector", opath) or {}
    return Origination(
        mode=TlsMode(mode),
        sni=r.string(o, "sni", opath),
        credential_name=r.string(o, "credentialName", opath),
        workload_selector=tuple(sorted(selector.items())),
        namespace=r.string(o, "namespace", opath),
    )


def _name_ports(
    raw: list[_PortSpec],
) -> list[Port]:
    """Explicit names win; otherwise the protocol, lowercased (``_`` → ``-``), with
    ``-NUMBER`` added when that name is taken within the service."""
    taken = {spec.name for spec in raw if spec.name}
    out = []
    for spec in raw:
        name = spec.name
        if name is None:
            base = spec.protocol.lower().replace("_", "-")
            name = base if base not in taken else f"{base}-{spec.number}"
            suffix = 2
            while name in taken:
                name = f"{base}-{spec.number}-{suffix}"
                suffix += 1
            taken.add(name)
        out.append(
            Port(
                number=spec.number,
                protocol=spec.protocol,
                name=name,
                target_port=spec.target_port,
                originate=spec.originate,
            )
        )
    return out


def _endpoints(m: dict[str, Any], path: KeyPath, r: Reader) -> list[Endpoint] | None:
    raw = r.get(m, "endpoints", path, list)
    if raw is None:
        return [] if "endpoints" not in m or m["endpoints"] is None else None
    out: list[Endpoint] = []
    ok = True
    for i, item in enumerate(raw):
        epath = (*path, "endpoints", i)
        if isinstance(item, str):
            out.append(Endpoint(address=item.strip()))
            continue
        e = r.mapping(item, epath, "an endpoint")
        if e is None:
            ok = False
            continue
        address = r.string(e, "address", epath, required=True)
        ports_raw = r.get(e, "ports", epath, dict)
        ports: list[tuple[str, int]] = []
        for pname, pnum in (ports_raw or {}).items():
            if not is_type(pnum, int) or not 1 <= pnum <= 65535:
                r.err(
                    "port-range",
                    (*epath, "ports", str(pname)),
                    f"endpoint port must be a number in 1..65535, not {pnum!r}",
                )
                ok = False
                continue
            ports.append((str(pname), pnum))
        weight = r.get(e, "weight", epath, int)
        labels = r.string_map(e, "labels", epath) or {}
        if address is None:
            ok = False
            continue
        out.append(
            Endpoint(
                address=address.strip(),
                ports=tuple(ports),
                labels=tuple(sorted(labels.items())),
                network=r.string(e, "network", epath),
                locality=r.string(e, "locality", epath),
                weight=weight,
            )
        )
    return out if ok else None
