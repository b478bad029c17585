"""helm itself: finding the binary, its version, and the two commands egressctl runs with
it (`template`, `show chart`), each through :func:`egressctl.runners.run`.

No value read from a file can become a flag: helm gets ``--`` before its positional
arguments (RELEASE, CHART), and a flag's value is always the word after the flag."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from egressctl.charts.versions import parse_version
from egressctl.errors import ToolError
from egressctl.runners import run

MIN_HELM = (3, 8)


def find_helm() -> str:
    """``$EGRESSCTL_HELM``, else ``helm`` on PATH, else the one ``make setup`` put beside
    this Python (``.venv/bin/helm``)."""
    explicit = os.environ.get("EGRESSCTL_HELM")
    if explicit:
        return explicit
    on_path = shutil.which("helm")
    if on_path:
        return on_path
    beside = Path(sys.executable).parent / "helm"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    raise ToolError(
        "find helm",
        ["helm"],
        None,
        "helm is not on PATH: run `make setup` (it installs helm into .venv/bin), "
        "or set EGRESSCTL_HELM to a helm 3.8+ binary",
    )


@lru_cache(maxsize=8)
def helm_version(helm: str) -> tuple[int, int, int]:
    res = run([helm, "version", "--short"], step="check helm version")
    version = parse_version(res.stdout)
    if version is None or version[:2] < MIN_HELM:
        raise ToolError(
            "check helm version",
            res.argv,
            res.returncode,
            problem=f"helm {res.stdout.strip() or '?'} is too old: egressctl needs helm 3.8 "
            "or newer",
        )
    return version


def helm_template(
    release: str,
    chart: str | Path,
    *,
    namespace: str,
    values_text: str,
    values_files: Sequence[str | Path] = (),
    repo: str | None = None,
    version: str | None = None,
    step: str,
    helm: str | None = None,
) -> str:
    """``helm template --namespace NS [--repo R [--version V]] --values <team files>…
    --values <generated values> -- RELEASE CHART``: the generated values come last, so
    they win; ``--`` keeps RELEASE and CHART positional whatever they hold."""
    exe = helm or find_helm()
    helm_version(exe)
    with tempfile.TemporaryDirectory(prefix="egressctl-") as tmp:
        generated = Path(tmp) / "egressctl-values.yaml"
        generated.write_text(values_text, encoding="utf-8")
        argv: list[str | Path] = [exe, "template", "--namespace", namespace]
        argv += _repo_flags(repo, version)
        for f in values_files:
            argv += ["--values", f]
        argv += ["--values", generated, "--", release, chart]
        return run(argv, step=step).stdout


def helm_show_chart(
    chart: str,
    *,
    repo: str | None,
    version: str | None,
    step: str,
    helm: str | None = None,
) -> str:
    """``helm show chart [--repo R [--version V]] -- CHART``: the chart's Chart.yaml."""
    exe = helm or find_helm()
    argv: list[str | Path] = [exe, "show", "chart", *_repo_flags(repo, version), "--", chart]
    return run(argv, step=step).stdout


def _repo_flags(repo: str | None, version: str | None) -> list[str | Path]:
    """A flag's value is the next word whatever it starts with (pflag), so the separate
    form is as safe as ``--repo=R``, and it is what users see echoed."""
    if not repo:
        return []
    return ["--repo", repo, *(["--version", version] if version else [])]
