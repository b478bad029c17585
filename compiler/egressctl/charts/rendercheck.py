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
from egressctl.mesh.kinds import kind_key
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


def _grouped_key(obj: Mapping[str, Any], default_namespace: str, kinds: set[str]) -> ObjectKey:
    """The object's key with its kind key (``Gateway.gateway.networking.k8s.io`` for the
    Gateway API's Gateway: :mod:`egressctl.mesh.kinds`) when the plan names kinds that
    way, else its bare kind (a plan that registered a bare ``Gateway``)."""
    key = _key(obj, default_namespace)
    grouped = kind_key(obj.get("kind"), obj.get("apiVersion"))
    if grouped != key.kind and grouped in kinds:
        return ObjectKey(grouped, key.namespace, key.name)
    return key


def check_egress_render(
    objects: list[dict[str, Any]], planned: set[ObjectKey], default_namespace: str, chart: str
) -> None:
    """Raise VerificationError unless ``objects`` are exactly ``planned``, once each."""
    planned_kinds = {k.kind for k in planned}
    # Compared as plain tuples, each kind key worked out once per (kind, apiVersion):
    # 15,000 objects at 10,000 services; ObjectKeys only for what is wrong (#12).
    want = {(k.kind, k.namespace, k.name) for k in planned}
    keyed: dict[tuple[str, str], str] = {}
    keys: list[tuple[str, str, str]] = []
    for o in objects:
        meta = o.get("metadata")
        meta = meta if isinstance(meta, Mapping) else {}
        kind, api = str(o.get("kind")), o.get("apiVersion")
        pair = (kind, api if isinstance(api, str) else "")
        grouped = keyed.get(pair)
        if grouped is None:
            grouped = keyed[pair] = _grouped_key(o, default_namespace, planned_kinds).kind
        keys.append(
            (grouped, str(meta.get("namespace") or default_namespace), str(meta.get("name")))
        )
    counts = Counter(keys)  # counted in C, not key by key in Python
    seen = set(counts)
    twice = {ObjectKey(*k) for k, n in counts.items() if n > 1}
    extra = {ObjectKey(*k) for k in seen - want}
    missing = {ObjectKey(*k) for k in want - seen}
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
