"""Model → findings: Istio's rules, conflicts across entries, risky policy and capture.

Pure: takes the model, returns :class:`~egressctl.errors.Problem` objects with key paths
(the inventory's :meth:`~egressctl.inventory.load.Loaded.finish` locates them).  Every
rule has a stable code in :mod:`~egressctl.rules.catalogue`.
"""

from __future__ import annotations

import dataclasses
import datetime

from egressctl.errors import Problem, warning
from egressctl.inventory.model import ClusterRanges, Environment, Inventory, Part, Policy
from egressctl.rules.acknowledge import acknowledge
from egressctl.rules.capture import capture_rules, cluster_rules
from egressctl.rules.cross import cross_rules
from egressctl.rules.effective import NO_CLUSTER
from egressctl.rules.entries import service_rules
from egressctl.rules.expiry import expiry_rules
from egressctl.rules.gatewayapi import gateway_api_rules
from egressctl.rules.gatewaycharts import gateway_chart_rules
from egressctl.rules.gateways import gateway_rules
from egressctl.rules.lockdown import lockdown_rules
from egressctl.rules.namespaces import environment_namespace_rules, namespace_rules
from egressctl.rules.objectnames import object_name_rules
from egressctl.rules.reserved import environment_reserved_rules, reserved_namespace_rules


def validate_inventory(inv: Inventory, cluster: ClusterRanges = NO_CLUSTER) -> list[Problem]:
    """Every rule over an inventory (``cluster``: an environment's ranges, which tell
    whether IPv6 is used), its acknowledgements applied.

    An inventory read in part (:class:`~egressctl.inventory.model.Part`) is judged on what
    was read, so that one run reports every problem: each entry's rules on the parts
    they need, the rules across entries on what was read of each, the lockdown (the
    effective policy) on the entries read whole, once the policy and capture are."""
    out: list[Problem] = []
    for svc in inv.services:
        out.extend(service_rules(svc))
    out.extend(cross_rules(inv))
    out.extend(gateway_rules(inv))
    out.extend(gateway_api_rules(inv))  # api: gateway-api (#13)
    out.extend(object_name_rules(inv))  # derived object names that meet
    out.extend(reserved_namespace_rules(inv))  # kube-system & co.
    out.extend(capture_rules(inv))
    out.extend(namespace_rules(inv))  # per-namespace allowlists (#14)
    out.extend(expiry_rules(inv, datetime.date.today()))
    if (
        inv.was_read(Part.POLICY, Part.SERVICES)
        and inv.policy is Policy.REGISTRY_ONLY
        and not inv.services
    ):
        out.append(
            warning(
                "registry-only-empty",
                ("policy",),
                "REGISTRY_ONLY with no services blocks all egress from the mesh",
                "add the external services pods need, or use ALLOW_ANY",
            )
        )
    if inv.was_read(Part.POLICY, Part.INCLUDE, Part.EXCLUDE):
        whole = tuple(s for s in inv.services if not s.unread)
        out.extend(lockdown_rules(dataclasses.replace(inv, services=whole), cluster))
    marked = acknowledge(inv, out)
    if inv.whole:
        return marked
    # Whether an acknowledgement is stale is judged on an inventory read whole: on one
    # read in part, the rule it accepts may have been skipped.
    return [p for p in marked if p.code != "acknowledge-unused"]


def validate_environment(env: Environment) -> list[Problem]:
    """The rules an environment adds to its (valid) inventory: the cluster's own ranges
    stay captured; its gateways have a gateway chart to run them (issue #13)."""
    return [
        *cluster_rules(env.inventory, env.cluster, env.file),
        *gateway_chart_rules(env),
        *environment_namespace_rules(env),  # #14: NetworkPolicy ranges, entry namespace
        *environment_reserved_rules(env),  # istiod's namespace is not enrolled (#15)
    ]
