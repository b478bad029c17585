"""Egress gateways written in the Kubernetes Gateway API (`gateways.*.api: gateway-api`,
issue #13), as in the "Gateway API" tab of istio.io's "Egress Gateways" and "Egress
Gateways with TLS Origination" tasks.  Pure and deterministic.

For each such gateway:

* one ``Gateway`` (gateway.networking.k8s.io/v1, ``gatewayClassName: istio``, annotation
  ``networking.istio.io/service-type: ClusterIP``): Istio deploys it (a Deployment and a
  Service named ``<gateway>-istio``).  Listeners are merged per port: ``http-<port>``
  (protocol HTTP) for the HTTP-family ports of the services through it, ``tls-<port>``
  (protocol TLS, Passthrough) for HTTPS/TLS ports; routes attach from the gateway's own
  namespace (``allowedRoutes: Same``);
* per service and port, a *mesh* route (``HTTPRoute`` or ``TLSRoute``) whose parent is
  the service's ServiceEntry (group networking.istio.io) and whose backend is the
  gateway's Service: the sidecars send that port to the gateway.  It lives with the
  ServiceEntry (a producer route: it applies to every client namespace);
* per service, port and host, a *gateway* route on the Gateway's listener whose backend
  is the external host (``kind: Hostname, group: networking.istio.io``), in the gateway's
  namespace;
* a ``ReferenceGrant`` in the gateway's namespace when the mesh routes live elsewhere
  (a route's backend in another namespace needs one);
* the service's ServiceEntry is exported to the gateway's namespace too (the gateway
  resolves the ``Hostname`` backend through it);
* for origination at the gateway (an HTTP port with ``originate``), the gateway route
  sends to the host's same port, whose ServiceEntry port sends on to 443
  (``targetPort``), and a DestinationRule on the host at that port, exported to the
  gateway's namespace only, opens TLS there (:func:`origination_rules`), as with
  ``api: istio`` (:mod:`egressctl.mesh.gateways`).

:func:`add_objects` is what ``plan.build`` calls.

The TLSRoute version follows the Istio version the environment targets
(:func:`tls_route_api_version`).  Opaque ports (TCP…) get no route: a TCPRoute is not
written here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from egressctl.inventory.gatewayapinames import (
    GATEWAY_CLASS,
    gateway_route_names,
    gateway_service,
    grant_name,
    listener,
    mesh_route_name,
)
from egressctl.inventory.model import (
    EgressGateway,
    GatewayApi,
    Inventory,
    Service,
)
from egressctl.mesh import gateways as istio_gateways
from egressctl.mesh.kinds import GATEWAY_API_GATEWAY

if TYPE_CHECKING:
    from egressctl.mesh.plan import Target

GROUP = "gateway.networking.k8s.io"
ISTIO_GROUP = "networking.istio.io"
SERVICE_TYPE_ANNOTATION = "networking.istio.io/service-type"

# chart/'s values keys for the objects of this module (see plan.EXTRA_KINDS).
GATEWAYS_KEY = "gatewayApiGateways"
HTTP_ROUTES_KEY = "httpRoutes"
TLS_ROUTES_KEY = "gatewayApiTlsRoutes"
GRANTS_KEY = "referenceGrants"
# The Gateway's kind is group-qualified (mesh.kinds): Istio's Gateway is the bare one.
KINDS = {
    GATEWAYS_KEY: GATEWAY_API_GATEWAY,
    HTTP_ROUTES_KEY: "HTTPRoute",
    TLS_ROUTES_KEY: "TLSRoute",
    GRANTS_KEY: "ReferenceGrant",
}

# Istio reads TLSRoute at v1 from 1.30 on (it needs Gateway API CRDs >= v1.5 then);
# up to 1.29 it reads v1alpha2.
TLS_ROUTE_V1_FROM = (1, 30)
TLS_ROUTE_V1 = f"{GROUP}/v1"
TLS_ROUTE_V1ALPHA2 = f"{GROUP}/v1alpha2"


def _metadata(svc: Service) -> dict[str, dict[str, str]] | None:
    # plan imports this module: its names are looked up when called, not at import.
    from egressctl.mesh.plan import metadata

    return metadata(svc)


def tls_route_api_version(istio_version: tuple[int, int] | None) -> tuple[str, str]:
    """The TLSRoute apiVersion for an Istio (major, minor), and why.  Unknown version (no
    Istio chart, or one whose version names none): v1alpha2, which Istio up to 1.29 reads
    and Gateway API bundles up to v1.5 still serve (experimental channel), so the
    objects apply whatever the cluster's Istio."""
    if istio_version is None:
        return TLS_ROUTE_V1ALPHA2, "Istio version unknown (no Istio chart): v1alpha2"
    shown = f"{istio_version[0]}.{istio_version[1]}"
    if istio_version >= TLS_ROUTE_V1_FROM:
        return TLS_ROUTE_V1, f"Istio {shown} reads v1 (needs Gateway API CRDs >= v1.5)"
    return TLS_ROUTE_V1ALPHA2, f"Istio {shown} reads v1alpha2 (v1 from 1.30)"


