"""The data-plane charts an environment names (`istio.charts`, issue #15: Istio's
`ztunnel` and `istio-cni`), rendered like the gateway charts
(:func:`egressctl.charts.gateways.render_gateway`: the team's values files only, the
objects confined to the chart's namespace and within the API server's limits), then
checked against the environment's data plane before anything is applied: an ambient
environment that names charts needs a ztunnel DaemonSet and an istio-cni with ambient
enabled among them; a sidecar environment renders no ztunnel."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from egressctl.charts.gateways import GatewayRender, render_gateway
from egressctl.errors import Finding, InventoryError, Loc, Severity
from egressctl.inventory.model import Dataplane, Environment

DATAPLANE_FILE_PREFIX = "dataplane-"
DATAPLANE_VALUES_PREFIX = "values-dataplane-"
#: Every file name a data-plane render may write (stale ones are removed by these).
DATAPLANE_FILE_GLOBS = ("dataplane-*.yaml", "values-dataplane-*.yaml")
ZTUNNEL = "ztunnel"
CNI_CONFIG = "istio-cni-config"
CODE = "dataplane-chart-mismatch"


def render_dataplane_charts(env: Environment) -> tuple[GatewayRender, ...]:
    """Every `istio.charts` chart of ``env``, rendered and confined to its namespace."""
    return tuple(render_gateway(c) for c in env.dataplane_charts)


def files_of(renders: tuple[GatewayRender, ...]) -> dict[str, str]:
    """Each render's merged values and manifest, by file name."""
    out: dict[str, str] = {}
    for g in renders:
        out[f"{DATAPLANE_VALUES_PREFIX}{g.chart.release}.yaml"] = g.values_text
        out[f"{DATAPLANE_FILE_PREFIX}{g.chart.release}.yaml"] = g.manifest
    return out


def _named(objects: tuple[dict[str, Any], ...], kind: str, name: str) -> dict[str, Any] | None:
    for o in objects:
        meta = o.get("metadata")
        if o.get("kind") == kind and isinstance(meta, Mapping) and meta.get("name") == name:
            return o
    return None


def _problems(env: Environment, renders: tuple[GatewayRender, ...]) -> list[tuple[Loc, str, str]]:
    where = env.ambient.loc if env.ambient.loc.file else Loc(env.file)
    out: list[tuple[Loc, str, str]] = []
    ztunnel = [g for g in renders if _named(g.objects, "DaemonSet", ZTUNNEL) is not None]
    cni = [(g, _named(g.objects, "ConfigMap", CNI_CONFIG)) for g in renders]
    cni_found = [(g, cm) for g, cm in cni if cm is not None]
    if env.dataplane is Dataplane.AMBIENT:
        if not ztunnel:
            out.append(
                (
                    where,
                    "`dataplane: ambient`, but no chart of `istio.charts` renders the ztunnel "
                    "DaemonSet",
                    "add Istio's ztunnel chart (manifests/charts/ztunnel) to `istio.charts`",
                )
            )
        if not cni_found:
            out.append(
                (
                    where,
                    "`dataplane: ambient`, but no chart of `istio.charts` renders istio-cni "
                    f"(ConfigMap {CNI_CONFIG})",
                    "add Istio's CNI chart (manifests/charts/istio-cni) with `profile: ambient`",
                )
            )
        for g, cm in cni_found:
            data = cm.get("data") if isinstance(cm, Mapping) else None
            enabled = isinstance(data, Mapping) and str(data.get("AMBIENT_ENABLED")) == "true"
            if not enabled:
                out.append(
                    (
                        g.chart.loc if g.chart.loc.file else where,
                        f"the {g.chart.describe()} does not enable ambient (ConfigMap "
                        f'{CNI_CONFIG} AMBIENT_ENABLED is not "true")',
                        "set `profile: ambient` (or `ambient.enabled: true`) in its values",
                    )
                )
    else:
        for g in ztunnel:
            out.append(
                (
                    g.chart.loc if g.chart.loc.file else where,
                    f"the {g.chart.describe()} renders ztunnel, but the environment's data "
                    f"plane is {env.dataplane.value}",
                    "write `dataplane: ambient`, or drop the ztunnel chart",
                )
            )
    return out


def check_dataplane_charts(env: Environment, renders: tuple[GatewayRender, ...]) -> None:
    """Raise InventoryError, located at the chart's entry (or the environment's
    `dataplane`), when the data-plane renders do not run the environment's data plane.
    Nothing is checked when `istio.charts` names no chart."""
    if not renders:
        return
    found = _problems(env, renders)
    if found:
        raise InventoryError(
            [
                Finding(CODE, Severity.ERROR, loc, "istio.charts", message, hint)
                for loc, message, hint in found
            ]
        )
