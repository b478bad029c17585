"""Egress gateways with `api: gateway-api` (issue #13): the Gateway, the mesh and gateway
routes (HTTPRoute, TLSRoute v1alpha2/v1 by Istio version), ReferenceGrants, origination
at the gateway; golden renders through helm 3 and 4, CRD + CEL validation against the
Gateway API v1.5.1 and Istio 1.30.3 CRDs, and the render check."""

from __future__ import annotations

import functools
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from egressctl.charts.helm import helm_template
from egressctl.charts.rendercheck import check_egress_render, planned_objects
from egressctl.cli.output import print_summary
from egressctl.crd import CrdSet
from egressctl.errors import VerificationError
from egressctl.inventory.gatewayapinames import object_name, via_objects
from egressctl.inventory.model import (
    EgressGateway,
    GatewayApi,
    Origination,
    Port,
    Resolution,
    Service,
    TlsMode,
)
from egressctl.mesh import emit, gatewayapi, plan
from egressctl.mesh.kinds import GATEWAY_API_GATEWAY, kind_key
from egressctl.runners import run
from tests.conftest import CHART, MINI_ISTIO, EnvFile, load_all, write
from tests.make_golden_gatewayapi import (
    GOLDEN,
    HTTP,
    HTTPS,
    NAMESPACE,
    ORIGINATE,
    case_names,
    compile_case,
    gateway,
    generate,
    inventory,
)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "istio-crds"
GATEWAY_API_CRDS = SHARED / "gateway-api-v1.5.1.yaml"
ISTIO_CRDS = SHARED / "crd-all.gen-1.30.3.yaml"
CRDS_PRESENT = GATEWAY_API_CRDS.is_file() and ISTIO_CRDS.is_file()
needs_crds = pytest.mark.skipif(
    not CRDS_PRESENT,
    reason=f"CRDs not found in {SHARED}",
)
GW = "gateway.networking.k8s.io"
CASES = case_names()


@functools.cache
def crds() -> CrdSet:
    docs: list[dict[str, Any]] = []
    for path in (GATEWAY_API_CRDS, ISTIO_CRDS):
        with path.open(encoding="utf-8") as fh:
            docs.extend(d for d in yaml.load_all(fh, Loader=yaml.CSafeLoader) if d)
    return CrdSet.from_documents(docs, "gateway-api v1.5.1 + istio 1.30.3")


def build(
    *services: Service,
    version: tuple[int, int] | None = (1, 30),
    namespace: str | None = NAMESPACE,
    gateways: tuple[EgressGateway, ...] | None = None,
) -> plan.Plan:
    target = plan.Target(namespace=namespace, istio_version=version)
    return plan.build(inventory(*services, gateways=gateways), target)


def golden(case: str, name: str) -> str:
    return (GOLDEN / case / name).read_text(encoding="utf-8")


def template(helm: str, values_text: str, namespace: str = NAMESPACE) -> list[dict[str, Any]]:
    out = helm_template(
        "egress", CHART, namespace=namespace, values_text=values_text, step="test", helm=helm
    )
    return load_all(out)


# ---------------------------------------------------------------------------
# Golden renders: HTTP, HTTPS passthrough, origination at the gateway, for Istio 1.29 and 1.30


@pytest.mark.parametrize("case", CASES)
def test_golden(case: str, helm: str) -> None:
    values, manifests = generate(case, helm)
    assert values == golden(case, "values.yaml"), (
        "run `.venv/bin/python -m tests.make_golden_gatewayapi` and review the diff"
    )
    assert load_all(manifests) == load_all(golden(case, "manifests.yaml"))


def _by_kind(case: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["kind"], o["metadata"]["name"]): o for o in load_all(golden(case, "manifests.yaml"))}


