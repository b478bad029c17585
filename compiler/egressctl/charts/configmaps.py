"""The mesh and injector ConfigMaps of either Istio generation, rendered or live: their
names (revision-aware), the outbound policy and the capture ranges they carry.  Pure."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import yaml

from egressctl.charts.chartinfo import Generation
from egressctl.inventory.safeyaml import FastSafeLoader


@dataclass(frozen=True, slots=True)
class MeshState:
    """What a mesh ConfigMap and an injector ConfigMap say."""

    policy: str | None  # None: the mesh ConfigMap has no outboundTrafficPolicy
    include: str | None  # None: not found in the injector ConfigMap
    exclude: str | None


_LEGACY_RANGE = re.compile(
    r"traffic\.sidecar\.istio\.io/(include|exclude)OutboundIPRanges`\s+\"([^\"]*)\""
)


def policy_of(mesh_cm: Any) -> str | None:
    """outboundTrafficPolicy.mode of a mesh ConfigMap; None when absent or unreadable."""
    data = mesh_cm.get("data") if isinstance(mesh_cm, dict) else None
    text = data.get("mesh") if isinstance(data, dict) else None
    if not isinstance(text, str):
        return None
    try:  # libyaml, as elsewhere: PyYAML's Python reader refuses a tab Istio's Go yaml reads
        mesh = yaml.load(text, Loader=FastSafeLoader)  # noqa: S506  (the safe loader)
    except yaml.YAMLError:
        return None
    policy = mesh.get("outboundTrafficPolicy") if isinstance(mesh, dict) else None
    mode = policy.get("mode") if isinstance(policy, dict) else None
    return str(mode) if mode is not None else None


def ranges_of(injector_cm: Any) -> tuple[str | None, str | None]:
    """Capture ranges from an injector ConfigMap of either generation (None: not found)."""
    data = injector_cm.get("data") if isinstance(injector_cm, dict) else None
    if not isinstance(data, dict):
        return None, None
    if isinstance(data.get("values"), str) and data["values"]:
        try:
            values = json.loads(data["values"])
        except ValueError:
            return None, None
        glob = values.get("global") if isinstance(values, dict) else None
        proxy = glob.get("proxy") if isinstance(glob, dict) else None
        if not isinstance(proxy, dict):
            return None, None
        inc, exc = proxy.get("includeIPRanges"), proxy.get("excludeIPRanges")
        return (None if inc is None else str(inc)), (None if exc is None else str(exc))
    config = data.get("config")
    found = dict(_LEGACY_RANGE.findall(config)) if isinstance(config, str) else {}
    return found.get("include"), found.get("exclude")


def names(revision: str | None) -> tuple[str, str]:
    suffix = f"-{revision}" if revision else ""
    return f"istio{suffix}", f"istio-sidecar-injector{suffix}"


def find_configmaps(
    objects: list[dict[str, Any]], revision: str | None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None, str | None]:
    """The mesh and injector ConfigMaps of a render, and the revision they belong to.

    With ``revision`` given, only those names; otherwise ``istio``/``istio-sidecar-
    injector`` or, when the render has exactly one revisioned pair, that pair."""
    cms = {
        o["metadata"]["name"]: o
        for o in objects
        if o.get("kind") == "ConfigMap" and isinstance(o.get("metadata"), dict)
    }
    if revision is not None:
        mesh, inj = names(revision)
        return cms.get(mesh), cms.get(inj), revision
    if "istio" in cms or "istio-sidecar-injector" in cms:
        return cms.get("istio"), cms.get("istio-sidecar-injector"), None
    revs = sorted(
        n.removeprefix("istio-sidecar-injector-")
        for n in cms
        if n.startswith("istio-sidecar-injector-")
    )
    if len(revs) == 1:
        mesh, inj = names(revs[0])
        return cms.get(mesh), cms.get(inj), revs[0]
    return None, None, None


def generation_of_render(injector_cm: dict[str, Any] | None) -> Generation | None:
    data = (injector_cm or {}).get("data") or {}
    if "values" in data:
        return Generation.ISTIOD
    if "[[" in data.get("config", ""):
        return Generation.LEGACY
    return None
