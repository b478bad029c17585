"""The ambient data plane (issue #15): `dataplane: ambient` renders a waypoint,
ServiceEntries that use it, an AuthorizationPolicy per entry and a lockdown
NetworkPolicy per enrolled REGISTRY_ONLY namespace, from the same inventory a sidecar
environment renders; what ztunnel cannot honour is a located error; the data plane is
checked against istiod's render."""

from __future__ import annotations

import copy
import dataclasses
import functools
import ipaddress
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from egressctl.charts.dataplane import dataplane_problems, find_istiod
from egressctl.crd import CrdSet
from egressctl.inventory.model import (
    Ambient,
    Capture,
    ClusterRanges,
    Dataplane,
    Environment,
    Inventory,
    Location,
    NamespacePolicy,
    Origination,
    Policy,
    Port,
    Resolution,
    Service,
    TlsMode,
    WorkloadAllowlist,
)
from egressctl.mesh import ambient, plan
from egressctl.rules.ambient import ambient_rules
from tests import make_golden_ambient as golden
from tests.conftest import MINI_ISTIO, REPO, EnvFile, invalid_input_report, load_all, write

SHARED = REPO.parent / "shared" / "istio-crds"
ISTIO_CRDS = SHARED / "crd-all.gen-1.30.3.yaml"
GATEWAY_CRDS = SHARED / "gateway-api-v1.5.1.yaml"
needs_crds = pytest.mark.skipif(
    not (ISTIO_CRDS.is_file() and GATEWAY_CRDS.is_file()),
    reason=f"CRD files not found under {SHARED}",
)
AMBIENT_ISTIO = REPO / "tests" / "charts" / "istiod-ambient"
ZTUNNEL_CHART = REPO / "tests" / "charts" / "ztunnel"
REAL_CHARTS = os.environ.get("ISTIO_AMBIENT_CHARTS")  # Istio 1.30.x manifests/charts

# The rule codes of #15, each exercised below (tests/test_rules.py counts them as tested).
OUR_CODES = frozenset(
    {
        "dataplane-invalid",
        "ambient-unused",
        "ambient-namespace-invalid",
        "ambient-waypoint-invalid",
        "ambient-enrolled-duplicate",
        "ambient-enrolled-egress",
        "ambient-capture",
        "ambient-wildcard",
        "ambient-originate-selector",
        "ambient-via",
        "ambient-lockdown-unknown",
        "ambient-cluster-ranges",
        "dataplane-mismatch",
        "dataplane-chart-invalid",
        "dataplane-chart-duplicate",
        "dataplane-chart-mismatch",
        "ambient-service-account-missing",
        "workload-service-account-invalid",
    }
)

CLUSTER = golden.CLUSTER
AMB = Ambient(namespace="istio-egress", waypoint="egress-waypoint")


def _svc(name: str, host: str, *ports: Port, **kw: Any) -> Service:
    return Service(name, (host,), ports, kw.pop("resolution", Resolution.DNS), **kw)


HTTP = Port(80, "HTTP", "http")
HTTPS = Port(443, "HTTPS", "https")
TCP = Port(5432, "TCP", "tcp")


def _inv(*services: Service, policy: Policy = Policy.REGISTRY_ONLY, **kw: Any) -> Inventory:
    return Inventory(policy=policy, capture=kw.pop("capture", Capture()), services=services, **kw)


def _target(amb: Ambient = AMB, **kw: Any) -> plan.Target:
    return plan.Target(
        namespace="istio-system", dataplane=Dataplane.AMBIENT, cluster=CLUSTER, ambient=amb, **kw
    )


# ---------------------------------------------------------------------------
# Golden: the same inventory, sidecar and ambient


@pytest.mark.parametrize("case", list(golden.TARGETS))
def test_golden_ambient_and_sidecar(case: str, helm: str) -> None:
    values, manifests = golden.generate(case, helm=helm)
    folder = golden.GOLDEN / case
    assert values == (folder / "values.yaml").read_text(encoding="utf-8")
    assert manifests == (folder / "manifests.yaml").read_text(encoding="utf-8")


