"""helm itself: finding the binary, its version, and the commands egressctl runs with it,
each through :func:`egressctl.runners.run`: `template` and `show chart` (rendering), and
for a Helm-managed Istio release `upgrade`, `rollback` and `history` (the cluster side).

No value read from a file can become a flag: helm gets ``--`` before its positional
arguments (RELEASE, CHART), and a flag's value is always the word after the flag."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from egressctl.charts.versions import parse_version
from egressctl.errors import ToolError
from egressctl.runners import Result, Started, run, start

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


VERSION_STEP = "check helm version"
# Each helm binary's version, checked once per process.
_VERSIONS: dict[str, tuple[int, int, int]] = {}


def helm_version(helm: str) -> tuple[int, int, int]:
    """``helm``'s version; a helm older than 3.8 is a ToolError."""
    if helm not in _VERSIONS:
        _VERSIONS[helm] = _checked_version(run([helm, "version", "--short"], step=VERSION_STEP))
    return _VERSIONS[helm]


def _checked_version(res: Result) -> tuple[int, int, int]:
    version = parse_version(res.stdout)
    if version is None or version[:2] < MIN_HELM:
        raise ToolError(
            VERSION_STEP,
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
        argv = _template_argv(
            exe, release, chart, namespace, values_files, repo, version, generated
        )
        return run(argv, step=step).stdout


def _template_argv(
    exe: str,
    release: str,
    chart: str | Path,
    namespace: str,
    values_files: Sequence[str | Path],
    repo: str | None,
    version: str | None,
    generated: str | Path,
) -> list[str | Path]:
    """``helm template --namespace NS [--repo R [--version V]] --values <team files>…
    --values GENERATED -- RELEASE CHART`` (GENERATED: a file, or ``-`` for stdin)."""
    argv: list[str | Path] = [exe, "template", "--namespace", namespace]
    argv += _repo_flags(repo, version)
    for f in values_files:
        argv += ["--values", f]
    return [*argv, "--values", generated, "--", release, chart]


class PendingTemplate:
    """``helm template … --values - -- RELEASE CHART`` started before its generated values
    exist (#12): helm starts up, reads the team's values files and finds the chart while
    egressctl compiles; :meth:`send` gives it the generated values on its stdin (they
    come last, so they win, as with :func:`helm_template`), :meth:`output` waits for the
    manifests.  The version check (`helm version`) runs beside it and is read first: a
    helm too old is refused before its render is looked at.  :meth:`stop` stops both,
    on every path that does not reach :meth:`output`.  Without ``version_beside`` the
    version is checked when the output is asked for, unless it is known by then (two
    renders started together run one `helm version`)."""

    def __init__(
        self,
        release: str,
        chart: str | Path,
        *,
        namespace: str,
        values_files: Sequence[str | Path] = (),
        repo: str | None = None,
        version: str | None = None,
        step: str,
        helm: str | None = None,
        version_beside: bool = True,
    ) -> None:
        exe = helm or find_helm()
        self._exe = exe
        self._version: Started | None = None
        if version_beside and exe not in _VERSIONS:
            self._version = start([exe, "version", "--short"], step=VERSION_STEP)
        argv = _template_argv(exe, release, chart, namespace, values_files, repo, version, "-")
        try:
            self._render = start(argv, step=step, open_stdin=True)
        except BaseException:
            self.stop()
            raise

    def send(self, values_text: str) -> None:
        """The generated values: helm renders once it has them all."""
        self._render.send(values_text)

    def output(self) -> str:
        """The rendered manifests (helm's version checked first)."""
        if self._version is not None:
            running, self._version = self._version, None
            try:
                _VERSIONS[self._exe] = _checked_version(running.wait())
            except BaseException:
                self._render.stop()
                raise
        elif self._exe not in _VERSIONS:
            try:
                helm_version(self._exe)
            except BaseException:
                self._render.stop()
                raise
        return self._render.wait().stdout

    def stop(self) -> None:
        if self._version is not None:
            self._version.stop()
            self._version = None
        if hasattr(self, "_render"):
            self._render.stop()


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


# ---------------------------------------------------------------------------
# The cluster side: the team's Helm release of the Istio chart

#: `helm upgrade --dry-run=server` (an optional-value flag since helm 3.13; before, a bool).
SERVER_DRY_RUN = (3, 13)


@dataclass(frozen=True, slots=True)
class HelmTarget:
    """Where a cluster-side helm command acts: the release's namespace, and the kube
    context and kubeconfig (None: helm's own default)."""

    namespace: str
    kube_context: str | None = None
    kubeconfig: str | None = None

    def flags(self) -> list[str | Path]:
        out: list[str | Path] = ["--namespace", self.namespace]
        if self.kube_context:
            out += ["--kube-context", self.kube_context]
        if self.kubeconfig:
            out += ["--kubeconfig", self.kubeconfig]
        return out


@dataclass(frozen=True, slots=True)
class HelmRevision:
    """One revision of a release, as `helm history --output json` lists it."""

    revision: int
    status: str


def helm_upgrade(
    release: str,
    chart: str | Path,
    *,
    target: HelmTarget,
    values_text: str,
    values_files: Sequence[str | Path] = (),
    repo: str | None = None,
    version: str | None = None,
    dry_run: bool,
    step: str,
    helm: str | None = None,
) -> Result:
    """``helm upgrade --namespace NS [--kube-context C] [--kubeconfig K] [--repo R
    [--version V]] --values <team files>… --values <generated values> [--dry-run=server]
    -- RELEASE CHART``: the same values, in the same order, as the render that was
    checked; helm's default (values given: the chart's defaults and these files, nothing
    reused from the release) makes the release hold exactly that render."""
    exe = helm or find_helm()
    found = helm_version(exe)
    if dry_run and found[:2] < SERVER_DRY_RUN:
        raise ToolError(
            step,
            [exe, "upgrade", "--dry-run=server"],
            None,
            problem=f"helm {'.'.join(map(str, found))} cannot dry-run an upgrade on the "
            "server (helm 3.13 or newer can): use a newer helm, or `egressctl diff`",
        )
    with tempfile.TemporaryDirectory(prefix="egressctl-") as tmp:
        generated = Path(tmp) / "egressctl-istio-values.yaml"
        generated.write_text(values_text, encoding="utf-8")
        argv: list[str | Path] = [exe, "upgrade", *target.flags(), *_repo_flags(repo, version)]
        for f in values_files:
            argv += ["--values", f]
        argv += ["--values", generated]
        if dry_run:
            argv.append("--dry-run=server")
        argv += ["--", release, chart]
        return run(argv, step=step)


def helm_rollback(
    release: str,
    revision: int,
    *,
    target: HelmTarget,
    dry_run: bool,
    step: str,
    helm: str | None = None,
) -> Result:
    """``helm rollback --namespace NS [--kube-context C] [--kubeconfig K] [--dry-run…] --
    RELEASE REVISION``: a new revision of the release with REVISION's manifest and values.
    helm 4 dry-runs on the server (``--dry-run=server``); helm 3's ``--dry-run`` is a
    switch."""
    exe = helm or find_helm()
    dry: list[str | Path] = []
    if dry_run:
        dry = ["--dry-run=server"] if helm_version(exe)[0] >= 4 else ["--dry-run"]
    argv: list[str | Path] = [exe, "rollback", *target.flags(), *dry]
    return run([*argv, "--", release, str(revision)], step=step)


def helm_history(
    release: str, *, target: HelmTarget, step: str, last: int = 1, helm: str | None = None
) -> list[HelmRevision]:
    """The ``last`` revisions of a release, oldest first: ``helm history --namespace NS
    [--kube-context C] [--kubeconfig K] --max N --output json -- RELEASE``."""
    exe = helm or find_helm()
    argv = [exe, "history", *target.flags(), "--max", str(last), "--output", "json"]
    res = run([*argv, "--", release], step=step)
    try:
        doc: object = json.loads(res.stdout)
    except ValueError as exc:
        raise ToolError(
            step, res.argv, res.returncode, problem=f"it printed no JSON ({exc})"
        ) from None
    rows = doc if isinstance(doc, list) else []
    out = [
        HelmRevision(r["revision"], str(r.get("status", "")))
        for r in rows
        if isinstance(r, dict) and type(r.get("revision")) is int
    ]
    if not out:
        raise ToolError(
            step, res.argv, res.returncode, problem="it listed no revision of the release"
        )
    return out
