"""The one way egressctl runs helm, kubectl and git: argv lists through ``sh``, never a shell.

Every command is logged (shell-quoted) before it runs; its exit code is checked here,
and a failure becomes a :class:`ToolError` that names the step, the argv, the exit code
and the tail of stderr.  Pipes are built in Python: the caller passes one command's
stdout as the next one's ``stdin``, so a failure says which stage broke.

No value read from a file can become a flag: helm gets ``--`` before its positional
arguments (:mod:`egressctl.charts.helm`); kubectl gets ``--context=VALUE``,
``--namespace=VALUE``, ``--kubeconfig=VALUE`` and ``--`` before its positional arguments
(:class:`egressctl.cluster.kube.Kube`).
When egressctl is interrupted (Ctrl-C, SIGTERM) while a command runs, the command is
stopped too.
"""

from __future__ import annotations

import logging
import os
import shlex
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from egressctl.errors import ToolError

log = logging.getLogger("egressctl")


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
            _in=_chunks(stdin),
            _out_bufsize=_CHUNK,  # not line by line: a 10,000-service render is 500,000
            _err_bufsize=_CHUNK,  # lines, and sh keeps at most 3 Mi chunks of output
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


_CHUNK = 1024 * 1024


def _chunks(stdin: str | None) -> list[str] | None:
    """``stdin`` in large pieces: sh writes a string 1 KiB at a time, an iterable piece
    by piece (13 MB of manifests: 1.8 s against 0.04 s)."""
    if stdin is None:
        return None
    return [stdin[i : i + _CHUNK] for i in range(0, len(stdin), _CHUNK)]


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
