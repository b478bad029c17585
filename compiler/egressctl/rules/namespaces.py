"""Rules of the per-namespace allowlists (issue #14).  Pure.

On the inventory: names (namespaces, workloads), allowlists naming unknown services,
allowed services hidden from the namespace by their own `exportTo`, Sidecar imports that
would take in services the namespace does not allow, two visible services on one host
and port, and namespaces with a NetworkPolicy allowed a direct service without
addresses.  On an environment: a NetworkPolicy needs the cluster's ranges, and the
environment's own namespace cannot be listed."""

from __future__ import annotations

from collections.abc import Iterator

from egressctl.errors import Anchor, KeyPath, Problem, error
from egressctl.inventory.model import Environment, Inventory, NamespacePolicy, Service
from egressctl.inventory.names import DNS_LABEL_HINT, is_dns1123_label
from egressctl.inventory.reader import did_you_mean
from egressctl.inventory.tenancy import (
    DEFAULT_ENTRY_NAMESPACE,
    allowing,
    direct_without_addresses,
    export_to,
    exported,
    gateway_namespace,
    gateway_of,
)
from egressctl.rules.hosts import covers

#: Object names the planner gives a namespace's own objects (Sidecar, NetworkPolicy).
RESERVED = ("default", "egressctl-egress")
#: Unknown names per allowlist that get a did-you-mean hint.
_SUGGESTED = 20


def overlaps(a: str, b: str) -> bool:
    """Whether two hosts (either may be a wildcard) share a name: how a Sidecar's
    `egress.hosts` item imports a service (Istio's host.Name.Matches)."""
    return a == b or covers(a, b) or covers(b, a)


class HostIndex:
    """Every service's hosts, indexed so that the services whose hosts overlap one host
    cost a few look-ups (one per label) rather than a scan of the inventory."""

    def __init__(self, services: tuple[Service, ...]) -> None:
        self.exact: dict[str, list[Service]] = {}
        self.under: dict[str, list[Service]] = {}  # suffix → services with a host below it
        self.wild: dict[str, list[Service]] = {}  # `*.suffix` wildcards by suffix
        self.partial: list[tuple[str, Service]] = []  # `*foo.com`: rare, scanned
        self.services = services
        for svc in services:
            for host in svc.hosts:
                self.exact.setdefault(host, []).append(svc)
                rest = host
                while "." in rest:
                    rest = rest.split(".", 1)[1]
                    self.under.setdefault(rest, []).append(svc)
                if host.startswith("*."):
                    self.wild.setdefault(host[2:], []).append(svc)
                elif host.startswith("*"):
                    self.partial.append((host, svc))

    def overlapping(self, host: str) -> Iterator[Service]:
        """Services with a host that overlaps ``host`` (may repeat)."""
        yield from self.exact.get(host, ())
        if host.startswith("*."):
            yield from self.under.get(host[2:], ())
        elif host.startswith("*"):
            yield from (s for s in self.services if any(overlaps(host, h) for h in s.hosts))
        rest = host
        while "." in rest:
            rest = rest.split(".", 1)[1]
            yield from self.wild.get(rest, ())
        for pattern, svc in self.partial:
            if covers(pattern, host):
                yield svc


def _allowlists(ns: NamespacePolicy) -> Iterator[tuple[KeyPath, tuple[str, ...], bool]]:
    """(path, allow, all) of the namespace and of each of its workloads."""
    base: KeyPath = ("namespaces", ns.name)
    yield base, ns.allow, ns.allow_all
    for w in ns.workloads:
        yield (*base, "workloads", w.name), w.allow, False


