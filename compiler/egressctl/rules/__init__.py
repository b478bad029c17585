"""Model → findings: Istio's rules, conflicts across entries, risky policy and capture.

Pure: takes the model, returns :class:`~egressctl.errors.Problem` objects with key paths
(the inventory's :meth:`~egressctl.inventory.load.Loaded.finish` locates them).  Every
rule has a stable code in :mod:`~egressctl.rules.catalogue`.
"""

from __future__ import annotations

from egressctl.errors import Problem, warning
from egressctl.inventory.model import Environment, Inventory, Policy
from egressctl.rules.capture import capture_rules, cluster_rules
from egressctl.rules.cross import cross_rules
from egressctl.rules.entries import service_rules


def validate_inventory(inv: Inventory) -> list[Problem]:
    """Every rule over an inventory read without errors."""
    out: list[Problem] = []
    for svc in inv.services:
        out.extend(service_rules(svc))
    out.extend(cross_rules(inv))
    out.extend(capture_rules(inv.capture))
    if inv.policy is Policy.REGISTRY_ONLY and not inv.services:
        out.append(
            warning(
                "registry-only-empty",
                ("policy",),
                "REGISTRY_ONLY with no services blocks all egress from the mesh",
                "add the external services pods need, or use ALLOW_ANY",
            )
        )
    return out


def validate_environment(env: Environment) -> list[Problem]:
    """The rules an environment adds to its (valid) inventory: the cluster's own ranges
    stay captured."""
    return cluster_rules(env.inventory.capture, env.cluster, env.file)
