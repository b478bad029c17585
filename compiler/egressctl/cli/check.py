"""`egressctl check`: every finding of inventory files or an environment, grouped by
file; with `--crds`, of the rendered objects too."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from egressctl import pipeline
from egressctl.cli import output
from egressctl.cli.app import app
from egressctl.cli.output import Output
from egressctl.errors import ExitCode, InventoryError, Severity, UsageError


@app.command()
def check(
    inventory: Annotated[list[Path] | None, typer.Argument(help="Inventory files.")] = None,
    env: Annotated[str | None, typer.Option("--env", "-e", help="Check an environment.")] = None,
    strict: Annotated[bool, typer.Option(help="Treat warnings as errors.")] = False,
    crds: Annotated[
        str | None,
        typer.Option(
            help="Also render and check every Istio object against a CRD file "
            "(e.g. your release's crd-all.gen.yaml), or `cluster` to read the CRDs "
            "from the environment's cluster (its context and kubeconfig; the current "
            "context for inventory files).",
        ),
    ] = None,
    output_: Annotated[
        Output, typer.Option("--output", help="human or json (on stdout).")
    ] = Output.human,
) -> None:
    """Validate inventory or environment files; print every finding, grouped by file."""
    output.use("check", output_)
    if bool(inventory) == bool(env):
        raise UsageError("give inventory files or --env, not both and not neither")
    try:
        if env:
            findings = pipeline.check_environment(env, crds, note=output.err)
        else:
            findings = pipeline.check_inventory(list(inventory or []), crds, note=output.err)
    except InventoryError as exc:
        findings = list(exc.findings)
    if strict:  # warnings count as errors, except those the team acknowledged
        findings = [
            f if f.acknowledged is not None else replace(f, severity=Severity.ERROR)
            for f in findings
        ]
    errors = sum(1 for f in findings if f.severity is Severity.ERROR)
    if output_ is Output.json:
        typer.echo(output.envelope("check", errors == 0, output.counts(findings), findings))
    else:
        for line in output.grouped(findings):
            typer.echo(line)
    if errors:
        raise typer.Exit(int(ExitCode.INVALID))
