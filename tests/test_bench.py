"""`make bench` must keep measuring what it says: a smoke run at tiny sizes, and the
floor chart must hold the very same objects as chart/ renders."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("egressctl_bench", REPO / "bench" / "run.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _inventory(n: int) -> str:
    bench = _bench()  # puts bench/ on sys.path for its own `from gen import inventory`
    text: str = bench.inventory(n)
    return text


def test_generated_inventory_has_the_promised_mix() -> None:
    services = yaml.safe_load(_inventory(400))["services"]
    assert len(services) == 400
    ports = [p for s in services.values() for p in s["ports"]]
    assert {p.split("/")[1] for p in ports} == {"http", "https", "tls", "tcp"}
    assert sum(s["host"].startswith("*.") for s in services.values()) == 100
    assert len({s["host"].split(".")[-2] for s in services.values()}) == 100


def test_static_chart_splits_and_renders_the_same_objects(
    helm4: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = _bench()
    monkeypatch.setattr(bench, "SPLIT", 2048)
    values = tmp_path / "values.yaml"
    inv = tmp_path / "inv.yaml"
    inv.write_text(_inventory(40))
    egressctl = Path(sys.executable).parent / "egressctl"
    subprocess.run([str(egressctl), "-q", "compile", str(inv), "-o", str(values)], check=True)
    template = [helm4, "template", "egress", "--namespace", "istio-system"]
    rendered = subprocess.run(
        [*template, str(REPO / "chart"), "--values", str(values)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    static = bench.static_chart(rendered, tmp_path / "static")
    parts = sorted((static / "templates").glob("part*.yaml"))
    assert len(parts) > 5
    assert all("{{" not in p.read_text().replace('{{ "{{" }}', "") for p in parts)
    again = subprocess.run(
        [*template, str(static)], capture_output=True, text=True, check=True
    ).stdout
    assert bench.documents(again) == bench.documents(rendered)
    assert len(bench.documents(rendered)) == 40 + 20  # ServiceEntries + TLS routes
    # and the comparison can fail: one object less is noticed
    assert bench.documents(again)[1:] != bench.documents(rendered)


def test_ratios_are_medians_of_each_rounds_ratio() -> None:
    # Round 2's static ran slow and round 3's chart did: the ratio of the columns'
    # medians pairs chart's round 2 with static's rounds 1 and 3; each round's own ratio
    # does not.
    walls = {
        "compile": [1.0, 1.0, 1.0],
        "floor": [2.0, 2.0, 2.0],
        "chart": [3.0, 3.3, 6.0],
        "static": [2.0, 3.0, 2.0],
        "values": [1.0, 1.0, 1.0],
        "startup": [0.1, 0.1, 0.1],
        "cenv": [1.0, 1.0, 1.0],
        "chenv": [2.0, 2.0, 2.0],
        "istio2": [0.1, 0.1, 0.1],
        "render": [3.1, 6.2, 3.0],
        "deploy0": [3.5, 3.4, 3.6],
    }
    samples = {k: [(v, 0, v * 2) for v in vs] for k, vs in walls.items()}
    row = _bench().ratios(samples)
    assert row["cb"] == pytest.approx(3.0 / 2.9)
    assert row["cb_m"] == pytest.approx(3.3 / 2.9)
    assert row["chart_ratio"] == pytest.approx(1.5)
    assert row["bound"] == pytest.approx(1.45)
    assert row["compile_ratio"] == pytest.approx(0.5)
    assert row["render_ratio"] == pytest.approx(1.0)
    assert row["render_ratio_m"] == pytest.approx(3.1 / 3.1)
    assert row["render_cpu_ratio"] == pytest.approx(1.0)
    assert row["deploy0_ratio"] == pytest.approx(3.5 / 3.1)
    assert row["deploy0_ratio_m"] == pytest.approx(3.5 / 3.1)
    assert "deployN_ratio" not in row


def test_make_bench_smoke_run(helm4: str) -> None:
    env = {**os.environ, "BENCH_SIZES": "30,60", "BENCH_RUNS": "1", "EGRESSCTL_HELM": helm4}
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run.py")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == [
        *("services", "runs", "compile", "floor", "ratio", "check", "chart", "static"),
        *("ratio", "values", "bound", "c/b", "MiB", "ours", "MiB", "helm"),
    ]
    rows = [line.split() for line in lines[2:4]]
    assert [r[0] for r in rows] == ["30", "60"]
    assert all(len(r) == 14 for r in rows)
    second = lines.index("") + 1
    assert lines[second].split() == [
        *("services", "render", "cenv", "chenv", "istio2", "parts", "ratio", "cpu"),
        *("deploy0", "ratio", "calls", "deployN", "ratio", "calls"),
    ]
    path = [line.split() for line in lines[second + 2 : second + 4]]
    assert [r[0] for r in path] == ["30", "60"]
    assert all(len(r) == 14 for r in path)
    # kubectl calls per deploy: the same at both sizes, and on both clusters
    assert len({(r[10], r[13]) for r in path}) == 1, path
    assert re.search(
        r"time per service, 60 vs 30 services \(1\.00 = linear\): compile ", proc.stdout
    )
    met = r"\(goal <= [\d.]+: (?:met|NOT met)"
    assert re.fullmatch(
        rf"at 60 services: compile ratio \d+\.\d\d {met}\), chart/bound \d+\.\d\d {met}; "
        r"-?\d+\.\d\d from the medians; chart ratio \d+\.\d\d, and no chart reading these "
        r"values can go below -?\d+\.\d\d\)",
        lines[-2],
    ), lines[-2]
    assert re.fullmatch(
        rf"at 60 services: render \d+\.\d\ds = \d+\.\d\d x its parts {met}; \d+\.\d\d from "
        rf"the medians; processor time \d+\.\d\d x theirs\); deploy --dry-run "
        rf"\d+\.\d\d x render on an empty cluster, \d+\.\d\d x on one holding the objects "
        rf"{met}; \d+\.\d\d and \d+\.\d\d from the medians\); kubectl calls (\d+) and \1 "
        r"\(the same at every size\)",
        lines[-1],
    ), lines[-1]


def test_kubectl_stub_answers_like_kubectl(tmp_path: Path) -> None:
    """bench/kubectl.py: the calls deploy makes, the answers it needs, each logged."""
    bench = _bench()
    stub = bench.kubectl_stub(tmp_path / "bin") / "kubectl"
    log, live = tmp_path / "log", tmp_path / "live"
    cm = {"kind": "ConfigMap", "metadata": {"name": "istio"}, "data": {"mesh": "x"}}
    se = {"kind": "ServiceEntry", "metadata": {"name": "a"}}
    live.mkdir()
    (live / "egress.json").write_text(json.dumps({"kind": "List", "items": [se]}))
    (live / "configmaps.json").write_text(json.dumps({"istio": cm}))

    def run(*argv: str, stdin: str = "", cluster: Path | None = None) -> str:
        env = {
            "BENCH_KUBECTL_LOG": str(log),
            **({"BENCH_KUBECTL_LIVE": str(cluster)} if cluster else {}),
        }
        res = subprocess.run(
            [str(stub), *argv], input=stdin, capture_output=True, text=True, env=env, check=True
        )
        return res.stdout

    kinds = "serviceentries.networking.istio.io,virtualservices.networking.istio.io"
    assert run("config", "current-context").strip() == "bench"
    assert json.loads(run("--context=bench", "get", "--output=json", "--", kinds))["items"] == []
    assert json.loads(run("get", "--output=json", "--", kinds, cluster=live))["items"] == [se]
    assert run("get", "--output=json", "--ignore-not-found", "--", "configmap", "istio") == ""
    assert json.loads(run("get", "--output=json", "--", "configmap", "istio", cluster=live)) == cm
    applied = run("apply", "--filename=-", "--dry-run=server", stdin="kind: A\n---\nkind: B\n")
    assert applied.splitlines() == [
        "a configured (server dry run)",
        "b configured (server dry run)",
    ]
    assert len(log.read_text().splitlines()) == 6
