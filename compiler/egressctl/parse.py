"""Typed reading of already-parsed YAML data into the model.  Pure: no files, no positions.

Every problem is a :class:`Problem` with the key path it concerns; the loader turns
paths into ``file:line:col``.  Reading never stops at the first problem.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from egressctl.errors import Anchor, KeyPath, Problem, error, warning
from egressctl.model import (
    API_VERSIONS,
    DEFAULT_PROTOCOL_BY_PORT,
    PROTOCOLS,
    Capture,
    ClusterRanges,
    Endpoint,
    Inventory,
    IPNetwork,
    Location,
    Origination,
    Policy,
    Port,
    Resolution,
    Service,
    TlsMode,
)
from egressctl.validate import (
    argument_problem,
    context_problem,
    namespace_problem,
    path_problem,
    release_problem,
    repo_problem,
    revision_problem,
    version_problem,
)

# The keys each mapping may hold.  schema.py builds the published JSON Schema from the
# same lists, and a test keeps the two equal.
INVENTORY_KEYS = ("capture", "policy", "services")
CAPTURE_KEYS = ("exclude", "include")
SERVICE_KEYS = (
    "addresses",
    "endpoints",
    "exportTo",
    "host",
    "hosts",
    "location",
    "owner",
    "ports",
    "reason",
    "resolution",
    "ticket",
)
PORT_KEYS = ("name", "number", "originate", "protocol", "targetPort")
ORIGINATE_KEYS = ("credentialName", "mode", "namespace", "sni", "workloadSelector")
ENDPOINT_KEYS = ("address", "labels", "locality", "network", "ports", "weight")
ENV_KEYS = (
    "allowEmptyInventory",
    "cluster",
    "context",
    "egress",
    "inventory",
    "istio",
    "kubeconfig",
    "namespace",
    "networkingApiVersion",
)
ISTIO_KEYS = ("chart", "release", "repo", "revision", "values", "version")
CLUSTER_KEYS = ("podCIDRs", "serviceCIDRs")

_PORT_RE = re.compile(r"^\s*(\d+)\s*(?:/\s*([A-Za-z0-9_-]*)\s*)?$")


def type_name(value: Any) -> str:
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
    if isinstance(value, str):
        return "a string"
    return f"a {type(value).__name__} value"


_WANT = {dict: "a mapping", list: "a list", str: "a string", int: "an integer", bool: "a boolean"}


def is_type(value: Any, typ: type) -> bool:
    if typ is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, typ)


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in choices}
        found = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
        close = [lowered[c] for c in found]
    return f"did you mean `{close[0]}`?" if close else ""


@dataclass
class Reader:
    """Reads mappings key by key, type-checking and collecting problems."""

    layer: str | None = None
    problems: list[Problem] = field(default_factory=list)

    def err(
        self, code: str, path: KeyPath, message: str, hint: str = "", anchor: Anchor = Anchor.VALUE
    ) -> None:
        self.problems.append(error(code, path, message, hint, anchor=anchor, layer=self.layer))

    def warn(self, code: str, path: KeyPath, message: str, hint: str = "") -> None:
        self.problems.append(warning(code, path, message, hint, layer=self.layer))

    def mapping(self, value: Any, path: KeyPath, what: str = "") -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.err(
                "wrong-type", path, f"{what or 'this'} must be a mapping, not {type_name(value)}"
            )
            return None
        bad = [k for k in value if not isinstance(k, str)]
        for k in bad:
            self.err("key-type", path, f'key {k!r} must be a string (quote it: "{k}")')
        return value

    def fields(self, m: dict[str, Any], path: KeyPath, known: Sequence[str]) -> None:
        for key in sorted(k for k in m if isinstance(k, str) and k not in known):
            self.err(
                "unknown-key",
                (*path, key),
                "unknown key",
                did_you_mean(key, known) or f"known keys here: {', '.join(known)}",
                anchor=Anchor.KEY,
            )

    def get(
        self, m: dict[str, Any], key: str, path: KeyPath, typ: type, required: bool = False
    ) -> Any:
        value = m.get(key)
        if value is None:
            if required:
                self.err("key-missing", path, f"`{key}` is required")
            return None
        if not is_type(value, typ):
            self.err("wrong-type", (*path, key), f"must be {_WANT[typ]}, not {type_name(value)}")
            return None
        return value

    def string(
        self, m: dict[str, Any], key: str, path: KeyPath, required: bool = False
    ) -> str | None:
        value = self.get(m, key, path, str, required)
        return None if value is None else str(value)

    def strings(
        self, m: dict[str, Any], key: str, path: KeyPath, one_allowed: bool = False
    ) -> list[str] | None:
        value = m.get(key)
        if value is None:
            return None
        if one_allowed and isinstance(value, str):
            return [value]
        if not isinstance(value, list):
            self.err(
                "wrong-type", (*path, key), f"must be a list of strings, not {type_name(value)}"
            )
            return None
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, str):
                self.err("wrong-type", (*path, key, i), f"must be a string, not {type_name(item)}")
            else:
                out.append(item)
        return out

    def string_map(self, m: dict[str, Any], key: str, path: KeyPath) -> dict[str, str] | None:
        value = m.get(key)
        if value is None:
            return None
        got = self.mapping(value, (*path, key), f"`{key}`")
        if got is None:
            return None
        out = {}
        for k, v in got.items():
            if isinstance(v, bool) or not isinstance(v, (str, int, float)):
                self.err(
                    "wrong-type", (*path, key, str(k)), f"must be a string, not {type_name(v)}"
                )
            else:
                out[str(k)] = str(v)
        return out

    def enum(
        self, m: dict[str, Any], key: str, path: KeyPath, choices: Sequence[str], code: str
    ) -> str | None:
        value = self.string(m, key, path)
        if value is None:
            return None
        upper = value.strip().upper()
        if upper not in choices:
            self.err(
                code,
                (*path, key),
                f"{value!r} is not one of {', '.join(choices)}",
                did_you_mean(upper, choices),
            )
            return None
        return upper

    def cidrs(self, m: dict[str, Any], key: str, path: KeyPath) -> list[IPNetwork] | None:
        items = self.strings(m, key, path)
        if items is None:
            return None
        out: list[IPNetwork] = []
        for i, text in enumerate(items):
            net = self.cidr(text, (*path, key, i))
            if net is not None:
                out.append(net)
        return out

    def cidr(self, text: str, path: KeyPath) -> IPNetwork | None:
        try:
            net = ipaddress.ip_network(text.strip(), strict=False)
        except ValueError:
            self.err(
                "cidr-invalid",
                path,
                f"{text!r} is not an IP range",
                "write a CIDR such as 10.96.0.0/12 or fd00::/8",
            )
            return None
        if "/" in text and net.network_address != ipaddress.ip_interface(text.strip()).ip:
            self.warn(
                "cidr-host-bits", path, f"{text!r} has host bits set; {net} is used", f"write {net}"
            )
        return net


# ---------------------------------------------------------------------------
# Inventory


def parse_inventory(data: Any, r: Reader, sources: tuple[str, ...] = ()) -> Inventory:
    """Read a (merged) inventory into the model; problems go to ``r``.  Unknown keys are
    :func:`inventory_keys`' business, layer by layer."""
    m = r.mapping(data, (), "the inventory") or {}
    policy = Policy.ALLOW_ANY
    got = r.enum(m, "policy", (), [p.value for p in Policy], "policy-invalid")
    if got is not None:
        policy = Policy(got)
    capture = _capture(m, r)
    services: list[Service] = []
    raw = r.get(m, "services", (), dict)
    if raw is not None:
        for name, value in raw.items():
            if not isinstance(name, str):
                r.err("key-type", ("services",), f"service name {name!r} must be a string")
                continue
            svc = _service(name, value, r)
            if svc is not None:
                services.append(svc)
    return Inventory(policy, capture, tuple(services), sources)