def _kinds(case: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for o in load_all((golden.GOLDEN / case / "manifests.yaml").read_text(encoding="utf-8")):
        out.setdefault(o["kind"], []).append(
            f"{o['metadata']['namespace']}/{o['metadata']['name']}"
        )
    return {k: sorted(v) for k, v in out.items()}


def test_golden_sets_differ_as_the_issue_says() -> None:
    sidecar, amb = _kinds("sidecar"), _kinds("ambient")
    assert set(sidecar) == {"ServiceEntry", "VirtualService", "DestinationRule", "Sidecar"}
    assert set(amb) == {
        "ServiceEntry",
        "DestinationRule",
        "Gateway",
        "AuthorizationPolicy",
        "NetworkPolicy",
    }
    names = ["billing-api", "google", "httpbin", "legacy-db", "wiki"]
    assert amb["ServiceEntry"] == [f"istio-egress/{n}" for n in names]
    assert amb["AuthorizationPolicy"] == [f"istio-egress/{n}" for n in names]
    assert amb["Gateway"] == ["istio-egress/egress-waypoint"]
    assert amb["NetworkPolicy"] == [
        "batch/egressctl-egress",
        "ops/egressctl-egress",
        "shop/egressctl-egress",
    ]


# ---------------------------------------------------------------------------
# Every rendered object validates against Istio 1.30.3's and Gateway API v1.5.1's CRDs


@functools.cache
def _crds() -> CrdSet:
    docs: list[dict[str, Any]] = []
    for path in (ISTIO_CRDS, GATEWAY_CRDS):
        with path.open(encoding="utf-8") as fh:
            docs += [d for d in yaml.load_all(fh, Loader=yaml.CSafeLoader) if d]
    return CrdSet.from_documents(docs, "istio 1.30.3 + gateway-api v1.5.1")


def _custom(case: str) -> list[dict[str, Any]]:
    objs = load_all((golden.GOLDEN / case / "manifests.yaml").read_text(encoding="utf-8"))
    return [o for o in objs if o["kind"] != "NetworkPolicy"]


@needs_crds
@pytest.mark.parametrize("case", list(golden.TARGETS))
def test_every_rendered_object_validates_against_the_crds(case: str) -> None:
    objs = _custom(case)
    assert objs
    for o in objs:
        assert _crds().served(o["apiVersion"], o["kind"]), o["kind"]
    assert [p.format() for p in _crds().validate_all(objs)] == []


@needs_crds
@pytest.mark.parametrize(
    ("kind", "path", "value"),
    [
        ("AuthorizationPolicy", ("spec", "action"), "MAYBE"),
        ("Gateway", ("spec", "listeners", 0, "port"), 0),
        ("ServiceEntry", ("spec", "resolution"), "MAGIC"),
    ],
)
def test_the_crd_check_catches_a_broken_object(
    kind: str, path: tuple[Any, ...], value: Any
) -> None:
    obj = copy.deepcopy(next(o for o in _custom("ambient") if o["kind"] == kind))
    node: Any = obj
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    assert _crds().validate(obj)


# ---------------------------------------------------------------------------
# The plan


def test_ambient_plan_waypoint_entries_and_origination() -> None:
    originate = Port(80, "HTTP", "http", target_port=443, originate=Origination(TlsMode.SIMPLE))
    inv = _inv(
        _svc("api", "api.example.com", originate),
        _svc("wild", "*.example.org", HTTPS, resolution=Resolution.NONE),
        namespaces=(NamespacePolicy("shop", ("api", "wild")),),
    )
    p = plan.build(inv, _target())
    assert p.tls_routes == {}
    gw = p.extra["gatewayApiGateways"]["egress-waypoint"]
    assert gw == {
        "name": "egress-waypoint",
        "namespace": "istio-egress",
        "gatewayClassName": "istio-waypoint",
        "labels": {"istio.io/waypoint-for": "service"},
        "listeners": [{"name": "mesh", "port": 15008, "protocol": "HBONE"}],
    }
    se = p.service_entries["api"]
    assert se["namespace"] == "istio-egress"
    assert se["metadata"]["labels"] == {"istio.io/use-waypoint": "egress-waypoint"}
    assert se["ports"] == [{"number": 80, "name": "http", "protocol": "HTTP", "targetPort": 443}]
    assert se["resolution"] == "DNS"
    wild = p.service_entries["wild"]
    assert wild["resolution"] == "DYNAMIC_DNS"
    assert wild["ports"] == [{"number": 443, "name": "https", "protocol": "TLS"}]
    dr = p.destination_rules["api"]
    assert dr["namespace"] == "istio-egress"
    assert dr["host"] == "api.example.com"
    assert dr["portLevelSettings"] == [
        {"port": 80, "tls": {"mode": "SIMPLE", "sni": "api.example.com"}}
    ]
    assert "workloadSelector" not in dr


@pytest.mark.parametrize(
    ("export", "want"), [(("~",), ["."]), (("shop",), [".", "shop"]), (("*",), ["*"])]
)
def test_ambient_entries_stay_visible_to_the_waypoint(
    export: tuple[str, ...], want: list[str]
) -> None:
    inv = _inv(_svc("api", "api.example.com", HTTPS, export_to=export))
    assert plan.build(inv, _target()).service_entries["api"]["exportTo"] == want


def test_sidecar_plan_is_unchanged_by_the_ambient_settings() -> None:
    inv = _inv(_svc("api", "api.example.com", HTTPS))
    sidecar = plan.Target(namespace="istio-system", cluster=CLUSTER, ambient=AMB)
    p = plan.build(inv, sidecar)
    assert "authorizationPolicies" not in p.extra
    assert "namespace" not in p.service_entries["api"]
    assert set(p.tls_routes) == {"api"}


def _rules(p: plan.Plan, name: str) -> list[dict[str, Any]]:
    ap = p.extra["authorizationPolicies"][name]
    assert ap["targetRefs"] == [
        {"group": "networking.istio.io", "kind": "ServiceEntry", "name": name}
    ]
    assert ap["action"] == "ALLOW"
    assert ap["namespace"] == "istio-egress"
    rules: list[dict[str, Any]] = ap["rules"]
    return rules


def test_authorization_sources_follow_the_allowlists() -> None:
    inv = _inv(
        _svc("a", "a.example.com", HTTPS),
        _svc("b", "b.example.com", HTTPS),
        _svc("c", "c.example.com", HTTPS),
        namespaces=(
            NamespacePolicy(
                "shop",
                ("a",),
                workloads=(WorkloadAllowlist("curl", (("app", "curl"),), ("b",)),),
            ),
            NamespacePolicy("ops", ("a",)),
        ),
    )
    p = plan.build(inv, _target(dataclasses.replace(AMB, enrolled=("batch",))))
    assert _rules(p, "a") == [
        {
            "from": [
                {"source": {"namespaces": ["batch"]}},
                {
                    "source": {
                        "namespaces": ["shop"],
                        "notPrincipals": ["cluster.local/ns/shop/sa/curl"],
                    }
                },
                {"source": {"namespaces": ["ops"]}},
            ]
        }
    ]
    assert _rules(p, "b") == [
        {
            "from": [
                {"source": {"namespaces": ["batch"]}},
                {"source": {"principals": ["cluster.local/ns/shop/sa/curl"]}},
            ]
        }
    ]
    # c: no listed namespace allows it; `batch` (enrolled, unlisted) sees every entry.
    assert _rules(p, "c") == [{"from": [{"source": {"namespaces": ["batch"]}}]}]


def test_a_service_no_namespace_allows_is_denied_under_registry_only() -> None:
    inv = _inv(
        _svc("a", "a.example.com", HTTPS),
        _svc("c", "c.example.com", HTTPS),
        namespaces=(NamespacePolicy("shop", ("a",)),),
    )
    assert _rules(plan.build(inv, _target()), "c") == []


def test_a_service_no_namespace_allows_is_open_to_every_enrolled_one_under_allow_any() -> None:
    inv = _inv(
        _svc("a", "a.example.com", HTTPS),
        _svc("c", "c.example.com", HTTPS),
        policy=Policy.ALLOW_ANY,
        namespaces=(NamespacePolicy("shop", ("a",)),),
    )
    amb = dataclasses.replace(AMB, enrolled=("batch",))
    # shop is listed and keeps its own REGISTRY_ONLY (review R2: it allows only `a`).
    assert _rules(plan.build(inv, _target(amb)), "c") == [
        {"from": [{"source": {"namespaces": ["batch"]}}]}
    ]


def test_without_any_namespace_known_every_source_is_allowed() -> None:
    p = plan.build(_inv(_svc("a", "a.example.com", HTTPS)), _target())
    assert _rules(p, "a") == [{}]
    assert "networkPolicies" not in p.extra


def test_listed_export_keeps_unlisted_enrolled_namespaces_out() -> None:
    inv = _inv(
        _svc("a", "a.example.com", HTTPS),
        namespaces=(NamespacePolicy("shop", ("a",)),),
        export_listed=True,
    )
    amb = dataclasses.replace(AMB, enrolled=("batch",))
    assert _rules(plan.build(inv, _target(amb)), "a") == [
        {"from": [{"source": {"namespaces": ["shop"]}}]}
    ]


def test_lockdown_network_policy_per_registry_only_namespace() -> None:
    inv = _inv(
        _svc("a", "a.example.com", HTTPS),
        namespaces=(
            NamespacePolicy("shop", ("a",)),  # networkPolicy not asked for: rendered anyway
            NamespacePolicy("lab", ("a",), policy=Policy.ALLOW_ANY),
        ),
    )
    amb = dataclasses.replace(AMB, enrolled=("batch",))
    nps = plan.build(inv, _target(amb)).extra["networkPolicies"]
    assert sorted((e["namespace"], e["name"]) for e in nps.values()) == [
        ("batch", "egressctl-egress"),
        ("shop", "egressctl-egress"),
    ]
    shop = next(e for e in nps.values() if e["namespace"] == "shop")
    assert shop["podSelector"] == {}
    egress = shop["egress"]
    assert egress[0]["ports"] == [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
    assert egress[1] == {
        "to": [{"ipBlock": {"cidr": "10.244.0.0/16"}}, {"ipBlock": {"cidr": "10.96.0.0/12"}}]
    }
    assert egress[2]["ports"] == [{"protocol": "TCP", "port": 15012}]
    assert egress[2]["to"][0]["namespaceSelector"] == {
        "matchLabels": {"kubernetes.io/metadata.name": "istio-system"}
    }
    assert egress[3] == {
        "to": [
            {
                "namespaceSelector": {
                    "matchLabels": {"kubernetes.io/metadata.name": "istio-egress"}
                },
                "podSelector": {
                    "matchLabels": {"gateway.networking.k8s.io/gateway-name": "egress-waypoint"}
                },
            }
        ],
        "ports": [{"protocol": "TCP", "port": 15008}],
    }
    assert len(egress) == 4  # nothing else: only the waypoint reaches the internet


def test_extra_kinds_registers_authorization_policies() -> None:
    assert plan.EXTRA_KINDS["authorizationPolicies"] == "AuthorizationPolicy"
    assert ambient.KINDS == {"authorizationPolicies": "AuthorizationPolicy"}


# ---------------------------------------------------------------------------
# Rules (model level)


def _env(inv: Inventory, **kw: Any) -> Environment:
    return Environment(
        name="dev",
        file="values/dev.yaml",
        context="kind-dev",
        namespace="istio-system",
        api_version=None,
        istio=None,
        inventory=inv,
        cluster=kw.pop("cluster", CLUSTER),
        dataplane=kw.pop("dataplane", Dataplane.AMBIENT),
        ambient=kw.pop("ambient", dataclasses.replace(AMB, enrolled=("shop",))),
    )


def _codes(env: Environment, istio: tuple[int, int] | None = None) -> list[tuple[str, Any]]:
    return [(p.code, p.path) for p in ambient_rules(env, istio)]


def test_rules_skip_the_sidecar_data_plane() -> None:
    inv = _inv(_svc("w", "*.example.com", TCP, resolution=Resolution.NONE))
    assert _codes(_env(inv, dataplane=Dataplane.SIDECAR)) == []


def test_capture_in_ambient_is_an_error() -> None:
    net = ipaddress.ip_network("10.0.0.0/8")
    inv = _inv(_svc("a", "a.example.com", HTTPS), capture=Capture(include=(net,)))
    assert _codes(_env(inv)) == [("ambient-capture", ("capture",))]


@pytest.mark.parametrize(
    ("svc", "istio"),
    [
        pytest.param(_svc("w", "*.example.com", TCP, resolution=Resolution.NONE), None, id="tcp"),
        pytest.param(
            _svc("w", "*.example.com", HTTP, resolution=Resolution.NONE, addresses=("192.0.2.1",)),
            None,
            id="addresses",
        ),
        pytest.param(
            _svc(
                "w",
                "*.example.com",
                HTTP,
                resolution=Resolution.NONE,
                location=Location.MESH_INTERNAL,
            ),
            None,
            id="mesh-internal",
        ),
        pytest.param(
            _svc("w", "*.example.com", HTTP, resolution=Resolution.NONE), (1, 27), id="http-1.27"
        ),
        pytest.param(
            _svc("w", "*.example.com", HTTPS, resolution=Resolution.NONE), (1, 28), id="tls-1.28"
        ),
    ],
)
def test_a_wildcard_the_waypoint_cannot_enforce_is_an_error(
    svc: Service, istio: tuple[int, int] | None
) -> None:
    assert _codes(_env(_inv(svc)), istio) == [("ambient-wildcard", ("services", "w", "hosts"))]


@pytest.mark.parametrize(
    ("port", "istio"), [(HTTP, (1, 28)), (HTTPS, (1, 29)), (Port(9090, "GRPC", "grpc"), None)]
)
def test_a_wildcard_the_waypoint_can_enforce_passes(port: Port, istio: tuple[int, int]) -> None:
    svc = _svc("w", "*.example.com", port, resolution=Resolution.NONE)
    assert _codes(_env(_inv(svc)), istio) == []


def test_origination_for_some_workloads_is_an_error_in_ambient() -> None:
    o = Origination(TlsMode.SIMPLE, workload_selector=(("app", "a"),))
    svc = _svc("a", "a.example.com", HTTPS, Port(80, "HTTP", "http", 443, o))
    assert _codes(_env(_inv(svc))) == [
        (
            "ambient-originate-selector",
            ("services", "a", "ports", 1, "originate", "workloadSelector"),
        )
    ]


def test_via_is_a_warning_in_ambient() -> None:
    problems = ambient_rules(_env(_inv(_svc("a", "a.example.com", HTTPS, via="egress"))))
    assert [(p.code, p.severity.value, p.path) for p in problems] == [
        ("ambient-via", "warning", ("services", "a", "via"))
    ]


def test_registry_only_without_enrolled_namespaces_is_an_error() -> None:
    env = _env(_inv(_svc("a", "a.example.com", HTTPS)), ambient=AMB)
    problems = ambient_rules(env)
    assert [(p.code, p.path, p.layer) for p in problems] == [
        ("ambient-lockdown-unknown", ("dataplane",), "values/dev.yaml")
    ]
    allow_any = _env(_inv(_svc("a", "a.example.com", HTTPS), policy=Policy.ALLOW_ANY), ambient=AMB)
    assert ambient_rules(allow_any) == []


def test_lockdown_without_cluster_ranges_is_an_error() -> None:
    env = _env(_inv(_svc("a", "a.example.com", HTTPS)), cluster=ClusterRanges())
    assert _codes(env) == [("ambient-cluster-ranges", ("dataplane",))]


# ---------------------------------------------------------------------------
# istiod's render


def _deployment(env: dict[str, str], name: str = "istiod") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": "istiod"}},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "discovery",
                            "env": [{"name": k, "value": v} for k, v in env.items()],
                        }
                    ]
                }
            }
        },
    }