def test_golden_http_is_the_istio_io_task() -> None:
    objs = _by_kind("http-istio-1.30")
    gw = objs["Gateway", "egress"]
    assert gw["apiVersion"] == f"{GW}/v1"
    assert gw["metadata"]["namespace"] == "istio-egress"
    assert gw["metadata"]["annotations"]["networking.istio.io/service-type"] == "ClusterIP"
    assert gw["spec"] == {
        "gatewayClassName": "istio",
        "listeners": [
            {
                "name": "http-80",
                "port": 80,
                "protocol": "HTTP",
                "allowedRoutes": {"namespaces": {"from": "Same"}},
            }
        ],
    }
    mesh = objs["HTTPRoute", "httpbin-80-mesh"]
    assert mesh["metadata"]["namespace"] == NAMESPACE  # with the ServiceEntry
    assert mesh["spec"]["parentRefs"] == [
        {"group": "networking.istio.io", "kind": "ServiceEntry", "name": "httpbin", "port": 80}
    ]
    assert mesh["spec"]["rules"][0]["backendRefs"] == [
        {
            "group": "",
            "kind": "Service",
            "name": "egress-istio",
            "namespace": "istio-egress",
            "port": 80,
        }
    ]
    forward = objs["HTTPRoute", "httpbin-80-gateway"]
    assert forward["metadata"]["namespace"] == "istio-egress"
    assert forward["spec"]["parentRefs"] == [
        {"group": GW, "kind": "Gateway", "name": "egress", "sectionName": "http-80"}
    ]
    assert forward["spec"]["hostnames"] == ["httpbin.org"]
    assert forward["spec"]["rules"][0]["backendRefs"] == [
        {"group": "networking.istio.io", "kind": "Hostname", "name": "httpbin.org", "port": 80}
    ]
    # The audit metadata follows the service onto its routes.
    assert forward["metadata"]["labels"]["egressctl.io/owner"] == "team-a"
    grant = objs["ReferenceGrant", "egress-mesh-routes"]
    assert grant["metadata"]["namespace"] == "istio-egress"
    assert grant["spec"] == {
        "from": [{"group": GW, "kind": "HTTPRoute", "namespace": NAMESPACE}],
        "to": [{"group": "", "kind": "Service", "name": "egress-istio"}],
    }
    assert not any(kind == "TLSRoute" for kind, _ in objs)


@pytest.mark.parametrize(
    ("case", "api_version"),
    [("https-istio-1.29", f"{GW}/v1alpha2"), ("https-istio-1.30", f"{GW}/v1")],
)
def test_golden_https_passthrough_tlsroute_version(case: str, api_version: str) -> None:
    objs = _by_kind(case)
    listener = objs["Gateway", "egress"]["spec"]["listeners"]
    assert listener == [
        {
            "name": "tls-443",
            "port": 443,
            "protocol": "TLS",
            "tls": {"mode": "Passthrough"},
            "allowedRoutes": {"namespaces": {"from": "Same"}},
        }
    ]
    mesh, forward = objs["TLSRoute", "google-443-mesh"], objs["TLSRoute", "google-443-gateway"]
    assert (mesh["apiVersion"], forward["apiVersion"]) == (api_version, api_version)
    assert mesh["spec"]["hostnames"] == forward["spec"]["hostnames"] == ["www.google.com"]
    assert forward["spec"]["rules"][0]["backendRefs"] == [
        {"group": "networking.istio.io", "kind": "Hostname", "name": "www.google.com", "port": 443}
    ]
    assert objs["ReferenceGrant", "egress-mesh-routes"]["spec"]["from"] == [
        {"group": GW, "kind": "TLSRoute", "namespace": NAMESPACE}
    ]


@pytest.mark.parametrize("case", ["originate-istio-1.29", "originate-istio-1.30"])
def test_golden_origination_at_the_gateway(case: str) -> None:
    objs = _by_kind(case)
    rule = objs["DestinationRule", "legacy-api"]
    assert rule["spec"] == {
        "host": "legacy.partner.example",
        "exportTo": ["istio-egress"],  # the gateway opens TLS, not the sidecars
        "trafficPolicy": {
            "portLevelSettings": [
                {"port": {"number": 80}, "tls": {"mode": "SIMPLE", "sni": "legacy.partner.example"}}
            ]
        },
    }
    entry = objs["ServiceEntry", "legacy-api"]["spec"]
    assert entry["ports"] == [{"number": 80, "name": "http", "protocol": "HTTP", "targetPort": 443}]
    forward = objs["HTTPRoute", "legacy-api-80-gateway"]
    assert forward["spec"]["rules"][0]["backendRefs"][0]["port"] == 80  # sent on to 443
    assert {k for k in objs if k[0] == "DestinationRule"} == {("DestinationRule", "legacy-api")}


