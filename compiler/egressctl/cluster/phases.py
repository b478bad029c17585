"""Which part of chart/'s render goes in at which point of a deploy (issues #13, #14,
#15).  Pure: the rendered and live objects in, the phases out.

- *loosen*: Sidecars that only loosen a namespace (``outboundTrafficPolicy`` from
  REGISTRY_ONLY to ALLOW_ANY, or more hosts and none fewer) and NetworkPolicies that only
  add egress rules (a new gateway's pods): first, as a loosening mesh policy is, so that
  no route sends a namespace's traffic where its policies do not let it go yet.
- *gateways*: Gateway API Gateways (a waypoint is one; istiod makes their Deployments),
  and when the live mesh moves from sidecars to ambient also the ServiceEntries and
  AuthorizationPolicies: before the wait for the gateway Deployments.
- *routing*: everything else (entries, routes, Istio Gateways, DestinationRules…), after
  the gateways are available, since routes send traffic to them.
- *lockdown*: Sidecars that tighten (new ones included) and NetworkPolicies: after the
  entries they allow exist, before a tightening mesh policy.

Also here: a selector-less Sidecar egressctl renders in a namespace that already has one
of another name that is not egressctl's (Istio allows one per namespace): refused
unless adopted; an adopted one is deleted once egressctl's own is applied.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from egressctl.cluster.kube import KubeObject, as_list, as_map
from egressctl.cluster.objects import ObjRef
from egressctl.cluster.ownership import Adopt, Identity, Ownership, Refusal, ownership
from egressctl.mesh.kinds import GATEWAY_API_GATEWAY

SIDECAR = "Sidecar"
NETWORK_POLICY = "NetworkPolicy"
#: What moves with the waypoint when the live mesh moves from sidecars to ambient.
MIGRATION_FIRST = ("ServiceEntry", "AuthorizationPolicy")


@dataclass(frozen=True, slots=True)
class Phases:
    loosen: tuple[ObjRef, ...] = ()
    gateways: tuple[ObjRef, ...] = ()
    routing: tuple[ObjRef, ...] = ()
    lockdown: tuple[ObjRef, ...] = ()

    @property
    def split(self) -> bool:
        """Whether the render goes in in more than one apply."""
        return bool(self.loosen or self.gateways or self.lockdown)


def _spec(obj: KubeObject) -> Mapping[str, object]:
    return as_map(obj.get("spec"))


def _mode(obj: KubeObject) -> str:
    return str(as_map(_spec(obj).get("outboundTrafficPolicy")).get("mode") or "")


def _hosts(obj: KubeObject) -> set[str]:
    return {
        str(h) for e in as_list(_spec(obj).get("egress")) for h in as_list(as_map(e).get("hosts"))
    }


def sidecar_loosens(new: KubeObject, live: KubeObject | None) -> bool:
    """Whether applying ``new`` over ``live`` only loosens its namespace: the same
    workload selector, the mode not tightened, no host dropped, and something loosened.
    A new Sidecar always tightens (without one the namespace sees the whole mesh)."""
    if live is None or _spec(new).get("workloadSelector") != _spec(live).get("workloadSelector"):
        return False
    if _mode(new) == "REGISTRY_ONLY" and _mode(live) != "REGISTRY_ONLY":
        return False
    old_hosts, new_hosts = _hosts(live), _hosts(new)
    if not new_hosts >= old_hosts:
        return False
    looser_mode = _mode(new) == "ALLOW_ANY" and _mode(live) == "REGISTRY_ONLY"
    return looser_mode or new_hosts > old_hosts


def _rules(obj: KubeObject) -> set[str]:
    return {json.dumps(r, sort_keys=True) for r in as_list(_spec(obj).get("egress"))}


def network_policy_loosens(new: KubeObject, live: KubeObject | None) -> bool:
    """Whether applying ``new`` over ``live`` only adds egress rules (a new gateway's
    pods, a new service's addresses): same pods and policy types, every live rule kept.
    A new NetworkPolicy always tightens."""
    if live is None:
        return False
    for key in ("podSelector", "policyTypes"):
        if _spec(new).get(key) != _spec(live).get(key):
            return False
    return _rules(new) > _rules(live)


def phases(
    wanted: Mapping[ObjRef, KubeObject],
    live: Mapping[ObjRef, KubeObject],
    *,
    migration: bool = False,
) -> Phases:
    """The rendered objects by phase, each in render order (see the module's text)."""
    loosen: list[ObjRef] = []
    gateways: list[ObjRef] = []
    routing: list[ObjRef] = []
    lockdown: list[ObjRef] = []
    for ref, obj in wanted.items():
        if ref.kind == SIDECAR:
            (loosen if sidecar_loosens(obj, live.get(ref)) else lockdown).append(ref)
        elif ref.kind == NETWORK_POLICY:
            (loosen if network_policy_loosens(obj, live.get(ref)) else lockdown).append(ref)
        elif ref.kind == GATEWAY_API_GATEWAY or (migration and ref.kind in MIGRATION_FIRST):
            gateways.append(ref)
        else:
            routing.append(ref)
    return Phases(tuple(loosen), tuple(gateways), tuple(routing), tuple(lockdown))


# ---------------------------------------------------------------------------
# One selector-less Sidecar per namespace


def _selectorless(obj: KubeObject) -> bool:
    return not as_map(_spec(obj).get("workloadSelector")).get("labels")


def foreign_sidecars(
    wanted: Mapping[ObjRef, KubeObject],
    live: Mapping[ObjRef, KubeObject],
    ident: Identity,
    adopt: Adopt,
) -> tuple[list[Refusal], list[ObjRef]]:
    """The live selector-less Sidecars, not this environment's, in a namespace where the
    render holds a selector-less Sidecar of another name: refused (adoptable: not
    another environment's), or (adopted) to replace.  A Sidecar of the same name is
    the ordinary case of an object that exists (see ownership.classify)."""
    ours = {r.namespace: r for r, o in wanted.items() if r.kind == SIDECAR and _selectorless(o)}
    refused: list[Refusal] = []
    replaced: list[ObjRef] = []
    for ref, obj in sorted(live.items(), key=lambda item: (item[0].namespace, item[0].name)):
        mine = ours.get(ref.namespace)
        if ref.kind != SIDECAR or mine is None or ref == mine or not _selectorless(obj):
            continue
        whose, reason = ownership(obj, ident)
        if whose is Ownership.OURS:
            continue  # this environment's own: pruned if no longer rendered
        reason = (
            f"a selector-less Sidecar ({reason}) in the namespace where egressctl renders "
            f"Sidecar {mine.name}; Istio allows one per namespace, so it is never overwritten "
            "silently (adopted, it is deleted once egressctl's is applied)"
        )
        if whose is Ownership.OTHER:
            refused.append(Refusal(ref, reason, adoptable=False))
        elif adopt.covers(ref):
            replaced.append(ref)
        else:
            refused.append(Refusal(ref, reason, adoptable=True))
    return refused, replaced
