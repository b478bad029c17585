"""`egressctl discover`: what the mesh already calls → draft inventory entries."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from egressctl import pipeline
from egressctl.cli import output
from egressctl.cli.app import app
from egressctl.cli.output import Output
from egressctl.cluster.prometheus import check_url
from egressctl.discover import metrics
from egressctl.discover.draft import Draft
from egressctl.discover.merge import diff as unified_diff
from egressctl.discover.merge import entry_lines
from egressctl.discover.observations import Destination, Observations
from egressctl.discover.sources import TrafficSources
from egressctl.discover.write import write_inventory
from egressctl.errors import UsageError

SourcesArgument = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="FILES",
        help="Access-log files of istio-proxy containers (Istio's default text format or "
        "its JSON encoding, with or without the `kubectl logs --prefix` prefix); - reads "
        "stdin.",
    ),
]
ClusterOption = Annotated[
    bool,
    typer.Option(
        "--cluster",
        help="Read `kubectl logs` of the istio-proxy containers of injected pods in the "
        "environment's cluster (needs --env), namespace by namespace.",
    ),
]
SinceOption = Annotated[
    str,
    typer.Option("--since", help="How far back --cluster and --prometheus read: 30m, 1h, 1h30m…"),
]
MaxPodsOption = Annotated[
    int, typer.Option("--max-pods", help="At most this many pods' logs (--cluster).", min=1)
]
PrometheusOption = Annotated[
    str | None,
    typer.Option(
        "--prometheus",
        metavar="URL",
        help="Also read Istio's standard metrics (istio_requests_total, "
        "istio_tcp_connections_opened_total) to PassthroughCluster/BlackHoleCluster from "
        "this Prometheus server.",
    ),
]
OutputOption = Annotated[Output, typer.Option("--output", help="human or json (on stdout).")]


def traffic_sources(
    files: list[str] | None,
    cluster: bool,
    since: str,
    max_pods: int,
    prometheus: str | None,
    env: str | None,
) -> TrafficSources:
    """The sources the options name, checked (UsageError)."""
    sources = TrafficSources(tuple(files or ()), cluster, since, max_pods, prometheus)
    if sources.empty:
        raise UsageError("give access-log FILES (- for stdin), --cluster or --prometheus URL")
    if cluster and env is None:
        raise UsageError("--cluster reads the environment's cluster: give --env NAME")
    if sources.files.count("-") > 1:
        raise UsageError("- (stdin) may be given once")
    if not metrics.valid_window(since):
        raise UsageError(f"--since {since!r}: give a duration such as 30m, 1h or 1h30m")
    if prometheus is not None:
        check_url(prometheus)  # before any log is read
    return sources


@app.command()
def discover(
    files: SourcesArgument = None,
    cluster: ClusterOption = False,
    env: Annotated[
        str | None,
        typer.Option(
            "--env",
            "-e",
            help="The environment: its effective policy says what is covered, its first "
            "inventory file takes the draft (unless --inventory), its cluster is --cluster's.",
        ),
    ] = None,
    since: SinceOption = "1h",
    max_pods: MaxPodsOption = 50,
    prometheus: PrometheusOption = None,
    inventory: Annotated[
        Path | None,
        typer.Option(
            "--inventory",
            "-i",
            help="The inventory file to merge the draft entries into (comments and order kept).",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the change as a unified diff; write nothing.")
    ] = False,
    output_: OutputOption = Output.human,
) -> None:
    """Draft inventory entries for the external hosts pods reach through
    PassthroughCluster, or were refused (BlackHoleCluster, REGISTRY_ONLY's 502/404), and
    that no entry covers; merged into the inventory file, or shown as a diff (--dry-run)
    or JSON.  IP-only destinations are listed, never turned into host names."""
    output.use("discover", output_)
    sources = traffic_sources(files, cluster, since, max_pods, prometheus, env)
    if env is not None and inventory is not None:
        check_inventory_of(env, inventory)
    done = pipeline.discover(sources, env=env, inventory=inventory, progress=output.err)
    output.show_warnings(done.findings)
    diff_text = None
    if done.inventory is not None:
        shown = str(done.inventory)
        diff_text = unified_diff(done.old_text, done.new_text, shown)
        if not dry_run and done.new_text != done.old_text:
            write_inventory(done.inventory, done.old_text, done.new_text)
    if output_ is Output.json:
        data = _json(done, dry_run, diff_text)
        typer.echo(output.envelope("discover", True, data, done.findings))
        return
    for line in summary_lines(done.observations, done.draft):
        output.err(line)
    if done.inventory is None:
        for line in draft_yaml(done.draft):
            typer.echo(line)
    elif dry_run:
        if diff_text:
            typer.echo(diff_text, nl=False)
        else:
            output.err(f"{done.inventory}: nothing to add")
    elif done.new_text != done.old_text:
        n = len(done.draft.proposals)
        output.err(f"wrote {done.inventory}: {n} {'entry' if n == 1 else 'entries'} added")
    else:
        output.err(f"{done.inventory}: nothing to add")


def check_inventory_of(env: str, inventory: Path) -> None:
    """UsageError unless ``inventory`` is one of environment ``env``'s inventory files:
    the draft is judged against that environment, and goes nowhere else (not into the
    environment file, a manifest, a chart's values)."""
    model, _ = pipeline.load_environment(env)
    own = {Path(s).resolve() for s in model.inventory.sources if s != model.file}
    if inventory.resolve() not in own:
        raise UsageError(
            f"--inventory {inventory}: not an inventory file of environment {env} "
            f"({', '.join(sorted(str(s) for s in model.inventory.sources if s != model.file))})"
        )


def _json(done: pipeline.Discovered, dry_run: bool, diff_text: str | None) -> dict[str, Any]:
    d = done.draft
    return {
        "read": done.observations.counts.as_json(),
        "proposed": [
            {**p.as_json(), "destinations": [x.as_json() for x in p.destinations]}
            for p in d.proposals
        ],
        "covered": [
            {**k.destination.as_json(), "entry": k.entry, "onThisPort": k.covered} for k in d.known
        ],
        "ipOnly": [x.as_json() for x in d.ip_only],
        "notProposed": [{**x.as_json(), "why": why} for x, why in d.not_proposed],
        "inventory": None if done.inventory is None else str(done.inventory),
        "written": (done.inventory is not None and not dry_run and done.new_text != done.old_text),
        "diff": diff_text,
    }


def read_line(obs: Observations) -> str:
    c = obs.counts
    parts = [
        f"{c.lines:,} lines",
        f"{c.counted:,} counted",
        f"{c.malformed:,} malformed (skipped)",
        f"{c.other:,} not access logs",
    ]
    if c.junk_hosts:
        parts.append(f"{c.junk_hosts:,} with an invalid host (kept as IP-only)")
    if c.pods:
        parts.append(f"{c.pods:,} pods")
    if c.unread_pods:
        parts.append(f"{c.unread_pods:,} pods whose log could not be read")
    if c.series:
        parts.append(f"{c.series:,} metric series")
    if c.dropped:
        parts.append(f"{c.dropped:,} past the destination limit (dropped)")
    return "read: " + ", ".join(parts)


def workloads_text(d: Destination) -> str:
    names = [w for w, _ in d.workloads]
    if not names:
        return "-"
    shown = ", ".join(names[:3])
    if len(names) > 3 or d.more_workloads:
        shown += ", …"
    return shown


def ip_only_text(d: Destination) -> str:
    port = f":{d.port}" if d.port else ":?"
    addresses = ", ".join(d.addresses) + (", …" if d.more_addresses else "")
    return (
        f"  ip-only   {port}  {d.requests:,}  {addresses or '-'}  from {workloads_text(d)} "
        "(no host name seen; an entry for it needs `addresses`, written by hand)"
    )


def summary_lines(obs: Observations, d: Draft) -> list[str]:
    lines = [read_line(obs)]
    for p in d.proposals:
        lines.append(f"  proposed  {p.name}: {p.host} {', '.join(p.ports)}  ({p.comment})")
    for k in d.known:
        where = f"{k.destination.host}:{k.destination.port}"
        if k.covered:
            lines.append(f"  covered   {where} by entry {k.entry}")
        else:
            lines.append(
                f"  port      {where}: entry {k.entry} registers the host on other ports; "
                "add the port to it"
            )
    for x, why in d.not_proposed:
        lines.append(f"  skipped   {x.shown}: {why}")
    lines += [ip_only_text(x) for x in d.ip_only]
    return lines


def draft_yaml(d: Draft) -> list[str]:
    """The draft as a `services:` block (no inventory given)."""
    lines = ["services:"]
    for p in d.proposals:
        lines += [line.rstrip("\n") for line in entry_lines(p, "  ", "  ")]
    if not d.proposals:
        lines = ["services: {}"]
    return lines