# ---------------------------------------------------------------------------
# CRD + CEL validation of every rendered object


@needs_crds
@pytest.mark.parametrize("case", CASES)
def test_every_rendered_object_validates(case: str) -> None:
    objs = load_all(golden(case, "manifests.yaml"))
    kinds = {(o["apiVersion"], o["kind"]) for o in objs}
    assert all(crds().served(api, kind) for api, kind in kinds), kinds
    assert [p.format() for p in crds().validate_all(objs)] == []


@needs_crds
def test_v1alpha2_tlsroute_is_served_and_validates_in_gateway_api_151() -> None:
    assert crds().served(f"{GW}/v1alpha2", "TLSRoute")
    objs = [o for o in load_all(golden("https-istio-1.29", "manifests.yaml"))]
    routes = [o for o in objs if o["kind"] == "TLSRoute"]
    assert {o["apiVersion"] for o in routes} == {f"{GW}/v1alpha2"} and len(routes) == 2
    assert [p.format() for p in crds().validate_all(routes)] == []


def _obj(case: str, kind: str, name: str) -> dict[str, Any]:
    return _by_kind(case)[kind, name]


@needs_crds
def test_validation_can_fail_on_the_rules_that_shape_the_objects() -> None:
    """The checks above would catch what the rendering avoids: TLSRoute v1 without
    hostnames (required), a TLS listener without a mode and a Service backend without a
    port (CEL rules)."""
    route = _obj("https-istio-1.30", "TLSRoute", "google-443-mesh")
    del route["spec"]["hostnames"]
    assert any("hostnames" in p.format() for p in crds().validate(route))
    gw = _obj("https-istio-1.30", "Gateway", "egress")
    del gw["spec"]["listeners"][0]["tls"]
    assert any(p.rule and "tls mode must be set" in p.message for p in crds().validate(gw))
    http = _obj("http-istio-1.30", "HTTPRoute", "httpbin-80-mesh")
    del http["spec"]["rules"][0]["backendRefs"][0]["port"]
    assert any(p.rule and "port" in p.message for p in crds().validate(http))


# ---------------------------------------------------------------------------
# The render check: chart/ renders exactly the planned objects


@pytest.mark.parametrize("case", CASES)
def test_render_check_accepts_the_render(case: str, helm: str) -> None:
    values_text = compile_case(case)
    objs = template(helm, values_text)
    values = yaml.safe_load(values_text)
    planned = planned_objects(values, NAMESPACE)
    assert any(k.kind == GATEWAY_API_GATEWAY for k in planned)
    check_egress_render(objs, planned, NAMESPACE, "chart/")
    with pytest.raises(VerificationError, match="missing"):
        check_egress_render(
            [o for o in objs if o["kind"] != "ReferenceGrant"], planned, NAMESPACE, "chart/"
        )


def test_chart_lints_strict_with_the_golden_values(helm: str, tmp_path: Path) -> None:
    for case in ("https-istio-1.29", "originate-istio-1.30"):
        values = write(tmp_path / f"{case}.yaml", golden(case, "values.yaml"))
        run([helm, "lint", CHART, "--strict", "--values", values], step="helm lint")


