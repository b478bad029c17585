"""The one way egressctl runs helm and kubectl: argv lists through ``sh``, never a shell.

Every command is logged (shell-quoted) before it runs; its exit code is checked here,
and a failure becomes a :class:`ToolError` that names the step, the argv, the exit code
and the tail of stderr.  Pipes are built in Python: the caller passes one command's
stdout as the next one's ``stdin``, so a failure says which stage broke.

No value read from a file can become a flag: helm gets ``--`` before its positional
arguments, kubectl gets ``--context=VALUE``, ``--namespace=VALUE``, ``--kubeconfig=VALUE``.
When egressctl is interrupted (Ctrl-C, SIGTERM) while a command runs, the command is
stopped too.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import shutil
import signal
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from egressctl.errors import ToolError

log = logging.getLogger("egressctl")

MIN_HELM = (3, 8)


@dataclass(frozen=True, slots=True)
class Result:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def run(
    argv: Sequence[str | Path],
    *,
    step: str,
    stdin: str | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> Result:
    """Run ``argv``; raise ToolError on a non-zero exit when ``check`` is set."""
    import sh

    args = tuple(str(a) for a in argv)
    log.info("$ %s", shlex.join(args))
    try:
        cmd = sh.Command(args[0])
    except sh.CommandNotFound:
        raise ToolError(step, args, None, f"{args[0]}: command not found") from None
    try:
        proc = cmd(
            *args[1:],
            _in=stdin,
            _ok_code=list(range(256)),
            _bg=True,
            _bg_exc=False,
            _tty_out=False,
            _decode_errors="replace",
            _env=dict(env) if env is not None else dict(os.environ),
        )
    except OSError as exc:
        raise ToolError(step, args, None, str(exc)) from None
    try:
        proc.wait()
    except sh.SignalException as exc:
        code = -exc.exit_code if exc.exit_code else None
        raise ToolError(step, args, code, _decode(exc.stderr)) from None
    except BaseException:  # Ctrl-C, SIGTERM: stop the command, then go on unwinding
        _stop(proc)
        raise
    result = Result(args, int(proc.exit_code), _decode(proc.stdout), _decode(proc.stderr))
    if check and result.returncode != 0:
        raise ToolError(step, args, result.returncode, result.stderr or result.stdout)
    return result


def _stop(proc: Any) -> None:
    """Stop a running command: SIGTERM, then SIGKILL if it is still there after 5 s."""
    import sh

    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            proc.signal(sig)
            proc.wait(timeout=5)
        except ProcessLookupError:
            return
        except sh.TimeoutException:
            continue
        except sh.ErrorReturnCode:
            return
        return


def _decode(data: bytes | str | None) -> str:
    if data is None:
        return ""
    if isinstance(data, bytes):
        return data.decode("utf-8", errors="replace")
    return data


# ---------------------------------------------------------------------------
# helm


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


_VERSION_RE = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")


def parse_helm_version(text: str) -> tuple[int, int, int] | None:
    m = _VERSION_RE.search(text)
    if not m:
        return None
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


@lru_cache(maxsize=8)
def helm_version(helm: str) -> tuple[int, int, int]:
    res = run([helm, "version", "--short"], step="check helm version")
    version = parse_helm_version(res.stdout)
    if version is None or version[:2] < MIN_HELM:
        raise ToolError(
            "check helm version",
            [helm, "version", "--short"],
            None,
            f"helm {res.stdout.strip() or '?'} is too old: egressctl needs helm 3.8 or newer",
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


# ---------------------------------------------------------------------------
# kubectl


def kubectl(
    args: Sequence[str],
    *,
    step: str,
    context: str | None = None,
    namespace: str | None = None,
    kubeconfig: str | None = None,
    stdin: str | None = None,
    check: bool = True,
) -> Result:
    """``kubectl [--context=C] [--namespace=N] [--kubeconfig=K] ARGS…``.  Each value is
    one word with its flag (``=``), so no value, whatever it holds, is read as a flag."""
    argv = ["kubectl"]
    if context:
        argv.append(f"--context={context}")
    if namespace:
        argv.append(f"--namespace={namespace}")
    if kubeconfig:
        argv.append(f"--kubeconfig={kubeconfig}")
    return run([*argv, *args], step=step, stdin=stdin, check=check)
