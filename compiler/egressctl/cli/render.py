"""`egressctl render`: an environment's two renders, written into build/ENV/."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from egressctl import pipeline
from egressctl.charts.render import effective_head, summary
from egressctl.cli import output
from egressctl.cli.app import app
from egressctl.cli.options import EnvOption
from egressctl.cli.output import Output


@app.command()
def render(
    env: EnvOption,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Output folder (default build/ENV).")
    ] = None,
    chart: Annotated[
        Path | None, typer.Option(help="egressctl's chart folder (default: the bundled chart/).")
    ] = None,
    output_: Annotated[
        Output, typer.Option("--output", help="human or json (summary on stdout).")
    ] = Output.human,
) -> None:
    """Compile an environment and render both charts into build/ENV/."""
    output.use("render", output_)
    environment, findings = pipeline.load_environment(env)
    output.show_warnings(findings)
    rendered = pipeline.render_environment(environment, chart)
    written = pipeline.write_render(out or Path("build") / environment.name, rendered)
    if output_ is Output.json:
        s = summary(rendered)
        s["files"] = [str(p) for p in written]
        typer.echo(output.envelope("render", True, s, findings))
    else:
        s = summary(rendered, table=False)
        head = effective_head(environment, output.SHOWN_VERDICTS + 1)
        output.print_summary(s, written, environment.file, head)
