"""Rules for egress gateways (issue #13): what `via` names, what a gateway hop needs,
and who claims a host and port.  Pure: model in, problems with key paths out.

The gateway hop forwards to the external host by DNS (the gateway's own lookup of the
ServiceEntry), so resolution NONE sends the connection back to the address it was
dialled at — the gateway itself; a gateway routes by Host header or SNI, so opaque
ports cannot go through one; one gateway server per port, so a TLS port 80 cannot sit
beside the HTTP hop (which always uses port 80)."""

from __future__ import annotations

from collections.abc import Iterator

from egressctl.errors import KeyPath, Problem, error
from egressctl.inventory.gatewayapinames import via_objects as gateway_api_objects
from egressctl.inventory.gateways import subsets_name
from egressctl.inventory.model import (
    HTTP_FAMILY,
    TLS_FAMILY,
    EgressGateway,
    GatewayApi,
    Inventory,
    Part,
    Resolution,
    Service,
)
from egressctl.inventory.reader import did_you_mean

# The gateway port the HTTP hop (sidecar → gateway) uses, whatever the service's port.
HTTP_HOP_PORT = 80
# Where a gateway without `namespace` lives when no environment says (mesh.gateways).
FALLBACK_NAMESPACE = "istio-system"


def via_objects(
    svc: Service, gw: EgressGateway, namespace: str
) -> tuple[tuple[str, str, str], ...]:
    """(kind, namespace, name) of the objects chart/ renders to send ``svc`` through
    ``gw`` (as :mod:`egressctl.mesh.gateways` plans them), ``namespace`` being the
    environment's."""
    if gw.api is GatewayApi.GATEWAY_API:  # the Gateway API's objects: routes, no VirtualService
        return gateway_api_objects(svc, gw, namespace)
    at = gw.namespace or namespace
    out = [
        ("ServiceEntry", namespace, svc.name),
        ("VirtualService", namespace, svc.name),
    ]
    if gw.api is GatewayApi.ISTIO:
        out.append(("Gateway", at, gw.name))
        out.append(("DestinationRule", at, subsets_name(gw.name)))
        if any(p.originate is not None for p in svc.ports):
            out.append(("DestinationRule", namespace, svc.name))
    return tuple(out)


def gateway_rules(inv: Inventory) -> Iterator[Problem]:
    """Every gateway problem of the inventory."""
    known = {g.name: g for g in inv.gateways}
    for g in inv.gateways:
        if g.api is GatewayApi.GATEWAY_API and g.mtls:
            yield error(
                "gateway-mtls-unsupported",
                ("gateways", g.name, "mtls"),
                "mTLS between the sidecar and a gateway-api gateway is not supported",
                "remove `mtls: true`, or use `api: istio` for an ISTIO_MUTUAL hop",
            )
    if inv.default_via is not None and inv.default_via not in known:
        yield _unknown(inv.default_via, ("defaults", "via"), known)
    for svc in inv.services:
        if svc.via is None:
            continue
        gw = known.get(svc.via)
        if gw is None:
            if svc.via != inv.default_via:
                yield _unknown(svc.via, ("services", svc.name, "via"), known)
            continue
        yield from _hop_rules(svc, gw)
    yield from _port_80(inv, known)
    yield from _mtls_mixed(inv)
    yield from _claims(inv, known)


_LISTED = 20  # gateways named in a `via-unknown-gateway` message


def _unknown(name: str, path: KeyPath, known: dict[str, EgressGateway]) -> Problem:
    # did-you-mean and the list only for a plausible number of gateways: a hostile file
    # with thousands would make every message (and the run) quadratic
    names = sorted(known)
    close = did_you_mean(name, names) if len(names) <= _LISTED else ""
    listed = ", ".join(names[:_LISTED]) or "none"
    if len(names) > _LISTED:
        listed += f", … {len(names) - _LISTED} more"
    return error(
        "via-unknown-gateway",
        path,
        f"no gateway {name!r} under `gateways:` (known: {listed})",
        close or "add it under `gateways:`, or write `via: direct`",
    )


def _via_path(svc: Service) -> KeyPath:
    """Where a service's `via` is written (its own, else the service: `defaults.via`)."""
    return ("services", svc.name, "via")


def _hop_rules(svc: Service, gw: EgressGateway) -> Iterator[Problem]:
    base: KeyPath = ("services", svc.name)
    if svc.was_read(Part.RESOLUTION) and svc.resolution is Resolution.NONE:
        yield error(
            "gateway-resolution-none",
            _via_path(svc),
            f"service {svc.name!r} goes via gateway {gw.name!r} with resolution NONE: the "
            "gateway would forward to the address dialled, its own, and loop back into itself",
            "give it a concrete host and `resolution: DNS` (a wildcard host cannot go via a "
            "gateway), or `via: direct`",
        )
    if not svc.was_read(Part.PORTS):
        return
    yield from _http_ports(svc, gw)
    for j, port in enumerate(svc.ports):
        if port.protocol in HTTP_FAMILY and len(svc.hosts) > 1:
            yield error(
                "gateway-http-hosts",
                (*base, "ports", j),
                f"HTTP port {port.number} of a service with {len(svc.hosts)} hosts cannot go "
                f"via gateway {gw.name!r}: the gateway's route sends it to one host",
                "give each host a service of its own",
            )
        elif port.protocol not in HTTP_FAMILY and port.protocol not in TLS_FAMILY:
            yield error(
                "gateway-port-opaque",
                (*base, "ports", j),
                f"port {port.number}/{port.protocol} cannot go through gateway {gw.name!r}: "
                "a gateway routes by Host header (HTTP) or SNI (TLS) only",
                "move the port to a service of its own with `via: direct`",
            )
        o = port.originate
        if o is not None and (o.workload_selector or o.namespace):
            yield error(
                "gateway-originate-scope",
                (*base, "ports", j, "originate"),
                "`workloadSelector` and `namespace` choose where the sidecar originates "
                f"TLS; via gateway {gw.name!r} the gateway originates it, in its namespace",
                "remove them (a `credentialName` secret must be in the gateway's namespace)",
            )


