"""`egressctl init [DIR]`: a team's own egress repository (:mod:`egressctl.scaffold`).

Nothing is ever overwritten: every target is checked before the first file is written,
each file is created exclusively, and a write that fails removes what this run wrote.
"""

from __future__ import annotations

import contextlib
import os
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from egressctl import scaffold
from egressctl.cli import output
from egressctl.cli.app import app
from egressctl.cli.output import err
from egressctl.errors import UsageError
from egressctl.files import write_problem

_NOTHING_WRITTEN = "nothing was written"


@app.command()
def init(
    directory: Annotated[
        Path,
        typer.Argument(
            metavar="DIR", help="The repository's folder (created when missing).", show_default=True
        ),
    ] = Path(),
) -> None:
    """Write a team's egress repository: values/ (an inventory, dev and prod), schemas/,
    a Makefile (check, render, diff, deploy), a .gitignore and a CI script.  Refuses to
    overwrite any file."""
    output.use("init")
    files = scaffold.team_files(scaffold.example_values())
    _refuse_what_is_in_the_way(directory, files)
    for path in _write_all(directory, files):
        err(f"wrote {path}")
    where = "" if directory == Path() else f"cd {shlex.quote(str(directory))}; "
    err(
        f"next: {where}set each environment's kube context in values/dev.yaml and "
        "values/prod.yaml, list your external services in values/egress.yaml, then run "
        "`make check` (see the Makefile)"
    )


def _not_a_folder(path: Path) -> Path | None:
    """``path`` or the first of its ancestors that exists and is not a folder."""
    for candidate in (*reversed(path.parents), path):
        if os.path.lexists(candidate) and not candidate.is_dir():
            return candidate
    return None


def _refuse_what_is_in_the_way(directory: Path, files: Sequence[scaffold.TeamFile]) -> None:
    blocker = _not_a_folder(directory)
    if blocker is not None:
        raise UsageError(f"cannot init {directory}: {blocker} is not a folder; {_NOTHING_WRITTEN}")
    in_the_way: dict[str, str] = {}
    for f in files:
        target = directory / f.path
        folder = _not_a_folder(target.parent)
        if folder is not None:
            in_the_way[str(folder)] = f"{folder} is not a folder"
        elif os.path.lexists(target):  # a dangling symlink is in the way too
            in_the_way[str(target)] = f"{target} exists"
    if in_the_way:
        listed = "\n".join(f"    {in_the_way[k]}" for k in sorted(in_the_way))
        raise UsageError(
            f"egressctl init overwrites no file; these are in the way, {_NOTHING_WRITTEN}:\n"
            f"{listed}"
        )


def _write_all(directory: Path, files: Sequence[scaffold.TeamFile]) -> list[Path]:
    """Create every file (and missing folder); on a failure, remove what was created."""
    folders: list[Path] = []
    written: list[Path] = []
    target = directory
    try:
        for f in files:
            target = directory / f.path
            _make_folders(target.parent, folders)
            _create(target, f)
            written.append(target)
    except OSError as exc:
        for path in reversed(written):
            with contextlib.suppress(OSError):
                path.unlink()
        for folder in reversed(folders):
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise UsageError(f"{write_problem(target, exc)}; {_NOTHING_WRITTEN}") from None
    return written


def _make_folders(folder: Path, made: list[Path]) -> None:
    """Create ``folder`` and its missing ancestors, recording each one created."""
    missing = []
    while not os.path.lexists(folder):
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        path.mkdir()
        made.append(path)


def _create(path: Path, f: scaffold.TeamFile) -> None:
    """Write a new file; an existing one (even one that appeared since the check) is an
    error, never overwritten.  A file that fails half-way is removed."""
    mode = 0o777 if f.executable else 0o666  # less the umask, as any new file
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(f.text)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