def test_render_check_with_both_apis_side_by_side(helm: str) -> None:
    """An `api: istio` gateway and a gateway-api one in one namespace: two kinds of
    Gateway, told apart by group (the render check's kind key)."""
    istio = EgressGateway("istio-gw", namespace="istio-egress", api=GatewayApi.ISTIO, mtls=False)
    other = Service(
        "other", ("o.example",), (Port(443, "HTTPS", "https"),), Resolution.DNS, via="istio-gw"
    )
    p = build(HTTPS, other, gateways=(gateway(), istio))
    values = emit.chart_values(p)
    objs = template(helm, yaml.safe_dump(values))
    check_egress_render(objs, planned_objects(values, NAMESPACE), NAMESPACE, "chart/")
    gateways = sorted(
        (o["apiVersion"], o["metadata"]["name"]) for o in objs if o["kind"] == "Gateway"
    )
    assert gateways == [(f"{GW}/v1", "egress"), ("networking.istio.io/v1", "istio-gw")]
    # Each service's objects come from its own gateway's API.
    assert sorted(p.extra[gatewayapi.TLS_ROUTES_KEY]) == ["google-443-gateway", "google-443-mesh"]


# ---------------------------------------------------------------------------
# The plan


@pytest.mark.parametrize(
    ("version", "api_version"),
    [
        ((1, 22), f"{GW}/v1alpha2"),
        ((1, 29), f"{GW}/v1alpha2"),
        ((1, 30), f"{GW}/v1"),
        ((1, 31), f"{GW}/v1"),
        ((2, 0), f"{GW}/v1"),
        (None, f"{GW}/v1alpha2"),
    ],
)
def test_tls_route_version_follows_the_istio_version(
    version: tuple[int, int] | None, api_version: str
) -> None:
    p = build(HTTPS, version=version)
    routes = p.extra[gatewayapi.TLS_ROUTES_KEY]
    assert {r["apiVersion"] for r in routes.values()} == {api_version}
    assert gatewayapi.tls_route_api_version(version)[0] == api_version


def test_listeners_are_merged_per_port_and_routes_split_per_host() -> None:
    two_hosts = Service(
        "search",
        ("www.bing.com", "duckduckgo.com"),
        (Port(443, "TLS", "tls"), Port(8080, "HTTP2", "http2")),
        Resolution.DNS,
        via="egress",
    )
    opaque = Service(
        "db", ("db.example",), (Port(5432, "TCP", "pg"),), Resolution.DNS, via="egress"
    )
    p = build(HTTPS, HTTP, two_hosts, opaque)
    gw = p.extra[gatewayapi.GATEWAYS_KEY]["egress"]
    assert [(lst["name"], lst["port"], lst["protocol"]) for lst in gw["listeners"]] == [
        ("http-80", 80, "HTTP"),
        ("tls-443", 443, "TLS"),
        ("http-8080", 8080, "HTTP"),
    ]  # opaque 5432 gets neither a listener nor a route
    tls = p.extra[gatewayapi.TLS_ROUTES_KEY]
    assert sorted(tls) == [
        "google-443-gateway",
        "google-443-mesh",
        "search-443-gateway-1",
        "search-443-gateway-2",
        "search-443-mesh",
    ]
    assert tls["search-443-gateway-2"]["hostnames"] == ["duckduckgo.com"]
    assert tls["search-443-mesh"]["hostnames"] == ["www.bing.com", "duckduckgo.com"]
    http = p.extra[gatewayapi.HTTP_ROUTES_KEY]
    assert http["search-8080-mesh"]["parentRefs"][0]["port"] == 8080
    assert http["search-8080-gateway-1"]["parentRefs"][0]["sectionName"] == "http-8080"
    assert not any(name.startswith("db-") for name in {**tls, **http})


def test_same_namespace_needs_no_reference_grant() -> None:
    p = build(HTTP, HTTPS, gateways=(gateway(namespace=NAMESPACE),))
    assert gatewayapi.GRANTS_KEY not in p.extra
    mesh = p.extra[gatewayapi.HTTP_ROUTES_KEY]["httpbin-80-mesh"]
    assert mesh["backendRefs"] == [
        {"group": "", "kind": "Service", "name": "egress-istio", "port": 80}
    ]


def test_gateway_in_the_environment_namespace_by_default() -> None:
    p = build(HTTP, gateways=(gateway(namespace=None),))
    assert "namespace" not in p.extra[gatewayapi.GATEWAYS_KEY]["egress"]
    assert gatewayapi.GRANTS_KEY not in p.extra


