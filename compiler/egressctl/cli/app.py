"""The Typer app, its global options, and the one place errors become exit codes.

:class:`HandledGroup` wraps every command: an EgressError becomes its message (and, for
a command speaking JSON, the error envelope) and its exit code; Ctrl-C and SIGTERM
become their messages and 130/143.  Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import logging
import signal
import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from egressctl.cli.output import err, report_error
from egressctl.errors import EgressError, ExitCode, Terminated
from egressctl.heap import short_lived_process

TERMINATED_MESSAGE = "terminated (SIGTERM); nothing more was applied"
INTERRUPTED_MESSAGE = "interrupted; nothing more was applied"


class HandledGroup(TyperGroup):
    """The app's command group: every command runs inside :meth:`invoke`."""

    def invoke(self, ctx: Any) -> Any:  # typer's own (vendored) click Context
        try:
            return super().invoke(ctx)
        except EgressError as exc:
            report_error(exc)
            raise typer.Exit(int(exc.exit_code)) from None
        except (KeyboardInterrupt, typer.Abort):
            err(INTERRUPTED_MESSAGE)
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
        except Terminated:
            err(TERMINATED_MESSAGE)
            raise typer.Exit(int(ExitCode.TERMINATED)) from None


app = typer.Typer(
    name="egressctl",
    cls=HandledGroup,
    help="Compile an Istio egress inventory into Helm values, render and apply it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
)


class _StderrHandler(logging.Handler):
    """Logs to whatever sys.stderr is at the time (test runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        err(self.format(record))


_log = logging.getLogger("egressctl")


def _setup_logging(quiet: bool) -> None:
    for h in list(_log.handlers):
        _log.removeHandler(h)
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    _log.addHandler(handler)
    _log.setLevel(logging.WARNING if quiet else logging.INFO)
    _log.propagate = False


@app.callback()
def _root(
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Do not echo the helm/kubectl commands run.")
    ] = False,
) -> None:
    _setup_logging(quiet)


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated


def main() -> None:
    """The entry point: SIGTERM is handled like Ctrl-C (every `finally` runs, temporary
    files go, a running helm or kubectl is stopped), then exit 143 with a message."""
    signal.signal(signal.SIGTERM, _on_sigterm)
    short_lived_process()  # one command, then exit: a big heap is frozen, not walked (#12)
    try:
        app()
    except Terminated:  # outside a command (while starting or finishing)
        err(TERMINATED_MESSAGE)
        sys.exit(int(ExitCode.TERMINATED))
