"""Issue #13, "The gateway itself": `istio.gateways` in the environment file.

Each entry is read like the Istio chart (paths relative to the file, values files
checked, release and namespace refused unless Helm and Kubernetes accept them), rendered
with `helm template` (the stand-in tests/charts/gateway labels its pods and names its
Service from the release like Istio's gateway chart), checked against the inventory's
gateways before anything is applied (located at the chart's entry), and written into
build/ENV/ beside the other renders."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from egressctl import pipeline, rules
from egressctl.charts.gatewaycheck import gateway_findings, pod_labels, selects
from egressctl.charts.gateways import GatewayRender, render_gateway
from egressctl.errors import Loc, Severity, VerificationError
from egressctl.inventory import keys
from egressctl.inventory.model import (
    Capture,
    EgressGateway,
    Environment,
    GatewayApi,
    GatewayChart,
    Inventory,
    Policy,
    TeamValues,
)
from tests.conftest import (
    MINI_ISTIO,
    REPO,
    SEED,
    entry_point,
    invalid_input_report,
    load_all,
    write,
)

GATEWAY = REPO / "tests" / "charts" / "gateway"
#: The rule codes of `istio.gateways`, each with a case here (tests/test_rules.py counts them).
GATEWAY_CHART_CODES = frozenset(
    {
        "gateway-chart-invalid",
        "gateway-release-invalid",
        "gateway-namespace-invalid",
        "gateway-values-invalid",
        "gateway-repo-invalid",
        "gateway-version-invalid",
        "gateway-version-without-repo",
        "gateway-chart-duplicate",
        "gateway-no-chart",
        "gateway-charts-none",
        "gateway-chart-selector",
        "gateway-chart-service",
        "gateway-chart-loadbalancer",
        "gateway-chart-no-pods",
    }
)
CLUSTER_IP = "service:\n  type: ClusterIP\n"
# The inventory with an egress gateway in istio-egress (the selector is the default).
GATEWAY_SEED = SEED + "gateways:\n  egress:\n    namespace: istio-egress\n"


def _env_text(entries: str, *, istio: bool = True) -> str:
    """An environment file; ``entries`` are the lines under `istio.gateways:`, indented
    four spaces.  The first entry's `- ` is on line 7, its mapping at column 7."""
    text = "inventory: [egress.yaml]\ncontext: kind-dev\nnamespace: istio-system\n"
    if istio:
        text += f"istio:\n  chart: {MINI_ISTIO}\n  gateways:\n{entries}"
    return text


def _project_env(
    project: Path, entries: str, *, inventory: str = SEED, values: dict[str, str] | None = None
) -> Path:
    write(project / "values" / "egress.yaml", inventory)
    for name, text in (values or {}).items():
        write(project / "values" / name, text)
    return write(project / "values" / "dev.yaml", _env_text(entries))


def _entry(release: str = "istio-egressgateway", values: str = "[egress-gw.yaml]") -> str:
    return (
        f"    - chart: {GATEWAY}\n"
        f"      release: {release}\n"
        "      namespace: istio-egress\n"
        f"      values: {values}\n"
    )


def _findings(cli, *args: str) -> tuple[int, list[tuple[str, int, int, str]]]:
    res = cli("check", "--env", "dev", "--output", "json", *args)
    doc = json.loads(res.stdout)
    return res.exit_code, [
        (f["code"], f["line"], f["column"], f["severity"]) for f in doc["findings"]
    ]


# ---------------------------------------------------------------------------
# Reading `istio.gateways`


def test_gateway_chart_entry_is_read_and_resolved(project: Path) -> None:
    _project_env(project, _entry(), values={"egress-gw.yaml": CLUSTER_IP})
    env, findings = pipeline.load_environment("dev")
    assert [f for f in findings if f.acknowledged is None] == []
    (chart,) = env.gateway_charts
    assert chart.chart == str(GATEWAY)
    assert chart.release == "istio-egressgateway"
    assert chart.namespace == "istio-egress"
    assert chart.values == (str((project / "values" / "egress-gw.yaml").resolve()),)
    assert [t.data for t in chart.team_values] == [{"service": {"type": "ClusterIP"}}]
    assert chart.loc == Loc("values/dev.yaml", 7, 7)
    assert chart.index == 0


def test_gateway_chart_defaults(project: Path) -> None:
    """Release istio-egressgateway (pods `istio: egressgateway`, the inventory's default
    selector), the environment's namespace; a relative chart path from the file."""
    (project / "charts").mkdir()
    (project / "charts" / "gw").symlink_to(GATEWAY)
    _project_env(project, "    - {chart: ../charts/gw}\n")
    env, _ = pipeline.load_environment("dev")
    (chart,) = env.gateway_charts
    assert (chart.release, chart.namespace, chart.values) == (
        "istio-egressgateway",
        "istio-system",
        (),
    )
    assert chart.chart == str((project / "charts" / "gw").resolve())


