"""`egressctl readiness`: would flipping the environment to REGISTRY_ONLY now block
traffic the mesh is seen to make?  The check a team runs in CI before the flip."""

from __future__ import annotations

import typer

from egressctl import pipeline
from egressctl.cli import output
from egressctl.cli.app import app
from egressctl.cli.discover import (
    ClusterOption,
    MaxPodsOption,
    OutputOption,
    PrometheusOption,
    SinceOption,
    SourcesArgument,
    read_line,
    traffic_sources,
    workloads_text,
)
from egressctl.cli.options import EnvOption
from egressctl.cli.output import Output
from egressctl.discover.observations import Counts
from egressctl.discover.readiness import Blocked, Readiness
from egressctl.errors import ExitCode


@app.command()
def readiness(
    env: EnvOption,
    files: SourcesArgument = None,
    cluster: ClusterOption = False,
    since: SinceOption = "1h",
    max_pods: MaxPodsOption = 50,
    prometheus: PrometheusOption = None,
    output_: OutputOption = Output.human,
) -> None:
    """Which observed destinations the environment would block if it were REGISTRY_ONLY
    now (per namespace where `namespaces:` lists it), with counts and workloads.
    Exit 0: none; 1: some; 4: none seen, but that proves nothing (a pod's log could not
    be read, destinations past the bound, or not one access-log line read)."""
    output.use("readiness", output_)
    sources = traffic_sources(files, cluster, since, max_pods, prometheus, env)
    done, obs, findings = pipeline.readiness_check(sources, env=env, progress=output.err)
    output.show_warnings(findings)
    gap = unproven(obs.counts, logs_only=sources.prometheus is None)
    if output_ is Output.json:
        data = {
            "environment": env,
            "ready": done.ready and gap is None,
            "unproven": gap,
            "judged": done.judged,
            "blocked": [b.as_json() for b in done.blocked],
            "unjudged": [d.as_json() for d in done.unjudged],
            "read": obs.counts.as_json(),
        }
        typer.echo(output.envelope("readiness", True, data, findings))
    else:
        output.err(read_line(obs))
        for line in _lines(env, done, gap):
            typer.echo(line)
    if not done.ready:
        raise typer.Exit(int(ExitCode.DIFFERENCES))
    if gap is not None:
        # Nothing seen would be blocked, but not everything could be seen: no proof.
        raise typer.Exit(int(ExitCode.TOOL_FAILED))


def unproven(counts: Counts, *, logs_only: bool) -> str | None:
    """Why "nothing seen would be blocked" proves nothing, or None: a pod's log could not
    be read; destinations were counted past the bound and never judged; or, reading logs
    only, not one access-log line was read (access logging off, a wrong file)."""
    if counts.unread_pods:
        return f"the log of {counts.unread_pods:,} pod(s) could not be read"
    if counts.dropped:
        return f"{counts.dropped:,} request(s) to destinations past the bound were not judged"
    if logs_only and counts.lines - counts.malformed - counts.other <= 0:
        return (
            "not one access-log line was read (is access logging on? "
            "meshConfig.accessLogFile: /dev/stdout)"
        )
    return None


def _lines(env: str, r: Readiness, gap: str | None = None) -> list[str]:
    if r.ready and gap is not None:
        return [
            f"unproven: none of the {r.judged:,} destinations seen would be blocked if {env} "
            f"were REGISTRY_ONLY now, but {gap}"
        ]
    if r.ready:
        return [
            f"ready: none of the {r.judged:,} destinations seen would be blocked if {env} "
            "were REGISTRY_ONLY now"
        ]
    n = len(r.blocked)
    lines = [
        f"not ready: {n:,} of the {r.judged:,} destinations seen would be blocked if {env} "
        "were REGISTRY_ONLY now"
    ]
    lines += [line for b in r.blocked for line in _blocked(b)]
    return lines


def _blocked(b: Blocked) -> list[str]:
    d = b.destination
    what = f"(IP-only) {', '.join(d.addresses)} port {d.port}" if d.host is None else d.shown
    ns = f" [namespace {d.namespace}]" if d.namespace else ""
    out = [
        f"  {what}{ns}: {d.requests:,} seen, from {workloads_text(d)}",
        f"    judged by {b.scope}: {b.answer.reason}",
    ]
    if b.answer.closest:
        out.append(f"    closest  {', '.join(b.answer.closest)}")
    return out
