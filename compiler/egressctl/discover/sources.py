"""Access-log files (and stdin) read line by line into observations.

Streaming: one line at a time, each at most :data:`MAX_LINE` bytes (a longer one is
counted malformed and skipped to its end), decoded as UTF-8 with bad bytes replaced.
A file may be a regular file or a pipe (``<(kubectl logs …)``); a folder, a device or a
file that is not there is an input error (exit 3) naming the file.
"""

from __future__ import annotations

import stat
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from egressctl.discover.observations import Observations
from egressctl.errors import Finding, InventoryError, Loc, Severity

MAX_LINE = 64 * 1024
STDIN = "-"


def lines_of(stream: BinaryIO, counter: Observations | None = None) -> Iterator[str]:
    """The lines of ``stream`` without their line ends; an over-long line is skipped
    (and counted malformed in ``counter``)."""
    while True:
        raw = stream.readline(MAX_LINE + 1)
        if not raw:
            return
        if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):  # skip the rest of it
                raw = stream.readline(MAX_LINE + 1)
            if counter is not None:
                counter.counts.lines += 1
                counter.counts.malformed += 1
            continue
        yield raw.decode("utf-8", errors="replace").rstrip("\r\n")


def _refuse(code: str, name: str, message: str) -> InventoryError:
    return InventoryError([Finding(code, Severity.ERROR, Loc(name), "", message)])


def _check(path: Path, name: str) -> None:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise _refuse(
            "file-missing", name, f"access-log file not found (looked for {path.resolve()})"
        ) from None
    except OSError as exc:
        raise _refuse("file-unreadable", name, f"cannot read file: {exc.strerror}") from None
    if stat.S_ISDIR(mode):
        raise _refuse("file-missing", name, "is a folder, not an access-log file")
    if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
        raise _refuse("file-not-regular", name, "not a regular file or a pipe")


def read_files(obs: Observations, names: Sequence[str], stdin: BinaryIO | None = None) -> None:
    """Every file of ``names`` (``-``: stdin) into ``obs``.  Every file is checked
    before any is read."""
    for name in names:
        if name != STDIN:
            _check(Path(name), name)
    for name in names:
        if name == STDIN:
            stream = stdin if stdin is not None else sys.stdin.buffer
            obs.feed_lines(lines_of(stream, obs))
            continue
        try:
            with Path(name).open("rb") as fh:
                obs.feed_lines(lines_of(fh, obs))
        except OSError as exc:
            raise _refuse(
                "file-unreadable", name, f"cannot read file: {exc.strerror or exc}"
            ) from None


@dataclass(frozen=True, slots=True)
class TrafficSources:
    """Where `discover` and `readiness` read traffic from (any combination)."""

    files: tuple[str, ...] = ()  # access-log files; "-": stdin
    cluster: bool = False  # kubectl logs of the environment's injected pods
    since: str = "1h"
    max_pods: int = 50
    prometheus: str | None = None  # the Prometheus server's base URL

    @property
    def empty(self) -> bool:
        return not self.files and not self.cluster and self.prometheus is None