@pytest.mark.parametrize(
    ("entry", "code", "line", "col"),
    [
        pytest.param(_entry(release="Egress_GW"), "gateway-release-invalid", 8, 16, id="release"),
        pytest.param(
            _entry(release="'-egress'"), "gateway-release-invalid", 8, 16, id="release-flag"
        ),
        pytest.param(
            f"    - {{chart: {GATEWAY}, namespace: 'istio egress'}}\n",
            "gateway-namespace-invalid",
            7,
            len(f"    - {{chart: {GATEWAY}, namespace: ") + 1,
            id="namespace",
        ),
        pytest.param("    - {chart: '--set=x'}\n", "gateway-chart-invalid", 7, 15, id="chart-flag"),
        pytest.param(_entry(values="['-f']"), "gateway-values-invalid", 10, 16, id="values-flag"),
        pytest.param(
            "    - {chart: gateway, repo: charts}\n", "gateway-repo-invalid", 7, 30, id="repo"
        ),
        pytest.param(
            f"    - {{chart: {GATEWAY}, version: 1.28.0}}\n",
            "gateway-version-without-repo",
            7,
            len(f"    - {{chart: {GATEWAY}, version: ") + 1,
            id="version-without-repo",
        ),
        pytest.param(
            "    - {chart: gateway, repo: 'https://x.example', version: '-1'}\n",
            "gateway-version-invalid",
            7,
            len("    - {chart: gateway, repo: 'https://x.example', version: ") + 1,
            id="version",
        ),
        pytest.param(
            f"    - {{chart: {GATEWAY}, releas: x}}\n",
            "unknown-key",
            7,
            len(f"    - {{chart: {GATEWAY}, ") + 1,
            id="unknown-key",
        ),
        pytest.param("    - {release: x}\n", "key-missing", 7, 7, id="no-chart"),
        pytest.param("    - just-a-chart\n", "wrong-type", 7, 7, id="not-a-mapping"),
        pytest.param(
            f"    - {{chart: {GATEWAY}, release: gw}}\n    - {{chart: {GATEWAY}, release: gw}}\n",
            "gateway-chart-duplicate",
            8,
            len(f"    - {{chart: {GATEWAY}, release: ") + 1,
            id="duplicate",
        ),
        pytest.param(
            f"    - {{chart: {GATEWAY}, release: istiod}}\n",
            "gateway-chart-duplicate",
            7,
            len(f"    - {{chart: {GATEWAY}, release: ") + 1,
            id="istio-release",
        ),
        pytest.param("    - {chart: nope/gateway}\n", "file-missing", 7, 15, id="chart-missing"),
        pytest.param(_entry(values="[nope.yaml]"), "file-missing", 10, 16, id="values-missing"),
        pytest.param(_entry(values="[.]"), "file-missing", 10, 16, id="values-folder"),
        pytest.param(_entry(values="[/dev/zero]"), "file-not-regular", 10, 16, id="values-device"),
    ],
)
def test_bad_gateway_chart_entry_is_a_located_error(
    cli, project: Path, entry: str, code: str, line: int, col: int
) -> None:
    _project_env(project, entry, values={"egress-gw.yaml": CLUSTER_IP})
    exit_code, found = _findings(cli)
    assert exit_code == 3
    assert (code, line, col, "error") in found, found
    # the same input stops render: located, exit 3, nothing written
    proc = entry_point(project, "render", "--env", "dev")
    assert proc.returncode == 3, proc.stderr
    assert f"values/dev.yaml:{line}:{col}: " in "\n".join(invalid_input_report(proc.stderr))
    assert not (project / "build").exists()


def test_gateway_values_file_not_a_mapping(cli, project: Path) -> None:
    _project_env(project, _entry(), values={"egress-gw.yaml": "- a\n- b\n"})
    exit_code, found = _findings(cli)
    assert exit_code == 3
    assert ("wrong-type", 1, 1, "error") in found


def test_gateways_must_be_a_list(cli, project: Path) -> None:
    write(project / "values" / "egress.yaml", SEED)
    write(
        project / "values" / "dev.yaml",
        _env_text("").replace("  gateways:\n", f"  gateways: {{chart: {GATEWAY}}}\n"),
    )
    exit_code, found = _findings(cli)
    assert exit_code == 3
    assert ("wrong-type", 6, 13, "error") in found


