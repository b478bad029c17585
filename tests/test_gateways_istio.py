"""Egress gateways in Istio's API (issue #13): reading `gateways`/`defaults`/`via`, the
rules, the planned objects, the chart's render (real helm, exact object set), CRD
validation, and `explain`'s path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from egressctl.charts.helm import helm_template
from egressctl.charts.rendercheck import check_egress_render, planned_objects
from egressctl.crd import CrdSet
from egressctl.errors import VerificationError
from egressctl.inventory.model import GatewayApi
from egressctl.mesh import emit, plan
from egressctl.mesh.gateways import GATEWAYS_KEY, ROUTES_KEY, SUBSETS_KEY
from egressctl.pipeline import load_inventory
from tests.conftest import CHART, EnvFile, entry_point, invalid_input_report, load_all, write
from tests.make_golden import GOLDEN, generate

CRDS_130 = CHART.parent.parent / "shared" / "istio-crds" / "crd-all.gen-1.30.3.yaml"
needs_crds = pytest.mark.skipif(not CRDS_130.is_file(), reason=f"no Istio CRDs at {CRDS_130}")
OUR_CODES = {
    "gateway-name-invalid",
    "gateway-service-invalid",
    "gateway-selector-invalid",
    "gateway-api-invalid",
    "via-invalid",
    "via-unknown-gateway",
    "gateway-resolution-none",
    "gateway-port-opaque",
    "gateway-port-conflict",
    "gateway-http-hosts",
    "gateway-originate-scope",
    "gateway-host-conflict",
    "gateway-and-direct",
    "gateway-mtls-unsupported",
}
GATEWAY_CASES = sorted(
    p.name for p in GOLDEN.glob("gateways-*") if (p / "inventory.yaml").is_file()
)

EXAMPLE = """\
policy: REGISTRY_ONLY
gateways:
  egress:
    namespace: istio-egress
    selector: {istio: egressgateway}
    service: istio-egressgateway
    api: istio
    mtls: true
services:
  google:
    host: www.google.com
    ports: [443/https]
    via: egress
  legacy-api:
    host: legacy.partner.example
    ports: [{number: 80, protocol: http, originate: SIMPLE}]
    via: egress
  httpbin:
    host: httpbin.org
    ports: [80/http]