def _http_ports(svc: Service, gw: EgressGateway) -> Iterator[Problem]:
    """With ``api: istio`` every HTTP port hops through the gateway's port 80, and the
    gateway's route matches that port only: a second HTTP port's gateway route is
    shadowed by the first, and its traffic leaves for the first port."""
    if gw.api is not GatewayApi.ISTIO or len(svc.hosts) > 1:  # several: gateway-http-hosts
        return
    http = [(j, p) for j, p in enumerate(svc.ports) if p.protocol in HTTP_FAMILY]
    for j, port in http[1:]:
        first = http[0][1].number
        yield error(
            "gateway-http-ports",
            ("services", svc.name, "ports", j),
            f"HTTP port {port.number} and HTTP port {first} both reach gateway {gw.name!r} "
            f"on its port {HTTP_HOP_PORT}, whose route cannot tell them apart: requests to "
            f"port {port.number} would leave the gateway for {svc.hosts[0]}:{first}",
            "keep one HTTP port on a service via an `api: istio` gateway (an `api: "
            "gateway-api` gateway has a listener per port), or send it `via: direct`",
        )


def _mtls_mixed(inv: Inventory) -> Iterator[Problem]:
    """Two `api: istio` gateways on the same pods (one selector within the other; a
    Gateway's selector is not scoped to its namespace by default) are merged there per
    port: an HTTPS (ISTIO_MUTUAL) and a plain HTTP server on port 80 cannot merge, and
    Istio skips one of them."""
    http = {s.via for s in inv.services if any(p.protocol in HTTP_FAMILY for p in s.ports)}
    hops = [g for g in inv.gateways if g.api is GatewayApi.ISTIO and g.name in http]
    for i, a in enumerate(hops):
        for b in hops[i + 1 :]:
            sa, sb = set(a.selector), set(b.selector)
            if a.mtls == b.mtls or not (sa <= sb or sb <= sa):
                continue
            plain, other = (a, b) if not a.mtls else (b, a)
            yield error(
                "gateway-mtls-mixed",
                ("gateways", plain.name, "mtls"),
                f"gateways {plain.name!r} (mtls: false) and {other.name!r} (mtls: true) select "
                f"the same pods, where Istio merges their servers per port: a plain HTTP and "
                f"an ISTIO_MUTUAL server on port {HTTP_HOP_PORT} cannot merge, so one is "
                "skipped and its HTTP services go nowhere",
                "give them the same `mtls`, or gateway pods of their own (distinct `selector` "
                "labels)",
            )


def _port_80(inv: Inventory, known: dict[str, EgressGateway]) -> Iterator[Problem]:
    """A TLS port 80 and the HTTP hop (port 80) on one gateway: one server per port.
    With `api: gateway-api` an HTTP port keeps its own number on the gateway (there is no
    shared port-80 hop): only an HTTP port 80 takes port 80 there."""
    http: dict[str, Service] = {}
    for svc in inv.services:
        if svc.via is None or (gw := known.get(svc.via)) is None:
            continue
        hop_only = gw.api is GatewayApi.GATEWAY_API
        if any(
            p.protocol in HTTP_FAMILY and (not hop_only or p.number == HTTP_HOP_PORT)
            for p in svc.ports
        ):
            http.setdefault(svc.via, svc)
    for svc in inv.services:
        if svc.via not in known or svc.via not in http:
            continue
        for j, port in enumerate(svc.ports):
            if port.protocol in TLS_FAMILY and port.number == HTTP_HOP_PORT:
                yield error(
                    "gateway-port-conflict",
                    ("services", svc.name, "ports", j),
                    f"TLS port {HTTP_HOP_PORT} via gateway {svc.via!r}, whose port "
                    f"{HTTP_HOP_PORT} carries the HTTP hop (service {http[svc.via].name!r})",
                    "use another port for TLS, or send one of them `via: direct`",
                )


def _claims(inv: Inventory, known: dict[str, EgressGateway]) -> Iterator[Problem]:
    """Two gateways for one host and port; one host and port both via a gateway and
    direct."""
    via: dict[tuple[str, int], Service] = {}
    direct: dict[tuple[str, int], Service] = {}
    for svc in inv.services:
        into = via if svc.via in known else direct if svc.via is None else None
        if into is None:
            continue
        for host in svc.hosts:
            for port in svc.ports:
                into.setdefault((host, port.number), svc)
    for svc in inv.services:
        for host in svc.hosts:
            for j, port in enumerate(svc.ports):
                key = (host, port.number)
                path: KeyPath = ("services", svc.name, "ports", j)
                if svc.via in known:
                    first = via[key]
                    if first.name != svc.name and first.via != svc.via:
                        yield error(
                            "gateway-host-conflict",
                            path,
                            f"{host}:{port.number} goes via gateway {svc.via!r} here and via "
                            f"gateway {first.via!r} in service {first.name!r}",
                            "one host and port leaves through one gateway",
                        )
                    other = direct.get(key)
                    if other is not None:
                        yield error(
                            "gateway-and-direct",
                            path,
                            f"{host}:{port.number} goes via gateway {svc.via!r} here, but "
                            f"directly in service {other.name!r} (no `via`): the direct "
                            "entry bypasses the gateway",
                            f"send service {other.name!r} `via: {svc.via}` too, or remove it",
                        )
