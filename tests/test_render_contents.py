"""A render holds exactly the planned objects (issue #9, item 1): no string chart/ writes
can end its field (literal quotes where the schema pins the characters, `quote`
elsewhere), and a chart that smuggles in an object stops the run before any apply."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from egressctl.charts.manifests import sourced_objects
from egressctl.charts.rendercheck import (
    ObjectKey,
    check_egress_render,
    check_istio_render,
    planned_objects,
)
from egressctl.errors import ToolError, VerificationError
from egressctl.runners import run
from tests.conftest import CHART, MINI_ISTIO, EnvFile, FakeKubectl, load_all, write

INJECTED = "istio-system\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: evil\n"


def _obj(kind: str, name: str, namespace: str | None = None, **labels: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": kind, "metadata": meta}


# ---------------------------------------------------------------------------
# chart/ writes no string that could end its field: a string its schema pins to DNS
# characters or an enum goes between literal quotes (helm refuses any other value before
# a template runs, #12), every other string through `quote` or toYaml


def _entries(value: str) -> dict[str, Any]:
    """chart/'s values with ``value`` in every string field its schema leaves free."""
    return {
        "networkingApiVersion": "networking.istio.io/v1",
        "serviceEntries": {
            "x": {
                "hosts": ["a.example.com"],
                "addresses": [value],
                "ports": [{"number": 443, "name": "https", "protocol": "HTTPS"}],
                "resolution": "STATIC",
                "location": "MESH_EXTERNAL",
                "endpoints": [
                    {
                        "address": value,
                        "labels": {value: value},
                        "locality": value,
                        "network": value,
                        "ports": {value: 15443},
                    }
                ],
                "metadata": {"labels": {"team": value}, "annotations": {"note": value}},
            }
        },
        "destinationRules": {
            "x": {
                "host": "a.example.com",
                "workloadSelector": {value: value},
                "portLevelSettings": [
                    {"port": 443, "tls": {"mode": "SIMPLE", "sni": value, "credentialName": value}}
                ],
            }
        },
    }


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(INJECTED, id="newline-documents"),
        pytest.param('a" , "b', id="double-quote"),
        pytest.param("kube-system # x", id="comment"),
        pytest.param("a: b", id="colon"),
        # YAML's other line breaks: toYaml wrote U+2028 raw and NEL as a space
        pytest.param("a\u2028b\x85c\rd\u2029e\tf", id="other-line-breaks"),
    ],
)
def test_chart_quotes_the_strings_its_schema_leaves_free(
    helm4: str, tmp_path: Path, value: str
) -> None:
    # The schema accepts these values: the templates alone keep each one string in its
    # field, one object per entry.
    vfile = write(tmp_path / "v.yaml", yaml.safe_dump(_entries(value)))
    out = run([helm4, "template", "egress", str(CHART), "-f", str(vfile)], step="t").stdout
    assert not set(out) & set("\r\x85\u2028\u2029")  # escaped wherever they were
    objs = load_all(out)
    assert sorted(o["kind"] for o in objs) == ["DestinationRule", "ServiceEntry"]
    se = next(o for o in objs if o["kind"] == "ServiceEntry")
    dr = next(o for o in objs if o["kind"] == "DestinationRule")
    assert se["spec"]["addresses"] == [value]
    assert se["spec"]["endpoints"] == _entries(value)["serviceEntries"]["x"]["endpoints"]
    assert se["metadata"]["labels"]["team"] == value
    assert se["metadata"]["annotations"] == {"note": value}
    tls = dr["spec"]["trafficPolicy"]["portLevelSettings"][0]["tls"]
    assert (tls["sni"], tls["credentialName"]) == (value, value)
    assert dr["spec"]["workloadSelector"]["matchLabels"] == {value: value}


@pytest.mark.parametrize(
    "endpoints",
    [
        pytest.param([{"address": "192.0.2.5"}], id="address"),
        pytest.param(
            [
                {
                    "address": "db.example.org",
                    "labels": {"role": "primary", "zone": "a"},
                    "locality": "eu-west1/zone1",
                    "network": "n1",
                    "ports": {"tcp": 15432, "tls": 15433},
                    "weight": 7,
                },
                {"address": "192.0.2.6", "weight": 0},
            ],
            id="every-field",
        ),
        pytest.param(
            [{"address": "192.0.2.7", "labels": {}, "ports": {}, "network": "", "locality": ""}],
            id="empty-values",
        ),
    ],
)
def test_endpoints_render_as_toyaml_would(
    helm4: str, tmp_path: Path, endpoints: list[dict[str, Any]]
) -> None:
    # Written field by field (not toYaml, #12): the object carries exactly the values'
    # endpoints, an empty map as {} and a zero weight as 0 included.
    values = _entries("192.0.2.1")
    del values["destinationRules"]
    values["serviceEntries"]["x"]["endpoints"] = endpoints
    vfile = write(tmp_path / "v.yaml", yaml.safe_dump(values))
    out = run([helm4, "template", "egress", str(CHART), "-f", str(vfile)], step="t").stdout
    (se,) = load_all(out)
    assert se["spec"]["endpoints"] == endpoints
    assert [list(e) for e in se["spec"]["endpoints"]] == [sorted(e) for e in endpoints]