def test_grant_without_environment_names_the_release_namespace(helm: str) -> None:
    """`compile FILE…` knows no environment namespace: the grant's `from` namespace is
    the release's, filled in by the chart."""
    p = build(HTTP, namespace=None)
    grant = p.extra[gatewayapi.GRANTS_KEY]["egress-mesh-routes"]
    assert grant["from"] == [{"group": GW, "kind": "HTTPRoute"}]
    objs = template(helm, yaml.safe_dump(emit.chart_values(p)), namespace="team-ns")
    (rendered,) = [o for o in objs if o["kind"] == "ReferenceGrant"]
    assert rendered["spec"]["from"][0]["namespace"] == "team-ns"
    assert rendered["metadata"]["namespace"] == "istio-egress"


def test_service_entry_is_exported_to_the_gateway_namespace() -> None:
    hidden = Service(
        "api",
        ("api.example",),
        (Port(443, "HTTPS", "https"),),
        Resolution.DNS,
        export_to=(".",),
        via="egress",
    )
    p = build(hidden)
    assert p.service_entries["api"]["exportTo"] == [".", "istio-egress"]


def test_origination_replaces_the_sidecar_rule() -> None:
    mutual = Service(
        "bank",
        ("api.bank.example",),
        (
            Port(
                80,
                "HTTP",
                "http",
                target_port=443,
                originate=Origination(TlsMode.MUTUAL, sni="bank", credential_name="bank-cert"),
            ),
        ),
        Resolution.DNS,
        via="egress",
    )
    p = build(ORIGINATE, mutual)
    assert p.destination_rules["bank"] == {
        "host": "api.bank.example",
        "portLevelSettings": [
            {"port": 80, "tls": {"mode": "MUTUAL", "sni": "bank", "credentialName": "bank-cert"}}
        ],
        "exportTo": ["istio-egress"],
    }
    assert sorted(p.destination_rules) == ["bank", "legacy-api"]


def test_istio_api_gateways_are_not_this_module() -> None:
    istio = EgressGateway("egress", namespace="istio-egress", api=GatewayApi.ISTIO, mtls=False)
    p = build(HTTP, HTTPS, gateways=(istio,))
    assert not set(gatewayapi.KINDS) & set(p.extra)


def test_long_names_stay_dns_labels_and_distinct() -> None:
    a = object_name("s" * 60, "443", "gateway")
    b = object_name("s" * 60, "443", "mesh")
    assert len(a) == len(b) == 63 and a != b
    assert object_name("svc", "80", "mesh") == "svc-80-mesh"


def test_plan_counts_the_gateway_api_kinds() -> None:
    counts = build(HTTP, HTTPS).object_counts()
    assert counts[GATEWAY_API_GATEWAY] == 1
    assert (counts["HTTPRoute"], counts["TLSRoute"], counts["ReferenceGrant"]) == (2, 2, 1)


# ---------------------------------------------------------------------------
# The render summary says which TLSRoute version


def test_summary_names_the_tls_route_version(capsys: pytest.CaptureFixture[str]) -> None:
    objs = load_all(golden("https-istio-1.29", "manifests.yaml"))
    found = gatewayapi.tls_route_summary(objs, (1, 29))
    assert found == {
        "apiVersion": f"{GW}/v1alpha2",
        "reason": "Istio 1.29 reads v1alpha2 (v1 from 1.30)",
    }
    assert (
        gatewayapi.tls_route_summary(load_all(golden("http-istio-1.30", "manifests.yaml")), (1, 30))
        is None
    )
    assert gatewayapi.tls_route_summary(objs, None) == {
        "apiVersion": f"{GW}/v1alpha2",
        "reason": "Istio version unknown (no Istio chart): v1alpha2",
    }
    summary: dict[str, Any] = {
        "environment": "dev",
        "policy": "REGISTRY_ONLY",
        "includeIPRanges": "*",
        "excludeIPRanges": "",
        "egressObjects": {"TLSRoute": 2},
        "networkingApiVersion": "networking.istio.io/v1",
        "networkingApiVersionReason": "the default",
        "tlsRouteApiVersion": found,
        "istioObjects": None,
        "istioChart": None,
    }
    everything_else = {"destination": "(any other destination)", "port": None, "verdict": "blocked"}
    effective = {"rows": [everything_else], "last": everything_else, "count": 1}
    print_summary(summary, [], "environments/dev.yaml", effective)
    lines = capsys.readouterr().err.splitlines()
    assert f"  TLSRoute {GW}/v1alpha2 (Istio 1.29 reads v1alpha2 (v1 from 1.30))" in lines


