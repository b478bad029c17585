"""Rules for egress gateways written in the Gateway API (`api: gateway-api`, issue
#13): what Istio's automated deployment and the Gateway's listeners can carry.  Pure:
model in, problems with key paths out.

* Istio deploys a Gateway of class ``istio`` as a Deployment and a Service named
  ``<name>-istio``: a name over 57 characters gives no valid Service name (63 at most),
  and nothing is deployed.
* The Gateway has one listener per port: HTTP for the HTTP family, TLS passthrough for
  HTTPS/TLS.  One port cannot be both; port 80 is :mod:`egressctl.rules.gateways`'
  ``gateway-port-conflict`` already, the other ports are ``gateway-api-port-conflict``.
"""

from __future__ import annotations

from collections.abc import Iterator

from egressctl.errors import Anchor, Problem, error
from egressctl.inventory.model import HTTP_FAMILY, TLS_FAMILY, GatewayApi, Inventory, Part

# Istio's Service for the Gateway: `<name>-istio`, a DNS label.
MAX_NAME = 63 - len("-istio")
PORT_80 = 80  # reported by rules.gateways (the HTTP hop of api: istio)


def gateway_api_rules(inv: Inventory) -> Iterator[Problem]:
    """Every problem of the inventory's gateway-api gateways."""
    ours = {g.name: g for g in inv.gateways if g.api is GatewayApi.GATEWAY_API}
    for name in ours:
        if len(name) > MAX_NAME:
            yield error(
                "gateway-api-name-too-long",
                ("gateways", name),
                f"gateway name {name!r} has {len(name)} characters: Istio deploys it with a "
                f"Service named {name + '-istio'!r}, longer than a DNS label (63)",
                f"use at most {MAX_NAME} characters",
                anchor=Anchor.KEY,
            )
    # (gateway, port) -> the first service with an HTTP-family port there
    http: dict[tuple[str, int], str] = {}
    for svc in inv.services:
        if svc.via in ours and svc.was_read(Part.PORTS):
            for p in svc.ports:
                if p.protocol in HTTP_FAMILY:
                    http.setdefault((svc.via, p.number), svc.name)
    for svc in inv.services:
        if svc.via not in ours or not svc.was_read(Part.PORTS):
            continue
        for j, p in enumerate(svc.ports):
            other = http.get((svc.via, p.number))
            if p.protocol in TLS_FAMILY and p.number != PORT_80 and other is not None:
                yield error(
                    "gateway-api-port-conflict",
                    ("services", svc.name, "ports", j),
                    f"TLS port {p.number} via gateway {svc.via!r}, whose listener on port "
                    f"{p.number} is HTTP (service {other!r}): one listener per port",
                    "use another port for one of them, or send one `via: direct`",
                )