_SE = ["serviceEntries", "x"]
_VS = ["tlsRoutes", "x"]
_DR = ["destinationRules", "x"]
#: Every field the bulk templates write between literal quotes or as a bare number (and
#: the weight, which keeps `int`).
LITERAL_FIELDS = [
    [*_SE, "namespace"],
    [*_SE, "hosts", 0],
    [*_SE, "ports", 0, "number"],
    [*_SE, "ports", 0, "name"],
    [*_SE, "ports", 0, "protocol"],
    [*_SE, "ports", 0, "targetPort"],
    [*_SE, "resolution"],
    [*_SE, "location"],
    [*_SE, "exportTo", 0],
    [*_VS, "hosts", 0],
    [*_VS, "exportTo", 0],
    [*_VS, "routes", 0, "port"],
    [*_VS, "routes", 0, "sniHosts", 0],
    [*_VS, "routes", 0, "destination", "host"],
    [*_VS, "routes", 0, "destination", "port"],
    [*_VS, "routes", 0, "weight"],
    [*_DR, "namespace"],
    [*_DR, "host"],
    [*_DR, "exportTo", 0],
    [*_DR, "portLevelSettings", 0, "port"],
    [*_DR, "portLevelSettings", 0, "tls", "mode"],
]


def _pinned_values() -> dict[str, Any]:
    return {
        "networkingApiVersion": "networking.istio.io/v1",
        "serviceEntries": {
            "x": {
                "namespace": "shop",
                "hosts": ["a.example.com"],
                "ports": [{"number": 443, "name": "https", "protocol": "TLS", "targetPort": 8443}],
                "resolution": "DNS",
                "location": "MESH_EXTERNAL",
                "exportTo": ["."],
            }
        },
        "tlsRoutes": {
            "x": {
                "hosts": ["a.example.com"],
                "exportTo": ["."],
                "routes": [
                    {
                        "port": 443,
                        "sniHosts": ["a.example.com"],
                        "destination": {"host": "a.example.com", "port": 443},
                        "weight": 100,
                    }
                ],
            }
        },
        "destinationRules": {
            "x": {
                "namespace": "shop",
                "host": "a.example.com",
                "exportTo": ["."],
                "portLevelSettings": [{"port": 443, "tls": {"mode": "SIMPLE"}}],
            }
        },
    }


def test_the_literal_fields_render_as_written(helm4: str, tmp_path: Path) -> None:
    values = _pinned_values()
    vfile = write(tmp_path / "v.yaml", yaml.safe_dump(values))
    out = run([helm4, "template", "egress", str(CHART), "-f", str(vfile)], step="t").stdout
    by_key = {"ServiceEntry": _SE, "VirtualService": _VS, "DestinationRule": _DR}
    for obj in load_all(out):
        entry = values[by_key[obj["kind"]][0]]["x"]
        assert obj["metadata"]["namespace"] == entry.get("namespace", "default")
        spec = obj["spec"]
        if obj["kind"] == "ServiceEntry":
            assert spec["ports"] == entry["ports"]
            assert (spec["hosts"], spec["resolution"], spec["location"]) == (
                entry["hosts"],
                entry["resolution"],
                entry["location"],
            )
        if obj["kind"] == "VirtualService":
            route = entry["routes"][0]
            assert spec["tls"] == [
                {
                    "match": [{"port": route["port"], "sniHosts": route["sniHosts"]}],
                    "route": [
                        {
                            "destination": {"host": "a.example.com", "port": {"number": 443}},
                            "weight": route["weight"],
                        }
                    ],
                }
            ]
        if obj["kind"] == "DestinationRule":
            assert spec["host"] == entry["host"]
            assert spec["trafficPolicy"]["portLevelSettings"] == [
                {"port": {"number": 443}, "tls": {"mode": "SIMPLE"}}
            ]
        assert spec["exportTo"] == ["."]


