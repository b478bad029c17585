"""The inventory's namespaces (listed in `namespaces:`, or where a gateway runs) are not
Kubernetes' own (:mod:`egressctl.inventory.reserved`), and an ambient environment does
not enroll its own namespace (istiod's): its lockdown NetworkPolicy would cut istiod off
from the API server.  Pure."""

from __future__ import annotations

from collections.abc import Iterator

from egressctl.errors import Anchor, Problem, error
from egressctl.inventory.model import Dataplane, Environment, Inventory
from egressctl.inventory.reserved import CODE, HINT, reserved_problem


def reserved_namespace_rules(inv: Inventory) -> Iterator[Problem]:
    for ns in inv.namespaces:
        why = reserved_problem(ns.name, "locked down by egressctl")
        if why is not None:
            yield error(CODE, ("namespaces", ns.name), why, HINT, anchor=Anchor.KEY)
    for gw in inv.gateways:
        if gw.namespace is not None:
            why = reserved_problem(gw.namespace, "a gateway's namespace")
            if why is not None:
                yield error(CODE, ("gateways", gw.name, "namespace"), why, HINT)


def environment_reserved_rules(env: Environment) -> Iterator[Problem]:
    if env.dataplane is not Dataplane.AMBIENT or env.namespace not in env.ambient.enrolled:
        return
    yield error(
        CODE,
        ("ambient", "enrolled"),
        f"{env.namespace!r} is this environment's namespace (istiod's): a lockdown "
        "NetworkPolicy there would cut istiod off from the API server",
        "enroll only the application namespaces",
        layer=env.file,
    )