def test_find_istiod_reads_the_container_environment() -> None:
    found = find_istiod([{"kind": "ConfigMap"}, _deployment({"PILOT_ENABLE_AMBIENT": "true"})])
    assert found is not None
    assert found.enabled("PILOT_ENABLE_AMBIENT")
    assert find_istiod([{"kind": "ConfigMap"}]) is None


@pytest.mark.parametrize(
    ("dataplane", "objects", "count"),
    [
        (Dataplane.AMBIENT, [_deployment({"PILOT_ENABLE_AMBIENT": "true"})], 0),
        (Dataplane.AMBIENT, [_deployment({})], 1),
        (Dataplane.AMBIENT, [], 1),
        (Dataplane.SIDECAR, [_deployment({"PILOT_ENABLE_AMBIENT": "true"})], 1),
        (Dataplane.SIDECAR, [_deployment({"PILOT_ENABLE_AMBIENT": "false"})], 0),
        (Dataplane.SIDECAR, [], 0),
    ],
)
def test_dataplane_against_istiod(
    dataplane: Dataplane, objects: list[dict[str, Any]], count: int
) -> None:
    env = _env(_inv(_svc("a", "a.example.com", HTTPS)), dataplane=dataplane)
    assert len(dataplane_problems(env, objects)) == count