def inventory_keys(data: Any, r: Reader, base: KeyPath = ()) -> None:
    """Unknown keys of one inventory layer, whatever their value.  Layering drops null
    values, so unknown keys are looked for in each layer before merging (and
    :func:`parse_inventory`, which reads the merged data, does not look again)."""
    if not isinstance(data, dict):
        return
    r.fields(data, base, INVENTORY_KEYS)
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


def _capture(m: dict[str, Any], r: Reader) -> Capture:
    raw = m.get("capture")
    if raw is None:
        return Capture()
    c = r.mapping(raw, ("capture",), "`capture`")
    if c is None:
        return Capture()
    include = r.cidrs(c, "include", ("capture",))
    exclude = r.cidrs(c, "exclude", ("capture",)) or []
    return Capture(None if include is None else tuple(include), tuple(exclude))


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
    hosts = _hosts(m, path, r)
    ports = _ports(m, path, r)
    res = r.enum(m, "resolution", path, [x.value for x in Resolution], "resolution-invalid")
    loc = r.enum(m, "location", path, [x.value for x in Location], "location-invalid")
    addresses = r.strings(m, "addresses", path) or []
    endpoints = _endpoints(m, path, r)
    export_to = r.strings(m, "exportTo", path) or []
    meta = {k: r.string(m, k, path) for k in ("owner", "reason", "ticket")}
    if hosts is None or ports is None or endpoints is None:
        return None
    if res is None:
        resolution = Resolution.NONE if any("*" in h for h in hosts) else Resolution.DNS
        if addresses and any("/" in a for a in addresses) and resolution is Resolution.DNS:
            resolution = Resolution.NONE  # a CIDR service routes by address, not by name
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
    )


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
    parsed: list[tuple[int, str, str | None, int | None, Origination | None]] = []
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