def test_a_negative_zero_weight_is_written_as_zero(helm4: str, tmp_path: Path) -> None:
    # -0.0 is an integer >= 0 to the schema, and Go prints it bare as -0: the weight
    # alone keeps `int` (the one number whose minimum is 0).
    values = _pinned_values()
    values["tlsRoutes"]["x"]["routes"][0]["weight"] = -0.0
    vfile = write(tmp_path / "v.yaml", yaml.safe_dump(values))
    out = run([helm4, "template", "egress", str(CHART), "-f", str(vfile)], step="t").stdout
    assert "\n          weight: 0\n" in out


@pytest.mark.parametrize(
    "path", [pytest.param(p, id="/".join(map(str, p))) for p in LITERAL_FIELDS]
)
@pytest.mark.parametrize("value", [INJECTED, 'a"b', "443\n"], ids=["document", "quote", "escape"])
def test_the_schema_guards_every_literal_field(
    helm4: str, tmp_path: Path, path: list[str | int], value: str
) -> None:
    values = _pinned_values()
    node: Any = values
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    vfile = write(tmp_path / "v.yaml", yaml.safe_dump(values))
    with pytest.raises(ToolError) as info:
        run([helm4, "template", "egress", str(CHART), "-f", str(vfile)], step="t")
    # helm's own words (stderr: no path of this test's is echoed there)
    assert "schema" in info.value.stderr
    assert "/" + "/".join(map(str, path)) in info.value.stderr


@pytest.mark.parametrize("key", ["serviceEntries", "tlsRoutes", "destinationRules"])
def test_the_schema_guards_the_object_names(helm4: str, tmp_path: Path, key: str) -> None:
    values = _pinned_values()
    values[key] = {'x"\\n---': values[key]["x"]}
    vfile = write(tmp_path / "v.yaml", yaml.safe_dump(values))
    with pytest.raises(ToolError) as info:
        run([helm4, "template", "egress", str(CHART), "-f", str(vfile)], step="t")
    assert "propertyName" in info.value.stderr
    assert "does not match pattern" in info.value.stderr


# ---------------------------------------------------------------------------
# The check itself


def test_planned_objects_follow_the_values() -> None:
    values = {
        "serviceEntries": {"a": {"hosts": ["a"]}, "off": None},
        "tlsRoutes": {"a": {"hosts": ["a"]}},
        "destinationRules": {"a": {"host": "a", "namespace": "shop"}},
    }
    assert planned_objects(values, "istio-system") == {
        ObjectKey("ServiceEntry", "istio-system", "a"),
        ObjectKey("VirtualService", "istio-system", "a"),
        ObjectKey("DestinationRule", "shop", "a"),
    }


PLANNED = {ObjectKey("ServiceEntry", "istio-system", "a")}


@pytest.mark.parametrize(
    ("objects", "complaint"),
    [
        pytest.param(
            [_obj("ServiceEntry", "a"), _obj("ConfigMap", "evil", "kube-system")],
            "not planned: ConfigMap kube-system/evil",
            id="extra",
        ),
        pytest.param([], "missing: ServiceEntry istio-system/a", id="missing"),
        pytest.param(
            [_obj("ServiceEntry", "a"), _obj("ServiceEntry", "a", "istio-system")],
            "twice: ServiceEntry istio-system/a",
            id="twice",
        ),
        pytest.param(
            [_obj("ServiceEntry", "a", "kube-system")],
            "not planned: ServiceEntry kube-system/a",
            id="other-namespace",
        ),
    ],
)
def test_egress_render_must_be_the_plan(objects: list[dict[str, Any]], complaint: str) -> None:
    with pytest.raises(VerificationError) as exc:
        check_egress_render(objects, PLANNED, "istio-system", "chart/")
    assert complaint in str(exc.value)


def test_egress_render_of_the_plan_passes() -> None:
    check_egress_render([_obj("ServiceEntry", "a", "istio-system")], PLANNED, "istio-system", "c")


@pytest.mark.parametrize(
    ("objects", "complaint"),
    [
        pytest.param(
            [_obj("ConfigMap", "evil", "kube-system")],
            "outside namespace 'istio-system': ConfigMap kube-system/evil",
            id="elsewhere",
        ),
        pytest.param(
            [_obj("ServiceEntry", "x", None, **{"egressctl.io/owned": "true"})],
            "labelled egressctl.io/owned",
            id="claims-ownership",
        ),
    ],
)
def test_istio_render_stays_in_its_namespace(objects: list[dict[str, Any]], complaint: str) -> None:
    with pytest.raises(VerificationError) as exc:
        check_istio_render(objects, "istio-system", "istiod")
    assert complaint in str(exc.value)


