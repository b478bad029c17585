"""`egressctl compile`: inventory files or an environment → the generated values: chart/'s,
or (``--istio``) the Istio chart's."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from egressctl import pipeline
from egressctl.cli.app import app
from egressctl.cli.output import err, show_warnings
from egressctl.errors import UsageError
from egressctl.files import write_atomic, write_problem


@app.command("compile")
def compile_(
    inventory: Annotated[
        list[Path] | None,
        typer.Argument(help="Inventory files; later ones win (maps merge, null removes)."),
    ] = None,
    env: Annotated[
        str | None,
        typer.Option("--env", "-e", help="Compile an environment (its inventory + overrides)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write here (atomically) instead of stdout."),
    ] = None,
    istio: Annotated[
        bool,
        typer.Option(
            "--istio",
            help="The Istio chart's values (policy and capture ranges) instead of chart/'s.",
        ),
    ] = False,
) -> None:
    """Compile inventory files into Helm values: chart/'s (its objects), or with --istio
    the Istio chart's (the mesh policy and capture ranges, nothing else)."""
    if bool(inventory) == bool(env):
        raise UsageError("give inventory files or --env, not both and not neither")
    if env:
        environment, findings = pipeline.load_environment(env)
        show_warnings(findings)
        compiled = pipeline.compile_environment(environment)
    else:
        inv, findings = pipeline.load_inventory(list(inventory or []))
        show_warnings(findings)
        compiled = pipeline.compile_inventory(inv)
    text = compiled.istio_values_text if istio else compiled.values_text
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        write_atomic(out, text)
    except OSError as exc:
        raise UsageError(write_problem(out, exc)) from None
    err(f"wrote {out}")
