"""chart/ through the real helm 3 and helm 4: exact objects, CRD schemas, strict values."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from egressctl.charts.helm import helm_template
from egressctl.crd import CrdSet
from egressctl.errors import ToolError
from egressctl.runners import run
from tests.conftest import CHART, CRDS, load_all
from tests.make_golden import GOLDEN, generate

GOLDEN_CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "inventory.yaml").is_file())
SEED_VALUES = (GOLDEN / "seed" / "values.yaml").read_text(encoding="utf-8")

needs_crds = pytest.mark.skipif(
    not CRDS.is_file(), reason=f"Istio CRDs not found at {CRDS} (outside this repository's CI)"
)


def template(helm: str, values: dict[str, Any] | str, namespace: str = "istio-system") -> str:
    text = values if isinstance(values, str) else yaml.safe_dump(values)
    return helm_template(
        "egress", CHART, namespace=namespace, values_text=text, step="test render", helm=helm
    )


@pytest.mark.parametrize("case", GOLDEN_CASES)
def test_golden(case: str, helm: str) -> None:
    values, manifests = generate(GOLDEN / case, helm)
    assert values == (GOLDEN / case / "values.yaml").read_text(encoding="utf-8"), (
        "generated values differ from the golden file: run `make golden` and review the diff"
    )
    assert load_all(manifests) == load_all(
        (GOLDEN / case / "manifests.yaml").read_text(encoding="utf-8")
    )


def test_seed_renders_exactly_the_three_objects(helm: str) -> None:
    objs = load_all(template(helm, SEED_VALUES))
    summary = sorted((o["kind"], o["metadata"]["name"]) for o in objs)
    assert summary == [
        ("ServiceEntry", "google"),
        ("ServiceEntry", "httpbin-ext"),
        ("VirtualService", "google"),
    ]
    by = {(o["kind"], o["metadata"]["name"]): o for o in objs}
    assert by["ServiceEntry", "httpbin-ext"]["spec"] == {
        "hosts": ["httpbin.org"],
        "ports": [{"number": 80, "name": "http", "protocol": "HTTP"}],
        "resolution": "DNS",
        "location": "MESH_EXTERNAL",
    }
    assert by["ServiceEntry", "google"]["spec"] == {
        "hosts": ["www.google.com"],
        "ports": [{"number": 443, "name": "https", "protocol": "HTTPS"}],
        "resolution": "DNS",
        "location": "MESH_EXTERNAL",
    }
    assert by["VirtualService", "google"]["spec"] == {
        "hosts": ["www.google.com"],
        "tls": [
            {
                "match": [{"port": 443, "sniHosts": ["www.google.com"]}],
                "route": [
                    {
                        "destination": {"host": "www.google.com", "port": {"number": 443}},
                        "weight": 100,
                    }
                ],
            }
        ],
    }
    for o in objs:
        assert o["apiVersion"] == "networking.istio.io/v1"
        assert o["metadata"]["namespace"] == "istio-system"


def test_labels_follow_helm_conventions_and_mark_ownership(helm: str) -> None:
    for o in load_all(template(helm, SEED_VALUES)):
        labels = o["metadata"]["labels"]
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["app.kubernetes.io/instance"] == "egress"
        assert labels["app.kubernetes.io/name"] == "egressctl"
        assert labels["helm.sh/chart"] == "egressctl-0.1.0"
        assert labels["egressctl.io/owned"] == "true"


@pytest.mark.parametrize("api", ["v1", "v1beta1", "v1alpha3"])
def test_networking_api_version(helm: str, api: str) -> None:
    values = yaml.safe_load(SEED_VALUES)
    values["networkingApiVersion"] = f"networking.istio.io/{api}"
    objs = load_all(template(helm, values))
    assert {o["apiVersion"] for o in objs} == {f"networking.istio.io/{api}"}


@needs_crds
@pytest.mark.parametrize("case", GOLDEN_CASES)
@pytest.mark.parametrize("api", ["v1", "v1beta1", "v1alpha3"])
def test_rendered_objects_match_istio_crds(helm: str, case: str, api: str) -> None:
    values = yaml.safe_load((GOLDEN / case / "values.yaml").read_text(encoding="utf-8"))
    values["networkingApiVersion"] = f"networking.istio.io/{api}"
    objs = load_all(template(helm, values))
    assert objs
    crds = _crds()
    assert all(crds.served(o["apiVersion"], o["kind"]) for o in objs)
    assert crds.validate_all(objs) == []
    assert crds.skipped_rules == []  # every CEL rule of the CRDs was evaluated


_CRD_SET: list[CrdSet] = []


def _crds() -> CrdSet:
    if not _CRD_SET:
        _CRD_SET.append(CrdSet.from_file(CRDS))
    return _CRD_SET[0]


def test_null_entries_are_skipped(helm: str) -> None:
    values = yaml.safe_load(SEED_VALUES)
    values["serviceEntries"]["google"] = None
    values["tlsRoutes"]["google"] = None
    objs = load_all(template(helm, values))
    assert [(o["kind"], o["metadata"]["name"]) for o in objs] == [("ServiceEntry", "httpbin-ext")]


def test_no_entries_render_nothing(helm: str) -> None:
    out = template(
        helm,
        {"networkingApiVersion": "networking.istio.io/v1", "serviceEntries": {}, "tlsRoutes": {}},
    )
    assert load_all(out) == []


def _with(path: list[str | int], value: Any) -> dict[str, Any]:
    values = copy.deepcopy(yaml.safe_load(SEED_VALUES))
    node: Any = values
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return values


SCHEMA_CASES = [
    pytest.param(_with(["unknownTop"], 1), "additional properties 'unknownTop'", id="top-key"),
    pytest.param(
        _with(["serviceEntries", "google", "resolutoin"], "DNS"), "resolutoin", id="entry-key"
    ),
    pytest.param(_with(["serviceEntries", "Bad_Name"], None), "Bad_Name", id="object-name"),
    pytest.param(
        _with(["serviceEntries", "google", "resolution"], "STRICT_DNS"),
        "/serviceEntries/google/resolution",
        id="resolution-enum",
    ),
    pytest.param(
        _with(["serviceEntries", "google", "ports", 0, "number"], 70000),
        "/serviceEntries/google/ports/0/number",
        id="port-range",
    ),
    pytest.param(
        _with(["networkingApiVersion"], "networking.istio.io/v2"),
        "/networkingApiVersion",
        id="api-version",
    ),
    pytest.param(
        _with(["tlsRoutes", "google", "routes", 0, "sniHosts"], []), "sniHosts", id="sni-required"
    ),
    pytest.param(  # the Istio chart's keys have a values file of their own
        _with(["global"], {"proxy": {"includeIPRanges": "*"}}),
        "additional properties 'global'",
        id="istio-keys",
    ),
]


@pytest.mark.parametrize(("values", "needle"), SCHEMA_CASES)
def test_values_schema_is_strict(helm: str, values: dict[str, Any], needle: str) -> None:
    with pytest.raises(ToolError) as info:
        template(helm, values)
    assert "schema" in str(info.value)
    assert needle in str(info.value)


@pytest.mark.parametrize("scenario", sorted(p.name for p in (CHART / "ci").glob("*-values.yaml")))
def test_chart_ci_scenarios_lint_and_render(helm: str, scenario: str) -> None:
    text = (CHART / "ci" / scenario).read_text(encoding="utf-8")
    run([helm, "lint", CHART, "--strict", "--values", CHART / "ci" / scenario], step="helm lint")
    objs = load_all(template(helm, text))
    declared = yaml.safe_load(text)
    kinds = {
        "serviceEntries": "ServiceEntry",
        "tlsRoutes": "VirtualService",
        "destinationRules": "DestinationRule",
    }
    expected = sorted(
        (kind, str(name))
        for key, kind in kinds.items()
        for name, entry in (declared.get(key) or {}).items()
        if entry
    )
    assert sorted((o["kind"], o["metadata"]["name"]) for o in objs) == expected


def test_values_yaml_defaults_render(helm: str, tmp_path: Path) -> None:
    """Plain `helm template` with the chart's own defaults works and renders nothing."""
    out = run([helm, "template", "egress", CHART], step="helm template defaults").stdout
    assert load_all(out) == []
