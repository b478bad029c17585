"""A render holds exactly what was planned: nothing smuggled in, nothing missing.

chart/ renders one object per planned entry; the check compares the rendered objects
(kind, name, namespace) with the plan before anything is applied, so a value, a template
or a chart that produces anything else stops the run.  The team's Istio chart is not
planned object by object: every namespaced object it renders must be in the
environment's namespace, and none may carry egressctl's ownership label.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from egressctl.errors import VerificationError
from egressctl.mesh.plan import EXTRA_KINDS

OWNED_LABEL = "egressctl.io/owned"

# What each map of chart/'s values renders.
PLANNED_KINDS = {
    "serviceEntries": "ServiceEntry",
    "tlsRoutes": "VirtualService",
    "destinationRules": "DestinationRule",
}


@dataclass(frozen=True, slots=True, order=True)
class ObjectKey:
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


def planned_objects(values: Mapping[str, Any], default_namespace: str) -> set[ObjectKey]:
    """The objects chart/ must render for these generated values."""
    out: set[ObjectKey] = set()
    for key, kind in {**PLANNED_KINDS, **EXTRA_KINDS}.items():
        for name, entry in (values.get(key) or {}).items():
            if not entry:
                continue
            ns = entry.get("namespace") or default_namespace
            # An entry may name its object (`name`) when the values key cannot be the
            # name: Sidecars named `default` in several namespaces, for one.
            out.add(ObjectKey(kind, str(ns), str(entry.get("name") or name)))
    return out


def _key(obj: Mapping[str, Any], default_namespace: str) -> ObjectKey:
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    return ObjectKey(
        str(obj.get("kind")),
        str(meta.get("namespace") or default_namespace),
        str(meta.get("name")),
    )


def _listed(keys: Iterable[ObjectKey], limit: int = 8) -> str:
    items = sorted(keys)
    shown = ", ".join(map(str, items[:limit]))
    return shown + (f", … {len(items) - limit} more" if len(items) > limit else "")


def check_egress_render(
    objects: list[dict[str, Any]], planned: set[ObjectKey], default_namespace: str, chart: str
) -> None:
    """Raise VerificationError unless ``objects`` are exactly ``planned``, once each."""
    counts = Counter(_key(o, default_namespace) for o in objects)
    seen = set(counts)
    twice = {k for k, n in counts.items() if n > 1}
    extra = seen - planned
    missing = planned - seen
    problems = []
    if extra:
        problems.append(f"objects that were not planned: {_listed(extra)}")
    if missing:
        problems.append(f"planned objects that are missing: {_listed(missing)}")
    if twice:
        problems.append(f"objects rendered twice: {_listed(twice)}")
    if problems:
        raise VerificationError(
            f"the render of {chart} is not what was planned; nothing was applied: "
            + "; ".join(problems)
        )


def check_istio_render(objects: list[dict[str, Any]], namespace: str, chart: str) -> None:
    """Every namespaced object of the Istio render lives in the environment's namespace,
    and none claims to be egressctl's (only chart/ renders owned objects)."""
    elsewhere = set()
    claimed = set()
    for obj in objects:
        meta = obj.get("metadata")
        meta = meta if isinstance(meta, Mapping) else {}
        ns = meta.get("namespace")
        key = _key(obj, namespace)
        if ns is not None and str(ns) != namespace:
            elsewhere.add(key)
        labels = meta.get("labels")
        if isinstance(labels, Mapping) and OWNED_LABEL in labels:
            claimed.add(key)
    problems = []
    if elsewhere:
        problems.append(f"objects outside namespace {namespace!r}: {_listed(elsewhere)}")
    if claimed:
        problems.append(
            f"objects labelled {OWNED_LABEL} (only chart/ makes those): {_listed(claimed)}"
        )
    if problems:
        raise VerificationError(
            f"the Istio render of {chart} holds objects egressctl will not apply; nothing was "
            "applied: " + "; ".join(problems)
        )
