"""The files an extra chart entry of an environment names (`istio.gateways[i]`,
`istio.charts[i]`): its chart, resolved against the environment file's folder and looked
up, and the team's values files, checked and read like the Istio chart's.  One place for
both kinds of entry; problems go to the caller's list, located at the entry's keys."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from egressctl.errors import KeyPath, Problem, error
from egressctl.inventory.model import TeamValues
from egressctl.inventory.pathcheck import looked_up

#: Why a file an environment names cannot be used (the loader's check), or None.
NamedFile = Callable[[Path, KeyPath, str, str], Problem | None]
#: One of the team's values files, read like the Istio chart's (None: holds nothing).
ReadValues = Callable[[Path], TeamValues | None]


def resolve_chart(
    chart: str,
    repo: str | None,
    *,
    folder: Path,
    at: KeyPath,
    what: str,
    hint: str,
    shown: str,
    problems: list[Problem],
) -> str:
    """The chart as helm gets it: its name in ``repo``, else the local folder or .tgz
    resolved against ``folder`` (one that cannot be found or read is a problem at
    ``at``.chart; ``what`` names the kind of chart, ``hint`` where such charts live)."""
    if repo is not None:
        return chart
    local = folder / chart
    why = looked_up(local)
    if why:
        problems.append(error("file-unreadable", (*at, "chart"), f"{what}: {why}", layer=shown))
    elif why == "":
        problems.append(
            error(
                "file-missing",
                (*at, "chart"),
                f"{what} {chart!r} not found (looked for {local.resolve()})",
                f"a local chart folder or .tgz, relative to this file ({hint}); or add `repo:`",
                layer=shown,
            )
        )
    return str(local.resolve())


def team_values(
    paths: Sequence[str],
    *,
    folder: Path,
    at: KeyPath,
    shown: str,
    problems: list[Problem],
    named_file: NamedFile,
    read_values: ReadValues,
) -> tuple[tuple[str, ...], tuple[TeamValues, ...]]:
    """The values files as helm gets them (absolute paths, in order) and those that
    could be read; a file that cannot be used is a problem at ``at``.values[j]."""
    values: list[str] = []
    team: list[TeamValues] = []
    for j, rel in enumerate(paths):
        p = folder / rel
        refused = named_file(p, (*at, "values", j), f"values file {rel!r}", shown)
        if refused is not None:
            problems.append(refused)
        else:
            read = read_values(p)
            if read is not None:
                team.append(read)
        values.append(str(p.resolve()))
    return tuple(values), tuple(team)