@dataclass(frozen=True, slots=True)
class _Where:
    """Namespaces, None standing for the release's (the environment's): the mesh routes
    live with the ServiceEntries (there), the Gateway and its routes in the gateway's
    namespace when the inventory names one."""

    gateway: str | None  # the gateway's namespace as written (None: the release's)
    senders: str | None  # the mesh routes' namespace as a ReferenceGrant spells it
    cross: bool  # the mesh routes' backend is in another namespace


def _where(gw: EgressGateway, target: Target) -> _Where:
    cross = gw.namespace is not None and gw.namespace != target.namespace
    return _Where(gw.namespace, target.namespace, cross)


def _with_ns(entry: dict[str, Any], namespace: str | None) -> dict[str, Any]:
    if namespace is not None:
        entry["namespace"] = namespace
    return entry


def _services_via(inv: Inventory, gw: EgressGateway) -> list[Service]:
    return sorted((s for s in inv.services if s.via == gw.name), key=lambda s: s.name)


def gateway_api_gateways(inv: Inventory) -> list[EgressGateway]:
    return sorted(
        (g for g in inv.gateways if g.api is GatewayApi.GATEWAY_API), key=lambda g: g.name
    )


def gateway_entry(gw: EgressGateway, services: Iterable[Service], where: _Where) -> dict[str, Any]:
    """The Gateway (values shape `gatewayApiGateways`): one listener per port and
    protocol over every service through it."""
    listeners: dict[tuple[int, str], dict[str, Any]] = {}
    for svc in services:
        for port in svc.ports:
            found = listener(port)
            if found is None:
                continue
            name, protocol = found
            one: dict[str, Any] = {"name": name, "port": port.number, "protocol": protocol}
            if protocol == "TLS":
                one["tls"] = {"mode": "Passthrough"}
            one["allowedRoutes"] = {"namespaces": {"from": "Same"}}
            listeners.setdefault((port.number, protocol), one)
    entry: dict[str, Any] = {}
    _with_ns(entry, where.gateway)
    entry["gatewayClassName"] = GATEWAY_CLASS
    entry["annotations"] = {SERVICE_TYPE_ANNOTATION: "ClusterIP"}
    entry["listeners"] = [listeners[k] for k in sorted(listeners)]
    return entry


def _route(
    namespace: str | None,
    parent: dict[str, Any],
    hostnames: list[str] | None,
    backend: dict[str, Any],
    svc: Service,
    api_version: str | None = None,
) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    if api_version is not None:
        entry["apiVersion"] = api_version
    _with_ns(entry, namespace)
    entry["parentRefs"] = [parent]
    if hostnames:
        entry["hostnames"] = hostnames
    entry["backendRefs"] = [backend]
    meta = _metadata(svc)
    if meta:
        entry["metadata"] = meta
    return entry


@dataclass
class _Objects:
    http: dict[str, dict[str, Any]]
    tls: dict[str, dict[str, Any]]

    def add(self, protocol: str, name: str, entry: dict[str, Any]) -> None:
        (self.tls if protocol == "TLS" else self.http)[name] = entry


def _routes(
    gw: EgressGateway, svc: Service, where: _Where, tls_version: str, out: _Objects
) -> None:
    backend_service: dict[str, Any] = {"group": "", "kind": "Service", "name": gateway_service(gw)}
    if where.cross:
        backend_service["namespace"] = where.gateway
    for port in svc.ports:
        found = listener(port)
        if found is None:
            continue
        section, protocol = found
        tls = protocol == "TLS"
        version = tls_version if tls else None
        # The mesh route: the sidecars send this port of the ServiceEntry to the gateway.
        # TLSRoute v1 requires hostnames; they are the entry's hosts either way.
        parent: dict[str, Any] = {"group": ISTIO_GROUP, "kind": "ServiceEntry", "name": svc.name}
        parent["port"] = port.number
        out.add(
            protocol,
            mesh_route_name(svc, port),
            _route(
                None,
                parent,
                list(svc.hosts) if tls else None,
                {**backend_service, "port": port.number},
                svc,
                version,
            ),
        )
        # The gateway routes: the gateway sends each host on to the host itself.
        for host, name in zip(svc.hosts, gateway_route_names(svc, port), strict=True):
            out.add(
                protocol,
                name,
                _route(
                    where.gateway,
                    {"group": GROUP, "kind": "Gateway", "name": gw.name, "sectionName": section},
                    [host],
                    {"group": ISTIO_GROUP, "kind": "Hostname", "name": host, "port": port.number},
                    svc,
                    version,
                ),
            )