def test_wildcard_tls_needs_istiods_flag() -> None:
    env = _env(_inv(_svc("w", "*.example.com", HTTPS, resolution=Resolution.NONE)))
    without = dataplane_problems(env, [_deployment({"PILOT_ENABLE_AMBIENT": "true"})])
    assert len(without) == 1
    assert "ENABLE_WILDCARD_HOST_SERVICE_ENTRIES_FOR_TLS" in without[0]
    flags = {"PILOT_ENABLE_AMBIENT": "true", "ENABLE_WILDCARD_HOST_SERVICE_ENTRIES_FOR_TLS": "true"}
    assert dataplane_problems(env, [_deployment(flags)]) == []


# ---------------------------------------------------------------------------
# Through the CLI: environment keys, located errors, the render

AMBIENT_INVENTORY = """\
policy: REGISTRY_ONLY
services:
  httpbin-ext:
    host: httpbin.org
    ports: [80/http]
  google:
    host: www.google.com
    ports: [443/https]
"""
CLUSTER_BLOCK = "cluster: {podCIDRs: [10.244.0.0/16], serviceCIDRs: [10.96.0.0/12]}\n"
AMBIENT_BLOCK = "dataplane: ambient\nambient: {enrolled: [shop, batch]}\n" + CLUSTER_BLOCK


