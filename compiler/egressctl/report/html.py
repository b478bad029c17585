"""A report as one self-contained HTML file: inline style, no scripts, no external
assets, every value escaped."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape as _html_escape

from egressctl.report.markdown import COLUMNS
from egressctl.report.model import Note, Report, Row

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 90em; color: #1b1f24; }
h1 { font-size: 1.6em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #d0d7de; }
table { border-collapse: collapse; width: 100%; margin: .5em 0 1.5em; }
th, td { border: 1px solid #d0d7de; padding: .35em .6em; text-align: left; vertical-align: top; }
th { background: #f6f8fa; } tr.expired td { background: #fff1f0; }
.v-allowed { color: #1a7f37; } .v-blocked, .expired-date { color: #cf222e; font-weight: 600; }
.v-passthrough, .v-bypass, .v-catch-all { color: #9a6700; font-weight: 600; }
code { background: #f6f8fa; padding: 0 .25em; } .summary td:first-child { width: 14em; }
"""


def escape(text: str) -> str:
    """``text`` as HTML text or a quoted attribute value: markup escaped, control
    characters (which HTML forbids, and which a terminal showing the file would run as
    escape sequences) made U+FFFD."""
    return _html_escape(
        "".join(ch if ch.isprintable() or ch in "\t\n" else "\ufffd" for ch in text), quote=True
    )


def _rows(rows: Sequence[Row]) -> Iterable[str]:
    yield '<table class="services"><thead><tr>'
    yield "".join(f"<th>{escape(c)}</th>" for c in COLUMNS)
    yield "</tr></thead><tbody>"
    for r in rows:
        expires = escape(r.expires.isoformat()) if r.expires else ""
        if r.expired:
            expires = f'<span class="expired-date">{expires} (expired)</span>'
        verdict_class = "v-" + r.verdict.split()[0].strip(",") if r.verdict else ""
        cells = (
            f"<code>{escape(r.name)}</code>",
            "<br>".join(escape(h) for h in r.hosts),
            ", ".join(escape(p) for p in r.ports),
            escape(r.path),
            escape(r.reach),
            escape(r.reason),
            escape(r.ticket),
            expires,
            f'<span class="{escape(verdict_class)}">{escape(r.verdict)}</span>',
        )
        cls = ' class="expired"' if r.expired else ""
        yield f"<tr{cls}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"
    yield "</tbody></table>"


def _notes(notes: Sequence[Note], accepted: bool) -> Iterable[str]:
    if not notes:
        yield "<p>None.</p>"
        return
    yield "<ul>"
    for n in notes:
        text = f"<code>{escape(n.code)}</code> {escape(n.where)}: {escape(n.message)}"
        if accepted:
            text += f" — accepted: {escape(n.acknowledged or '')}"
        yield f"<li>{text}</li>"
    yield "</ul>"


def _summary(label: str, html: str) -> str:
    return f"<tr><td>{escape(label)}</td><td>{html}</td></tr>"


def render(report: Report) -> str:
    title = f"Egress report: {report.title}"
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        '<table class="summary"><tbody>',
        f"<tr><td>Generated</td><td>{escape(report.generated.isoformat())}</td></tr>",
        f"<tr><td>Mesh policy</td><td><strong>{escape(report.policy)}</strong></td></tr>",
        f"<tr><td>Data plane</td><td>{escape(report.dataplane)}</td></tr>",
        f"<tr><td>Any other destination</td><td>{escape(report.everything_else)}</td></tr>",
        _summary("Capture include", f"<code>{escape(report.include or '(none)')}</code>"),
        _summary("Capture exclude", f"<code>{escape(report.exclude or '(none)')}</code>"),
        f"<tr><td>Services</td><td>{report.services}</td></tr>",
        "</tbody></table>",
    ]
    if report.expired:
        out += [f'<h2 id="expired">Expired ({len(report.expired)})</h2>', *_rows(report.expired)]
    out.append(f'<h2 id="services">Services ({report.services})</h2>')
    for owner, rows in report.owners:
        out += [f"<h3>{escape(owner)}</h3>", *_rows(rows)]
    warnings = [n for n in report.notes if n.acknowledged is None]
    accepted = [n for n in report.notes if n.acknowledged is not None]
    out += [f'<h2 id="warnings">Warnings ({len(warnings)})</h2>', *_notes(warnings, False)]
    out += [f'<h2 id="acknowledged">Acknowledged ({len(accepted)})</h2>', *_notes(accepted, True)]
    out.append("</body></html>")
    return "\n".join(out) + "\n"
