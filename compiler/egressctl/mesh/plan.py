"""Inventory → the Istio objects each destination needs.  Pure and deterministic."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from egressctl.inventory.model import (
    Ambient,
    Capture,
    ClusterRanges,
    Dataplane,
    Inventory,
    IPNetwork,
    Policy,
    Service,
)
from egressctl.inventory.names import is_label_value
from egressctl.mesh import ambient, gatewayapi, namespaces
from egressctl.mesh import gateways as istio_gateways


@dataclass(frozen=True, slots=True)
class Target:
    """What the plan is built for beyond the inventory: the environment's namespace, the
    Istio version its chart installs, its data plane and the cluster's own ranges.  The
    default (`compile FILE…`, no environment) knows none of them."""

    namespace: str | None = None
    istio_version: tuple[int, int] | None = None  # (major, minor) of the Istio chart
    dataplane: Dataplane = Dataplane.SIDECAR
    cluster: ClusterRanges = field(default_factory=ClusterRanges)
    ambient: Ambient = field(default_factory=Ambient)  # with dataplane AMBIENT (#15)


# chart/'s values key → the kind of the objects it holds, for the keys that `extra` holds
# (gateways, sidecars, network policies…).  Each feature adds its keys here.
EXTRA_KINDS: dict[str, str] = {}
EXTRA_KINDS.update(namespaces.KINDS)  # sidecars, networkPolicies (#14)
EXTRA_KINDS.update(gatewayapi.KINDS)  # Gateway API gateways and routes (#13)
EXTRA_KINDS.update(istio_gateways.KINDS)  # api: istio gateways and two-hop routes (#13)
EXTRA_KINDS.update(ambient.KINDS)  # authorizationPolicies (#15)


@dataclass(frozen=True, slots=True)
class Plan:
    policy: Policy
    include_ip_ranges: str
    exclude_ip_ranges: str
    service_entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    tls_routes: dict[str, dict[str, Any]] = field(default_factory=dict)
    destination_rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    # More of chart/'s values maps, by values key (see EXTRA_KINDS): object name → entry.
    # Written to chart/'s values only when not empty.
    extra: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    target: Target = field(default_factory=Target)

    def object_counts(self) -> dict[str, int]:
        counts = {
            "DestinationRule": len(self.destination_rules),
            "ServiceEntry": len(self.service_entries),
            "VirtualService": len(self.tls_routes),
        }
        for key, objects in self.extra.items():
            kind = EXTRA_KINDS[key]
            counts[kind] = counts.get(kind, 0) + len(objects)
        return counts


def collapse(networks: Iterable[IPNetwork]) -> list[IPNetwork]:
    """Merge adjacent and nested ranges; sort numerically, IPv4 before IPv6."""
    v4 = [n for n in networks if isinstance(n, ipaddress.IPv4Network)]
    v6 = [n for n in networks if isinstance(n, ipaddress.IPv6Network)]
    out: list[IPNetwork] = []
    out.extend(ipaddress.collapse_addresses(v4))
    out.extend(ipaddress.collapse_addresses(v6))
    return out


def capture_values(capture: Capture) -> tuple[str, str]:
    """The ``includeIPRanges`` and ``excludeIPRanges`` strings Istio's charts read."""
    include = "*" if capture.include is None else ",".join(map(str, collapse(capture.include)))
    exclude = ",".join(map(str, collapse(capture.exclude)))
    return include, exclude


def metadata(svc: Service) -> dict[str, dict[str, str]] | None:
    """Audit metadata: owner, reason and ticket as annotations (owner also as a label
    when it is a valid label value)."""
    annotations = {
        f"egressctl.io/{key}": value
        for key, value in (("owner", svc.owner), ("reason", svc.reason), ("ticket", svc.ticket))
        if value
    }
    if not annotations:
        return None
    out: dict[str, dict[str, str]] = {"annotations": annotations}
    if svc.owner and is_label_value(svc.owner):
        out["labels"] = {"egressctl.io/owner": svc.owner}
    return out


