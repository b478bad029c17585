"""`egressctl deploy`, `diff` and `rollback`: the cluster side."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from egressctl import pipeline
from egressctl.cli import output
from egressctl.cli.app import app
from egressctl.cli.options import AdoptAllOption, AdoptOption, EnvOption
from egressctl.cluster.history import history
from egressctl.cluster.ownership import parse_adopt
from egressctl.errors import ExitCode, UsageError

ServerSideOption = Annotated[
    bool,
    typer.Option(
        "--server-side",
        help="kubectl apply --server-side --field-manager=egressctl (as the environment "
        "file's `apply: {serverSide: true}`); a field another manager owns is a conflict "
        "(exit 4) naming that manager.",
    ),
]

ForceConflictsOption = Annotated[
    bool,
    typer.Option(
        "--force-conflicts",
        help="With server-side apply: take over the fields other field managers own, for "
        "this run only (never a default).",
    ),
]


def _confirm(yes: bool, dry_run: bool) -> Callable[[list[str]], bool]:
    """The ``confirm`` of a deploy: print the plan; go on with --yes or --dry-run, else
    ask on a terminal (and refuse without one)."""

    def confirm(lines: list[str]) -> bool:
        for line in lines:
            output.err(line)
        if yes or dry_run:
            return True
        if not output.stdin_is_terminal():
            raise UsageError(
                "not on a terminal, so no one can confirm: pass --yes to deploy "
                "without confirmation; nothing was applied"
            )
        return typer.confirm("apply?", default=False, err=True)

    return confirm


@app.command()
def deploy(
    env: EnvOption,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="kubectl apply (helm upgrade) --dry-run=server; change nothing."
        ),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    prune: Annotated[
        bool,
        typer.Option(help="Delete this environment's objects that are no longer in the inventory."),
    ] = True,
    restart_: Annotated[
        bool,
        typer.Option(
            "--restart",
            help="Restart workloads whose sidecars carry the old "
            "capture ranges, namespace by namespace.",
        ),
    ] = False,
    adopt: AdoptOption = None,
    adopt_all: AdoptAllOption = False,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Where renders and history are kept.")
    ] = None,
    chart: Annotated[Path | None, typer.Option(help="egressctl's chart folder.")] = None,
    server_side: ServerSideOption = False,
    force_conflicts: ForceConflictsOption = False,
) -> None:
    """Render, check the context, show the plan, apply in an order that never cuts traffic
    (the Istio chart by kubectl, or by `helm upgrade` of its Helm release), prune, and
    record the deploy (one at a time per environment: build/ENV/.deploy.lock)."""
    output.use("deploy")
    adopting = parse_adopt(adopt or [], adopt_all)
    environment, findings = pipeline.load_environment(env)
    output.show_warnings(findings)
    environment = pipeline.with_apply_options(
        environment, server_side=server_side, force_conflicts=force_conflicts
    )
    pipeline.render_and_deploy(
        environment,
        out or Path("build") / environment.name,
        chart=chart,
        dry_run=dry_run,
        prune=prune,
        restart=restart_,
        adopt=adopting,
        confirm=_confirm(yes, dry_run),
        progress=output.err,
    )


@app.command()
def diff(
    env: EnvOption,
    prune: Annotated[
        bool, typer.Option(help="Also list this environment's objects a deploy would delete.")
    ] = True,
    adopt: AdoptOption = None,
    adopt_all: AdoptAllOption = False,
    chart: Annotated[Path | None, typer.Option(help="egressctl's chart folder.")] = None,
    server_side: ServerSideOption = False,
) -> None:
    """`kubectl diff` of both renders against the cluster, and the objects a deploy would
    refuse, adopt or delete: exit 1 when anything differs."""
    output.use("diff")
    adopting = parse_adopt(adopt or [], adopt_all)
    environment, findings = pipeline.load_environment(env)
    output.show_warnings(findings)
    environment = pipeline.with_apply_options(environment, server_side=server_side)
    rendered = pipeline.render_environment(environment, chart)
    folder = Path("build") / environment.name
    report = pipeline.diff_environment(rendered, folder, prune=prune, adopt=adopting)
    for line in report.lines:
        typer.echo(line)
    output.err("differences found" if report.changed else "no differences")
    if report.changed:
        raise typer.Exit(int(ExitCode.DIFFERENCES))


@app.command()
def rollback(
    env: EnvOption,
    to: Annotated[
        str | None, typer.Option("--to", help="A recorded deploy ID (default: the previous).")
    ] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the recorded deploys.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Change nothing.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    prune: Annotated[
        bool, typer.Option(help="Delete this environment's objects not in that render.")
    ] = True,
    adopt: AdoptOption = None,
    adopt_all: AdoptAllOption = False,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Where history is kept.")] = None,
    server_side: ServerSideOption = False,
    force_conflicts: ForceConflictsOption = False,
) -> None:
    """Re-apply a recorded (complete) render through the same ordered path; a deploy that
    upgraded the Istio chart's Helm release is rolled back with `helm rollback` to the
    revision it recorded."""
    output.use("rollback")
    adopting = parse_adopt(adopt or [], adopt_all)
    environment = pipeline.load_environment_settings(env)
    environment = pipeline.with_apply_options(
        environment, server_side=server_side, force_conflicts=force_conflicts
    )
    folder = out or Path("build") / environment.name
    if list_:
        for r in history(folder):
            helm = f"  helm {r.helm_release} revision {r.helm_revision}" if r.helm_revision else ""
            typer.echo(
                f"{r.id}  {r.time}  {r.state.value}  {r.context}  {r.policy}  "
                f"git {(r.git_commit or '-')[:12]}{helm}  ({r.source})"
            )
        return
    pipeline.rollback(
        environment,
        folder,
        to=to,
        dry_run=dry_run,
        prune=prune,
        adopt=adopting,
        confirm=_confirm(yes, dry_run),
        progress=output.err,
    )
