"""One error family for egressctl, and the exit codes the CLI returns.

Every error a user can cause is an :class:`EgressError`; ``cli.py`` catches that family
in exactly one place.  Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import enum
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field

# A path into a YAML document: ("services", "google", "ports", 0).
KeyPath = tuple[str | int, ...]


class ExitCode(enum.IntEnum):
    """Named exit codes, tabled in the README."""

    OK = 0
    DIFFERENCES = 1  # `diff` found differences, like `kubectl diff`
    USAGE = 2  # wrong flags, wrong kube context, refused confirmation
    INVALID = 3  # the inventory or environment file is invalid
    TOOL_FAILED = 4  # helm or kubectl failed
    RECORD_FAILED = 5  # the deploy record could not be written
    INTERRUPTED = 130  # Ctrl-C
    TERMINATED = 143  # SIGTERM (128 + 15), handled like Ctrl-C


@dataclass(frozen=True, slots=True)
class Loc:
    """A position in a source file; line and column are 1-based (0: unknown)."""

    file: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        if self.line <= 0:
            return self.file
        return f"{self.file}:{self.line}:{self.col}"


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"


class Anchor(str, enum.Enum):
    """Which position of a key path a problem points at."""

    VALUE = "value"  # the value at the path (the default)
    KEY = "key"  # the key itself (unknown keys)
    PARENT = "parent"  # the mapping that holds the path (missing keys)


def format_path(path: KeyPath) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


@dataclass(frozen=True, slots=True)
class Problem:
    """A finding before it is located: produced by pure code from key paths.

    ``layer`` says which input the path is relative to (None: the merged inventory; the
    loader finds the file that wrote the value)."""

    code: str
    severity: Severity
    path: KeyPath
    message: str
    hint: str = ""
    anchor: Anchor = Anchor.VALUE
    layer: str | None = None
    acknowledged: str | None = None  # the reason an `acknowledge:` entry gives


def error(
    code: str,
    path: KeyPath,
    message: str,
    hint: str = "",
    *,
    anchor: Anchor = Anchor.VALUE,
    layer: str | None = None,
) -> Problem:
    """An error at ``path``: the input cannot be compiled as written."""
    return Problem(code, Severity.ERROR, path, message, hint, anchor, layer)


def warning(
    code: str,
    path: KeyPath,
    message: str,
    hint: str = "",
    *,
    anchor: Anchor = Anchor.VALUE,
    layer: str | None = None,
) -> Problem:
    """A warning at ``path``: the input compiles, but probably not as meant."""
    return Problem(code, Severity.WARNING, path, message, hint, anchor, layer)


@dataclass(frozen=True, slots=True)
class Finding:
    """One located problem: where, which key, what is wrong, how to fix it."""

    code: str
    severity: Severity
    loc: Loc
    path: str
    message: str
    hint: str = ""
    acknowledged: str | None = None  # accepted with this reason (`acknowledge:`)

    def format(self) -> str:
        where = f"{self.loc}: " if self.loc.file else ""
        key = f"{self.path}: " if self.path else ""
        tag = "" if self.severity is Severity.ERROR else "warning: "
        text = f"{where}{key}{tag}{self.message} [{self.code}]"
        if self.acknowledged is not None:
            text += f"\n    acknowledged: {' '.join(self.acknowledged.split())}"
        elif self.hint:
            text += f"\n    hint: {self.hint}"
        return text


class EgressError(Exception):
    """Base of every error egressctl reports to the user without a traceback."""

    exit_code: ExitCode = ExitCode.USAGE

    def lines(self) -> list[str]:
        return [str(self)]


class Terminated(BaseException):
    """SIGTERM arrived.  Raised from the signal handler like KeyboardInterrupt (and, like
    it, not an Exception), so every ``finally`` and context manager on the way out runs:
    temporary files are removed and a running helm or kubectl is stopped."""


class UsageError(EgressError):
    """The command was asked for something it cannot do (wrong context, no --yes…)."""

    exit_code = ExitCode.USAGE


class VerificationError(EgressError):
    """The Istio render does not carry what was compiled (the environment's chart or
    values files are wrong for egressctl's purpose)."""

    exit_code = ExitCode.INVALID


class DestinationError(EgressError):
    """A destination given on the command line (`explain`) that is neither a host name,
    an IP address nor a URL."""

    exit_code = ExitCode.INVALID

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint

    def lines(self) -> list[str]:
        return [str(self), *([f"    hint: {self.hint}"] if self.hint else [])]


class RecordError(EgressError):
    """The deploy record (build/<env>/history/) could not be written: before the first
    apply nothing was applied; after it, the cluster changed and the record is missing."""

    exit_code = ExitCode.RECORD_FAILED


@dataclass(eq=False)
class InventoryError(EgressError):
    """The input files are invalid; carries every finding, not only the first."""

    findings: Sequence[Finding] = field(default_factory=list)
    exit_code = ExitCode.INVALID

    def __post_init__(self) -> None:
        super().__init__(self.summary())

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]

    def summary(self) -> str:
        n = len(self.errors)
        w = len(self.findings) - n
        warn = f", {w} warning{'s' if w != 1 else ''}" if w else ""
        return (
            f"{n} error{'s' if n != 1 else ''}{warn} in the input; nothing was written or applied"
        )

    def lines(self) -> list[str]:
        return [f.format() for f in self.findings] + [self.summary()]


@dataclass(eq=False)
class ToolError(EgressError):
    """helm or kubectl failed, could not be started, or ran and gave what egressctl
    cannot use (``problem``: printed no JSON, an object never appeared, too old…)."""

    step: str
    argv: Sequence[str]
    returncode: int | None  # None: the command could not be started
    stderr: str = ""
    problem: str = ""
    exit_code = ExitCode.TOOL_FAILED

    def __post_init__(self) -> None:
        super().__init__(self._message())

    def _message(self) -> str:
        cmd = shlex.join(str(a) for a in self.argv)
        if self.problem:
            code = f" (exit code {self.returncode})" if self.returncode else ""
            head = f"{self.step}: `{cmd}` ran{code}, but {self.problem}"
        elif self.returncode is None:
            head = f"{self.step}: could not run `{cmd}`"
        else:
            head = f"{self.step}: `{cmd}` failed with exit code {self.returncode}"
        tail = _tail(self.stderr)
        return f"{head}\n{tail}" if tail else head


def _tail(text: str, lines: int = 20) -> str:
    rows = [r for r in text.strip().splitlines() if r.strip()]
    if len(rows) > lines:
        rows = ["…", *rows[-lines:]]
    return "\n".join(f"    {r}" for r in rows)
