"""Opt-in: Istio's real `gateway` chart (manifests/charts/gateway), from a local copy.

    ISTIO_GATEWAY_CHART=…/manifests/charts/gateway

Fetch istio/istio (any tag) to run these; never commit any of it.  Skipped when unset.
They check what egressctl's gateway checks rely on: the chart labels its pods
`istio: <release without istio->` and `app: <release>`, names its Service after the
release, and defaults the Service to a LoadBalancer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from egressctl.charts.gatewaycheck import gateway_findings, pod_labels, services
from egressctl.charts.gateways import render_gateway
from egressctl.errors import Loc
from egressctl.inventory.model import (
    Capture,
    EgressGateway,
    Environment,
    GatewayChart,
    Inventory,
    Policy,
)
from tests.conftest import MINI_ISTIO, SEED, entry_point, invalid_input_report, load_all, write

CHART = os.environ.get("ISTIO_GATEWAY_CHART")
pytestmark = pytest.mark.skipif(
    not CHART, reason="set ISTIO_GATEWAY_CHART to a local copy of Istio's gateway chart"
)
EGRESS = EgressGateway("egress", namespace="istio-egress")


def _chart(tmp_path: Path, release: str, values: str | None) -> GatewayChart:
    files = () if values is None else (str(write(tmp_path / "gw.yaml", values)),)
    return GatewayChart(
        chart=str(CHART),
        release=release,
        namespace="istio-egress",
        values=files,
        loc=Loc("values/dev.yaml", 7, 7),
    )


def _env(chart: GatewayChart, gateway: EgressGateway = EGRESS) -> Environment:
    inv = Inventory(Policy.REGISTRY_ONLY, Capture(), (), gateways=(gateway,))
    return Environment(
        name="dev",
        file="values/dev.yaml",
        context="kind-dev",
        namespace="istio-system",
        api_version=None,
        istio=None,
        inventory=inv,
        gateway_charts=(chart,),
    )


def test_release_name_gives_the_pod_labels_and_service(helm: str, tmp_path: Path) -> None:
    chart = _chart(tmp_path, "istio-egressgateway", "service:\n  type: ClusterIP\n")
    r = render_gateway(chart)
    ((workload, labels),) = pod_labels(r.objects)
    assert workload == "Deployment/istio-egressgateway"
    assert (labels["istio"], labels["app"]) == ("egressgateway", "istio-egressgateway")
    assert services(r.objects) == [("istio-egressgateway", "ClusterIP")]
    assert gateway_findings(_env(chart), [r]) == []


def test_chart_default_service_is_a_load_balancer(helm: str, tmp_path: Path) -> None:
    chart = _chart(tmp_path, "istio-egressgateway", None)
    r = render_gateway(chart)
    assert services(r.objects) == [("istio-egressgateway", "LoadBalancer")]
    assert [f.code for f in gateway_findings(_env(chart), [r])] == ["gateway-chart-loadbalancer"]


def test_other_release_name_breaks_the_default_selector(helm: str, tmp_path: Path) -> None:
    chart = _chart(tmp_path, "egress-gw", "service:\n  type: ClusterIP\n")
    r = render_gateway(chart)
    ((_, labels),) = pod_labels(r.objects)
    assert labels["istio"] == "egress-gw"
    gateway = EgressGateway("egress", namespace="istio-egress", service="egress-gw")
    found = gateway_findings(_env(chart, gateway), [r])
    assert [f.code for f in found] == ["gateway-chart-selector"]
    assert "istio-egressgateway" in found[0].hint


def test_labels_value_restores_the_selector(helm: str, tmp_path: Path) -> None:
    chart = _chart(
        tmp_path, "egress-gw", "service:\n  type: ClusterIP\nlabels:\n  istio: egressgateway\n"
    )
    r = render_gateway(chart)
    gateway = EgressGateway("egress", namespace="istio-egress", service="egress-gw")
    assert gateway_findings(_env(chart, gateway), [r]) == []


def _project(project: Path, values: str) -> None:
    write(project / "values" / "egress-gw.yaml", values)
    write(
        project / "values" / "egress.yaml",
        SEED + "gateways:\n  egress:\n    namespace: istio-egress\n",
    )
    write(
        project / "values" / "dev.yaml",
        "inventory: [egress.yaml]\ncontext: kind-dev\nnamespace: istio-system\n"
        f"istio:\n  chart: {MINI_ISTIO}\n  gateways:\n"
        f"    - chart: {CHART}\n      release: istio-egressgateway\n"
        "      namespace: istio-egress\n      values: [egress-gw.yaml]\n",
    )


def test_render_writes_the_real_gateway(cli, project: Path, helm: str) -> None:
    _project(project, "service:\n  type: ClusterIP\n")
    res = cli("render", "--env", "dev")
    assert res.exit_code == 0, res.stderr
    objs = load_all((project / "build" / "dev" / "gateway-istio-egressgateway.yaml").read_text())
    kinds = {o["kind"] for o in objs}
    assert {"Deployment", "Service"} <= kinds
    assert {o["metadata"].get("namespace") for o in objs} == {"istio-egress"}


def test_render_refuses_the_real_default_located(project: Path, helm: str) -> None:
    _project(project, "")
    proc = entry_point(project, "render", "--env", "dev")
    assert proc.returncode == 3, proc.stderr
    lines = invalid_input_report(proc.stderr)
    assert any(
        line.startswith("values/dev.yaml:7:7: istio.gateways[0]: ")
        and line.endswith("[gateway-chart-loadbalancer]")
        for line in lines
    ), lines