def _ambient_env(
    env_file: EnvFile, project: Path, profile: str | None, extra: str = AMBIENT_BLOCK, **kw: Any
) -> Path:
    text = f"profile: {profile}\n" if profile else "profile: ''\n"
    values = write(project / "values" / "istio-team.yaml", text)
    istio = {"chart": AMBIENT_ISTIO, "values": [values.name]}
    return env_file(inventory=kw.pop("inventory", AMBIENT_INVENTORY), extra=extra, istio=istio)


def _line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_render_ambient_environment(cli, project: Path, env_file: EnvFile, helm: str) -> None:
    _ambient_env(env_file, project, "ambient")
    res = cli("render", "--env", "dev")
    assert res.exit_code == 0, res.stderr
    objs = load_all((project / "build" / "dev" / "egress.yaml").read_text())
    got = sorted((o["kind"], o["metadata"]["namespace"], o["metadata"]["name"]) for o in objs)
    assert got == [
        ("AuthorizationPolicy", "istio-egress", "google"),
        ("AuthorizationPolicy", "istio-egress", "httpbin-ext"),
        ("Gateway", "istio-egress", "egress-waypoint"),
        ("NetworkPolicy", "batch", "egressctl-egress"),
        ("NetworkPolicy", "shop", "egressctl-egress"),
        ("ServiceEntry", "istio-egress", "google"),
        ("ServiceEntry", "istio-egress", "httpbin-ext"),
    ]
    ap = next(o for o in objs if o["kind"] == "AuthorizationPolicy")
    assert ap["apiVersion"] == "security.istio.io/v1"
    assert ap["spec"]["rules"] == [{"from": [{"source": {"namespaces": ["batch", "shop"]}}]}]


