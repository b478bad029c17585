"""Shared fixtures: real helm binaries, a recording kubectl on a narrowed PATH, the CLI."""

from __future__ import annotations

import base64
import contextlib
import functools
import http.server
import json
import os
import re
import shlex
import stat
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from egressctl.charts.helm import helm_version
from egressctl.cli import app
from egressctl.runners import run

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


def python_tool(path: Path, source: str) -> Path:
    """An executable ``path`` that runs Python ``source`` with this interpreter.  A
    `#!` line cannot hold a path with spaces (a checkout in `/tmp/fresh batch/…`), so
    ``path`` is a small sh script that execs this Python on ``source`` kept beside it."""
    code = path.parent / f".{path.name}.py"
    code.write_text(source, encoding="utf-8")
    path.write_text(
        f'#!/bin/sh\nexec {shlex.quote(sys.executable)} {shlex.quote(str(code))} "$@"\n',
        encoding="utf-8",
    )
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


@contextlib.contextmanager
def serve_chart_repo(tmp_path: Path, helm: str) -> Iterator[str]:
    """A real Helm chart repository holding the istiod stand-in, served on 127.0.0.1
    while the block runs; yields its URL."""
    repo = tmp_path / "repo"
    repo.mkdir()
    run([helm, "package", MINI_ISTIO, "--destination", repo], step="helm package")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(repo))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    run([helm, "repo", "index", repo, "--url", url], step="helm repo index")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()


def hostile_template_argv(generated: str) -> list[str]:
    """The argv (after the helm binary) of `helm template` for release
    ``--post-renderer=x``, chart ``-chart``, namespace ns, repo https://charts.example at
    1.2.3 and the team's file team.yaml: ``generated`` (the generated values) last, and
    ``--`` before the two positionals that look like flags."""
    return [
        "template",
        "--namespace",
        "ns",
        "--repo",
        "https://charts.example",
        "--version",
        "1.2.3",
        "--values",
        "team.yaml",
        "--values",
        generated,
        "--",
        "--post-renderer=x",
        "-chart",
    ]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


SEED = """\
policy: REGISTRY_ONLY
capture:
  include: [10.96.0.0/12, 10.244.0.0/16]
  acknowledge: {policy-bypassed-by-capture: the tests keep the classic narrowed capture}
services:
  httpbin-ext:
    host: httpbin.org
    ports: [80/http]
  google:
    host: www.google.com
    ports: [443/https]
"""

# ---------------------------------------------------------------------------
# Environment files

# The istio block of an environment that installs the mini istiod chart as release istiod.
MINI_ISTIO_BLOCK: Mapping[str, str | Path] = {"chart": MINI_ISTIO, "release": "istiod"}


class EnvFile:
    """Writes an environment file, values/<name>.yaml, and the inventory it lists.

    The environment file holds, in this order and each on its own line:
    ``inventory: [<inventory_file>]`` (unless ``list_inventory`` is false),
    ``context: <context>`` and ``namespace: <namespace>`` (each unless None), ``extra``
    verbatim, then an ``istio:`` block with one ``  key: value`` line per item of ``istio``
    (a list is written ``[a, b]``; a None value leaves its key out).  Values are written as
    given: quote them yourself where YAML needs it.  ``inventory`` is the text of
    values/<inventory_file>; None keeps the file that is there (or leaves it missing)."""

    def __init__(self, values: Path) -> None:
        self.values = values

    def __call__(
        self,
        name: str = "dev",
        *,
        inventory: str | None = SEED,
        inventory_file: str = "egress.yaml",
        list_inventory: bool = True,
        context: str | None = "kind-dev",
        namespace: str | None = None,
        extra: str = "",
        istio: Mapping[str, str | Path | list[str] | None] | None = None,
    ) -> Path:
        if inventory is not None:
            write(self.values / inventory_file, inventory)
        lines = [f"inventory: [{inventory_file}]"] if list_inventory else []
        if context is not None:
            lines.append(f"context: {context}")
        if namespace is not None:
            lines.append(f"namespace: {namespace}")
        text = "".join(f"{line}\n" for line in lines) + extra
        if istio is not None:
            text += "istio:\n"
            for key, value in istio.items():
                if value is not None:
                    shown = f"[{', '.join(value)}]" if isinstance(value, list) else str(value)
                    text += f"  {key}: {shown}\n"
        return write(self.values / f"{name}.yaml", text)


