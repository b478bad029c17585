"""Shared fixtures: real helm binaries, a recording kubectl on a narrowed PATH, the CLI."""

from __future__ import annotations

import json
import os
import stat
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from egressctl.cli import app
from egressctl.runners import helm_version

REPO = Path(__file__).resolve().parents[1]
CHART = REPO / "chart"
MINI_ISTIO = REPO / "tests" / "charts" / "istiod-mini"
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
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.log = folder / "kubectl.log"
        self.state_file = folder / "kubectl-state.json"
        self.state: dict[str, Any] = {"context": "kind-dev", "configmaps": {}, "fail": []}
        self.save()

    def save(self) -> None:
        self.state_file.write_text(json.dumps(self.state), encoding="utf-8")

    def set_mesh_policy(
        self, mode: str | None, namespace: str = "istio-system", name: str = "istio"
    ) -> None:
        key = f"{namespace}/{name}"
        if mode is None:
            self.state["configmaps"].pop(key, None)
        else:
            mesh = yaml.safe_dump({"outboundTrafficPolicy": {"mode": mode}})
            self.state["configmaps"][key] = {"data": {"mesh": mesh}}
        self.save()

    def fail_on(self, *args: str, stdin: str = "", exit: int = 1, stderr: str = "") -> None:
        self.state["fail"].append(
            {
                "args": list(args),
                "stdin": stdin,
                "exit": exit,
                "stderr": stderr or "error: injected failure",
            }
        )
        self.save()

    def calls(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def applies(self) -> list[dict[str, Any]]:
        return [c for c in self.calls() if "apply" in c["argv"]]


@pytest.fixture
def kubectl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, helm: str) -> Iterator[FakeKubectl]:
    """PATH holds only the kubectl stand-in and the real helm under test."""
    fakebin = tmp_path / "fakebin"
    fakebin.mkdir()
    source = (REPO / "tests" / "fakebin" / "kubectl.py").read_text(encoding="utf-8")
    script = fakebin / "kubectl"
    script.write_text(f"#!{sys.executable}\n{source}", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    (fakebin / "helm").symlink_to(helm)
    fake = FakeKubectl(tmp_path)
    monkeypatch.setenv("PATH", str(fakebin))
    monkeypatch.setenv("FAKE_KUBECTL_LOG", str(fake.log))
    monkeypatch.setenv("FAKE_KUBECTL_STATE", str(fake.state_file))
    yield fake


def load_all(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d]
