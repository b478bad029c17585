"""An inventory's egress gateways against the gateway charts its environment runs
(`istio.gateways`, issue #13).

A gateway written in Istio's API (`api: istio`) selects the pods of a gateway Deployment
that someone must run: with gateway charts in the environment, the gateway's namespace
must have one (its pods' labels are checked against the gateway's selector once the
chart is rendered: :mod:`egressctl.charts.gatewaycheck`); with none at all, the pods may
be run by other means, so it is only a warning.  Gateway API gateways are left out:
Istio deploys their pods itself (automated deployment).
"""

from __future__ import annotations

from egressctl.errors import Problem, error, warning
from egressctl.inventory.model import EgressGateway, Environment, GatewayApi


def _shown(selector: tuple[tuple[str, str], ...]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in selector) + "}"


def gateways_using_charts(env: Environment) -> list[EgressGateway]:
    """The inventory's gateways whose pods a gateway chart runs (Istio's API)."""
    return [g for g in env.inventory.gateways if g.api is GatewayApi.ISTIO]


def gateway_chart_rules(env: Environment) -> list[Problem]:
    """`gateway-no-chart`: a gateway whose namespace has no gateway chart in the
    environment (so its selector matches no chart's pods); `gateway-charts-none`
    (warning): the environment names no gateway chart at all."""
    out: list[Problem] = []
    namespaces = {c.namespace for c in env.gateway_charts}
    for g in gateways_using_charts(env):
        ns = g.namespace or env.namespace
        at = ("gateways", g.name, "selector")
        if not env.gateway_charts:
            out.append(
                warning(
                    "gateway-charts-none",
                    at,
                    f"gateway {g.name!r} selects pods {_shown(g.selector)} in {ns!r}, and "
                    f"environment {env.name!r} names no gateway chart to run them",
                    f"add `istio.gateways: [{{chart: …/manifests/charts/gateway, release: "
                    f"istio-egressgateway, namespace: {ns}}}]` to {env.file} so that "
                    "egressctl renders and checks the gateway, or run it by other means",
                )
            )
        elif ns not in namespaces:
            listed = ", ".join(sorted(namespaces))
            out.append(
                error(
                    "gateway-no-chart",
                    at,
                    f"gateway {g.name!r} selects pods {_shown(g.selector)} in {ns!r}, but no "
                    f"gateway chart of environment {env.name!r} runs there (its gateway "
                    f"charts run in: {listed})",
                    f"add a gateway chart with `namespace: {ns}` to `istio.gateways` in "
                    f"{env.file}, or set the gateway's `namespace`",
                )
            )
    return out
