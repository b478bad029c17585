"""Names of the objects an egress gateway with ``api: gateway-api`` renders (issue #13),
shared by the planner (:mod:`egressctl.mesh.gatewayapi`) and the rules that name them
(:mod:`egressctl.rules.gatewayapi`, `explain`).  Pure."""

from __future__ import annotations

import hashlib

from egressctl.inventory.model import HTTP_FAMILY, TLS_FAMILY, EgressGateway, Port, Service

GATEWAY_CLASS = "istio"
_MAX_NAME = 63


def object_name(*parts: str) -> str:
    """``parts`` joined by ``-``, a DNS label: cut to 63 characters with a short digest
    of the whole when longer, so that two long names never collide by the cut."""
    name = "-".join(parts)
    if len(name) <= _MAX_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: _MAX_NAME - 9].rstrip('-')}-{digest}"


def gateway_service(gw: EgressGateway) -> str:
    """The Service Istio's automated deployment creates for a Gateway of class istio:
    ``<name>-istio``, spelled as Istio does (uncut: a name over 57 characters gives no
    valid Service name, and Istio then deploys nothing: rule gateway-api-name-too-long)."""
    return f"{gw.name}-{GATEWAY_CLASS}"


def listener(port: Port) -> tuple[str, str] | None:
    """(listener name, protocol) of a service port through the gateway; None: opaque
    ports, which get no route."""
    if port.protocol in TLS_FAMILY:
        return f"tls-{port.number}", "TLS"
    if port.protocol in HTTP_FAMILY:
        return f"http-{port.number}", "HTTP"
    return None


def mesh_route_name(svc: Service, port: Port) -> str:
    return object_name(svc.name, str(port.number), "mesh")


def gateway_route_names(svc: Service, port: Port) -> list[str]:
    """One gateway route per host: ``<svc>-<port>-gateway``, numbered with several."""
    if len(svc.hosts) == 1:
        return [object_name(svc.name, str(port.number), "gateway")]
    return [
        object_name(svc.name, str(port.number), "gateway", str(i + 1))
        for i in range(len(svc.hosts))
    ]


def grant_name(gw: EgressGateway) -> str:
    return object_name(gw.name, "mesh-routes")


def route_kind(protocol: str) -> str:
    return "TLSRoute" if protocol == "TLS" else "HTTPRoute"


def via_objects(
    svc: Service, gw: EgressGateway, namespace: str
) -> tuple[tuple[str, str, str], ...]:
    """(kind, namespace, name) of the objects chart/ renders to send ``svc`` through the
    gateway-api gateway ``gw`` (as :mod:`egressctl.mesh.gatewayapi` plans them),
    ``namespace`` being the environment's."""
    at = gw.namespace or namespace
    # The kind key of mesh.kinds: a bare `Gateway` is Istio's.
    out = [
        ("ServiceEntry", namespace, svc.name),
        ("Gateway.gateway.networking.k8s.io", at, gw.name),
    ]
    for port in svc.ports:
        found = listener(port)
        if found is None:
            continue
        kind = route_kind(found[1])
        out.append((kind, namespace, mesh_route_name(svc, port)))
        out.extend((kind, at, name) for name in gateway_route_names(svc, port))
    if at != namespace:
        out.append(("ReferenceGrant", at, grant_name(gw)))
    if any(p.originate is not None for p in svc.ports):
        out.append(("DestinationRule", namespace, svc.name))
    return tuple(out)
