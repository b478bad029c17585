"""`explain` in ambient (issue #15): the same verdicts, told the way ambient enforces
them.  A registered destination goes ztunnel → the waypoint, whose AuthorizationPolicy
on the entry decides; anything else meets the lockdown NetworkPolicy of an enrolled
REGISTRY_ONLY namespace.  Pure: answers in, answers out."""

from __future__ import annotations

from dataclasses import replace

from egressctl.inventory.ambientmodel import is_wildcard
from egressctl.inventory.model import Dataplane, Environment
from egressctl.rules.effective import Answer, ObjectRef, Verdict


def _objects(env: Environment, a: Answer) -> tuple[ObjectRef, ...]:
    """The objects ambient renders for the entry: its ServiceEntry and AuthorizationPolicy
    in the egress namespace, the waypoint, and its origination rule when there is one."""
    ns = env.ambient.namespace
    assert a.entry is not None  # noqa: S101 - only answers with an entry come here
    out = [
        ObjectRef("ServiceEntry", a.entry, ns),
        ObjectRef("AuthorizationPolicy", a.entry, ns),
        ObjectRef("Gateway", env.ambient.waypoint, ns),
    ]
    if any(o.kind == "DestinationRule" for o in a.objects):
        out.append(ObjectRef("DestinationRule", a.entry, ns))
    return tuple(out)


def in_ambient(env: Environment, answers: tuple[Answer, ...]) -> tuple[Answer, ...]:
    """``answers`` as ambient enforces them (unchanged for a sidecar environment)."""
    if env.dataplane is not Dataplane.AMBIENT:
        return answers
    amb = env.ambient
    waypoint = f"{amb.namespace}/{amb.waypoint}"
    by_name = {s.name: s for s in env.inventory.services}
    out = []
    for a in answers:
        if a.entry is not None and a.verdict is not Verdict.BLOCKED:
            svc = by_name.get(a.entry)
            port = "" if a.port is None else f":{a.port}"
            dynamic = " (DYNAMIC_DNS)" if svc is not None and is_wildcard(svc) else ""
            path = (
                f"ztunnel → waypoint {waypoint} (AuthorizationPolicy {amb.namespace}/{a.entry} "
                f"decides who may) → {a.destination}{port}{dynamic}"
            )
            out.append(
                replace(
                    a,
                    objects=_objects(env, a),
                    path=path,
                    reason=f"{a.reason}; in ambient the waypoint {waypoint} carries it",
                )
            )
        elif a.verdict is Verdict.BLOCKED:
            out.append(
                replace(
                    a,
                    reason=f"{a.reason}; in ambient the lockdown NetworkPolicy of each enrolled "
                    f"REGISTRY_ONLY namespace lets pods reach only the waypoint {waypoint}",
                )
            )
        else:
            out.append(a)
    return tuple(out)