def test_gateway_keys_in_the_schema() -> None:
    from egressctl.rules.schema import _gateway_charts

    schema = _gateway_charts()
    assert set(schema["items"]["properties"]) == set(keys.GATEWAY_CHART_KEYS)
    assert schema["items"]["required"] == ["chart"]
    assert "gateways" in keys.ISTIO_KEYS


# ---------------------------------------------------------------------------
# The rule: a gateway whose selector matches no gateway chart


def _environment(
    gateways: tuple[EgressGateway, ...], charts: tuple[GatewayChart, ...] = ()
) -> Environment:
    inv = Inventory(policy=Policy.REGISTRY_ONLY, capture=Capture(), services=(), gateways=gateways)
    return Environment(
        name="dev",
        file="values/dev.yaml",
        context="kind-dev",
        namespace="istio-system",
        api_version=None,
        istio=None,
        inventory=inv,
        gateway_charts=charts,
    )


def _chart(
    release: str = "istio-egressgateway",
    namespace: str = "istio-egress",
    values: tuple[str, ...] = (),
    index: int = 0,
) -> GatewayChart:
    return GatewayChart(
        chart=str(GATEWAY),
        release=release,
        namespace=namespace,
        values=values,
        index=index,
        loc=Loc("values/dev.yaml", 7 + index, 7),
    )


def _codes(problems) -> list[tuple[str, Severity, tuple]]:
    return [(p.code, p.severity, p.path) for p in problems if p.code.startswith("gateway")]


def test_gateway_in_a_namespace_without_a_chart_is_an_error() -> None:
    env = _environment(
        (EgressGateway("egress", namespace="istio-egress"), EgressGateway("other")),
        (_chart(),),
    )
    assert _codes(rules.validate_environment(env)) == [
        ("gateway-no-chart", Severity.ERROR, ("gateways", "other", "selector"))
    ]


def test_no_gateway_chart_at_all_is_a_warning() -> None:
    env = _environment((EgressGateway("egress", namespace="istio-egress"),))
    assert _codes(rules.validate_environment(env)) == [
        ("gateway-charts-none", Severity.WARNING, ("gateways", "egress", "selector"))
    ]


def test_gateway_api_gateways_need_no_chart() -> None:
    """Istio deploys a Gateway API gateway's pods itself."""
    env = _environment((EgressGateway("egress", api=GatewayApi.GATEWAY_API),))
    assert _codes(rules.validate_environment(env)) == []


def test_gateway_rules_located_in_the_inventory(cli, project: Path) -> None:
    _project_env(
        project,
        _entry(release="istio-egressgateway").replace("istio-egress\n", "istio-system\n"),
        inventory=GATEWAY_SEED,
        values={"egress-gw.yaml": CLUSTER_IP},
    )
    exit_code, found = _findings(cli)
    assert exit_code == 3
    assert ("gateway-no-chart", 14, 5, "error") in found, found
    write(project / "values" / "dev.yaml", _env_text("", istio=False))
    exit_code, found = _findings(cli)
    assert exit_code == 0
    assert ("gateway-charts-none", 14, 5, "warning") in found, found


# ---------------------------------------------------------------------------
# The render checks (stand-in chart, real helm)


@pytest.fixture
def gw_values(tmp_path: Path) -> Path:
    return write(tmp_path / "egress-gw.yaml", CLUSTER_IP)


def test_stand_in_labels_pods_from_the_release(helm: str, gw_values: Path) -> None:
    team = TeamValues("egress-gw.yaml", {"service": {"type": "ClusterIP"}})
    r = render_gateway(dataclasses.replace(_chart(values=(str(gw_values),)), team_values=(team,)))
    assert pod_labels(r.objects) == [
        (
            "Deployment/istio-egressgateway",
            {
                "sidecar.istio.io/inject": "true",
                "app": "istio-egressgateway",
                "istio": "egressgateway",
            },
        )
    ]
    assert {o["metadata"]["namespace"] for o in r.objects} == {"istio-egress"}
    assert r.manifest_file == "gateway-istio-egressgateway.yaml"
    assert r.values_file == "values-gateway-istio-egressgateway.yaml"
    assert load_all(r.values_text) == [{"service": {"type": "ClusterIP"}}]


def test_matching_release_and_cluster_ip_pass(helm: str, gw_values: Path) -> None:
    chart = _chart(values=(str(gw_values),))
    env = _environment((EgressGateway("egress", namespace="istio-egress"),), (chart,))
    assert gateway_findings(env, [render_gateway(chart)]) == []


