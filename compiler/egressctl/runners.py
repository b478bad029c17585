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
from queue import Queue
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
    return _Running(argv, step=step, stdin=_chunks(stdin), env=env).wait(check=check)


def start(
    argv: Sequence[str | Path],
    *,
    step: str,
    open_stdin: bool = False,
    env: Mapping[str, str] | None = None,
) -> Started:
    """Start ``argv`` and return at once: :meth:`Started.wait` waits for it as
    :func:`run` would.  With ``open_stdin``, its stdin stays open until
    :meth:`Started.send` gives it (a process that starts up while its input is being
    computed).  Whoever starts a command stops it (:meth:`Started.stop`) on every path
    that does not wait for it."""
    return Started(argv, step=step, open_stdin=open_stdin, env=env)


class _Running:
    """One command running under ``sh``, in the background until :meth:`wait`."""

    def __init__(
        self,
        argv: Sequence[str | Path],
        *,
        step: str,
        stdin: list[str] | Queue[str | None] | None,
        env: Mapping[str, str] | None,
    ) -> None:
        import sh

        self.args = tuple(str(a) for a in argv)
        self.step = step
        log.info("$ %s", shlex.join(self.args))
        try:
            cmd = sh.Command(self.args[0])
        except sh.CommandNotFound:
            raise ToolError(step, self.args, None, f"{self.args[0]}: command not found") from None
        try:
            self.proc = cmd(
                *self.args[1:],
                _in=stdin,
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
            raise ToolError(step, self.args, None, str(exc)) from None

    def wait(self, *, check: bool = True) -> Result:
        import sh

        try:
            self.proc.wait()
        except sh.SignalException as exc:
            code = -exc.exit_code if exc.exit_code else None
            raise ToolError(self.step, self.args, code, _decode(exc.stderr)) from None
        except BaseException:  # Ctrl-C, SIGTERM: stop the command, then go on unwinding
            _stop(self.proc)
            raise
        p = self.proc
        result = Result(self.args, int(p.exit_code), _decode(p.stdout), _decode(p.stderr))
        if check and result.returncode != 0:
            raise ToolError(self.step, self.args, result.returncode, result.stderr or result.stdout)
        return result

    def stop(self) -> None:
        _stop(self.proc)


class Started:
    """A command started by :func:`start`."""

    def __init__(
        self,
        argv: Sequence[str | Path],
        *,
        step: str,
        open_stdin: bool,
        env: Mapping[str, str] | None,
    ) -> None:
        self._stdin: Queue[str | None] | None = Queue() if open_stdin else None
        self._running = _Running(argv, step=step, stdin=self._stdin, env=env)
        self._done = False

    @property
    def argv(self) -> tuple[str, ...]:
        return self._running.args

    def send(self, stdin: str) -> None:
        """Give the command its whole stdin, then end it (once; only with ``open_stdin``)."""
        if self._stdin is None:
            raise ValueError("send: this command was started without an open stdin")
        for chunk in _chunks(stdin) or ():
            self._stdin.put(chunk)
        self._stdin.put(None)
        self._stdin = None

    def wait(self, *, check: bool = True) -> Result:
        """Wait for the command (its stdin, if still open, is closed empty first); raise
        ToolError on a non-zero exit when ``check`` is set, as :func:`run`."""
        if self._stdin is not None:
            self._stdin.put(None)
            self._stdin = None
        try:
            return self._running.wait(check=check)
        finally:
            self._done = True

    def stop(self) -> None:
        """Stop the command unless it was waited for (SIGTERM, then SIGKILL)."""
        if not self._done:
            self._done = True
            if self._stdin is not None:
                self._stdin.put(None)
                self._stdin = None
            self._running.stop()


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
