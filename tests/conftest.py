"""Shared fixtures: real helm binaries, a recording kubectl on a narrowed PATH, the CLI."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from egressctl.charts.helm import helm_version
from egressctl.cli import app

REPO = Path(__file__).resolve().parents[1]
CHART = REPO / "chart"
MINI_ISTIO = REPO / "tests" / "charts" / "istiod"
LEGACY_ISTIO = REPO / "tests" / "charts" / "istio-legacy"
CRDS = REPO.parent / "shared" / "istio-crds" / "crd-all.gen-1.28.0.yaml"


# ---------------------------------------------------------------------------
# helm: the suite renders with helm 3 and helm 4, both real binaries


def _helm_binaries() -> list[str]:
    listed = os.environ.get("EGRESSCTL_TEST_HELMS", "")
    if listed:
        return [p for p in listed.split(os.pathsep) if p]
    return sorted(str(p) for p in (REPO / ".tools").glob("helm-*/helm"))


HELMS = _helm_binaries()


@pytest.fixture(scope="session")
def helm_majors() -> dict[int, str]:
    """Every configured helm, by major version; both 3 and 4 must be present."""
    found: dict[int, str] = {}
    for path in HELMS:
        if not Path(path).is_file():
            pytest.fail(f"helm binary {path} is missing: run `make setup`")
        found[helm_version(path)[0]] = path
    missing = {3, 4} - set(found)
    if missing:
        pytest.fail(f"no helm {sorted(missing)} configured (have {HELMS}): run `make setup`")
    return found


@pytest.fixture(params=[3, 4], ids=["helm3", "helm4"])
def helm(
    request: pytest.FixtureRequest, helm_majors: dict[int, str], monkeypatch: pytest.MonkeyPatch
) -> str:
    """One real helm binary (each test runs with helm 3 and with helm 4); egressctl is
    pointed at it through EGRESSCTL_HELM."""
    path = helm_majors[request.param]
    monkeypatch.setenv("EGRESSCTL_HELM", path)
    return path


# ---------------------------------------------------------------------------
# The CLI through its real entry point


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def cli() -> Any:
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> CliResult:
        res = runner.invoke(app, list(args), input=input, catch_exceptions=False)
        return CliResult(res.exit_code, res.stdout, res.stderr)

    return invoke


def entry_point(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed entry point in a real process: where a traceback would show (under
    CliRunner an exception propagates into the test instead)."""
    return subprocess.run(
        [sys.executable, "-m", "egressctl", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
    )


_FINDING = re.compile(r".*: .*\[[a-z0-9-]+\]")
_SUMMARY = re.compile(
    r"(\d+) errors?(?:, \d+ warnings?)? in the input; nothing was written or applied"
)


def invalid_input_report(stderr: str) -> list[str]:
    """The finding lines (``file:line:col: key: message [code]``) of egressctl's report
    of invalid input, checked to end with its one-line summary, whose error count is the
    number of error lines."""
    *body, last = stderr.splitlines() or [""]
    summary = _SUMMARY.fullmatch(last)
    assert summary is not None, stderr
    findings = [line for line in body if _FINDING.fullmatch(line)]
    errors = [line for line in findings if "warning: " not in line]
    assert len(errors) == int(summary.group(1)), stderr
    return findings


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project folder with values/, as the working directory."""
    (tmp_path / "values").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


SEED = """\
policy: REGISTRY_ONLY
capture:
  include: [10.96.0.0/12, 10.244.0.0/16]
services:
  httpbin-ext:
    host: httpbin.org
    ports: [80/http]
  google:
    host: www.google.com
    ports: [443/https]
"""


# ---------------------------------------------------------------------------
# A recording kubectl on a narrowed PATH


class FakeKubectl:
    """The state file of tests/fakebin/kubectl.py: a tiny cluster, plus helpers."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.log = folder / "kubectl.log"
        self.state_file = folder / "kubectl-state.json"
        self.state: dict[str, Any] = {"context": "kind-dev", "objects": [], "fail": []}
        self.save()

    def load(self) -> None:
        self.state = json.loads(self.state_file.read_text(encoding="utf-8"))

    def save(self) -> None:
        self.state_file.write_text(json.dumps(self.state), encoding="utf-8")

    def add(self, obj: dict[str, Any]) -> None:
        self.load()
        self.state["objects"].append(obj)
        self.save()

    def objects(self, kind: str | None = None) -> list[dict[str, Any]]:
        self.load()
        return [o for o in self.state["objects"] if kind is None or o["kind"] == kind]

    def names(self, kind: str) -> list[str]:
        return sorted(o["metadata"]["name"] for o in self.objects(kind))

    def set_mesh_policy(
        self, mode: str | None, namespace: str = "istio-system", name: str = "istio"
    ) -> None:
        self.load()
        self.state["objects"] = [
            o
            for o in self.state["objects"]
            if not (o["kind"] == "ConfigMap" and o["metadata"]["name"] == name)
        ]
        self.save()
        if mode is not None:
            mesh = yaml.safe_dump({"outboundTrafficPolicy": {"mode": mode}})
            self.add(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": name, "namespace": namespace},
                    "data": {"mesh": mesh},
                }
            )

    def add_namespace(self, name: str, labels: dict[str, str]) -> None:
        self.add(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}
        )

    def add_workload(
        self,
        namespace: str,
        name: str,
        kind: str = "Deployment",
        pod_created: str = "2020-01-01T00:00:00Z",
        include: str = "*",
        annotations: dict[str, str] | None = None,
    ) -> None:
        """A workload and one injected pod whose istio-init captured ``include``."""
        self.add(
            {
                "apiVersion": "apps/v1",
                "kind": kind,
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"selector": {"matchLabels": {"app": name}}},
            }
        )
        self.add(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": f"{name}-0",
                    "namespace": namespace,
                    "labels": {"app": name},
                    "creationTimestamp": pod_created,
                    "annotations": {"sidecar.istio.io/status": "{}", **(annotations or {})},
                },
                "spec": {
                    "initContainers": [
                        {"name": "istio-init", "args": ["-p", "15001", "-i", include, "-x", ""]}
                    ]
                },
            }
        )

    def fail_on(
        self, *args: str, stdin: str = "", exit: int = 1, stderr: str = "", times: int | None = None
    ) -> None:
        self.load()
        rule: dict[str, Any] = {
            "args": list(args),
            "stdin": stdin,
            "exit": exit,
            "stderr": stderr or "error: injected failure",
        }
        if times is not None:
            rule["times"] = times
        self.state["fail"].append(rule)
        self.save()

    def clear_failures(self) -> None:
        self.load()
        self.state["fail"] = []
        self.save()

    def calls(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def verbs(self) -> list[str]:
        """The kubectl verb of every call, flags dropped (apply, get, delete…)."""
        out = []
        for c in self.calls():
            words = [
                a
                for i, a in enumerate(c["argv"])
                if not a.startswith("-")
                and not (
                    i
                    and c["argv"][i - 1]
                    in (
                        "--context",
                        "--namespace",
                        "--kubeconfig",
                        "--output",
                        "--selector",
                        "--filename",
                    )
                )
            ]
            out.append(" ".join(words[:2]))
        return out

    def applies(self) -> list[dict[str, Any]]:
        return [c for c in self.calls() if "apply" in c["argv"]]

    def deletes(self) -> list[list[str]]:
        return [c["argv"] for c in self.calls() if "delete" in c["argv"]]

    def get(self, kind: str, name: str, namespace: str = "istio-system") -> dict[str, Any] | None:
        """The live object, or None."""
        return next(
            (
                o
                for o in self.objects(kind)
                if o["metadata"]["name"] == name and o["metadata"].get("namespace") == namespace
            ),
            None,
        )


def flag(argv: list[str], name: str) -> str | None:
    """The value of ``name`` in a recorded argv, written ``--name=VALUE`` or ``--name VALUE``
    (before ``--``); None when absent."""
    words = argv[: argv.index("--")] if "--" in argv else argv
    for i, a in enumerate(words):
        if a.startswith(name + "="):
            return a[len(name) + 1 :]
        if a == name and i + 1 < len(words):
            return words[i + 1]
    return None


def owner_labels(env: str = "dev", namespace: str = "istio-system") -> dict[str, str]:
    """The labels chart/ puts on an object owned by environment ``env``."""
    return {
        "egressctl.io/owned": "true",
        "egressctl.io/environment": env,
        "egressctl.io/environment-namespace": namespace,
    }


@pytest.fixture
def helm4(helm_majors: dict[int, str], monkeypatch: pytest.MonkeyPatch) -> str:
    """The real helm 4 only: for tests about the cluster side, where the helm version
    does not matter (chart and render tests run with both)."""
    monkeypatch.setenv("EGRESSCTL_HELM", helm_majors[4])
    return helm_majors[4]


@pytest.fixture
def kubectl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, helm4: str) -> Iterator[FakeKubectl]:
    """PATH holds only the kubectl stand-in and the real helm 4."""
    fakebin = tmp_path / "fakebin"
    fakebin.mkdir()
    source = (REPO / "tests" / "fakebin" / "kubectl.py").read_text(encoding="utf-8")
    script = fakebin / "kubectl"
    script.write_text(f"#!{sys.executable}\n{source}", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    (fakebin / "helm").symlink_to(helm4)
    fake = FakeKubectl(tmp_path)
    monkeypatch.setenv("PATH", str(fakebin))
    monkeypatch.setenv("FAKE_KUBECTL_LOG", str(fake.log))
    monkeypatch.setenv("FAKE_KUBECTL_STATE", str(fake.state_file))
    # Never the user's own kubeconfig: every call must carry this one explicitly.
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
    yield fake


def load_all(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d]