def _one(env: Environment, renders: list[GatewayRender]) -> list[tuple[str, str, str]]:
    return [(f.code, str(f.loc), f.path) for f in gateway_findings(env, renders)]


def test_other_release_name_breaks_the_selector(helm: str, gw_values: Path) -> None:
    chart = _chart(release="egress-gw", values=(str(gw_values),))
    env = _environment(
        (EgressGateway("egress", namespace="istio-egress", service="egress-gw"),), (chart,)
    )
    found = gateway_findings(env, [render_gateway(chart)])
    assert [(f.code, str(f.loc), f.path) for f in found] == [
        ("gateway-chart-selector", "values/dev.yaml:7:7", "istio.gateways[0]")
    ]
    assert "istio: egress-gw" in found[0].message
    assert "istio-egressgateway" in found[0].hint


def test_labels_value_fixes_the_selector(helm: str, tmp_path: Path) -> None:
    values = write(tmp_path / "gw.yaml", CLUSTER_IP + "labels:\n  istio: egressgateway\n")
    chart = _chart(release="egress-gw", values=(str(values),))
    env = _environment(
        (EgressGateway("egress", namespace="istio-egress", service="egress-gw"),), (chart,)
    )
    assert gateway_findings(env, [render_gateway(chart)]) == []


def test_load_balancer_default_is_an_error(helm: str) -> None:
    chart = _chart()  # no values: the chart's default Service type, LoadBalancer
    env = _environment((EgressGateway("egress", namespace="istio-egress"),), (chart,))
    found = gateway_findings(env, [render_gateway(chart)])
    assert [(f.code, str(f.loc)) for f in found] == [
        ("gateway-chart-loadbalancer", "values/dev.yaml:7:7")
    ]
    assert "istio-egressgateway" in found[0].message


def test_load_balancer_is_an_error_without_inventory_gateways(helm: str) -> None:
    chart = _chart(index=2)
    assert _one(_environment((), (chart,)), [render_gateway(chart)]) == [
        ("gateway-chart-loadbalancer", "values/dev.yaml:9:7", "istio.gateways[2]")
    ]


def test_wrong_service_name_is_an_error(helm: str, gw_values: Path) -> None:
    chart = _chart(values=(str(gw_values),))
    env = _environment(
        (EgressGateway("egress", namespace="istio-egress", service="egressgateway"),), (chart,)
    )
    assert _one(env, [render_gateway(chart)]) == [
        ("gateway-chart-service", "values/dev.yaml:7:7", "istio.gateways[0]")
    ]


def test_daemonset_pods_count(helm: str, tmp_path: Path) -> None:
    values = write(tmp_path / "gw.yaml", CLUSTER_IP + "kind: DaemonSet\n")
    chart = _chart(values=(str(values),))
    env = _environment((EgressGateway("egress", namespace="istio-egress"),), (chart,))
    r = render_gateway(chart)
    assert [s for s, _ in pod_labels(r.objects)] == ["DaemonSet/istio-egressgateway"]
    assert gateway_findings(env, [r]) == []


def test_no_pods_is_an_error(helm: str, tmp_path: Path) -> None:
    values = write(tmp_path / "gw.yaml", CLUSTER_IP + "kind: None\n")
    chart = _chart(values=(str(values),))
    env = _environment((EgressGateway("egress", namespace="istio-egress"),), (chart,))
    assert [c for c, _, _ in _one(env, [render_gateway(chart)])] == ["gateway-chart-no-pods"]


def test_one_matching_chart_of_two_in_a_namespace_is_enough(helm: str, gw_values: Path) -> None:
    good = _chart(values=(str(gw_values),))
    other = _chart(release="other-gw", values=(str(gw_values),), index=1)
    env = _environment((EgressGateway("egress", namespace="istio-egress"),), (good, other))
    assert gateway_findings(env, [render_gateway(good), render_gateway(other)]) == []


def test_chart_elsewhere_is_not_judged_against_the_gateway(helm: str, gw_values: Path) -> None:
    chart = _chart(release="ingress", namespace="istio-ingress", values=(str(gw_values),))
    env = _environment((EgressGateway("egress", namespace="istio-egress"),), (chart,))
    assert gateway_findings(env, [render_gateway(chart)]) == []


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ((("istio", "egressgateway"),), {"istio": "egressgateway", "app": "x"}, True),
        ((("istio", "egressgateway"),), {"istio": "egress-gw"}, False),
        ((("istio", "egressgateway"), ("app", "y")), {"istio": "egressgateway"}, False),
        ((), {}, True),
    ],
)
def test_selects(selector, labels, expected) -> None:
    assert selects(selector, labels) is expected