@pytest.fixture
def env_file(project: Path) -> EnvFile:
    """``env_file(name="dev", *, inventory=SEED, context="kind-dev", namespace=None,
    extra="", istio=None, ...)`` writes values/<name>.yaml in ``project``; see EnvFile."""
    return EnvFile(project / "values")


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

    # --- Helm releases (tests/fakebin/helm.py keeps them in this cluster) -----------

    @property
    def helm_log(self) -> Path:
        return self.folder / "helm.log"

    def add_helm_release(
        self,
        name: str = "istiod",
        namespace: str = "istio-system",
        revision: int = 1,
        status: str = "deployed",
        manifest: str = "",
    ) -> None:
        """Helm's release Secrets of ``name`` up to ``revision`` (in ``status``; the
        earlier ones superseded), as `helm install` and upgrades leave them."""
        for n in range(1, revision + 1):
            body = {"manifest": manifest, "chart": "istiod", "description": "Install complete"}
            self.add(
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "type": "helm.sh/release.v1",
                    "metadata": {
                        "name": f"sh.helm.release.v1.{name}.v{n}",
                        "namespace": namespace,
                        "labels": {
                            "owner": "helm",
                            "name": name,
                            "status": status if n == revision else "superseded",
                            "version": str(n),
                        },
                    },
                    "data": {"release": base64.b64encode(json.dumps(body).encode()).decode()},
                }
            )

    def helm_revisions(
        self, name: str = "istiod", namespace: str = "istio-system"
    ) -> list[tuple[int, str]]:
        """(revision, status) of each of the release's Secrets, oldest first."""
        found = [
            o["metadata"]["labels"]
            for o in self.objects("Secret")
            if o["metadata"].get("namespace") == namespace
            and o["metadata"].get("labels", {}).get("owner") == "helm"
            and o["metadata"]["labels"].get("name") == name
        ]
        return sorted((int(labels["version"]), labels["status"]) for labels in found)

    def helm_fail_on(
        self, *args: str, exit: int = 1, stderr: str = "", times: int | None = None
    ) -> None:
        """The helm stand-in fails every call whose argv holds all of ``args``."""
        self.load()
        rule: dict[str, Any] = {
            "args": list(args),
            "exit": exit,
            "stderr": stderr or "Error: injected failure",
        }
        if times is not None:
            rule["times"] = times
        self.state.setdefault("helmFail", []).append(rule)
        self.save()

    def helm_calls(self) -> list[dict[str, Any]]:
        """Every helm call: {"argv", "at", "values": {path: text of each --values file}}."""
        if not self.helm_log.exists():
            return []
        return [json.loads(line) for line in self.helm_log.read_text().splitlines()]

    def helm_cluster_calls(self) -> list[list[str]]:
        """The argv of each helm call that acts on the cluster (upgrade, rollback, status,
        history, list), without the program name."""
        verbs = {"upgrade", "rollback", "status", "history", "list"}
        return [c["argv"] for c in self.helm_calls() if c["argv"] and c["argv"][0] in verbs]

    def timeline(self) -> list[tuple[str, list[str]]]:
        """Every kubectl and helm call in the order they ran: (tool, argv)."""
        calls = [(c["at"], "kubectl", c["argv"]) for c in self.calls()]
        calls += [(c["at"], "helm", c["argv"]) for c in self.helm_calls()]
        return [(tool, argv) for _, tool, argv in sorted(calls, key=lambda c: c[0])]


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
    """PATH holds only the kubectl stand-in and the helm stand-in (tests/fakebin/helm.py:
    the cluster-side verbs act on the same JSON-file cluster; `template`, `show` and
    `version` run the real helm 4, which $FAKE_HELM_REAL names)."""
    fakebin = tmp_path / "fakebin"
    fakebin.mkdir()
    for name in ("kubectl", "helm"):
        source = (REPO / "tests" / "fakebin" / f"{name}.py").read_text(encoding="utf-8")
        python_tool(fakebin / name, source)
    fake = FakeKubectl(tmp_path)
    monkeypatch.setenv("PATH", str(fakebin))
    monkeypatch.setenv("FAKE_KUBECTL_LOG", str(fake.log))
    monkeypatch.setenv("FAKE_KUBECTL_STATE", str(fake.state_file))
    monkeypatch.setenv("FAKE_HELM_LOG", str(fake.helm_log))
    monkeypatch.setenv("FAKE_HELM_REAL", helm4)
    monkeypatch.delenv("EGRESSCTL_HELM")  # egressctl finds the stand-in on PATH
    # Never the user's own kubeconfig: every call must carry this one explicitly.
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
    yield fake


def load_all(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d]