def test_render_sidecar_environment_with_an_ambient_istiod_is_located_error(
    cli, project: Path, env_file: EnvFile, helm4: str
) -> None:
    env = _ambient_env(env_file, project, "ambient", extra=CLUSTER_BLOCK)
    res = cli("render", "--env", "dev")
    assert res.exit_code == 3, res.stderr
    (line,) = invalid_input_report(res.stderr)
    assert line.startswith("values/dev.yaml:1:1: dataplane: ")
    assert line.endswith("[dataplane-mismatch]")
    assert "PILOT_ENABLE_AMBIENT=true" in line
    assert not (project / "build").exists()
    assert env.is_file()


def test_render_ambient_environment_with_a_sidecar_istiod_is_located_error(
    cli, project: Path, env_file: EnvFile, helm4: str
) -> None:
    env = _ambient_env(env_file, project, None)
    res = cli("render", "--env", "dev")
    assert res.exit_code == 3, res.stderr
    (line,) = invalid_input_report(res.stderr)
    assert line.startswith(f"values/dev.yaml:{_line_of(env, 'dataplane: ambient')}:12: dataplane: ")
    assert line.endswith("[dataplane-mismatch]")
    assert not (project / "build").exists()


def test_capture_in_ambient_is_a_located_error(cli, project: Path, env_file: EnvFile) -> None:
    inventory = AMBIENT_INVENTORY + "capture:\n  include: [10.0.0.0/8]\n"
    _ambient_env(env_file, project, "ambient", inventory=inventory)
    res = cli("compile", "--env", "dev")
    assert res.exit_code == 3, res.stderr
    lines = [x for x in invalid_input_report(res.stderr) if "[ambient-capture]" in x]
    assert len(lines) == 1
    inv = project / "values" / "egress.yaml"
    assert lines[0].startswith(f"values/egress.yaml:{_line_of(inv, 'include')}:")


def test_a_wildcard_on_tcp_in_ambient_is_a_located_error(
    cli, project: Path, env_file: EnvFile
) -> None:
    inventory = AMBIENT_INVENTORY + "  db:\n    host: '*.db.example'\n    ports: [5432/tcp]\n"
    _ambient_env(env_file, project, "ambient", inventory=inventory)
    res = cli("compile", "--env", "dev")
    assert res.exit_code == 3, res.stderr
    lines = [x for x in invalid_input_report(res.stderr) if "[ambient-wildcard]" in x]
    inv = project / "values" / "egress.yaml"
    assert len(lines) == 1
    assert lines[0].startswith(f"values/egress.yaml:{_line_of(inv, '*.db.example')}:")
    assert "services.db.hosts: " in lines[0]


def test_environment_keys_are_read_and_refused_with_positions(
    cli, project: Path, env_file: EnvFile
) -> None:
    extra = "dataplane: ebpf\nambient: {waypoint: Bad_Name, enrolled: [shop, shop]}\n"
    env = env_file(extra=extra, inventory=AMBIENT_INVENTORY)
    res = cli("compile", "--env", "dev")
    assert res.exit_code == 3, res.stderr
    lines = invalid_input_report(res.stderr)
    codes = sorted(line.rsplit(" [", 1)[1].rstrip("]") for line in lines)
    assert codes == [
        "ambient-enrolled-duplicate",
        "ambient-unused",
        "ambient-waypoint-invalid",
        "dataplane-invalid",
    ]
    dataplane = next(x for x in lines if "[dataplane-invalid]" in x)
    assert dataplane.startswith(f"values/dev.yaml:{_line_of(env, 'dataplane')}:12: dataplane: ")


def test_explain_names_the_waypoint_and_the_authorization_policy(
    cli, project: Path, env_file: EnvFile
) -> None:
    _ambient_env(env_file, project, "ambient")
    res = cli("explain", "http://httpbin.org/get", "--env", "dev", "--output", "json")
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)["data"]
    assert data["verdict"] == "allowed"
    assert data["entry"] == "httpbin-ext"
    assert data["path"].startswith("ztunnel → waypoint istio-egress/egress-waypoint")
    assert "AuthorizationPolicy istio-egress/httpbin-ext" in data["path"]
    assert data["objects"] == [
        {"kind": "ServiceEntry", "name": "httpbin-ext", "namespace": "istio-egress"},
        {"kind": "AuthorizationPolicy", "name": "httpbin-ext", "namespace": "istio-egress"},
        {"kind": "Gateway", "name": "egress-waypoint", "namespace": "istio-egress"},
    ]
    blocked = cli("explain", "evil.example", "--env", "dev", "--output", "json")
    assert blocked.exit_code == 1, blocked.stderr
    reason = json.loads(blocked.stdout)["data"]["reason"]
    assert "lockdown NetworkPolicy" in reason