def _port(
    item: Any, path: KeyPath, r: Reader
) -> tuple[int, str, str | None, int | None, Origination | None] | None:
    if is_type(item, int):
        return _port_from(item, None, None, None, None, path, r)
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
        return _port_from(int(match.group(1)), match.group(2) or None, None, None, None, path, r)
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
        return _port_from(number, protocol, name, target, originate, path, r)
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
    name: str | None,
    target: int | None,
    originate: Origination | None,
    path: KeyPath,
    r: Reader,
) -> tuple[int, str, str | None, int | None, Origination | None] | None:
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
        return number, inferred, name, target, originate
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
    return number, canonical, name, target, originate


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
    raw: list[tuple[int, str, str | None, int | None, Origination | None]],
) -> list[Port]:
    """Explicit names win; otherwise the protocol, lowercased (``_`` → ``-``), with
    ``-NUMBER`` added when that name is taken within the service."""
    taken = {name for _, _, name, _, _ in raw if name}
    out = []
    for number, protocol, name, target, originate in raw:
        if name is None:
            base = protocol.lower().replace("_", "-")
            name = base if base not in taken else f"{base}-{number}"
            suffix = 2
            while name in taken:
                name = f"{base}-{number}-{suffix}"
                suffix += 1
            taken.add(name)
        out.append(Port(number, protocol, name, target, originate))
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
            out.append(Endpoint(item.strip()))
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
                address.strip(),
                tuple(ports),
                tuple(sorted(labels.items())),
                r.string(e, "network", epath),
                r.string(e, "locality", epath),
                weight,
            )
        )
    return out if ok else None


# ---------------------------------------------------------------------------
# Environment files


@dataclass(frozen=True, slots=True)
class EnvSpec:
    """An environment file as written: paths still relative to the file."""

    inventory: tuple[str, ...]
    context: str
    namespace: str
    api_version: str | None
    istio_chart: str | None
    istio_release: str
    istio_values: tuple[str, ...]
    egress: dict[str, Any] | None
    cluster: ClusterRanges
    istio_repo: str | None = None
    istio_version: str | None = None
    istio_revision: str | None = None
    kubeconfig: str | None = None
    allow_empty_inventory: bool = False


def _refuse(r: Reader, code: str, path: KeyPath, problem: str | None, hint: str = "") -> None:
    if problem is not None:
        r.err(code, path, problem, hint)