"""


def _inv(path: Path, text: str, *more: str) -> Any:
    files = [write(path / "inv.yaml", text)]
    for i, extra in enumerate(more):
        files.append(write(path / f"inv{i}.yaml", extra))
    inv, _ = load_inventory(files)
    return inv


def _values(inv: Any, namespace: str | None = None) -> dict[str, Any]:
    p = plan.build(inv, plan.Target(namespace=namespace))
    return emit.chart_values(p)


# ---------------------------------------------------------------------------
# Reading


def test_reads_the_issue_example(tmp_path: Path) -> None:
    inv = _inv(tmp_path, EXAMPLE)
    (gw,) = inv.gateways
    assert (gw.name, gw.namespace, gw.selector, gw.service, gw.api, gw.mtls) == (
        "egress",
        "istio-egress",
        (("istio", "egressgateway"),),
        "istio-egressgateway",
        GatewayApi.ISTIO,
        True,
    )
    assert {s.name: s.via for s in inv.services} == {
        "google": "egress",
        "legacy-api": "egress",
        "httpbin": None,
    }


def test_gateway_defaults(tmp_path: Path) -> None:
    inv = _inv(
        tmp_path,
        "services: {}\ngateways:\n  egress: {}\n  gw-api: {api: gateway-api}\n",
    )
    by = {g.name: g for g in inv.gateways}
    assert by["egress"].namespace is None
    assert by["egress"].selector == (("istio", "egressgateway"),)
    assert by["egress"].service == "istio-egressgateway"
    assert by["egress"].mtls is True
    # mTLS is out of scope with the Gateway API: off unless written (then refused)
    assert by["gw-api"].api is GatewayApi.GATEWAY_API
    assert by["gw-api"].mtls is False


def test_defaults_via_and_via_direct(tmp_path: Path) -> None:
    inv = _inv(
        tmp_path,
        "gateways: {egress: {}}\ndefaults: {via: egress}\nservices:\n"
        "  a: {host: a.com, ports: [443/https]}\n"
        "  b: {host: b.com, ports: [443/https], via: direct}\n",
    )
    assert inv.default_via == "egress"
    assert {s.name: s.via for s in inv.services} == {"a": "egress", "b": None}


def test_layers_merge_gateways_and_defaults(tmp_path: Path) -> None:
    """Maps merge, null removes: a later file moves the gateway and turns the default
    off; another gateway is removed."""
    inv = _inv(
        tmp_path,
        "gateways:\n  egress: {namespace: istio-egress}\n  old: {}\n"
        "defaults: {via: egress}\nservices:\n  a: {host: a.com, ports: [443/https]}\n",
        "gateways:\n  egress: {namespace: egress-2, mtls: false}\n  old: null\n"
        "defaults: {via: null}\nservices: {}\n",
    )
    (gw,) = inv.gateways
    assert (gw.name, gw.namespace, gw.mtls) == ("egress", "egress-2", False)
    assert inv.default_via is None
    assert inv.services[0].via is None


BAD_READING = [
    pytest.param("gateways:\n  Egress_GW: {}\n", "gateway-name-invalid", 2, 3, id="name"),
    pytest.param("gateways:\n  egress: {namespace: Istio}\n", "namespace-invalid", 2, 23, id="ns"),
    pytest.param(
        "gateways:\n  egress: {service: istio.egress}\n", "gateway-service-invalid", 2, 21, id="svc"
    ),
    pytest.param(
        "gateways:\n  egress:\n    selector: {}\n",
        "gateway-selector-invalid",
        3,
        15,
        id="sel-empty",
    ),
    pytest.param(
        "gateways:\n  egress:\n    selector: {istio: 'a b'}\n",
        "gateway-selector-invalid",
        3,
        23,
        id="sel-value",
    ),
    pytest.param(
        "gateways:\n  egress:\n    selector: {'bad key': x}\n",
        "gateway-selector-invalid",
        3,
        16,
        id="sel-key",
    ),
    pytest.param("gateways:\n  egress: {api: k8s}\n", "gateway-api-invalid", 2, 17, id="api"),
    pytest.param("gateways:\n  egress: {mtls: 'yes'}\n", "wrong-type", 2, 18, id="mtls"),
    pytest.param("gateways:\n  egress: {selectr: {a: b}}\n", "unknown-key", 2, 12, id="key"),
    pytest.param("gateways: [egress]\n", "wrong-type", 1, 11, id="gateways-list"),
    pytest.param("defaults: egress\n", "wrong-type", 1, 11, id="defaults-str"),
    pytest.param("defaults: {vai: egress}\n", "unknown-key", 1, 12, id="defaults-key"),
    pytest.param(
        "services:\n  a: {host: a.com, ports: [443/https], via: 'Egress GW'}\n",
        "via-invalid",
        2,
        45,
        id="via",
    ),
    pytest.param(
        "services:\n  a: {host: a.com, ports: [443/https], via: 3}\n",
        "wrong-type",
        2,
        45,
        id="via-int",
    ),
]


def _check(cli: Any, project: Path, text: str) -> list[tuple[str, int, int]]:
    if "services" not in text:
        text += "services: {}\n"
    write(project / "inv.yaml", text)
    res = cli("check", "inv.yaml", "--output", "json")
    doc = json.loads(res.stdout)
    found = [(f["code"], f["line"], f["column"]) for f in doc["findings"]]
    assert res.exit_code == (3 if not doc["ok"] else 0)
    return found


@pytest.mark.parametrize(("text", "code", "line", "col"), BAD_READING)
def test_reading_errors_are_located(
    cli: Any, project: Path, text: str, code: str, line: int, col: int
) -> None:
    assert (code, line, col) in _check(cli, project, text)


def test_reading_error_exits_3_from_the_entry_point(project: Path) -> None:
    write(project / "inv.yaml", "gateways:\n  egress: {api: k8s}\nservices: {}\n")
    proc = entry_point(project, "compile", "inv.yaml", "-o", "out.yaml")
    assert proc.returncode == 3, proc.stderr
    findings = invalid_input_report(proc.stderr)
    assert any(
        line.startswith("inv.yaml:2:17: ") and "[gateway-api-invalid]" in line for line in findings
    ), findings
    assert not (project / "out.yaml").exists()


def test_schema_accepts_the_example() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from egressctl.rules.schema import inventory_schema

    schema = inventory_schema()
    jsonschema.validate(yaml.safe_load(EXAMPLE + "defaults: {via: egress}\n"), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(yaml.safe_load("gateways: {egress: {api: k8s}}\n"), schema)


# ---------------------------------------------------------------------------
# Rules

RULE_CASES = [
    pytest.param(
        "gateways: {egress: {}}\nservices:\n  a: {host: a.com, ports: [443/https], via: egres}\n",
        "via-unknown-gateway",
        3,
        45,
        id="via-unknown",
    ),
    pytest.param(
        "gateways: {egress: {}}\ndefaults: {via: egres}\n"
        "services:\n  a: {host: a.com, ports: [443/https]}\n",
        "via-unknown-gateway",
        2,
        17,
        id="defaults-via-unknown",
    ),
    pytest.param(
        "gateways: {egress: {}}\nservices:\n"
        "  a: {host: '*.a.com', ports: [443/https], via: egress}\n",
        "gateway-resolution-none",
        3,
        49,
        id="resolution-none",
    ),
    pytest.param(
        "gateways: {egress: {}}\nservices:\n"
        "  a:\n    host: a.com\n    ports: [443/https]\n    resolution: NONE\n    via: egress\n",
        "gateway-resolution-none",
        7,
        10,
        id="resolution-none-written",
    ),
    pytest.param(
        "gateways: {egress: {}}\nservices:\n  a:\n    host: a.com\n"
        "    ports: [443/https, 5432/tcp]\n    via: egress\n",
        "gateway-port-opaque",
        5,
        24,
        id="opaque",
    ),
    pytest.param(
        "gateways: {egress: {}}\ndefaults: {via: egress}\nservices:\n"
        "  a: {host: a.com, ports: [80/tls]}\n  b: {host: b.com, ports: [8080/http]}\n",
        "gateway-port-conflict",
        4,
        28,
        id="port-80",
    ),
    pytest.param(
        "gateways: {egress: {}}\nservices:\n  a:\n    hosts: [a.com, b.com]\n"
        "    ports: [80/http]\n    via: egress\n",
        "gateway-http-hosts",
        5,
        13,
        id="http-hosts",
    ),
    pytest.param(
        "gateways: {egress: {}}\nservices:\n  a:\n    host: a.com\n    via: egress\n"
        "    ports:\n      - {number: 80, protocol: http, originate: {mode: SIMPLE, "
        "namespace: shop}}\n",
        "gateway-originate-scope",
        7,
        49,
        id="originate-scope",
    ),
    pytest.param(
        "gateways: {egress: {}, egress-b: {}}\nservices:\n"
        "  a: {host: a.com, ports: [443/https], via: egress}\n"
        "  b: {host: a.com, ports: [443/https], via: egress-b}\n",
        "gateway-host-conflict",
        4,
        28,
        id="two-gateways",
    ),
    pytest.param(
        "gateways: {egress: {}}\nservices:\n"
        "  a: {host: a.com, ports: [443/https], via: egress}\n"
        "  b: {host: a.com, ports: [443/https]}\n",
        "gateway-and-direct",
        3,
        28,
        id="gateway-and-direct",
    ),
    pytest.param(
        "gateways:\n  egress: {api: gateway-api, mtls: true}\nservices: {}\n",
        "gateway-mtls-unsupported",
        2,
        36,
        id="mtls-gateway-api",
    ),
]


@pytest.mark.parametrize(("text", "code", "line", "col"), RULE_CASES)
def test_rule(cli: Any, project: Path, text: str, code: str, line: int, col: int) -> None:
    found = _check(cli, project, text)
    assert (code, line, col) in found, found


def test_unknown_gateway_suggests_the_closest(cli: Any, project: Path) -> None:
    write(
        project / "inv.yaml",
        "gateways: {egress: {}}\nservices:\n  a: {host: a.com, ports: [443/https], via: egres}\n",
    )
    doc = json.loads(cli("check", "inv.yaml", "--output", "json").stdout)
    (finding,) = [f for f in doc["findings"] if f["code"] == "via-unknown-gateway"]
    assert "`egress`" in finding["hint"]


def test_the_example_is_clean(cli: Any, project: Path) -> None:
    assert _check(cli, project, EXAMPLE) == []


# ---------------------------------------------------------------------------
# The plan


def test_plan_https_passthrough(tmp_path: Path) -> None:
    values = _values(_inv(tmp_path, EXAMPLE))
    gw = values[GATEWAYS_KEY]["egress"]
    assert gw["namespace"] == "istio-egress"
    assert gw["selector"] == {"istio": "egressgateway"}
    servers = {s["port"]["number"]: s for s in gw["servers"]}
    assert servers[443] == {
        "port": {"number": 443, "name": "tls-443", "protocol": "TLS"},
        "hosts": ["www.google.com"],
        "tls": {"mode": "PASSTHROUGH"},
    }
    assert servers[80] == {
        "port": {"number": 80, "name": "https-80", "protocol": "HTTPS"},
        "hosts": ["legacy.partner.example"],
        "tls": {"mode": "ISTIO_MUTUAL"},
    }
    gw_host = "istio-egressgateway.istio-egress.svc.cluster.local"
    assert values[ROUTES_KEY]["google"] == {
        "hosts": ["www.google.com"],
        "gateways": ["mesh", "istio-egress/egress"],
        "tls": [
            {
                "gateway": "mesh",
                "port": 443,
                "sniHosts": ["www.google.com"],
                "destination": {"host": gw_host, "port": 443, "subset": "google"},
            },
            {
                "gateway": "istio-egress/egress",
                "port": 443,
                "sniHosts": ["www.google.com"],
                "destination": {"host": "www.google.com", "port": 443},
            },
        ],
    }
    # no direct route for a service via a gateway; the direct one keeps its own
    assert "google" not in values["tlsRoutes"]
    assert values["serviceEntries"]["google"]["resolution"] == "DNS"


def test_plan_origination_at_the_gateway(tmp_path: Path) -> None:
    values = _values(_inv(tmp_path, EXAMPLE))
    gw_host = "istio-egressgateway.istio-egress.svc.cluster.local"
    assert values[ROUTES_KEY]["legacy-api"]["http"] == [
        {
            "gateway": "mesh",
            "port": 80,
            "destination": {"host": gw_host, "port": 80, "subset": "legacy-api"},
        },
        {
            "gateway": "istio-egress/egress",
            "port": 80,
            "destination": {"host": "legacy.partner.example", "port": 80},
        },
    ]
    # the ServiceEntry port sends to 443; the gateway (only) opens TLS
    (port,) = values["serviceEntries"]["legacy-api"]["ports"]
    assert port["targetPort"] == 443
    assert values["destinationRules"]["legacy-api"] == {
        "host": "legacy.partner.example",
        "exportTo": ["istio-egress"],
        "portLevelSettings": [
            {"port": 80, "tls": {"mode": "SIMPLE", "sni": "legacy.partner.example"}}
        ],
    }
    assert values[SUBSETS_KEY]["egress"] == {
        "name": "egress-subsets",
        "namespace": "istio-egress",
        "host": gw_host,
        "subsets": [
            {"name": "google"},
            {
                "name": "legacy-api",
                "portLevelSettings": [
                    {"port": 80, "tls": {"mode": "ISTIO_MUTUAL", "sni": "legacy.partner.example"}}
                ],
            },
        ],
    }


def test_plan_without_mtls(tmp_path: Path) -> None:
    values = _values(_inv(tmp_path, EXAMPLE.replace("mtls: true", "mtls: false")))
    servers = {s["port"]["number"]: s for s in values[GATEWAYS_KEY]["egress"]["servers"]}
    assert servers[80] == {
        "port": {"number": 80, "name": "http-80", "protocol": "HTTP"},
        "hosts": ["legacy.partner.example"],
    }
    assert values[SUBSETS_KEY]["egress"]["subsets"] == [
        {"name": "google"},
        {"name": "legacy-api"},
    ]


def test_servers_merge_per_port(tmp_path: Path) -> None:
    inv = _inv(
        tmp_path,
        "gateways: {egress: {}}\ndefaults: {via: egress}\nservices:\n"
        "  a: {host: a.com, ports: [443/https]}\n  b: {host: b.com, ports: [443/tls]}\n"
        "  c: {host: c.com, ports: [80/http]}\n  d: {host: d.com, ports: [8080/http]}\n",
    )
    servers = _values(inv)[GATEWAYS_KEY]["egress"]["servers"]
    assert [(s["port"]["number"], s["port"]["protocol"], s["hosts"]) for s in servers] == [
        (80, "HTTPS", ["c.com", "d.com"]),
        (443, "TLS", ["a.com", "b.com"]),
    ]
    # d.com:8080 reaches the gateway's port 80: the sidecar sends Host `d.com`, which
    # that server knows (not `d.com:8080`); c.com on 80 keeps its Host as it is
    routes = _values(inv)[ROUTES_KEY]
    assert routes["d"]["http"][0]["rewriteAuthority"] == "d.com"
    assert routes["d"]["http"][1]["destination"] == {"host": "d.com", "port": 8080}
    assert "rewriteAuthority" not in routes["c"]["http"][0]


def test_gateway_namespace_defaults_to_the_environment(tmp_path: Path) -> None:
    inv = _inv(
        tmp_path,
        "gateways: {egress: {}}\nservices:\n  a: {host: a.com, ports: [443/https], via: egress}\n",
    )
    values = _values(inv, namespace="mesh-egress")
    assert "namespace" not in values[GATEWAYS_KEY]["egress"]  # the release namespace
    assert values[ROUTES_KEY]["a"]["gateways"] == ["mesh", "mesh-egress/egress"]
    assert (
        values[SUBSETS_KEY]["egress"]["host"] == "istio-egressgateway.mesh-egress.svc.cluster.local"
    )
    # without an environment: istio-system
    values = _values(inv)
    assert values[ROUTES_KEY]["a"]["gateways"] == ["mesh", "istio-system/egress"]


@pytest.mark.parametrize(
    ("export", "gw_ns", "expected"),
    [
        ([], "istio-egress", None),
        (["*"], "istio-egress", ["*"]),
        (["shop"], "istio-egress", ["shop", "istio-egress"]),
        (["."], "istio-egress", [".", "istio-egress"]),
        (["istio-egress"], "istio-egress", ["istio-egress"]),
        (["shop"], None, ["shop", "."]),
        (["."], None, ["."]),
        (["~"], "istio-egress", ["istio-egress"]),
    ],
)
def test_entries_are_visible_to_the_gateway(
    tmp_path: Path, export: list[str], gw_ns: str | None, expected: list[str] | None
) -> None:
    gw = "{}" if gw_ns is None else f"{{namespace: {gw_ns}}}"
    inv = _inv(
        tmp_path,
        f"gateways: {{egress: {gw}}}\nservices:\n"
        f"  a: {{host: a.com, ports: [443/https], via: egress, exportTo: {json.dumps(export)}}}\n",
    )
    values = _values(inv, namespace="istio-system")
    assert values["serviceEntries"]["a"].get("exportTo") == expected
    if "~" not in export:
        assert values[ROUTES_KEY]["a"].get("exportTo") == expected


def test_gateway_api_services_lose_their_direct_objects_only(tmp_path: Path) -> None:
    """A service via a gateway-api gateway gets no direct route, and none of this
    module's objects (the Gateway API's are another module's)."""
    inv = _inv(
        tmp_path,
        "gateways: {egress: {api: gateway-api}}\nservices:\n"
        "  a: {host: a.com, ports: [443/https], via: egress}\n",
    )
    values = _values(inv)
    assert "a" not in values["tlsRoutes"]
    assert GATEWAYS_KEY not in values and ROUTES_KEY not in values