def test_more_environment_keys_refused_with_positions(cli, project: Path) -> None:
    write(project / "values" / "egress.yaml", AMBIENT_INVENTORY)
    env = write(
        project / "values" / "dev.yaml",
        "inventory: [egress.yaml]\n"
        "context: kind-dev\n"
        "dataplane: ambient\n"
        "ambient:\n"
        "  namespace: Bad_NS\n"
        "  enrolled: [istio-egress]\n" + CLUSTER_BLOCK + "istio:\n"
        f"  chart: {AMBIENT_ISTIO}\n"
        "  charts:\n"
        f"    - {{chart: {ZTUNNEL_CHART}}}\n"
        f"    - {{chart: {ZTUNNEL_CHART}, namespace: kube-system}}\n",
    )
    res = cli("compile", "--env", "dev")
    assert res.exit_code == 3, res.stderr
    lines = invalid_input_report(res.stderr)
    located = sorted(
        (int(line.split(":")[1]), line.rsplit(" [", 1)[1].rstrip("]")) for line in lines
    )
    assert located == [
        (_line_of(env, "dataplane: ambient"), "ambient-lockdown-unknown"),  # none left
        (_line_of(env, "Bad_NS"), "ambient-namespace-invalid"),
        (_line_of(env, "enrolled"), "ambient-enrolled-egress"),
        (_line_of(env, "namespace: kube-system"), "dataplane-chart-duplicate"),
    ]


# ---------------------------------------------------------------------------
# `istio.charts`: ztunnel and istio-cni rendered and checked with the Istio chart

ZTUNNEL = REPO / "tests" / "charts" / "ztunnel"
CNI = REPO / "tests" / "charts" / "istio-cni"


def _charts_env(
    project: Path, cni_profile: str, dataplane: str = "ambient", ztunnel: Path = ZTUNNEL
) -> Path:
    write(project / "values" / "egress.yaml", AMBIENT_INVENTORY)
    write(project / "values" / "istio-team.yaml", "profile: ambient\n")
    write(project / "values" / "cni.yaml", f"profile: {cni_profile}\n")
    return write(
        project / "values" / "dev.yaml",
        "inventory: [egress.yaml]\n"
        "context: kind-dev\n"
        f"dataplane: {dataplane}\n"
        "ambient: {enrolled: [shop]}\n" + CLUSTER_BLOCK + "istio:\n"
        f"  chart: {AMBIENT_ISTIO if dataplane == 'ambient' else MINI_ISTIO}\n"
        "  values: [istio-team.yaml]\n"
        "  charts:\n"
        f"    - {{chart: {ztunnel}}}\n"
        f"    - {{chart: {CNI}, release: istio-cni, values: [cni.yaml]}}\n",
    )


def test_dataplane_charts_render_beside_istiod(cli, project: Path, helm4: str) -> None:
    _charts_env(project, "ambient")
    res = cli("render", "--env", "dev")
    assert res.exit_code == 0, res.stderr
    out = project / "build" / "dev"
    ztunnel = load_all((out / "dataplane-ztunnel.yaml").read_text())
    assert [(o["kind"], o["metadata"]["name"]) for o in ztunnel] == [
        ("ServiceAccount", "ztunnel"),
        ("DaemonSet", "ztunnel"),
    ]
    cni = load_all((out / "dataplane-istio-cni.yaml").read_text())
    assert cni[0]["data"] == {"AMBIENT_ENABLED": "true"}
    assert yaml.safe_load((out / "values-dataplane-istio-cni.yaml").read_text()) == {
        "profile": "ambient"
    }


def test_a_cni_without_ambient_is_a_located_error(cli, project: Path, helm4: str) -> None:
    env = _charts_env(project, "default")
    res = cli("render", "--env", "dev")
    assert res.exit_code == 3, res.stderr
    (line,) = invalid_input_report(res.stderr)
    assert line.startswith(f"values/dev.yaml:{_line_of(env, 'release: istio-cni')}:")
    assert line.endswith("[dataplane-chart-mismatch]")
    assert not (project / "build").exists()


def test_a_ztunnel_in_a_sidecar_environment_is_a_located_error(
    cli, project: Path, helm4: str
) -> None:
    env = _charts_env(project, "default", dataplane="sidecar")
    res = cli("render", "--env", "dev")
    assert res.exit_code == 3, res.stderr
    lines = invalid_input_report(res.stderr)
    ztunnel = [x for x in lines if "[dataplane-chart-mismatch]" in x]
    assert len(ztunnel) == 1
    assert ztunnel[0].startswith(f"values/dev.yaml:{_line_of(env, 'tests/charts/ztunnel')}:")


def test_a_dataplane_chart_entry_is_refused_with_its_position(cli, project: Path) -> None:
    env = _charts_env(project, "ambient", ztunnel=Path("--set=x"))
    res = cli("compile", "--env", "dev")
    assert res.exit_code == 3, res.stderr
    lines = [x for x in invalid_input_report(res.stderr) if "[dataplane-chart-invalid]" in x]
    assert len(lines) == 1
    assert lines[0].startswith(f"values/dev.yaml:{_line_of(env, '--set=x')}:")


# ---------------------------------------------------------------------------
# Opt-in: Istio's real charts.  ISTIO_AMBIENT_CHARTS=…/manifests/charts of Istio 1.30.x
# (istio-control/istio-discovery, ztunnel and istio-cni below it); fetch istio/istio to
# run these and never commit any of it.  Skipped when unset.