def service_entry(svc: Service) -> dict[str, Any]:
    ports = []
    for p in svc.ports:
        port: dict[str, Any] = {"number": p.number, "name": p.name, "protocol": p.protocol}
        if p.target_port is not None:
            port["targetPort"] = p.target_port
        ports.append(port)
    entry: dict[str, Any] = {"hosts": list(svc.hosts)}
    if svc.addresses:
        entry["addresses"] = list(svc.addresses)
    entry["ports"] = ports
    entry["resolution"] = svc.resolution.value
    entry["location"] = svc.location.value
    if svc.endpoints:
        entry["endpoints"] = [_endpoint(e) for e in svc.endpoints]
    _common(entry, svc)
    return entry


def _endpoint(e: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"address": e.address}
    if e.ports:
        out["ports"] = dict(e.ports)
    if e.labels:
        out["labels"] = dict(e.labels)
    for key, value in (("network", e.network), ("locality", e.locality), ("weight", e.weight)):
        if value is not None:
            out[key] = value
    return out


def _common(obj: dict[str, Any], svc: Service, *, derived: bool = False) -> None:
    """exportTo and audit metadata.  For objects derived from a service (its TLS route and
    DestinationRule) `~` becomes `.`: `~` is ServiceEntry-only, and the route of a hidden
    entry stays hidden too."""
    if svc.export_to and "exportTo" not in obj:
        hidden = derived and svc.export_to == ("~",)
        obj["exportTo"] = ["."] if hidden else list(svc.export_to)
    meta = metadata(svc)
    if meta:
        obj["metadata"] = meta


def tls_route(svc: Service) -> dict[str, Any] | None:
    """One route per TLS/HTTPS port and host: SNI ``host`` on ``port`` goes to ``host``."""
    routes = [
        {
            "port": p.number,
            "sniHosts": [host],
            "destination": {"host": host, "port": p.number},
            "weight": 100,
        }
        for p in svc.ports
        if p.is_tls
        for host in svc.hosts
    ]
    if not routes:
        return None
    out: dict[str, Any] = {"hosts": list(svc.hosts), "routes": routes}
    _common(out, svc, derived=True)
    return out


def destination_rule(svc: Service) -> dict[str, Any] | None:
    """TLS origination: the sidecar opens TLS for plain-HTTP ports marked ``originate``."""
    settings = []
    selector: dict[str, str] = {}
    namespace = None
    for p in svc.ports:
        o = p.originate
        if o is None:
            continue
        settings.append(istio_gateways.port_origination(svc, p, o))
        selector.update(dict(o.workload_selector))
        namespace = namespace or o.namespace
    if not settings:
        return None
    out: dict[str, Any] = {"host": svc.hosts[0], "portLevelSettings": settings}
    if namespace:
        out["namespace"] = namespace
    if selector:
        out["workloadSelector"] = selector
        out["exportTo"] = ["."]  # Istio: a rule with a workloadSelector stays in its namespace
    _common(out, svc, derived=True)
    return out


def build(inv: Inventory, target: Target | None = None) -> Plan:
    target = target or Target()
    inv = namespaces.with_listed_export(inv, target)  # `defaults.exportTo: listed` (#14)
    include, exclude = capture_values(inv.capture)
    entries: dict[str, dict[str, Any]] = {}
    routes: dict[str, dict[str, Any]] = {}
    rules: dict[str, dict[str, Any]] = {}
    for svc in sorted(inv.services, key=lambda s: s.name):
        entries[svc.name] = service_entry(svc)
        route = tls_route(svc)
        if route is not None:
            routes[svc.name] = route
        rule = destination_rule(svc)
        if rule is not None:
            rules[svc.name] = rule
    if target.dataplane is Dataplane.AMBIENT:  # the ambient set instead of the sidecar set
        base = Plan(inv.policy, include, exclude, entries, routes, rules, {}, target)
        return ambient.build(inv, target, base)
    extra: dict[str, dict[str, dict[str, Any]]] = {}
    istio_gateways.add_gateways(inv, target, entries, routes, rules, extra)  # via (#13)
    namespaces.add_objects(extra, inv, target)  # Sidecars, NetworkPolicies (#14)
    gatewayapi.add_objects(inv, target, entries, rules, extra)  # api: gateway-api (#13)
    return Plan(inv.policy, include, exclude, entries, routes, rules, extra, target)
