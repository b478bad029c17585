"""The one way egressctl runs helm and kubectl: argv lists through ``sh``, never a shell.

Every command is logged (shell-quoted) before it runs; its exit code is checked here,
and a failure becomes a :class:`ToolError` that names the step, the argv, the exit code
and the tail of stderr.  Pipes are built in Python: the caller passes one command's
stdout as the next one's ``stdin``, so a failure says which stage broke.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import shutil
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

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
            _return_cmd=True,
            _tty_out=False,
            _decode_errors="replace",
            _env=dict(env) if env is not None else dict(os.environ),
        )
    except sh.SignalException as exc:
        code = -exc.exit_code if exc.exit_code else None
        raise ToolError(step, args, code, _decode(exc.stderr)) from None
    except OSError as exc:
        raise ToolError(step, args, None, str(exc)) from None
    result = Result(args, int(proc.exit_code), _decode(proc.stdout), _decode(proc.stderr))
    if check and result.returncode != 0:
        raise ToolError(step, args, result.returncode, result.stderr or result.stdout)
    return result


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
    """``helm template RELEASE CHART [--repo R [--version V]] -n NS -f <team files>…
    -f <generated values>``: the generated values come last, so they win."""
    exe = helm or find_helm()
    helm_version(exe)
    with tempfile.TemporaryDirectory(prefix="egressctl-") as tmp:
        generated = Path(tmp) / "egressctl-values.yaml"
        generated.write_text(values_text, encoding="utf-8")
        argv: list[str | Path] = [exe, "template", release, chart, "--namespace", namespace]
        if repo:
            argv += ["--repo", repo]
            if version:
                argv += ["--version", version]
        for f in values_files:
            argv += ["--values", f]
        argv += ["--values", generated]
        return run(argv, step=step).stdout


# ---------------------------------------------------------------------------
# kubectl


def kubectl(
    args: Sequence[str],
    *,
    step: str,
    context: str | None = None,
    namespace: str | None = None,
    stdin: str | None = None,
    check: bool = True,
) -> Result:
    """``kubectl [--context C] [--namespace N] ARGS…``; context and namespace explicit."""
    argv = ["kubectl"]
    if context:
        argv += ["--context", context]
    if namespace:
        argv += ["--namespace", namespace]
    return run([*argv, *args], step=step, stdin=stdin, check=check)
