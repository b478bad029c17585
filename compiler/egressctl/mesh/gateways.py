"""Egress gateways in Istio's API (issue #13): the objects that send a service through a
gateway, as istio.io's "Egress Gateways" and "Egress Gateways with TLS Origination"
tasks write them.  Pure and deterministic.

For each gateway with ``api: istio``:

* one ``Gateway`` (values key `istioGateways`), its servers merged per port: TLS and
  HTTPS ports get a ``TLS`` server with ``tls.mode: PASSTHROUGH`` on their port;
  HTTP-family ports (TLS origination at the gateway included) share one server on
  port 80, ``HTTPS`` + ``ISTIO_MUTUAL`` with ``mtls``, else ``HTTP``;
* one ``DestinationRule`` for the gateway's Service (`gatewaySubsets`), one subset per
  service; with ``mtls`` the HTTP hop's port carries ``ISTIO_MUTUAL`` and the service's
  host as SNI (the gateway's HTTPS server matches it against its hosts).

For each service via such a gateway:

* its ``ServiceEntry`` (plan's own), visible to the gateway's namespace as well;
* one ``VirtualService`` (`gatewayRoutes`) bound to ``[mesh, <ns>/<gateway>]``: the
  ``mesh`` routes send each port to the gateway's Service (the service's subset), the
  gateway's routes send it on to the external host and port (``tls`` + ``sniHosts``
  for TLS/HTTPS, ``http`` for the HTTP family);
* TLS origination (`originate`) happens at the gateway: the service's
  ``DestinationRule`` (plan's `destinationRules`) is exported to the gateway's
  namespace only, and the ServiceEntry port's ``targetPort`` (443) is where it sends.

A service via a gateway gets neither the direct TLS route nor the sidecar's
DestinationRule.  Where the gateway lives: ``gateways.NAME.namespace``, else the
environment's namespace (the objects then render in the release namespace), else —
``compile FILE…`` without an environment — ``istio-system`` for the names that must
spell it (the gateway Service's host).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from egressctl.inventory.gateways import subsets_name
from egressctl.inventory.model import (
    HTTP_FAMILY,
    TLS_FAMILY,
    EgressGateway,
    GatewayApi,
    Inventory,
    Origination,
    Port,
    Service,
)

if TYPE_CHECKING:
    from egressctl.mesh.plan import Target

GATEWAYS_KEY = "istioGateways"
ROUTES_KEY = "gatewayRoutes"
SUBSETS_KEY = "gatewaySubsets"
# chart/'s values keys → kinds (registered in plan.EXTRA_KINDS).
KINDS = {GATEWAYS_KEY: "Gateway", ROUTES_KEY: "VirtualService", SUBSETS_KEY: "DestinationRule"}
# Where the gateway lives when neither the inventory nor an environment says.
FALLBACK_NAMESPACE = "istio-system"
HTTP_HOP_PORT = 80  # the gateway port of the HTTP hop (sidecar → gateway)
MESH = "mesh"


@dataclass(frozen=True, slots=True)
class _Where:
    """Where one gateway lives, as each object needs it spelled."""

    gateway: EgressGateway
    namespace: str  # its namespace, spelled out
    explicit: bool  # written in the inventory (else: the release namespace)
    release: str  # the release namespace, spelled out

    @property
    def entry_namespace(self) -> dict[str, str]:
        """``namespace`` of an object that lives with the gateway (none: the release's)."""
        return {"namespace": self.namespace} if self.explicit else {}

    @property
    def export_token(self) -> str:
        """The gateway's namespace in the exportTo of an object in the release namespace."""
        return self.namespace if self.explicit and self.namespace != self.release else "."

    @property
    def ref(self) -> str:
        """The Gateway as a VirtualService names it."""
        return f"{self.namespace}/{self.gateway.name}"

    @property
    def service_host(self) -> str:
        return f"{self.gateway.service}.{self.namespace}.svc.cluster.local"

    @property
    def subsets_name(self) -> str:
        return subsets_name(self.gateway.name)


def _metadata(svc: Service) -> dict[str, dict[str, str]] | None:
    # plan imports this module: its names are looked up when called, not at import.
    from egressctl.mesh.plan import metadata

    return metadata(svc)


def where(gw: EgressGateway, target: Target) -> _Where:
    release = target.namespace or FALLBACK_NAMESPACE
    return _Where(gw, gw.namespace or release, gw.namespace is not None, release)


def add_gateways(
    inv: Inventory,
    target: Target,
    entries: dict[str, dict[str, Any]],
    routes: dict[str, dict[str, Any]],
    rules: dict[str, dict[str, Any]],
    extra: dict[str, dict[str, dict[str, Any]]],
) -> None:
    """Route every service with a known ``via`` through its gateway: drop its direct TLS
    route and sidecar DestinationRule (any API), and for ``api: istio`` gateways add the
    objects above to ``entries``, ``rules`` and ``extra``."""
    known = {g.name: g for g in inv.gateways}
    by_gateway: dict[str, list[Service]] = {}
    for svc in sorted(inv.services, key=lambda s: s.name):
        if svc.via is None or svc.via not in known:
            continue
        routes.pop(svc.name, None)
        rules.pop(svc.name, None)
        if known[svc.via].api is GatewayApi.ISTIO:
            by_gateway.setdefault(svc.via, []).append(svc)
    if not by_gateway:
        return
    gateways = extra.setdefault(GATEWAYS_KEY, {})
    vs = extra.setdefault(ROUTES_KEY, {})
    subsets = extra.setdefault(SUBSETS_KEY, {})
    for name, services in sorted(by_gateway.items()):
        at = where(known[name], target)
        gateways[name] = gateway_entry(at, services)
        subsets[name] = subsets_entry(at, services)
        for svc in services:
            if svc.name in entries:
                export = exported_with(svc.export_to, at)
                if export is not None:
                    entries[svc.name]["exportTo"] = export
            vs[svc.name] = route_entry(at, svc)
            rule = origination_entry(at, svc)
            if rule is not None:
                rules[svc.name] = rule


def exported_with(export_to: tuple[str, ...], at: _Where) -> list[str] | None:
    """A service's exportTo with the gateway's namespace added (None: all namespaces)."""
    if not export_to:
        return None
    if "*" in export_to:
        return list(export_to)
    if export_to == ("~",):
        return [at.export_token]  # hidden from every client: only the gateway sees it
    ns = at.export_token
    same = {ns} | ({".", at.release} if ns == "." else set())
    out = list(export_to)
    if not same & set(out):
        out.append(ns)
    return out


def _hop(p: Port) -> int | None:
    """The gateway port a service port goes through (None: it cannot go through one)."""
    if p.protocol in TLS_FAMILY:
        return p.number
    if p.protocol in HTTP_FAMILY:
        return HTTP_HOP_PORT
    return None


def gateway_entry(at: _Where, services: Iterable[Service]) -> dict[str, Any]:
    """The Gateway: one server per port, holding the hosts of every service on it."""
    hosts: dict[int, set[str]] = {}
    http = False
    for svc in services:
        for p in svc.ports:
            hop = _hop(p)
            if hop is not None:
                hosts.setdefault(hop, set()).update(svc.hosts)
            http = http or p.protocol in HTTP_FAMILY
    servers = []
    for number in sorted(hosts):
        if number == HTTP_HOP_PORT and http:
            if at.gateway.mtls:
                server = _server(number, "https", "HTTPS", hosts[number], "ISTIO_MUTUAL")
            else:
                server = _server(number, "http", "HTTP", hosts[number], None)
        else:
            server = _server(number, "tls", "TLS", hosts[number], "PASSTHROUGH")
        servers.append(server)
    return {
        **at.entry_namespace,
        "selector": dict(at.gateway.selector),
        "servers": servers,
    }


def _server(
    number: int, prefix: str, protocol: str, hosts: set[str], mode: str | None
) -> dict[str, Any]:
    server: dict[str, Any] = {
        "port": {"number": number, "name": f"{prefix}-{number}", "protocol": protocol},
        "hosts": sorted(hosts),
    }
    if mode is not None:
        server["tls"] = {"mode": mode}
    return server


def subsets_entry(at: _Where, services: Iterable[Service]) -> dict[str, Any]:
    """The gateway Service's DestinationRule: one subset per service."""
    subsets = []
    clients: set[str] = set()
    everyone = False
    for svc in services:
        subset: dict[str, Any] = {"name": svc.name}
        if at.gateway.mtls and any(p.protocol in HTTP_FAMILY for p in svc.ports):
            subset["portLevelSettings"] = [
                {"port": HTTP_HOP_PORT, "tls": {"mode": "ISTIO_MUTUAL", "sni": svc.hosts[0]}}
            ]
        subsets.append(subset)
        if not svc.export_to or "*" in svc.export_to:
            everyone = True
        else:
            clients |= {at.release if e == "." else e for e in svc.export_to if e != "~"}
    entry: dict[str, Any] = {
        "name": at.subsets_name,
        **at.entry_namespace,
        "host": at.service_host,
        "subsets": subsets,
    }
    if not everyone:
        # In the gateway's namespace `.` is that namespace: client namespaces are spelled.
        entry["exportTo"] = sorted(clients) or ["."]
    return entry


def route_entry(at: _Where, svc: Service) -> dict[str, Any]:
    """The two-hop VirtualService of one service."""
    tls: list[dict[str, Any]] = []
    http: list[dict[str, Any]] = []
    for p in svc.ports:
        if p.protocol in TLS_FAMILY:
            for host in svc.hosts:
                tls.append(_route(MESH, p.number, at.service_host, p.number, svc.name, host))
                tls.append(_route(at.ref, p.number, host, p.number, None, host))
        elif p.protocol in HTTP_FAMILY:
            hop = _route(MESH, p.number, at.service_host, HTTP_HOP_PORT, svc.name)
            if p.number != HTTP_HOP_PORT:
                # The Host header says `host:PORT`; the gateway's port-80 server knows
                # `host` and `host:80` only: the sidecar sends `host`.
                hop["rewriteAuthority"] = svc.hosts[0]
            http.append(hop)
            http.append(_route(at.ref, HTTP_HOP_PORT, svc.hosts[0], p.number, None))
    entry: dict[str, Any] = {"hosts": list(svc.hosts), "gateways": [MESH, at.ref]}
    export = exported_with(svc.export_to, at)
    if export is not None:
        entry["exportTo"] = export
    if http:
        entry["http"] = http
    if tls:
        entry["tls"] = tls
    meta = _metadata(svc)
    if meta:
        entry["metadata"] = meta
    return entry


def _route(
    gateway: str, port: int, host: str, to_port: int, subset: str | None, sni: str | None = None
) -> dict[str, Any]:
    route: dict[str, Any] = {"gateway": gateway, "port": port}
    if sni is not None:
        route["sniHosts"] = [sni]
    destination: dict[str, Any] = {"host": host, "port": to_port}
    if subset is not None:
        destination["subset"] = subset
    route["destination"] = destination
    return route


def port_origination(svc: Service, p: Port, o: Origination) -> dict[str, Any]:
    """One port's entry of a DestinationRule's ``portLevelSettings``: TLS origination
    (``originate``), by the sidecar (:func:`egressctl.mesh.plan.destination_rule`) or at
    the gateway (:func:`origination_entry`)."""
    tls: dict[str, Any] = {"mode": o.mode.value, "sni": o.sni or svc.hosts[0]}
    if o.credential_name:
        tls["credentialName"] = o.credential_name
    return {"port": p.number, "tls": tls}


def origination_entry(at: _Where, svc: Service) -> dict[str, Any] | None:
    """TLS origination at the gateway: a DestinationRule on the external host, exported
    to the gateway's namespace only (clients reach the host through the gateway)."""
    settings = [port_origination(svc, p, p.originate) for p in svc.ports if p.originate]
    if not settings:
        return None
    out: dict[str, Any] = {
        "host": svc.hosts[0],
        "exportTo": [at.export_token],
        "portLevelSettings": settings,
    }
    meta = _metadata(svc)
    if meta:
        out["metadata"] = meta
    return out