def parse_environment(data: Any, r: Reader) -> EnvSpec | None:
    m = r.mapping(data, (), "the environment file")
    if m is None:
        return None
    r.fields(m, (), ENV_KEYS)
    inventory = r.strings(m, "inventory", (), one_allowed=True)
    if inventory is None and m.get("inventory") is None:
        r.err(
            "key-missing",
            (),
            "`inventory` is required",
            "add `inventory: [egress.yaml]` (paths relative to this file)",
        )
    elif inventory is not None and not inventory:
        r.err("inventory-empty", ("inventory",), "no inventory files listed")
    context = r.string(m, "context", (), required=True)
    if context is not None:
        _refuse(
            r,
            "context-invalid",
            ("context",),
            context_problem(context),
            "write the context's name as `kubectl config get-contexts` shows it",
        )
    namespace_text = r.string(m, "namespace", ())
    namespace = "istio-system" if namespace_text is None else namespace_text
    if namespace_text is not None:
        _refuse(
            r,
            "namespace-invalid",
            ("namespace",),
            namespace_problem(namespace_text),
            "the namespace of the Istio control plane, e.g. istio-system",
        )
    api: str | None = None
    api_text = r.string(m, "networkingApiVersion", ())
    if api_text is not None:
        short = api_text.strip().removeprefix("networking.istio.io/")
        if short not in API_VERSIONS:
            r.err(
                "api-version-invalid",
                ("networkingApiVersion",),
                f"{api_text!r} is not one of {', '.join(API_VERSIONS)}",
                "v1 needs Istio 1.22+, v1beta1 Istio 1.5+, v1alpha3 serves every release",
            )
        else:
            api = short
    chart: str | None = None
    release = "istiod"
    values: tuple[str, ...] = ()
    repo: str | None = None
    version: str | None = None
    revision: str | None = None
    istio = r.get(m, "istio", (), dict)
    if istio is not None:
        r.fields(istio, ("istio",), ISTIO_KEYS)
        chart = r.string(istio, "chart", ("istio",), required=True)
        release_text = r.string(istio, "release", ("istio",))
        release = "istiod" if release_text is None else release_text
        values = tuple(r.strings(istio, "values", ("istio",)) or ())
        repo = r.string(istio, "repo", ("istio",))
        raw_version = istio.get("version")
        if isinstance(raw_version, (int, float)) and not isinstance(raw_version, bool):
            version = str(raw_version)  # `version: 1.28` read as a number
        else:
            version = r.string(istio, "version", ("istio",))
        revision = r.string(istio, "revision", ("istio",))
        _istio_arguments(r, chart, release_text, values, repo, version, revision)
        if version is not None and repo is None:
            r.err(
                "istio-version-without-repo",
                ("istio", "version"),
                "`version` applies to a chart from a repository",
                "add `repo: <chart repository URL>`, or drop `version` for a local chart",
            )
    egress = r.get(m, "egress", (), dict)
    cluster = ClusterRanges()
    raw_cluster = r.get(m, "cluster", (), dict)
    if raw_cluster is not None:
        r.fields(raw_cluster, ("cluster",), CLUSTER_KEYS)
        cluster = ClusterRanges(
            tuple(r.cidrs(raw_cluster, "podCIDRs", ("cluster",)) or ()),
            tuple(r.cidrs(raw_cluster, "serviceCIDRs", ("cluster",)) or ()),
        )
    kubeconfig = r.string(m, "kubeconfig", ())
    if kubeconfig is not None:
        _refuse(r, "kubeconfig-invalid", ("kubeconfig",), path_problem(kubeconfig, "path"))
    allow_empty = r.get(m, "allowEmptyInventory", (), bool)
    if context is None or inventory is None:
        return None
    return EnvSpec(
        tuple(inventory),
        context,
        namespace,
        api,
        chart,
        release,
        values,
        egress,
        cluster,
        repo,
        version,
        revision,
        kubeconfig,
        bool(allow_empty),
    )


def _istio_arguments(
    r: Reader,
    chart: str | None,
    release: str | None,
    values: tuple[str, ...],
    repo: str | None,
    version: str | None,
    revision: str | None,
) -> None:
    """What goes to helm as arguments, or names rendered objects: refused with a position
    when it could be read as a flag or is not what helm and Istio accept."""
    at: KeyPath = ("istio",)
    if chart is not None:
        chart_problem = (
            argument_problem(chart, "chart name", spaces=False)
            if repo is not None
            else argument_problem(chart, "chart path")
        )
        _refuse(r, "istio-chart-invalid", (*at, "chart"), chart_problem)
    if release is not None:
        _refuse(
            r, "istio-release-invalid", (*at, "release"), release_problem(release), "e.g. istiod"
        )
    for i, path in enumerate(values):
        _refuse(
            r,
            "istio-values-invalid",
            (*at, "values", i),
            argument_problem(path, "values file path"),
        )
    if repo is not None:
        _refuse(
            r,
            "istio-repo-invalid",
            (*at, "repo"),
            repo_problem(repo),
            "e.g. https://istio-release.storage.googleapis.com/charts",
        )
    if version is not None:
        _refuse(r, "istio-version-invalid", (*at, "version"), version_problem(version))
    if revision is not None:
        _refuse(
            r,
            "istio-revision-invalid",
            (*at, "revision"),
            revision_problem(revision),
            "e.g. canary",
        )
