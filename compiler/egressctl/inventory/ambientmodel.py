"""Questions on the model that the ambient planner, its rules and `explain` ask alike
(issue #15).  Pure."""

from __future__ import annotations

from egressctl.inventory.model import Ambient, Inventory, Policy, Service

# Protocols a DYNAMIC_DNS entry may carry (pkg/config/validation, Istio 1.30); HTTPS is
# written TLS (a waypoint routes it by SNI, without terminating it).
DYNAMIC_HTTP = frozenset({"HTTP", "HTTP2", "GRPC"})
DYNAMIC_TLS = frozenset({"TLS", "HTTPS"})
# Since which Istio a waypoint resolves wildcard hosts per request (release notes: HTTP
# in 1.28; TLS in 1.29, behind ENABLE_WILDCARD_HOST_SERVICE_ENTRIES_FOR_TLS).
DYNAMIC_HTTP_FROM = (1, 28)
DYNAMIC_TLS_FROM = (1, 29)
# istiod's switches, in its Deployment's environment.
AMBIENT_FLAG = "PILOT_ENABLE_AMBIENT"
WILDCARD_TLS_FLAG = "ENABLE_WILDCARD_HOST_SERVICE_ENTRIES_FOR_TLS"


def is_wildcard(svc: Service) -> bool:
    return any(h.startswith("*") for h in svc.hosts)


def wildcard_tls(svc: Service) -> bool:
    """A wildcard entry with a TLS (or HTTPS) port: istiod must enable it explicitly."""
    return is_wildcard(svc) and any(p.protocol in DYNAMIC_TLS for p in svc.ports)


def enrolled(inv: Inventory, ambient: Ambient) -> list[str]:
    """Every namespace enrolled in ambient that egressctl knows of: those `namespaces:`
    lists, then ``ambient.enrolled``; the egress namespace itself is not one."""
    out = [n.name for n in inv.namespaces if n.name != ambient.namespace]
    out += [n for n in ambient.enrolled if n not in out and n != ambient.namespace]
    return out


def namespace_policy(inv: Inventory, name: str) -> Policy:
    """The mode of an enrolled namespace: its own when listed, else the mesh's."""
    listed = next((n for n in inv.namespaces if n.name == name), None)
    return inv.policy if listed is None else listed.policy