def namespace_rules(inv: Inventory, entry_namespace: str | None = None) -> Iterator[Problem]:
    """Every rule over `namespaces:` (``entry_namespace``: the environment's, where the
    entries live; `istio-system` without one)."""
    where = entry_namespace or DEFAULT_ENTRY_NAMESPACE
    by_name = {s.name: s for s in inv.services}
    allowed_by = allowing(inv)
    exports = {s.name: export_to(inv, s, where, allowed_by) for s in inv.services}
    index = HostIndex(inv.services)
    for ns in inv.namespaces:
        yield from _names(ns)
        for path, allow, allow_all in _allowlists(ns):
            known = [n for n in allow if n in by_name]
            if not allow_all:
                yield from _unknown(path, allow, by_name)
                yield from _hidden(ns.name, path, allow, by_name, exports, where)
            visible = [
                by_name[n] for n in dict.fromkeys(known) if exported(exports[n], ns.name, where)
            ]
            yield from _conflicts(path, ns.name, visible)
            # (with `exportTo: listed` only entries exported here by hand can be met)
            yield from _imports(path, ns.name, visible, index, exports, where)
            if ns.network_policy:
                yield from _direct(path, allow, allow_all, by_name)
    yield from _gateway_conflicts(inv, exports, where)
    yield from _gateway_lockdown(inv)


def _gateway_lockdown(inv: Inventory) -> Iterator[Problem]:
    """A NetworkPolicy in a namespace where an egress gateway runs selects the gateway's
    pods too (`podSelector: {}`), and allows them no external address: every service
    through that gateway would be cut.  (Gateways read no Sidecar of their namespace:
    listing it is harmless otherwise.)"""
    used = {svc.via for svc in inv.services if svc.via is not None}
    runs = {g.namespace: g.name for g in inv.gateways if g.namespace and g.name in used}
    for ns in inv.namespaces:
        gateway = runs.get(ns.name)
        if ns.network_policy and gateway is not None:
            yield error(
                "network-policy-gateway",
                ("namespaces", ns.name, "networkPolicy"),
                f"egress gateway {gateway!r} runs in namespace {ns.name!r}: its NetworkPolicy "
                "would select the gateway's pods and cut their own connections to the "
                "external hosts, so every service through the gateway would fail",
                "keep the gateway in a namespace of its own, without `networkPolicy: true`",
            )


def _names(ns: NamespacePolicy) -> Iterator[Problem]:
    base: KeyPath = ("namespaces", ns.name)
    if not is_dns1123_label(ns.name):
        yield error(
            "namespace-invalid",
            base,
            f"namespace {ns.name!r} is not a DNS-1123 label",
            DNS_LABEL_HINT,
            anchor=Anchor.KEY,
        )
    for w in ns.workloads:
        if not is_dns1123_label(w.name) or w.name in RESERVED:
            why = (
                f"{w.name!r} names the namespace's own objects"
                if w.name in RESERVED
                else f"{w.name!r} is not a DNS-1123 label"
            )
            yield error(
                "workload-name-invalid",
                (*base, "workloads", w.name),
                f"workload allowlist {why} (it names the workload's Sidecar)",
                f"rename it: {DNS_LABEL_HINT}, not {' or '.join(RESERVED)}",
                anchor=Anchor.KEY,
            )


def _unknown(
    path: KeyPath, allow: tuple[str, ...], by_name: dict[str, Service]
) -> Iterator[Problem]:
    choices = sorted(by_name)
    unknown = 0
    for i, name in enumerate(allow):
        if name not in by_name:
            unknown += 1
            # did-you-mean is a fuzzy scan of every service: only for the first few, so
            # that a huge allowlist of unknown names stays linear
            close = did_you_mean(name, choices) if unknown <= _SUGGESTED else ""
            yield error(
                "allow-unknown-service",
                (*path, "allow", i),
                f"no service {name!r} in the inventory",
                close or "list a key of `services:`, or `*`",
            )


def _hidden(
    namespace: str,
    path: KeyPath,
    allow: tuple[str, ...],
    by_name: dict[str, Service],
    exports: dict[str, tuple[str, ...]],
    where: str,
) -> Iterator[Problem]:
    for i, name in enumerate(allow):
        if name in by_name and not exported(exports[name], namespace, where):
            yield error(
                "allow-not-exported",
                (*path, "allow", i),
                f"service {name!r} is allowed here but its exportTo "
                f"({', '.join(exports[name])}) hides it from namespace {namespace!r}",
                f"add {namespace} to the service's exportTo, or leave exportTo out",
            )


