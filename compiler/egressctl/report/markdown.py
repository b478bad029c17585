"""A report as Markdown (a pull request comment, a wiki page)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from egressctl.report.model import Report, Row

COLUMNS = (
    "Service",
    "Hosts",
    "Ports",
    "Path",
    "Who may reach it",
    "Reason",
    "Ticket",
    "Expires",
    "Verdict",
)


# Characters that give Markdown inside a line a meaning: each is written backslash-escaped
# (CommonMark escapes any ASCII punctuation), so a value never becomes a link or an image
# (an external fetch), emphasis (`*.example.com` keeps its `*`), code or a table cell.
_SPECIAL = frozenset("\\`*_[]|~")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def cell(text: str) -> str:
    """Text safe inside a Markdown table cell and on a line of its own: no line breaks,
    no control characters (terminal escape sequences), no HTML, no Markdown syntax."""
    out = []
    for ch in " ".join(text.split()):
        if ch in _ENTITIES:
            out.append(_ENTITIES[ch])
        elif ch in _SPECIAL:
            out.append("\\" + ch)
        elif not ch.isprintable():
            out.append("\ufffd")
        else:
            out.append(ch)
    return "".join(out)


def _table(rows: Sequence[Row]) -> Iterable[str]:
    yield "| " + " | ".join(COLUMNS) + " |"
    yield "|" + "---|" * len(COLUMNS)
    for r in rows:
        expires = r.expires.isoformat() if r.expires else ""
        if r.expired:
            expires = f"**{expires} (expired)**"
        cells = (
            cell(r.name),
            cell(", ".join(r.hosts)),
            cell(", ".join(r.ports)),
            cell(r.path),
            cell(r.reach),
            cell(r.reason),
            cell(r.ticket),
            expires,
            cell(r.verdict),
        )
        yield "| " + " | ".join(cells) + " |"


def render(report: Report) -> str:
    lines = [
        f"# Egress report: {cell(report.title)}",
        "",
        f"Generated {report.generated.isoformat()}. Mesh policy **{report.policy}**"
        f" (data plane {report.dataplane}); any other destination: {cell(report.everything_else)}.",
        "",
        f"Capture: include `{report.include or '(none)'}`, exclude `{report.exclude or '(none)'}`.",
        "",
    ]
    if report.expired:
        lines += [f"## Expired ({len(report.expired)})", "", *_table(report.expired), ""]
    lines += [f"## Services ({report.services})", ""]
    for owner, rows in report.owners:
        lines += [f"### {cell(owner)}", "", *_table(rows), ""]
    warnings = [n for n in report.notes if n.acknowledged is None]
    acknowledged = [n for n in report.notes if n.acknowledged is not None]
    lines += [f"## Warnings ({len(warnings)})", ""]
    lines += [f"- `{n.code}` {cell(n.where)}: {cell(n.message)}" for n in warnings] or ["None."]
    lines += ["", f"## Acknowledged ({len(acknowledged)})", ""]
    lines += [
        f"- `{n.code}` {cell(n.where)}: {cell(n.message)} — accepted: {cell(n.acknowledged or '')}"
        for n in acknowledged
    ] or ["None."]
    return "\n".join(lines) + "\n"
