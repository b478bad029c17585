"""`egressctl report`: the egress inventory as a reviewer and an auditor read it."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from egressctl import pipeline
from egressctl.cli import output
from egressctl.cli.app import app
from egressctl.errors import UsageError
from egressctl.files import write_atomic
from egressctl.report import html, markdown


class Format(str, enum.Enum):
    md = "md"
    html = "html"
    json = "json"


@app.command()
def report(
    files: Annotated[
        list[Path] | None, typer.Argument(help="Inventory files (instead of --env).")
    ] = None,
    env: Annotated[str | None, typer.Option("--env", "-e", help="Report an environment.")] = None,
    format_: Annotated[
        Format, typer.Option("--format", "-f", help="md, html (one self-contained file) or json.")
    ] = Format.md,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """Per owner, every service with hosts, ports, path, who may reach it, reason,
    ticket, expiry and verdict (expired entries first); the effective policy and capture
    ranges; warnings and acknowledgements."""
    if format_ is Format.json:
        output.use("report", output.Output.json)
    if bool(files) == bool(env):
        raise UsageError("give inventory files or --env, not both and not neither")
    done = pipeline.review(env=env, paths=list(files or []))
    if format_ is Format.json:
        text = output.envelope("report", True, done.as_json(), [])
    elif format_ is Format.html:
        text = html.render(done)
    else:
        text = markdown.render(done)
    if out is None:
        typer.echo(text, nl=not text.endswith("\n"))
        return
    write_atomic(out, text)
    output.err(f"wrote {out} ({len(done.expired)} expired, {done.services} services)")
