"""`egressctl explain`: what happens to traffic that leaves a pod for a destination."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from egressctl import pipeline
from egressctl.cli import output
from egressctl.cli.app import app
from egressctl.cli.output import Output
from egressctl.errors import DestinationError, ExitCode, UsageError
from egressctl.rules.effective import Answer, Verdict


@app.command()
def explain(
    destination: Annotated[
        str | None,
        typer.Argument(
            help="A host, an IP, host:PORT or a URL (https://api.stripe.com/v1 means "
            "api.stripe.com on 443). Leave out with --all."
        ),
    ] = None,
    files: Annotated[
        list[Path] | None, typer.Argument(help="Inventory files (instead of --env).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="The port (wins over the URL's).")] = None,
    env: Annotated[str | None, typer.Option("--env", "-e", help="Explain an environment.")] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Every entry's verdict, and everything else.")
    ] = False,
    output_: Annotated[
        Output, typer.Option("--output", help="human or json (on stdout).")
    ] = Output.human,
    from_: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="As pods of this namespace see it: NAMESPACE, or NAMESPACE/key=value,… "
            "(their labels pick a workload allowlist).",
        ),
    ] = None,
) -> None:
    """The effective policy for one destination (exit 0: the connection leaves for it as
    dialled; 1: blocked, or sent elsewhere by another entry's port-wide listener), or
    with --all for every entry."""
    output.use("explain", output_)
    if all_:
        if destination is not None:  # `explain --all FILE…`: the argument is a file
            files = [Path(destination), *(files or [])]
        destination = None
    elif destination is None:
        raise UsageError("give a DESTINATION, or --all for every entry")
    if bool(files) == bool(env):
        raise UsageError("give inventory files or --env, not both and not neither")
    if port is not None and not 1 <= port <= 65535:
        raise DestinationError(f"--port {port}: a port is 1..65535")
    done = pipeline.explain(destination, port, env=env, paths=list(files or []), source=from_)
    output.show_warnings(done.findings)
    if output_ is Output.json:
        data = [_json(a, done) for a in done.answers]
        typer.echo(output.envelope("explain", True, data if all_ else data[0], done.findings))
    elif all_:
        for line in _table(done):
            typer.echo(line)
    else:
        for line in _one(done.answers[0], done):
            typer.echo(line)
    if not all_ and not _leaves(done.answers[0]):
        raise typer.Exit(int(ExitCode.DIFFERENCES))


def _leaves(a: Answer) -> bool:
    """Whether the connection leaves for the destination as dialled: not when blocked,
    nor when another entry's port-wide listener sends it to that entry's host."""
    if a.verdict is Verdict.BLOCKED:
        return False
    return a.verdict is not Verdict.CATCH_ALL or a.reaches


def _where(a: Answer, done: pipeline.Explained) -> str:
    loc = done.entries.get(a.entry or "")
    return f"{a.entry} ({loc})" if loc is not None else str(a.entry)


def _json(a: Answer, done: pipeline.Explained) -> dict[str, object]:
    doc = a.as_json()
    loc = done.entries.get(a.entry or "")
    doc["entryLocation"] = (
        None if loc is None else {"file": loc.file, "line": loc.line, "column": loc.col}
    )
    return doc


def _one(a: Answer, done: pipeline.Explained) -> list[str]:
    port = f":{a.port}" if a.port is not None else ""
    lines = [f"{a.destination}{port}: {a.verdict.value}"]
    if a.entry is not None:
        lines.append(f"  entry    {_where(a, done)}")
    if a.objects:
        shown = ", ".join(f"{o.kind} {o.namespace}/{o.name}" for o in a.objects)
        lines.append(f"  objects  {shown}")
    if a.capture_range:
        lines.append(f"  capture  {a.capture_range}")
    if a.listener:
        lines.append(f"  listener {a.listener}")
    if a.path:
        lines.append(f"  path     {a.path}")
    lines.append(f"  why      {a.reason}")
    if a.closest:
        lines.append(f"  closest  {', '.join(a.closest)}")
    return lines


def _table(done: pipeline.Explained) -> list[str]:
    rows = [("DESTINATION", "PORT", "VERDICT", "ENTRY", "WHY")]
    for a in done.answers:
        port = "*" if a.port is None else str(a.port)
        rows.append((a.destination, port, a.verdict.value, a.entry or "-", a.reason))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return ["  ".join(r[i].ljust(widths[i]) for i in range(4)) + "  " + r[4] for r in rows]
