"""The environment's data plane against the Istio render (issue #15): `dataplane:
ambient` needs an istiod that runs ambient (``PILOT_ENABLE_AMBIENT=true`` in its
Deployment's environment, as the istiod chart's ``profile: ambient`` sets), and a
sidecar environment must not render one (its lockdown would not hold for ambient pods).
A mismatch either way is a located error at the environment's `dataplane` before
anything is applied.  Pure, but for :func:`local_istio_version` (reads Chart.yaml)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from egressctl.charts.chartinfo import chart_info, istio_minor
from egressctl.errors import EgressError, Finding, InventoryError, Loc, Severity
from egressctl.inventory.ambientmodel import AMBIENT_FLAG, WILDCARD_TLS_FLAG, wildcard_tls
from egressctl.inventory.model import Dataplane, Environment

ISTIOD_LABEL = ("app", "istiod")


@dataclass(frozen=True, slots=True)
class Istiod:
    """istiod's Deployment in a render: its name and its containers' plain environment
    (``value`` entries; ``valueFrom`` is not known at render time)."""

    name: str
    env: Mapping[str, str]

    def enabled(self, flag: str) -> bool:
        return self.env.get(flag, "").strip().lower() == "true"


def _is_istiod(obj: Mapping[str, Any]) -> bool:
    if obj.get("kind") != "Deployment":
        return False
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    labels = meta.get("labels")
    name = str(meta.get("name") or "")
    if isinstance(labels, Mapping) and labels.get(ISTIOD_LABEL[0]) == ISTIOD_LABEL[1]:
        return True
    return name == "istiod" or name.startswith("istiod-")


def _container_env(obj: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    spec = obj.get("spec")
    template = spec.get("template") if isinstance(spec, Mapping) else None
    pod = template.get("spec") if isinstance(template, Mapping) else None
    containers = pod.get("containers") if isinstance(pod, Mapping) else None
    for c in containers if isinstance(containers, list) else ():
        env = c.get("env") if isinstance(c, Mapping) else None
        for item in env if isinstance(env, list) else ():
            if isinstance(item, Mapping) and "value" in item and item.get("name") is not None:
                out[str(item["name"])] = "" if item["value"] is None else str(item["value"])
    return out


def find_istiod(objects: Iterable[Mapping[str, Any]]) -> Istiod | None:
    """The first istiod Deployment of a render (label ``app: istiod``, or named istiod or
    istiod-REVISION); None when the render has none."""
    for obj in objects:
        if _is_istiod(obj):
            meta = obj.get("metadata")
            name = str(meta.get("name")) if isinstance(meta, Mapping) else "istiod"
            return Istiod(name, _container_env(obj))
    return None


def dataplane_problems(env: Environment, objects: Iterable[Mapping[str, Any]]) -> list[str]:
    """What is wrong between ``env``'s data plane and its Istio render (its objects)."""
    istiod = find_istiod(objects)
    chart = env.istio.describe() if env.istio is not None else "the Istio chart"
    problems: list[str] = []
    if env.dataplane is Dataplane.AMBIENT:
        if istiod is None:
            problems.append(
                f"`dataplane: ambient`, but the render of {chart} has no istiod Deployment "
                f"to run ambient ({AMBIENT_FLAG}=true)"
            )
        elif not istiod.enabled(AMBIENT_FLAG):
            problems.append(
                f"`dataplane: ambient`, but istiod (Deployment {istiod.name} of {chart}) does "
                f"not set {AMBIENT_FLAG}=true: it does not run ambient"
            )
        elif not istiod.enabled(WILDCARD_TLS_FLAG):
            names = sorted(s.name for s in env.inventory.services if wildcard_tls(s))
            if names:
                problems.append(
                    f"services {', '.join(names)} have wildcard hosts on TLS ports, which the "
                    f"waypoint enforces only with {WILDCARD_TLS_FLAG}=true in istiod "
                    f"(Deployment {istiod.name} does not set it)"
                )
    elif istiod is not None and istiod.enabled(AMBIENT_FLAG):
        problems.append(
            f"istiod (Deployment {istiod.name} of {chart}) sets {AMBIENT_FLAG}=true, but the "
            f"environment's data plane is {env.dataplane.value}: the sidecar lockdown "
            "(outboundTrafficPolicy, capture ranges) does not hold for ambient pods"
        )
    return problems


_HINT = {
    Dataplane.AMBIENT: (
        "install istiod with `profile: ambient` in one of `istio.values` (it sets "
        "pilot.env.PILOT_ENABLE_AMBIENT), or write `dataplane: sidecar`"
    ),
    Dataplane.SIDECAR: "write `dataplane: ambient`, or drop `profile: ambient` from the values",
}


def check_dataplane(env: Environment, objects: Iterable[Mapping[str, Any]]) -> None:
    """Raise InventoryError, located at the environment's `dataplane`, when its data
    plane and the Istio render disagree."""
    problems = dataplane_problems(env, objects)
    if not problems:
        return
    loc = env.ambient.loc if env.ambient.loc.file else Loc(env.file)
    hint = _HINT[env.dataplane]
    if "wildcard" in problems[0] and env.dataplane is Dataplane.AMBIENT:
        hint = (
            f'set pilot.env.{WILDCARD_TLS_FLAG}: "true" in `istio.values` (SNI can be '
            "spoofed: trusted clients only), or list the hosts one by one"
        )
    raise InventoryError(
        [Finding("dataplane-mismatch", Severity.ERROR, loc, "dataplane", p, hint) for p in problems]
    )


def local_istio_version(env: Environment) -> tuple[int, int] | None:
    """The Istio (major, minor) of the environment's chart when it is a local chart (a
    chart in a repository is asked for at render time; the rules then skip the version
    checks).  None without one, or when its Chart.yaml cannot tell."""
    if env.istio is None or env.istio.repo is not None:
        return None
    try:
        found = istio_minor(chart_info(env.istio.chart))
    except EgressError:
        return None
    # A copy from git says 1.0.0 (release tooling rewrites it): no istiod chart was 1.0.
    return None if found is None or found < (1, 5) else found