def _conflicts(path: KeyPath, namespace: str, visible: list[Service]) -> Iterator[Problem]:
    """Two services visible here on the same host and port: Istio keeps one silently."""
    seen: dict[tuple[str, int], Service] = {}
    for svc in visible:
        for host in svc.hosts:
            for p in svc.ports:
                first = seen.setdefault((host, p.number), svc)
                if first.name != svc.name:
                    yield error(
                        "namespace-host-conflict",
                        path,
                        f"services {first.name!r} and {svc.name!r} both register "
                        f"{host}:{p.number} for namespace {namespace!r}; Istio keeps one "
                        "of them silently",
                        "allow only one of them here",
                        anchor=Anchor.KEY,
                    )


def _imports(
    path: KeyPath,
    namespace: str,
    visible: list[Service],
    index: HostIndex,
    exports: dict[str, tuple[str, ...]],
    where: str,
) -> Iterator[Problem]:
    """A Sidecar imports by host: an allowed host that overlaps the host of a service
    the namespace does not allow (a wildcard) imports that service too."""
    allowed = {s.name for s in visible}
    reported: set[str] = set()
    for svc in visible:
        for host in svc.hosts:
            for other in index.overlapping(host):
                if other.name in allowed or other.name in reported:
                    continue
                if not exported(exports[other.name], namespace, where):
                    continue
                reported.add(other.name)
                yield error(
                    "namespace-import-overlap",
                    path,
                    f"allowing {svc.name!r} ({host}) imports service {other.name!r} too: "
                    f"a Sidecar imports every host that overlaps {host}",
                    "allow both, or set `defaults: {exportTo: listed}` so that each entry is "
                    "exported only where it is allowed",
                    anchor=Anchor.KEY,
                )


def _direct(
    path: KeyPath, allow: tuple[str, ...], allow_all: bool, by_name: dict[str, Service]
) -> Iterator[Problem]:
    for i, name in enumerate(allow):
        svc = by_name.get(name)
        if svc is None or not direct_without_addresses(svc):
            continue
        yield error(
            "network-policy-direct",
            (*path, "allow") if allow_all else (*path, "allow", i),
            f"service {name!r} is direct and its sidecar connects to no IP a NetworkPolicy "
            "can list (`addresses` count with resolution NONE, IP `endpoints` otherwise; "
            "DNS resolves the host): with `networkPolicy: true` this namespace can reach it "
            "only through a gateway or by addresses",
            "send it through an egress gateway (`via:`), or give it `addresses:` with "
            "resolution NONE (or IP `endpoints:`)",
        )


def _gateway_conflicts(
    inv: Inventory, exports: dict[str, tuple[str, ...]], where: str
) -> Iterator[Problem]:
    """The gateway namespaces see the entries that leave through them."""
    by_ns: dict[str, list[Service]] = {}
    for svc in inv.services:
        gw = gateway_of(inv, svc)
        if gw is not None:
            ns = gateway_namespace(gw, where)
            if exported(exports[svc.name], ns, where):
                by_ns.setdefault(ns, []).append(svc)
    for ns, visible in sorted(by_ns.items()):
        yield from _conflicts(("services", visible[-1].name), ns, visible)


def environment_namespace_rules(env: Environment) -> Iterator[Problem]:
    """A NetworkPolicy needs the cluster's ranges; the entries' own namespace cannot be
    listed (its `./*` would import every entry)."""
    ranges = env.cluster
    for ns in env.inventory.namespaces:
        path: KeyPath = ("namespaces", ns.name)
        if ns.name == env.namespace:
            yield error(
                "namespace-is-entry-namespace",
                path,
                f"namespace {ns.name!r} holds the entries ({env.file}: namespace): its "
                "Sidecar's `./*` would import every one of them",
                "list the application namespaces, not the environment's",
                anchor=Anchor.KEY,
            )
        if ns.network_policy and not (ranges.pod_cidrs and ranges.service_cidrs):
            missing = [
                k
                for k, v in (("podCIDRs", ranges.pod_cidrs), ("serviceCIDRs", ranges.service_cidrs))
                if not v
            ]
            yield error(
                "network-policy-no-cluster",
                (*path, "networkPolicy"),
                f"a NetworkPolicy needs the cluster's ranges, and {env.file} sets no "
                f"cluster.{' nor cluster.'.join(missing)}",
                f"add `cluster: {{podCIDRs: [...], serviceCIDRs: [...]}}` to {env.file}",
            )
