"""Which observed destinations an environment would block if it were REGISTRY_ONLY now.

The effective policy of the environment's inventory, its policy set to REGISTRY_ONLY,
answers for each destination seen (host and port; each address of an IP-only one).
When the inventory lists ``namespaces:`` (issue #14), traffic from a listed namespace
is judged against the entries that namespace may reach (its ``allow``); a namespace not
listed, or traffic whose namespace is unknown (a file without it), against the whole
inventory; and an entry counts for traffic from a namespace only when exported to it
(``exportTo``).  Per-workload allowlists are not applied: logs name pods, not their labels.

Not ready: a destination that would be blocked, or sent by another entry's port-wide
listener to a host other than the one dialled.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from egressctl.discover.draft import port_of
from egressctl.discover.observations import Destination
from egressctl.inventory.model import Environment, Inventory, NamespacePolicy, Policy, Service
from egressctl.rules.effective import Answer, EffectivePolicy, Verdict


@dataclass(frozen=True, slots=True)
class Blocked:
    destination: Destination
    answer: Answer  # for an IP-only destination: that of its first blocked address
    scope: str  # "namespace NS (namespaces.NS.allow)" or "the mesh"

    def as_json(self) -> dict[str, Any]:
        return {
            **self.destination.as_json(),
            "judgedPort": self.answer.port,  # metrics carry no port: the usual one
            "verdict": self.answer.verdict.value,
            "reason": self.answer.reason,
            "closest": list(self.answer.closest),
            "judgedBy": self.scope,
        }


@dataclass(frozen=True, slots=True)
class Readiness:
    blocked: tuple[Blocked, ...]
    judged: int  # destinations judged
    unjudged: tuple[Destination, ...]  # no port known: nothing to ask

    @property
    def ready(self) -> bool:
        return not self.blocked


def _fails(a: Answer) -> bool:
    return a.verdict is Verdict.BLOCKED or (a.verdict is Verdict.CATCH_ALL and a.misrouted)


class _Policies:
    """The REGISTRY_ONLY effective policy per namespace (cached)."""

    def __init__(self, env: Environment) -> None:
        self.env = env
        inv = dataclasses.replace(env.inventory, policy=Policy.REGISTRY_ONLY)
        self.inventory = inv
        self.mesh = EffectivePolicy(inv, namespace=env.namespace, cluster=env.cluster)
        self.namespaces: dict[str, NamespacePolicy] = {
            n.name: n for n in getattr(env.inventory, "namespaces", ())
        }
        self._cache: dict[str, EffectivePolicy] = {}

    def for_namespace(self, namespace: str | None) -> tuple[EffectivePolicy, str]:
        if not namespace:
            return self.mesh, "the mesh"
        ns = self.namespaces.get(namespace)
        scope = "the mesh" if ns is None else f"namespace {ns.name} (namespaces.{ns.name}.allow)"
        policy = self._cache.get(namespace)
        if policy is None:
            allowed = None if ns is None or ns.allow_all else set(ns.allow)
            services = tuple(
                s
                for s in self.inventory.services
                if (allowed is None or s.name in allowed) and self._visible(s, namespace)
            )
            inv: Inventory = dataclasses.replace(self.inventory, services=services)
            policy = EffectivePolicy(inv, namespace=self.env.namespace, cluster=self.env.cluster)
            self._cache[namespace] = policy
        return policy, scope

    def _visible(self, svc: Service, namespace: str) -> bool:
        """Whether ``svc`` is exported to ``namespace`` (``exportTo``)."""
        if not svc.export_to or "*" in svc.export_to:
            return True
        return namespace in svc.export_to or (
            "." in svc.export_to and namespace == self.env.namespace
        )


def readiness(env: Environment, destinations: Iterable[Destination]) -> Readiness:
    """The destinations ``env`` would block under REGISTRY_ONLY (per namespace)."""
    policies = _Policies(env)
    blocked: list[Blocked] = []
    unjudged: list[Destination] = []
    judged = 0
    for d in destinations:
        policy, scope = policies.for_namespace(d.namespace)
        if d.host is not None:
            port = port_of(d)
            if port is None:
                unjudged.append(d)
                continue
            judged += 1
            a = policy.explain(d.host, port)
            if _fails(a):
                blocked.append(Blocked(d, a, scope))
            continue
        if d.port is None or not d.addresses:
            unjudged.append(d)
            continue
        judged += 1
        for address in d.addresses:
            a = policy.explain(address, d.port)
            if _fails(a):
                blocked.append(Blocked(d, a, scope))
                break
    return Readiness(tuple(blocked), judged, tuple(unjudged))
