"""Inventory → the Istio objects each destination needs.  Pure and deterministic."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from egressctl.model import Capture, Inventory, IPNetwork, Policy, Service


@dataclass(frozen=True, slots=True)
class Plan:
    policy: Policy
    include_ip_ranges: str
    exclude_ip_ranges: str
    service_entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    tls_routes: dict[str, dict[str, Any]] = field(default_factory=dict)

    def object_counts(self) -> dict[str, int]:
        return {
            "ServiceEntry": len(self.service_entries),
            "VirtualService": len(self.tls_routes),
        }


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


def service_entry(svc: Service) -> dict[str, Any]:
    ports = []
    for p in svc.ports:
        port: dict[str, Any] = {"number": p.number, "name": p.name, "protocol": p.protocol}
        if p.target_port is not None:
            port["targetPort"] = p.target_port
        ports.append(port)
    return {
        "hosts": list(svc.hosts),
        "ports": ports,
        "resolution": svc.resolution.value,
        "location": svc.location.value,
    }


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
    return {"hosts": list(svc.hosts), "routes": routes}


def build(inv: Inventory) -> Plan:
    include, exclude = capture_values(inv.capture)
    entries: dict[str, dict[str, Any]] = {}
    routes: dict[str, dict[str, Any]] = {}
    for svc in sorted(inv.services, key=lambda s: s.name):
        entries[svc.name] = service_entry(svc)
        route = tls_route(svc)
        if route is not None:
            routes[svc.name] = route
    return Plan(inv.policy, include, exclude, entries, routes)
