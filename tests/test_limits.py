"""The API server's limits, checked on every rendered object before anything is applied
(issue #12 §1): a table of objects at and over each limit, then the same check through
render (both charts) and rollback (a recorded render)."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from egressctl.charts.limits import (
    ANNOTATIONS_MAX,
    DATA_MAX,
    OBJECT_MAX,
    Limit,
    _object_violations,
    check_limits,
    violations,
)
from egressctl.charts.manifests import Sourced, sourced_objects
from egressctl.cluster.history import digest
from egressctl.errors import VerificationError
from tests.conftest import CHART, MINI_ISTIO_BLOCK, REPO, EnvFile, FakeKubectl, entry_point, write

VALUES_CHART = REPO / "tests" / "charts" / "istiod-values"
NS = "istio-system"


def obj(
    kind: str = "ConfigMap",
    name: str = "c",
    *,
    namespace: str | None = NS,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    **top: Any,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    if labels is not None:
        meta["labels"] = labels
    if annotations is not None:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": kind, "metadata": meta, **top}


def b64(n: int) -> str:
    return base64.b64encode(b"\xff" * n).decode()


# (object, [(limit, field, found, maximum)]) — found and maximum in bytes or characters.
CASES = [
    pytest.param(obj(data={"a": "x" * DATA_MAX}), [], id="data-at-1MiB"),
    pytest.param(
        obj(data={"a": "x" * (DATA_MAX - 1), "b": "yy"}),
        [(Limit.DATA, "data + binaryData", DATA_MAX + 1, DATA_MAX)],
        id="data-over-1MiB-across-keys",
    ),
    pytest.param(
        obj(data={"a": "x" * (DATA_MAX // 2)}, binaryData={"b": b64(DATA_MAX // 2 + 1)}),
        [(Limit.DATA, "data + binaryData", DATA_MAX + 1, DATA_MAX)],
        id="binaryData-counts-decoded",
    ),
    pytest.param(
        obj(data={"a": "é" * (DATA_MAX // 2) + "x"}),
        [(Limit.DATA, "data + binaryData", DATA_MAX + 1, DATA_MAX)],
        id="data-counts-utf8-bytes",
    ),
    pytest.param(
        obj("Secret", data={"a": b64(DATA_MAX + 1)}),
        [(Limit.DATA, "data + stringData", DATA_MAX + 1, DATA_MAX)],
        id="secret-data-decoded",
    ),
    pytest.param(obj("Secret", data={"a": b64(DATA_MAX)}), [], id="secret-at-1MiB"),
    pytest.param(
        obj("Secret", stringData={"a": "x" * (DATA_MAX + 1)}),
        [(Limit.DATA, "data + stringData", DATA_MAX + 1, DATA_MAX)],
        id="secret-stringData",
    ),
    pytest.param(
        obj("Secret", data={"a": b64(DATA_MAX)}, stringData={"a": "x"}),
        [],
        id="stringData-replaces-its-data-key",
    ),
    pytest.param(
        obj("ServiceEntry", spec={"hosts": ["h" * 1000] * 1600}),
        [(Limit.OBJECT, "the object", None, OBJECT_MAX)],
        id="object-over-1.5MiB",
    ),
    pytest.param(
        obj("ConfigMap", data={"a": "x" * DATA_MAX}, spec={"pad": "y" * (OBJECT_MAX // 2)}),
        [(Limit.OBJECT, "the object", None, OBJECT_MAX)],
        id="object-over-with-data-under",
    ),
    pytest.param(obj("ServiceEntry", "n" * 253), [], id="name-253"),
    pytest.param(
        obj("ServiceEntry", "n" * 254),
        [(Limit.NAME, "metadata.name", 254, 253)],
        id="name-254",
    ),
    pytest.param(obj("Service", "s" * 63), [], id="service-63"),
    pytest.param(
        obj("Service", "s" * 64), [(Limit.NAME, "metadata.name", 64, 63)], id="service-64"
    ),
    pytest.param(
        obj("Namespace", "n" * 64, namespace=None),
        [(Limit.NAME, "metadata.name", 64, 63)],
        id="namespace-object-64",
    ),
    pytest.param(
        obj("StatefulSet", "s" * 64), [(Limit.NAME, "metadata.name", 64, 63)], id="statefulset"
    ),
    pytest.param(obj("CronJob", "c" * 52), [], id="cronjob-52"),
    pytest.param(
        obj("CronJob", "c" * 53), [(Limit.NAME, "metadata.name", 53, 52)], id="cronjob-53"
    ),
    pytest.param(
        obj(namespace="n" * 64),
        [(Limit.NAMESPACE, "metadata.namespace", 64, 63)],
        id="namespace-field-64",
    ),
    pytest.param(obj(labels={"app": "v" * 63}), [], id="label-value-63"),
    pytest.param(
        obj(labels={"app": "v" * 64}),
        [(Limit.LABEL_VALUE, "metadata.labels[app]", 64, 63)],
        id="label-value-64",
    ),
    pytest.param(
        obj(labels={"k" * 64: "v", "p" * 254 + "/ok": "v"}),
        [
            (Limit.LABEL_KEY, f"metadata.labels[{'k' * 64}]", 64, 63),
            (Limit.LABEL_KEY, f"metadata.labels[{'p' * 254}/ok]", 254, 253),
        ],
        id="label-keys",
    ),
    pytest.param(obj(annotations={"a": "x" * (ANNOTATIONS_MAX - 1)}), [], id="annotations-256KiB"),
    pytest.param(
        obj(annotations={"a": "x" * ANNOTATIONS_MAX}),
        [(Limit.ANNOTATIONS, "metadata.annotations", ANNOTATIONS_MAX + 1, ANNOTATIONS_MAX)],
        id="annotations-over-256KiB",
    ),
    pytest.param(
        obj(name="n" * 300, labels={"a": "v" * 64}, data={"a": "x" * (DATA_MAX + 1)}),
        [
            (Limit.DATA, "data + binaryData", DATA_MAX + 1, DATA_MAX),
            (Limit.NAME, "metadata.name", 300, 253),
            (Limit.LABEL_VALUE, "metadata.labels[a]", 64, 63),
        ],
        id="every-violation-at-once",
    ),
    pytest.param(
        {"kind": "ConfigMap", "metadata": "not a map", "data": ["odd"]}, [], id="odd-shapes"
    ),
    pytest.param(  # not a string (the API server refuses it anyway): measured, no crash
        obj(labels={"a": ["v"] * 40}),
        [(Limit.LABEL_VALUE, "metadata.labels[a]", 200, 63)],
        id="label-value-not-a-string",
    ),
]


@pytest.mark.parametrize(("o", "expected"), CASES)
def test_limits_table(
    o: dict[str, Any], expected: list[tuple[Limit, str, int | None, int]]
) -> None:
    found = violations([Sourced("chart/templates/x.yaml", o)])
    assert [(v.limit, v.field, v.maximum) for v in found] == [(e[0], e[1], e[3]) for e in expected]
    for v, (_, _, size, maximum) in zip(found, expected, strict=True):
        assert v.found == size if size is not None else v.found > maximum
        assert v.source == "chart/templates/x.yaml"
        assert v.kind == o["kind"]


def test_check_limits_names_template_object_and_limit() -> None:
    objects = [
        Sourced(
            "istiod/templates/configmap-values.yaml",
            obj(name="values", data={"a": "x" * DATA_MAX, "b": "x"}),
        ),
        Sourced("istiod/templates/ok.yaml", obj(name="fine")),
        Sourced("istiod/templates/svc.yaml", obj("Service", "s" * 64, namespace=None)),
    ]
    with pytest.raises(VerificationError) as info:
        check_limits(objects, render="the Istio chart (istiod)")
    lines = str(info.value).splitlines()
    assert lines[0] == (
        "the render of the Istio chart (istiod) breaks the API server's limits; "
        "nothing was applied:"
    )
    assert lines[1:] == [
        "  - istiod/templates/configmap-values.yaml: ConfigMap istio-system/values: data + "
        "binaryData: 1,048,577 bytes, over the API server's limit of 1,048,576 (1 MiB) "
        "[data-size]",
        "  - istiod/templates/svc.yaml: Service " + "s" * 60 + "…: metadata.name: 64 "
        "characters, over the API server's limit of 63 (a Service's name is a DNS label) "
        "[name-length]",
    ]
    assert info.value.exit_code == 3
    check_limits(objects[1:2], render="x")  # within every limit: no error


def test_sourced_objects_keep_each_template() -> None:
    text = (
        "---\n# Source: c/templates/a.yaml\nkind: ConfigMap\nmetadata: {name: a}\n"
        "---\n# Source: c/templates/b.yaml\nkind: List\nitems:\n"
        "  - {kind: ConfigMap, metadata: {name: b1}}\n  - {kind: ConfigMap, metadata: {name: b2}}\n"
        "---\n# Source: c/templates/empty.yaml\n"
        "--- {kind: Secret, metadata: {name: s}}\n"
    )
    assert [(s.source, s.obj["metadata"]["name"]) for s in sourced_objects(text)] == [
        ("c/templates/a.yaml", "a"),
        ("c/templates/b.yaml", "b1"),
        ("c/templates/b.yaml", "b2"),
        ("(no # Source: line)", "s"),
    ]


def test_sourced_objects_locate_yaml_errors() -> None:
    text = "---\n# Source: c/templates/a.yaml\nkind: A\n---\n# Source: c/templates/b.yaml\nx: [\n"
    with pytest.raises(VerificationError) as info:
        sourced_objects(text)
    assert str(info.value).startswith("rendered manifest c/templates/b.yaml is not YAML")


# --- through render and rollback --------------------------------------------------------


def test_istio_render_over_the_configmap_limit_is_exit_3_and_writes_nothing(
    cli, project: Path, env_file: EnvFile, helm: str
) -> None:
    """The team's own values file is big: istiod copies it into ConfigMap `values` twice."""
    write(project / "values" / "istio-team.yaml", f"padding: {'x' * 600_000}\n")
    env_file(istio={"chart": VALUES_CHART, "release": "istiod", "values": ["istio-team.yaml"]})
    res = cli("render", "--env", "dev")
    assert res.exit_code == 3, res.stderr
    problems = [line for line in res.stderr.splitlines() if line.startswith("  - ")]
    assert len(problems) == 1
    assert problems[0].startswith(
        "  - istiod/templates/configmap-values.yaml: ConfigMap istio-system/values: "
        "data + binaryData: 1,200,"
    )
    assert problems[0].endswith("over the API server's limit of 1,048,576 (1 MiB) [data-size]")
    assert not (project / "build").exists()