def test_istio_render_in_its_namespace_and_cluster_scope_passes() -> None:
    check_istio_render(
        [_obj("ConfigMap", "istio", "istio-system"), _obj("ClusterRole", "istiod")],
        "istio-system",
        "istiod",
    )


# ---------------------------------------------------------------------------
# End to end: a smuggled object stops render and deploy; nothing is written or applied


def _smuggling_chart(tmp: Path) -> Path:
    chart = tmp / "smuggling-chart"
    shutil.copytree(CHART, chart)
    write(
        chart / "templates" / "extra.yaml",
        """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: evil
          namespace: kube-system
          labels: {egressctl.io/owned: "true"}
        """,
    )
    return chart


def test_render_refuses_a_chart_that_adds_an_object(
    project: Path, env_file: EnvFile, cli: Any, helm4: str, tmp_path: Path
) -> None:
    env_file(namespace="istio-system")
    chart = _smuggling_chart(tmp_path)
    res = cli("render", "--env", "dev", "--chart", str(chart))
    assert res.exit_code == 3
    assert "not planned: ConfigMap kube-system/evil" in res.stderr
    assert not (project / "build").exists()


def test_deploy_applies_nothing_from_a_chart_that_adds_an_object(
    env_file: EnvFile, cli: Any, kubectl: FakeKubectl, tmp_path: Path
) -> None:
    env_file(namespace="istio-system")
    chart = _smuggling_chart(tmp_path)
    res = cli("deploy", "--env", "dev", "--yes", "--chart", str(chart))
    assert res.exit_code == 3
    assert kubectl.applies() == []
    assert kubectl.objects("ConfigMap") == []


def test_render_refuses_an_istio_chart_that_writes_elsewhere(
    project: Path, env_file: EnvFile, cli: Any, helm4: str, tmp_path: Path
) -> None:
    istio = tmp_path / "istiod"
    shutil.copytree(MINI_ISTIO, istio)
    write(
        istio / "templates" / "extra.yaml",
        """
        apiVersion: v1
        kind: Secret
        metadata: {name: stolen, namespace: kube-system}
        """,
    )
    env_file(namespace="istio-system", istio={"chart": istio})
    res = cli("render", "--env", "dev")
    assert res.exit_code == 3
    assert "outside namespace 'istio-system': Secret kube-system/stolen" in res.stderr
    assert not (project / "build").exists()


# ---------------------------------------------------------------------------
# YAML's other line breaks: kubectl's split of a stream and YAML's reading of it differ


@pytest.mark.parametrize(
    ("char", "named"),
    [
        ("\r", "a carriage return"),
        ("\x85", "NEL (U+0085)"),
        ("\u2028", "U+2028 LINE SEPARATOR"),
        ("\u2029", "U+2029 PARAGRAPH SEPARATOR"),
    ],
)
def test_a_render_with_another_line_break_is_refused(char: str, named: str) -> None:
    # PyYAML reads two objects here; kubectl finds no `kind:` line in the second document
    # (CR, NEL) or one document where YAML sees two: refused, naming template and line.
    text = (
        "---\n# Source: c/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\n"
        "metadata: {name: a}\n---\n# Source: c/templates/b.yaml\napiVersion: v1\n"
        f"metadata: {{name: b}}{char}kind: ConfigMap{char}---{char}kind: Secret\n"
    )
    with pytest.raises(VerificationError) as info:
        sourced_objects(text)
    assert info.value.exit_code == 3
    assert f"rendered manifest c/templates/b.yaml holds {named} (line 9 " in str(info.value)
    assert len(sourced_objects(text.replace(char, "\n"))) == 3  # the same with "\n" reads


def test_deploy_applies_nothing_from_an_istio_chart_with_carriage_returns(
    env_file: EnvFile, cli: Any, kubectl: FakeKubectl, tmp_path: Path
) -> None:
    istio = tmp_path / "istiod"
    shutil.copytree(MINI_ISTIO, istio)
    (istio / "templates" / "extra.yaml").write_bytes(
        b"apiVersion: v1\rkind: ConfigMap\rmetadata:\r  name: extra\r  namespace: istio-system\r"
    )
    env_file(namespace="istio-system", istio={"chart": istio})
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 3, res.stderr
    assert "rendered manifest istiod/templates/extra.yaml holds a carriage return" in res.stderr
    assert kubectl.applies() == []