# ---------------------------------------------------------------------------
# End to end: an inventory file through `egressctl render`

GATEWAY_API_INVENTORY = """\
policy: REGISTRY_ONLY
gateways:
  egress:
    namespace: istio-egress
    api: gateway-api
services:
  google:
    host: www.google.com
    ports: [443/https]
    via: egress
  legacy-api:
    host: legacy.partner.example
    ports: [{number: 80, protocol: http, originate: SIMPLE}]
    via: egress
"""


def _istio_chart(folder: Path, version: str) -> Path:
    """The mini istiod chart of the tests, claiming Istio ``version``."""
    shutil.copytree(MINI_ISTIO, folder)
    chart = folder / "Chart.yaml"
    chart.write_text(
        chart.read_text(encoding="utf-8").replace("version: 1.28.0", f"version: {version}"),
        encoding="utf-8",
    )
    return folder


@pytest.mark.parametrize(
    ("istio_version", "api_version", "reason"),
    [
        ("1.29.2", "v1alpha2", "Istio 1.29 reads v1alpha2 (v1 from 1.30)"),
        ("1.30.3", "v1", "Istio 1.30 reads v1 (needs Gateway API CRDs >= v1.5)"),
        (None, "v1alpha2", "Istio version unknown (no Istio chart): v1alpha2"),
    ],
)
def test_render_summary_says_the_tls_route_version(
    cli: Any,
    project: Path,
    env_file: EnvFile,
    helm: str,
    tmp_path: Path,
    istio_version: str | None,
    api_version: str,
    reason: str,
) -> None:
    istio: dict[str, str | Path | list[str] | None] | None = None
    if istio_version is not None:
        chart = _istio_chart(tmp_path / "istiod", istio_version)
        write(project / "values" / "istio-dev.yaml", "revision: ''\n")
        istio = {"chart": chart, "release": "istiod", "values": ["istio-dev.yaml"]}
    env_file(namespace="istio-system", inventory=GATEWAY_API_INVENTORY, istio=istio)
    res = cli("render", "--env", "dev", "--output", "json")
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)["data"]
    assert data["tlsRouteApiVersion"] == {"apiVersion": f"{GW}/{api_version}", "reason": reason}
    objs = load_all((project / "build" / "dev" / "egress.yaml").read_text(encoding="utf-8"))
    routes = [o for o in objs if o["kind"] == "TLSRoute"]
    assert {o["apiVersion"] for o in routes} == {f"{GW}/{api_version}"} and len(routes) == 2
    kinds = sorted({o["kind"] for o in objs})
    assert kinds == [
        "DestinationRule",
        "Gateway",
        "HTTPRoute",
        "ReferenceGrant",
        "ServiceEntry",
        "TLSRoute",
    ]
    if CRDS_PRESENT:
        assert [p.format() for p in crds().validate_all(objs)] == []
    res = cli("render", "--env", "dev")
    assert res.exit_code == 0, res.stderr
    assert f"  TLSRoute {GW}/{api_version} ({reason})" in res.stderr.splitlines()


# ---------------------------------------------------------------------------
# Rules of gateway-api gateways (tests/test_rules.py counts these codes as tested)

OUR_CODES = {"gateway-api-name-too-long", "gateway-api-port-conflict"}
LONG = "g" * 58