def test_egress_render_over_a_limit_names_chart_template(
    cli, project: Path, env_file: EnvFile, helm: str, tmp_path: Path
) -> None:
    chart = tmp_path / "chart"
    shutil.copytree(CHART, chart)
    helpers = chart / "templates" / "_helpers.tpl"
    helpers.write_text(
        helpers.read_text().replace(
            'egressctl.io/owned: "true"', f'egressctl.io/owned: "true"\npadding: {"p" * 64}'
        )
    )
    env_file()
    res = cli("render", "--env", "dev", "--chart", str(chart))
    assert res.exit_code == 3, res.stderr
    problems = sorted(line for line in res.stderr.splitlines() if line.startswith("  - "))
    assert problems == [
        f"  - egressctl/templates/{template}: {kind} istio-system/{name}: "
        "metadata.labels[padding]: 64 characters, over the API server's limit of 63 "
        "(a label value) [label-value-length]"
        for template, kind, name in [
            ("serviceentries.yaml", "ServiceEntry", "google"),
            ("serviceentries.yaml", "ServiceEntry", "httpbin-ext"),
            ("virtualservices.yaml", "VirtualService", "google"),
        ]
    ]


def test_limit_error_through_the_entry_point_is_no_traceback(
    project: Path, env_file: EnvFile, helm: str
) -> None:
    write(project / "values" / "istio-team.yaml", f"padding: {'x' * 600_000}\n")
    env_file(istio={"chart": VALUES_CHART, "release": "istiod", "values": ["istio-team.yaml"]})
    proc = entry_point(project, "deploy", "--env", "dev", "--dry-run")
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.splitlines()[-1].endswith("[data-size]")  # the last line: no traceback