def _grant(gw: EgressGateway, where: _Where, kinds: Iterable[str]) -> dict[str, Any]:
    """The ReferenceGrant that lets the mesh routes (in the ServiceEntries' namespace)
    send to the gateway's Service (in the gateway's namespace)."""
    senders = []
    for kind in sorted(set(kinds)):
        sender: dict[str, Any] = {"group": GROUP, "kind": kind}
        _with_ns(sender, where.senders)  # absent: the release's namespace (the chart fills it)
        senders.append(sender)
    entry: dict[str, Any] = {}
    _with_ns(entry, where.gateway)
    entry["from"] = senders
    entry["to"] = [{"group": "", "kind": "Service", "name": gateway_service(gw)}]
    return entry


def build(inv: Inventory, target: Target) -> dict[str, dict[str, dict[str, Any]]]:
    """chart/'s values maps (keys of :data:`KINDS`) for every gateway-api gateway; only
    the non-empty ones."""
    tls_version, _ = tls_route_api_version(target.istio_version)
    gateways: dict[str, dict[str, Any]] = {}
    grants: dict[str, dict[str, Any]] = {}
    out = _Objects({}, {})
    for gw in gateway_api_gateways(inv):
        where = _where(gw, target)
        services = _services_via(inv, gw)
        gateways[gw.name] = gateway_entry(gw, services, where)
        before_http, before_tls = len(out.http), len(out.tls)
        for svc in services:
            _routes(gw, svc, where, tls_version, out)
        kinds = []
        if len(out.http) > before_http:
            kinds.append("HTTPRoute")
        if len(out.tls) > before_tls:
            kinds.append("TLSRoute")
        if where.cross and kinds:
            grants[grant_name(gw)] = _grant(gw, where, kinds)
    maps = {
        GATEWAYS_KEY: gateways,
        HTTP_ROUTES_KEY: out.http,
        TLS_ROUTES_KEY: out.tls,
        GRANTS_KEY: grants,
    }
    return {key: objects for key, objects in maps.items() if objects}


def origination_rules(inv: Inventory, target: Target) -> dict[str, dict[str, Any]]:
    """DestinationRules (values shape `destinationRules`) for origination at a
    gateway-api gateway: on the host, at the port the gateway sends to (the
    ServiceEntry sends it on to 443: ``targetPort``), TLS as ``originate`` says,
    exported to the gateway's namespace only (the gateway opens TLS, not the sidecars)."""
    rules: dict[str, dict[str, Any]] = {}
    for gw in gateway_api_gateways(inv):
        export = istio_gateways.where(gw, target).export_token
        for svc in _services_via(inv, gw):
            settings: dict[int, dict[str, Any]] = {}
            for port in svc.ports:
                o = port.originate
                if o is None or listener(port) is None:
                    continue
                tls: dict[str, Any] = {"mode": o.mode.value, "sni": o.sni or svc.hosts[0]}
                if o.credential_name:
                    tls["credentialName"] = o.credential_name
                settings.setdefault(port.number, {"port": port.number, "tls": tls})
            if not settings:
                continue
            rule: dict[str, Any] = {
                "host": svc.hosts[0],
                "portLevelSettings": [settings[n] for n in sorted(settings)],
            }
            rule["exportTo"] = [export]
            meta = _metadata(svc)
            if meta:
                rule["metadata"] = meta
            rules[svc.name] = rule  # as api: istio names it (the sidecar rule is gone)
    return rules


def export_entries(inv: Inventory, target: Target, entries: dict[str, dict[str, Any]]) -> None:
    """Each ServiceEntry of a service through a gateway-api gateway is visible to the
    gateway's namespace too (as with ``api: istio``)."""
    for gw in gateway_api_gateways(inv):
        at = istio_gateways.where(gw, target)
        for svc in _services_via(inv, gw):
            if svc.name in entries:
                export = istio_gateways.exported_with(svc.export_to, at)
                if export is not None:
                    entries[svc.name]["exportTo"] = export


def add_objects(
    inv: Inventory,
    target: Target,
    entries: dict[str, dict[str, Any]],
    rules: dict[str, dict[str, Any]],
    extra: dict[str, dict[str, dict[str, Any]]],
) -> None:
    """Everything ``api: gateway-api`` gateways add to a plan: the ServiceEntries'
    export, the origination DestinationRules and the Gateway API objects."""
    export_entries(inv, target, entries)
    rules.update(origination_rules(inv, target))
    for key, objects in build(inv, target).items():
        extra.setdefault(key, {}).update(objects)  # other features may fill a map too


def tls_route_summary(
    objects: Iterable[Mapping[str, Any]], istio_version: tuple[int, int] | None
) -> dict[str, str] | None:
    """For the render summary: the apiVersion of the rendered TLSRoutes and why (None
    when the render holds none)."""
    versions = sorted({str(o.get("apiVersion")) for o in objects if o.get("kind") == "TLSRoute"})
    if not versions:
        return None
    _, reason = tls_route_api_version(istio_version)
    return {"apiVersion": ", ".join(versions), "reason": reason}
