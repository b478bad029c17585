"""The gateway charts an environment runs (`istio.gateways`, issue #13), rendered with
`helm template` like the Istio chart: the team's values files in order, in the chart's
namespace, under its release name; then checked (:mod:`egressctl.charts.gatewaycheck`)
before anything is applied.

egressctl adds no values of its own to a gateway chart: what the gateway must be (pods
labelled for the inventory's selectors, a Service that is not a LoadBalancer) is checked
on the render, and the team fixes its values.  Each render is written beside the others
as ``gateway-RELEASE.yaml``, with ``values-gateway-RELEASE.yaml``: the team's values as
helm merged them (a record for people; the render is made from the files themselves).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import yaml

from egressctl.charts.helm import helm_template
from egressctl.charts.limits import check_limits
from egressctl.charts.manifests import sourced_objects
from egressctl.charts.rendercheck import check_istio_render
from egressctl.inventory.layers import merge
from egressctl.inventory.model import Environment, GatewayChart

GATEWAY_FILE_PREFIX = "gateway-"
GATEWAY_VALUES_PREFIX = "values-gateway-"  # no release name makes a manifest's name
#: Every file name a gateway render may write (stale ones are removed by these).
GATEWAY_FILE_GLOBS = ("gateway-*.yaml", "values-gateway-*.yaml")


@dataclass(frozen=True, slots=True)
class GatewayRender:
    """One gateway chart rendered: its manifest as helm printed it, the team's values as
    helm merged them, and the objects read from the manifest."""

    chart: GatewayChart
    manifest: str
    values_text: str
    objects: tuple[dict[str, Any], ...] = field(default=(), repr=False, compare=False)

    @property
    def manifest_file(self) -> str:
        return f"{GATEWAY_FILE_PREFIX}{self.chart.release}.yaml"

    @property
    def values_file(self) -> str:
        return f"{GATEWAY_VALUES_PREFIX}{self.chart.release}.yaml"


def merged_values_text(chart: GatewayChart) -> str:
    """The team's values files merged as helm merges them (later files win, maps merge,
    lists replace, null removes), with a header naming them."""
    data: dict[str, Any] = {}
    for team in chart.team_values:
        data = merge(data, dict(team.data))
    shown = ", ".join(t.shown for t in chart.team_values) or "none"
    head = (
        f"# Values of {chart.describe()}: the team's files merged ({shown}); egressctl adds\n"
        "# none. A record of the render beside it, not an input.\n"
    )
    body = yaml.safe_dump(data, sort_keys=True, default_flow_style=False) if data else "{}\n"
    return head + body


def render_gateway(chart: GatewayChart) -> GatewayRender:
    """``helm template`` of one gateway chart, its objects confined to its namespace
    (none claiming to be egressctl's) and within the API server's limits."""
    what = chart.describe()
    text = helm_template(
        chart.release,
        chart.chart,
        namespace=chart.namespace,
        values_text="",
        values_files=chart.values,
        repo=chart.repo,
        version=chart.version,
        step=f"render the {what}",
    )
    sourced = sourced_objects(text)
    objects = [s.obj for s in sourced]
    check_istio_render(objects, chart.namespace, what)
    check_limits(sourced, render=f"the {what}")
    return GatewayRender(chart, text, merged_values_text(chart), tuple(objects))


def render_gateways(env: Environment) -> tuple[GatewayRender, ...]:
    """Every gateway chart of ``env``, rendered (not yet checked against the inventory:
    :func:`egressctl.charts.gatewaycheck.check_gateways`)."""
    return tuple(render_gateway(c) for c in env.gateway_charts)


def gateway_summary(renders: tuple[GatewayRender, ...]) -> list[dict[str, Any]]:
    """Each gateway render for the render summary: release, namespace, chart and the
    objects per kind (each checked against the inventory's gateways)."""
    return [
        {
            "release": g.chart.release,
            "namespace": g.chart.namespace,
            "chart": g.chart.describe(),
            "objects": dict(sorted(Counter(str(o.get("kind")) for o in g.objects).items())),
        }
        for g in renders
    ]
