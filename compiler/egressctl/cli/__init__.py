"""The command line: Typer commands, one module per command group, and their output.

The only package that prints or exits.  stdout carries data (generated YAML, JSON
documents); everything for people goes to stderr.  Every user-caused error is an
:class:`~egressctl.errors.EgressError`, turned into its message and exit code once,
around the whole app (:class:`egressctl.cli.app.HandledGroup`).
"""

from __future__ import annotations

from egressctl.cli import (  # noqa: F401  (registers them)
    check,
    compile,
    deploy,
    discover,
    explain,
    init,
    readiness,
    render,
    report,
    tools,
)
from egressctl.cli.app import app, main

__all__ = ["app", "main"]