@pytest.mark.skipif(not REAL_CHARTS, reason="set ISTIO_AMBIENT_CHARTS to Istio's manifests/charts")
@pytest.mark.parametrize("profile", ["ambient", None])
def test_real_istio_ambient_detection(cli, project: Path, helm4: str, profile: str | None) -> None:
    charts = Path(str(REAL_CHARTS))
    team = "global: {hub: docker.io/istio, tag: 1.30.3}\n" + (
        f"profile: {profile}\n" if profile else ""
    )
    write(project / "values" / "egress.yaml", AMBIENT_INVENTORY)
    write(project / "values" / "istio-team.yaml", team)
    write(project / "values" / "cni.yaml", "profile: ambient\n")
    write(
        project / "values" / "dev.yaml",
        "inventory: [egress.yaml]\ncontext: kind-dev\n" + AMBIENT_BLOCK + "istio:\n"
        f"  chart: {charts / 'istio-control' / 'istio-discovery'}\n"
        "  values: [istio-team.yaml]\n"
        "  charts:\n"
        f"    - {{chart: {charts / 'ztunnel'}}}\n"
        f"    - {{chart: {charts / 'istio-cni'}, values: [cni.yaml]}}\n",
    )
    res = cli("render", "--env", "dev")
    if profile == "ambient":
        assert res.exit_code == 0, res.stderr
        out = project / "build" / "dev"
        found = find_istiod(load_all((out / "istio.yaml").read_text()))
        assert found is not None and found.enabled("PILOT_ENABLE_AMBIENT")
        ztunnel = load_all((out / "dataplane-ztunnel.yaml").read_text())
        assert ("DaemonSet", "ztunnel") in [(o["kind"], o["metadata"]["name"]) for o in ztunnel]
    else:
        assert res.exit_code == 3, res.stderr
        (line,) = invalid_input_report(res.stderr)
        assert line.endswith("[dataplane-mismatch]")


def test_every_code_of_ours_is_catalogued_and_exercised() -> None:
    from egressctl.rules.catalogue import RULES_BY_CODE

    assert {c for c in OUR_CODES if c not in RULES_BY_CODE} == set()
    text = Path(__file__).read_text(encoding="utf-8").split("OUR_CODES = frozenset", 1)[1]
    body = text.split("\n)\n", 1)[1]  # the tests after the set itself
    assert {c for c in OUR_CODES if f'"{c}' not in body and f"[{c}]" not in body} == set()


# ---------------------------------------------------------------------------
# Workload allowlists: the waypoint knows pods by their service account


def test_workload_allowlist_needs_its_service_account_in_ambient() -> None:
    """Without `serviceAccount` the AuthorizationPolicy would name the wrong identity and
    let the workload's pods into services their allowlist leaves out (fail open)."""
    workload = WorkloadAllowlist("curl", (("app", "curl"),), ("b",))
    ns = NamespacePolicy("shop", ("a",), workloads=(workload,))
    inv = _inv(
        _svc("a", "a.example.com", HTTPS), _svc("b", "b.example.com", HTTPS), namespaces=(ns,)
    )
    env = _env(inv, ambient=AMB)
    codes = [(p.code, p.path) for p in ambient_rules(env)]
    assert ("ambient-service-account-missing", ("namespaces", "shop", "workloads", "curl")) in codes
    named = dataclasses.replace(workload, service_account="curl-sa")
    inv2 = dataclasses.replace(inv, namespaces=(dataclasses.replace(ns, workloads=(named,)),))
    env2 = _env(inv2, ambient=AMB)
    assert "ambient-service-account-missing" not in {p.code for p in ambient_rules(env2)}
    p = plan.build(inv2, _target(AMB))
    assert _rules(p, "a") == [
        {
            "from": [
                {
                    "source": {
                        "namespaces": ["shop"],
                        "notPrincipals": ["cluster.local/ns/shop/sa/curl-sa"],
                    }
                }
            ]
        }
    ]


def test_service_account_is_read_and_checked(tmp_path: Path) -> None:
    from egressctl.inventory.load import read_inventory

    def read(account: str) -> Any:
        path = tmp_path / "inv.yaml"
        path.write_text(
            "services:\n  s3: {host: s3.example.com, ports: [443]}\nnamespaces:\n  hr:\n"
            "    allow: []\n    workloads:\n      exporter:\n"
            f"        selector: {{app: exporter}}\n        allow: [s3]\n"
            f"        serviceAccount: {account}\n",
            encoding="utf-8",
        )
        return read_inventory([path])

    loaded = read("exporter-sa")
    assert loaded.model.namespaces[0].workloads[0].service_account == "exporter-sa"
    bad = read("Exporter_SA")
    assert [(p.code, p.path) for p in bad.problems if p.code.startswith("workload")] == [
        (
            "workload-service-account-invalid",
            ("namespaces", "hr", "workloads", "exporter", "serviceAccount"),
        )
    ]
