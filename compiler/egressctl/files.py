"""Reading input files only when they are regular files, never more than a bound; writing
output files so that a reader never sees half of one."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

_CHUNK = 1 << 20


class NotRegularFile(OSError):
    """A device, FIFO or socket where a file was expected: reading it could block forever
    (a FIFO) or never end (``/dev/zero``)."""


class FileTooLarge(OSError):
    """More bytes than the limit; counted as read, not as ``st_size`` claims."""


def _kind(mode: int) -> str:
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a file"


def _check(path: Path, st: os.stat_result, limit: int) -> None:
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, "is a folder", str(path))
    if not stat.S_ISREG(st.st_mode):
        raise NotRegularFile(errno.EINVAL, f"not a regular file ({_kind(st.st_mode)})", str(path))
    if st.st_size > limit:
        raise FileTooLarge(errno.EFBIG, too_large(st.st_size, limit), str(path))


def too_large(size: int, limit: int, at_least: bool = False) -> str:
    return f"file is {'over ' if at_least else ''}{size:,} bytes; the limit is {limit:,}"


def check_regular(path: Path, limit: int) -> None:
    """Raise unless ``path`` (symlinks followed) is a regular file of at most ``limit``
    bytes: FileNotFoundError, IsADirectoryError, NotRegularFile, FileTooLarge, OSError."""
    _check(path, path.stat(), limit)


def read_bounded(path: Path, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes.  Never blocks on a FIFO
    (checked before opening, and opened non-blocking in case it was swapped since), never
    reads more than ``limit + 1`` bytes whatever the size reported."""
    check_regular(path, limit)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        _check(path, os.fstat(fd), limit)
        chunks: list[bytes] = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, _CHUNK))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:
        raise FileTooLarge(errno.EFBIG, too_large(limit, limit, at_least=True), str(path))
    return data


def line_col(text: str | bytes, at: int) -> tuple[int, int]:
    """The 1-based line and column of offset ``at``, lines ending at "\n"."""
    if isinstance(text, bytes):
        return text.count(b"\n", 0, at) + 1, at - text.rfind(b"\n", 0, at)
    return text.count("\n", 0, at) + 1, at - text.rfind("\n", 0, at)


def utf8_problem(data: bytes) -> str | None:
    """None for UTF-8 text, else where the first bad byte is (1-based line and column)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = line_col(data, exc.start)
        return f"not UTF-8 text (line {line}, column {col})"
    return None


def yaml_problem(exc: BaseException) -> str:
    """One line for a YAML reader's error: the problem, and where (1-based)."""
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or exc
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    text = " ".join(str(problem).split())
    return f"{text} (line {mark.line + 1}, column {mark.column + 1})" if mark else text


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_all_atomic(folder: Path, files: dict[str, str]) -> list[Path]:
    """Write several files into ``folder``; each one appears whole or not at all."""
    written = []
    for name, text in files.items():
        target = folder / name
        write_atomic(target, text)
        written.append(target)
    return written


def write_problem(path: Path, exc: OSError) -> str:
    """Why ``path`` could not be written, in one line: names the file in the way when a
    parent folder is a file."""
    for parent in path.parents:
        if parent.is_dir():
            break
        if parent.exists():
            return f"cannot write {path}: {parent} is not a folder"
    return f"cannot write {path}: {exc.strerror or exc}"