# ---------------------------------------------------------------------------
# Goldens, the chart, the CRDs


@pytest.mark.parametrize("case", GATEWAY_CASES)
def test_golden(case: str) -> None:
    values, manifests = generate(GOLDEN / case)
    assert values == (GOLDEN / case / "values.yaml").read_text(encoding="utf-8"), (
        "regenerate with `python -m tests.make_golden_gateways` and review the diff"
    )
    assert load_all(manifests) == load_all((GOLDEN / case / "manifests.yaml").read_text())


def test_golden_cases_cover_each_pattern() -> None:
    kinds = set()
    for case in GATEWAY_CASES:
        values = yaml.safe_load((GOLDEN / case / "values.yaml").read_text(encoding="utf-8"))
        for gw in values[GATEWAYS_KEY].values():
            for server in gw["servers"]:
                kinds.add((server["port"]["protocol"], server.get("tls", {}).get("mode")))
        if any("exportTo" in dr for dr in values.get("destinationRules", {}).values()):
            kinds.add(("originate", None))
    assert kinds >= {
        ("TLS", "PASSTHROUGH"),
        ("HTTPS", "ISTIO_MUTUAL"),
        ("HTTP", None),
        ("originate", None),
    }


@pytest.mark.parametrize("case", GATEWAY_CASES)
def test_render_is_exactly_the_plan(case: str, helm: str) -> None:
    """A real helm render of chart/ with the generated values passes the render check:
    the object set is exactly the plan (and a missing object is caught)."""
    values_text = generate(GOLDEN / case)[0]
    manifests = helm_template(
        "egress", CHART, namespace="istio-system", values_text=values_text, step="t", helm=helm
    )
    objects = load_all(manifests)
    planned = planned_objects(yaml.safe_load(values_text), "istio-system")
    check_egress_render(objects, planned, "istio-system", "chart/")
    kinds = {k.kind for k in planned}
    assert {"Gateway", "VirtualService", "DestinationRule", "ServiceEntry"} <= kinds
    with pytest.raises(VerificationError, match="missing"):
        check_egress_render(objects[1:], planned, "istio-system", "chart/")