def test_rollback_to_a_record_over_a_limit_is_refused_before_applying(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    """A record made before the check (here: edited, digest and all) is checked too."""
    env_file(namespace=NS, istio=MINI_ISTIO_BLOCK)
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0
    (record,) = sorted((project / "build" / "dev" / "history").iterdir())
    big = (
        "---\n# Source: istiod/templates/configmap-values.yaml\napiVersion: v1\nkind: ConfigMap\n"
        f"metadata:\n  name: values\n  namespace: {NS}\ndata:\n  merged-values: "
        f"{'x' * (DATA_MAX + 1)}\n"
    )
    istio = (record / "istio.yaml").read_text() + big
    (record / "istio.yaml").write_text(istio)
    doc = json.loads((record / "record.json").read_text())
    doc["digests"]["istio.yaml"] = digest(istio)
    (record / "record.json").write_text(json.dumps(doc))
    applied = len(kubectl.applies())
    res = cli("rollback", "--env", "dev", "--yes", "--to", record.name)
    assert res.exit_code == 3, res.stderr
    assert "ConfigMap istio-system/values: data + binaryData: 1,048,577 bytes" in res.stderr
    assert len(kubectl.applies()) == applied


def _plain(kind: str, name: Any, labels: Any = None, annotations: Any = None, **meta: Any) -> Any:
    metadata: dict[str, Any] = {"name": name, "namespace": "istio-system", **meta}
    if labels is not None:
        metadata["labels"] = labels
    if annotations is not None:
        metadata["annotations"] = annotations
    return {"apiVersion": "v1", "kind": kind, "metadata": metadata}


COMMON = {"app.kubernetes.io/name": "egressctl", "egressctl.io/owned": "true"}


def test_the_quick_pass_finds_what_the_close_look_finds() -> None:
    """violations() skips objects it can tell are fine at a glance (#12 §5); on objects
    built to sit at each limit, fine ones first so that their labels are known, it must
    find exactly what looking closely at every object finds."""
    objects = [
        _plain("ServiceEntry", "a", COMMON),
        _plain("ServiceEntry", "b", COMMON, {"egressctl.io/context": "kind-dev"}),
        _plain("ServiceEntry", "c" * 253, COMMON),
        _plain("ServiceEntry", "c" * 254, COMMON),  # a name one over
        _plain("Service", "s" * 63, COMMON),
        _plain("Service", "s" * 64, COMMON),  # a DNS label one over
        _plain("CronJob", "j" * 53, COMMON),
        _plain("ServiceEntry", "é" * 127, COMMON),  # 254 bytes
        _plain("ServiceEntry", "d", {**COMMON, "team": "t" * 64}),  # a new label, over
        _plain("ServiceEntry", "e", {**COMMON, "team": "t" * 64}),
        _plain("ServiceEntry", "f", {**COMMON, "list": ["not", "hashable"]}),
        _plain("ServiceEntry", "g", COMMON, {"a": "x" * (256 * 1024)}),  # annotations over
        _plain("ServiceEntry", "h", COMMON, {"a": "x" * (64 * 1024 - 8)}),
        _plain("ServiceEntry", None, COMMON),
        _plain("ServiceEntry", "i", COMMON, namespace="n" * 64),
        _plain("ServiceEntry", "k", "labels-not-a-map"),
        _plain("ConfigMap", "big", COMMON) | {"data": {"k": "x" * (1024 * 1024 + 1)}},
    ]
    items = [Sourced("templates/x.yaml", o, 4096) for o in objects]
    items.append(Sourced("templates/y.yaml", _plain("ServiceEntry", "z", COMMON), 2 * 1024**2))
    items.append(Sourced("templates/y.yaml", _plain("ServiceEntry", "unknown", COMMON), None))
    huge = _plain("ServiceEntry", "huge", COMMON) | {"spec": {"x": "y" * (1600 * 1024)}}
    items.append(Sourced("templates/y.yaml", huge, None))
    items.append(Sourced("templates/y.yaml", _plain("ServiceEntry", "l", {"k" * 64: "v"}), 4096))
    closely = [v for item in items for v in _object_violations(item, set())]
    assert violations(items) == closely
    assert {v.limit for v in closely} == set(Limit)  # every limit is broken somewhere