RULE_CASES = [
    pytest.param(
        f"gateways:\n  {LONG}:\n    api: gateway-api\n"
        f"services:\n  a:\n    host: a.com\n    ports: [443/https]\n    via: {LONG}\n",
        "gateway-api-name-too-long",
        2,
        3,
        id="name-too-long",
    ),
    pytest.param(
        "gateways:\n  egress:\n    api: gateway-api\nservices:\n"
        "  a:\n    host: a.com\n    ports: [8443/http]\n    via: egress\n"
        "  b:\n    host: b.com\n    ports: [8443/tls]\n    via: egress\n",
        "gateway-api-port-conflict",
        11,
        13,
        id="port-conflict",
    ),
]


@pytest.mark.parametrize(("text", "code", "line", "col"), RULE_CASES)
def test_rule(cli: Any, project: Path, text: str, code: str, line: int, col: int) -> None:
    write(project / "inv.yaml", "policy: REGISTRY_ONLY\n" + text)
    res = cli("check", "inv.yaml", "--output", "json")
    assert res.exit_code == 3, res.stdout
    found = [(f["code"], f["line"], f["column"]) for f in json.loads(res.stdout)["findings"]]
    assert (code, line + 1, col) in found, found


def test_tls_port_80_beside_another_http_port_is_fine_with_gateway_api(
    cli: Any, project: Path
) -> None:
    """With `api: gateway-api` an HTTP port keeps its number on the gateway: a TLS port 80
    conflicts only with an HTTP port 80 (with `api: istio` every HTTP port hops on 80)."""
    text = (
        "policy: REGISTRY_ONLY\ngateways:\n  egress:\n    api: {api}\n{mtls}services:\n"
        "  a:\n    host: a.com\n    ports: [{http}/http]\n    via: egress\n"
        "  b:\n    host: b.com\n    ports: [80/tls]\n    via: egress\n"
    )

    def codes(api: str, http: int) -> set[str]:
        mtls = "    mtls: false\n" if api == "gateway-api" else ""
        write(project / "inv.yaml", text.format(api=api, http=http, mtls=mtls))
        res = cli("check", "inv.yaml", "--output", "json")
        return {f["code"] for f in json.loads(res.stdout)["findings"]}

    assert "gateway-port-conflict" not in codes("gateway-api", 8080)
    assert "gateway-port-conflict" in codes("gateway-api", 80)
    assert "gateway-port-conflict" in codes("istio", 8080)


def test_rules_stay_quiet_on_the_golden_cases(cli: Any, project: Path) -> None:
    write(project / "inv.yaml", GATEWAY_API_INVENTORY)
    res = cli("check", "inv.yaml", "--output", "json")
    assert res.exit_code == 0, res.stdout
    codes = {f["code"] for f in json.loads(res.stdout)["findings"]}
    assert codes & OUR_CODES == set()
    # 57 characters is the longest name Istio can deploy.
    write(project / "inv.yaml", GATEWAY_API_INVENTORY.replace("egress", "g" * 57))
    res = cli("check", "inv.yaml", "--output", "json")
    assert res.exit_code == 0, res.stdout


# ---------------------------------------------------------------------------
# `explain` names the objects the render holds


def test_via_objects_are_the_rendered_objects(helm: str) -> None:
    services = (HTTP, HTTPS, ORIGINATE)
    p = build(*services)
    objs = template(helm, yaml.safe_dump(emit.chart_values(p)))
    rendered = {
        (kind_key(o["kind"], o["apiVersion"]), o["metadata"]["namespace"], o["metadata"]["name"])
        for o in objs
    }
    named = {ref for svc in services for ref in via_objects(svc, gateway(), NAMESPACE)}
    assert named == rendered


def test_explain_lists_the_gateway_api_objects(cli: Any, project: Path) -> None:
    write(project / "inv.yaml", GATEWAY_API_INVENTORY)
    res = cli("explain", "www.google.com", "inv.yaml", "--output", "json")
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)["data"]
    assert [(o["kind"], o["namespace"], o["name"]) for o in data["objects"]] == [
        ("ServiceEntry", "istio-system", "google"),
        (GATEWAY_API_GATEWAY, "istio-egress", "egress"),
        ("TLSRoute", "istio-system", "google-443-mesh"),
        ("TLSRoute", "istio-egress", "google-443-gateway"),
        ("ReferenceGrant", "istio-egress", "egress-mesh-routes"),
    ]