@needs_crds
@pytest.mark.parametrize("case", GATEWAY_CASES)
def test_rendered_objects_validate_against_istio_130(case: str) -> None:
    crds = CrdSet.from_file(CRDS_130)
    objects = load_all((GOLDEN / case / "manifests.yaml").read_text(encoding="utf-8"))
    assert objects
    assert crds.validate_all(objects) == []
    gateway = next(o for o in objects if o["kind"] == "Gateway")
    gateway["spec"]["servers"][0]["port"]["number"] = "eighty"  # the validator can fail
    assert crds.validate(gateway) != []


# ---------------------------------------------------------------------------
# explain


def test_explain_reports_the_path(cli: Any, project: Path) -> None:
    write(project / "inv.yaml", EXAMPLE)
    res = cli("explain", "www.google.com", "inv.yaml")
    assert res.exit_code == 0
    assert "  path     sidecar → gateway egress → www.google.com:443" in res.stdout.splitlines()
    res = cli("explain", "legacy.partner.example:80", "inv.yaml", "--output", "json")
    data = json.loads(res.stdout)["data"]
    assert data["path"] == "sidecar → gateway egress → legacy.partner.example:80"
    objects = {(o["kind"], o["namespace"], o["name"]) for o in data["objects"]}
    assert ("Gateway", "istio-egress", "egress") in objects
    assert ("DestinationRule", "istio-egress", "egress-subsets") in objects
    # a direct service has no path
    data = json.loads(cli("explain", "httpbin.org", "inv.yaml", "--output", "json").stdout)
    assert data["data"]["path"] is None