# ---------------------------------------------------------------------------
# Through the CLI: located errors, files written


def test_render_stops_at_a_load_balancer_located_at_the_entry(cli, project: Path) -> None:
    _project_env(project, _entry(), inventory=GATEWAY_SEED, values={"egress-gw.yaml": ""})
    proc = entry_point(project, "render", "--env", "dev")
    assert proc.returncode == 3, proc.stderr
    lines = invalid_input_report(proc.stderr)
    assert any(
        line.startswith("values/dev.yaml:7:7: istio.gateways[0]: ")
        and line.endswith("[gateway-chart-loadbalancer]")
        for line in lines
    ), lines
    assert not (project / "build").exists()


def test_render_stops_at_a_selector_mismatch(cli, project: Path) -> None:
    _project_env(
        project,
        _entry(release="egress-gw"),
        inventory=GATEWAY_SEED.replace(
            "namespace: istio-egress\n", "namespace: istio-egress\n    service: egress-gw\n"
        ),
        values={"egress-gw.yaml": CLUSTER_IP},
    )
    proc = entry_point(project, "render", "--env", "dev")
    assert proc.returncode == 3, proc.stderr
    lines = invalid_input_report(proc.stderr)
    assert [line.split(" [")[-1] for line in lines if line.startswith("values/dev.yaml:7:7: ")] == [
        "gateway-chart-selector]"
    ], lines


def test_render_writes_the_gateway_files(cli, project: Path, helm: str) -> None:
    _project_env(project, _entry(), inventory=GATEWAY_SEED, values={"egress-gw.yaml": CLUSTER_IP})
    res = cli("render", "--env", "dev")
    assert res.exit_code == 0, res.stderr
    out = project / "build" / "dev"
    objs = load_all((out / "gateway-istio-egressgateway.yaml").read_text())
    assert sorted((o["kind"], o["metadata"]["namespace"]) for o in objs) == [
        ("Deployment", "istio-egress"),
        ("Service", "istio-egress"),
    ]
    values = load_all((out / "values-gateway-istio-egressgateway.yaml").read_text())
    assert values == [{"service": {"type": "ClusterIP"}}]
    assert {"egress.yaml", "istio.yaml", "values.yaml"} <= {p.name for p in out.iterdir()}
    # a later render without the gateway chart removes its files
    write(project / "values" / "dev.yaml", _env_text("", istio=False))
    write(project / "values" / "egress.yaml", SEED)
    assert cli("render", "--env", "dev").exit_code == 0
    assert not list(out.glob("*gateway*"))


def test_rendered_carries_the_gateway_objects(project: Path, helm: str) -> None:
    _project_env(project, _entry(), inventory=GATEWAY_SEED, values={"egress-gw.yaml": CLUSTER_IP})
    env, _ = pipeline.load_environment("dev")
    rendered = pipeline.render_environment(env)
    (g,) = rendered.gateways
    assert g.chart == env.gateway_charts[0]
    assert sorted(o["kind"] for o in g.objects) == ["Deployment", "Service"]
    assert set(rendered.gateway_files()) == {
        "gateway-istio-egressgateway.yaml",
        "values-gateway-istio-egressgateway.yaml",
    }
    assert "gateway-istio-egressgateway.yaml" not in rendered.files()


def test_gateway_render_outside_its_namespace_is_refused(
    project: Path, helm: str, tmp_path: Path
) -> None:
    chart = tmp_path / "gw"
    write(chart / "Chart.yaml", "apiVersion: v2\nname: gw\nversion: 0.1.0\n")
    write(
        chart / "templates" / "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: kube-system}\n",
    )
    with pytest.raises(VerificationError, match="kube-system") as caught:
        render_gateway(dataclasses.replace(_chart(), chart=str(chart)))
    assert caught.value.exit_code == 3


def test_render_summary_lists_the_gateway(cli, project: Path, helm: str) -> None:
    _project_env(project, _entry(), inventory=GATEWAY_SEED, values={"egress-gw.yaml": CLUSTER_IP})
    res = cli("render", "--env", "dev", "--output", "json")
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)["data"]
    assert data["gatewayCharts"] == [
        {
            "release": "istio-egressgateway",
            "namespace": "istio-egress",
            "chart": f"gateway chart {GATEWAY} (release istio-egressgateway in istio-egress)",
            "objects": {"Deployment": 1, "Service": 1},
        }
    ]
    assert "build/dev/gateway-istio-egressgateway.yaml" in data["files"]
    human = cli("render", "--env", "dev")
    assert "  gateway Deployment 1, Service 1 (release istio-egressgateway in istio-egress;" in (
        human.stderr
    )
