"""What the commands print: stderr lines for people, versioned JSON envelopes for
scripts, and the grouped `check` report."""

from __future__ import annotations

import contextvars
import enum
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from egressctl.errors import EgressError, Finding, InventoryError, Severity

JSON_SCHEMA_VERSION = 1


class Output(str, enum.Enum):
    human = "human"
    json = "json"


@dataclass(frozen=True, slots=True)
class Mode:
    """How the running command reports: its name and its output format."""

    command: str = ""
    output: Output = Output.human


_mode: contextvars.ContextVar[Mode | None] = contextvars.ContextVar("egressctl_mode", default=None)


def use(command: str, output: Output = Output.human) -> None:
    """Declare, at the start of a command, how its errors are reported."""
    _mode.set(Mode(command, output))


def err(line: str) -> None:
    typer.echo(line, err=True)


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def show_warnings(findings: list[Finding]) -> None:
    for f in findings:
        err(f.format())


def report_error(exc: EgressError) -> None:
    """An error as the running command reports it: the JSON envelope on stdout when the
    command speaks JSON, and the message lines on stderr always."""
    mode = _mode.get() or Mode()
    if mode.output is Output.json:
        findings = list(exc.findings) if isinstance(exc, InventoryError) else []
        typer.echo(envelope(mode.command, False, None, findings, error=str(exc)))
    for line in exc.lines():
        err(line)


def finding_json(f: Finding) -> dict[str, Any]:
    return {
        "code": f.code,
        "severity": f.severity.value,
        "file": f.loc.file,
        "line": f.loc.line,
        "column": f.loc.col,
        "path": f.path,
        "message": f.message,
        "hint": f.hint,
        "acknowledged": f.acknowledged,
    }


def envelope(
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
        "findings": [finding_json(f) for f in findings],
    }
    if error is not None:
        doc["error"] = error
    return json.dumps(doc, indent=2, sort_keys=True)


def counts(findings: list[Finding]) -> dict[str, int]:
    errors = sum(1 for f in findings if f.severity is Severity.ERROR)
    return {
        "errors": errors,
        "warnings": len(findings) - errors,
        "files": len({f.loc.file for f in findings}),
    }


def grouped(findings: list[Finding]) -> list[str]:
    """Findings grouped by file, each group headed by its counts, then a total line."""
    lines: list[str] = []
    by_file: dict[str, list[Finding]] = {}
    for f in findings:
        by_file.setdefault(f.loc.file, []).append(f)
    for name, group in by_file.items():
        c = counts(group)
        lines.append(
            f"== {name or '(no file)'}: {plural(c['errors'], 'error')}, "
            f"{plural(c['warnings'], 'warning')}"
        )
        lines.extend(f.format() for f in group)
    c = counts(findings)
    lines.append(
        f"{plural(c['errors'], 'error')}, {plural(c['warnings'], 'warning')} "
        f"in {plural(c['files'], 'file')}"
        if findings
        else "ok: no problems found"
    )
    return lines


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


#: Verdicts the render summary shows before it counts the rest (a line, not a table:
#: 10,000 services would make it 700 KB).
SHOWN_VERDICTS = 12


def effective_line(head: dict[str, Any], environment: str) -> str:
    """The effective policy on one line, from :func:`~egressctl.charts.render.effective_head`
    asked for one row more than :data:`SHOWN_VERDICTS`: the whole table when that is all
    of it; else the first rows, how many more there are and where to see them all, then
    the last row (what happens to any other destination)."""

    def verdict(e: dict[str, Any]) -> str:
        port = "" if e["port"] is None else f":{e['port']}"
        return f"{e['destination']}{port} {e['verdict']}"

    rows, count = head["rows"], head["count"]
    if count <= SHOWN_VERDICTS + 1:
        return "; ".join(verdict(e) for e in rows)
    shown = [verdict(e) for e in rows[:SHOWN_VERDICTS]]
    more = count - SHOWN_VERDICTS - 1
    shown.append(f"… {more:,} more (`egressctl explain --all --env {environment}`)")
    return "; ".join([*shown, verdict(head["last"])])


def print_summary(
    s: dict[str, Any], written: list[Path], env_file: str, effective: dict[str, Any]
) -> None:
    """The render summary, for people (stderr)."""

    def kinds(c: dict[str, int] | None) -> str:
        if not c:
            return "none"
        return ", ".join(f"{k} {v}" for k, v in c.items())

    err(f"rendered {s['environment']} ({env_file}):")
    for p in written:
        err(f"  wrote   {p}")
    err(f"  policy  {s['policy']}")
    err(
        f"  capture include {s['includeIPRanges'] or '(none)'}; "
        f"exclude {s['excludeIPRanges'] or '(none)'}"
    )
    err(f"  effective policy: {effective_line(effective, s['environment'])}")
    err(
        f"  egress  {kinds(s['egressObjects'])} ({s['networkingApiVersion']}: "
        f"{s['networkingApiVersionReason']})"
    )
    if s.get("networkPolicyNamespaces"):  # issue #14
        err(f"  networkpolicy in namespaces {', '.join(s['networkPolicyNamespaces'])}")
    tls_routes = s.get("tlsRouteApiVersion")
    if tls_routes:
        err(f"  TLSRoute {tls_routes['apiVersion']} ({tls_routes['reason']})")
    chart = s["istioChart"]
    if s["istioObjects"] is None:
        err(f"  istio   not rendered: no istio.chart in {env_file}")
    else:
        rev = f", revision {chart['revision']}" if chart["revision"] else ""
        err(
            f"  istio   {kinds(s['istioObjects'])} ({chart['generation']} chart "
            f"{chart['name']} {chart['version']}{rev})"
        )
        err(
            f"  verified: ConfigMaps {' and '.join(chart['verified'])} carry the policy "
            "and capture ranges above"
        )
    for g in s.get("gatewayCharts") or ():  # issue #13
        err(
            f"  gateway {kinds(g['objects'])} (release {g['release']} in {g['namespace']}; "
            "pod labels and Service checked against the inventory's gateways)"
        )