def test_rule_cases_are_catalogued() -> None:
    from egressctl.rules.catalogue import RULE_CODES

    codes = {p.values[1] for p in [*RULE_CASES, *BAD_READING]}
    assert codes <= RULE_CODES
    assert OUR_CODES - codes == set()


def test_render_env_places_objects_with_the_gateway(
    cli: Any, project: Path, env_file: EnvFile, helm: str
) -> None:
    """`render --env`: the render check accepts the objects (the Gateway and the subsets
    in the gateway's namespace, the rest in the environment's); a gateway without
    `namespace` lives in the environment's."""
    inventory = EXAMPLE.replace("    namespace: istio-egress\n", "") + "\n"
    env_file(namespace="mesh-egress", inventory=inventory)
    res = cli("render", "--env", "dev")
    assert res.exit_code == 0, res.stderr
    objects = load_all((project / "build" / "dev" / "egress.yaml").read_text())
    keys = {(o["kind"], o["metadata"]["namespace"], o["metadata"]["name"]) for o in objects}
    assert keys == {
        ("ServiceEntry", "mesh-egress", "google"),
        ("ServiceEntry", "mesh-egress", "legacy-api"),
        ("ServiceEntry", "mesh-egress", "httpbin"),
        ("VirtualService", "mesh-egress", "google"),
        ("VirtualService", "mesh-egress", "legacy-api"),
        ("DestinationRule", "mesh-egress", "legacy-api"),
        ("Gateway", "mesh-egress", "egress"),
        ("DestinationRule", "mesh-egress", "egress-subsets"),
    }
    subsets = next(o for o in objects if o["metadata"]["name"] == "egress-subsets")
    assert subsets["spec"]["host"] == "istio-egressgateway.mesh-egress.svc.cluster.local"
    vs = next(
        o for o in objects if o["kind"] == "VirtualService" and o["metadata"]["name"] == "google"
    )
    assert vs["spec"]["gateways"] == ["mesh", "mesh-egress/egress"]
    dr = next(
        o
        for o in objects
        if o["kind"] == "DestinationRule" and o["metadata"]["name"] == "legacy-api"
    )
    assert dr["spec"]["exportTo"] == ["."]
