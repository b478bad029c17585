"""Object names derived from two inventory names must not meet another object's name.

An `api: istio` gateway's subset DestinationRule is named `<gateway>-subsets`
(:func:`egressctl.inventory.gateways.subsets_name`); a service's own DestinationRule (TLS
origination) is named after the service.  A service named `<gateway>-subsets` would make
two DestinationRules with one name, one silently replacing the other.  And a gateway named
`direct` could never be chosen: `via: direct` means no gateway.  Pure."""

from __future__ import annotations

from collections.abc import Iterator

from egressctl.errors import Anchor, Problem, error
from egressctl.inventory.gateways import DIRECT, subsets_name
from egressctl.inventory.model import GatewayApi, Inventory


def object_name_rules(inv: Inventory) -> Iterator[Problem]:
    for g in inv.gateways:
        if g.name == DIRECT:
            yield error(
                "gateway-name-invalid",
                ("gateways", g.name),
                f"a gateway named {DIRECT!r} can never be used: `via: {DIRECT}` means no gateway",
                "rename the gateway",
                anchor=Anchor.KEY,
            )
    taken = {subsets_name(g.name): g.name for g in inv.gateways if g.api is GatewayApi.ISTIO}
    for svc in inv.services:
        gateway = taken.get(svc.name)
        if gateway is not None:
            yield error(
                "gateway-subsets-name-taken",
                ("services", svc.name),
                f"service name {svc.name!r} is the name of gateway {gateway!r}'s subset "
                "DestinationRule: two objects would share it",
                "rename the service",
                anchor=Anchor.KEY,
            )
