"""A render holds exactly the planned objects (issue #9, item 1): chart/ quotes every
string it writes, and a chart that smuggles in an object stops the run before any apply."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from egressctl.charts.rendercheck import (
    ObjectKey,
    check_egress_render,
    check_istio_render,
    planned_objects,
)
from egressctl.errors import VerificationError
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
# chart/ quotes what it writes: a hostile string stays one string in one object


@pytest.mark.parametrize(
    "namespace",
    [
        pytest.param(INJECTED, id="newline-documents"),
        pytest.param("kube-system # x", id="comment"),
        pytest.param("a: b", id="colon"),
    ],
)
def test_chart_quotes_the_namespace_even_without_its_schema(
    helm4: str, tmp_path: Path, namespace: str
) -> None:
    # The schema would refuse these values; rendering past it proves the templates
    # themselves cannot be made to write a second document.
    values = {
        "networkingApiVersion": "networking.istio.io/v1",
        "serviceEntries": {
            "x": {
                "namespace": namespace,
                "hosts": ["a.example.com"],
                "ports": [{"number": 443, "name": "https", "protocol": "HTTPS"}],
                "resolution": "DNS",
                "location": "MESH_EXTERNAL",
            }
        },
        "destinationRules": {
            "x": {
                "namespace": namespace,
                "host": "a.example.com",
                "portLevelSettings": [{"port": 80, "tls": {"mode": "SIMPLE"}}],
            }
        },
        "tlsRoutes": {},
    }
    chart = tmp_path / "chart"
    shutil.copytree(CHART, chart)
    (chart / "values.schema.json").unlink()
    vfile = write(tmp_path / "v.yaml", yaml.safe_dump(values))
    out = run([helm4, "template", "egress", str(chart), "-f", str(vfile)], step="t").stdout
    objs = load_all(out)
    assert sorted((o["kind"], o["metadata"]["namespace"]) for o in objs) == [
        ("DestinationRule", namespace),
        ("ServiceEntry", namespace),
    ]


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
