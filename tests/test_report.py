"""`egressctl report` and `expires`: the inventory as a reviewer reads it (issue #16)."""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from egressctl.cli import app
from egressctl.errors import Finding, Loc, Severity
from egressctl.inventory.model import (
    Capture,
    EgressGateway,
    Inventory,
    NamespacePolicy,
    Policy,
    Port,
    Resolution,
    Service,
)
from egressctl.report import html, markdown
from egressctl.report.model import build
from egressctl.rules.effective import EffectivePolicy
from tests.conftest import entry_point, invalid_input_report

runner = CliRunner()

INVENTORY = """\
# the payments team's egress
policy: REGISTRY_ONLY
services:
  stripe:
    host: api.stripe.com
    ports: [443]
    owner: payments
    reason: card payments
    ticket: PAY-1
  legacy-fax:
    host: fax.example.com
    ports: [443]
    owner: payments
    reason: "old | fax <gateway>"
    expires: 2001-02-03
  github:
    host: github.com
    ports: [443]
    owner: platform
    expires: "2999-12-31"
  metadata:
    host: metadata.example.com
    ports: [80]
"""


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    path = tmp_path / "egress.yaml"
    path.write_text(INVENTORY, encoding="utf-8")
    return path


def _svc(name: str, host: str, **kw: object) -> Service:
    return Service(
        name=name,
        hosts=(host,),
        ports=(Port(443, "HTTPS", "https"),),
        resolution=Resolution.DNS,
        **kw,  # type: ignore[arg-type]
    )


# -- expires -------------------------------------------------------------------


def test_past_expiry_is_a_located_warning(inventory: Path) -> None:
    result = runner.invoke(app, ["check", str(inventory), "--output", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    expired = [f for f in doc["findings"] if f["code"] == "service-expired"]
    assert len(expired) == 1
    assert expired[0]["path"] == "services.legacy-fax.expires"
    assert expired[0]["line"] == 15
    assert expired[0]["severity"] == "warning"


def test_past_expiry_fails_check_strict(inventory: Path) -> None:
    result = runner.invoke(app, ["check", "--strict", str(inventory)])
    assert result.exit_code == 3


@pytest.mark.parametrize(
    ("key", "value", "code"),
    [
        ("expires", "soon", "expires-invalid"),
        ("expires", "[2026]", "expires-invalid"),
        ("expires", "20261231", "expires-invalid"),
        ("expires", "true", "expires-invalid"),
        ("expires", '"2026-02-30"', "expires-invalid"),
        # YAML's own timestamps that are no date: PyYAML raised a bare ValueError
        ("expires", "2026-13-01", "yaml-syntax"),
        ("ticket", "2026-02-30", "yaml-syntax"),
    ],
)
def test_expires_that_is_not_a_date_is_a_located_error(
    tmp_path: Path, key: str, value: str, code: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        f"services:\n  a:\n    host: a.example.com\n    ports: [443]\n    {key}: {value}\n",
        encoding="utf-8",
    )
    done = entry_point(tmp_path, "report", str(path))
    assert done.returncode == 3
    findings = invalid_input_report(done.stderr)
    assert any(":5:" in f and f"[{code}]" in f for f in findings), findings


def test_a_date_elsewhere_is_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "services:\n  a:\n    host: a.example.com\n    ports: [443]\n    ticket: 2024-01-01\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["check", str(path), "--output", "json"])
    assert result.exit_code == 3
    codes = [f["code"] for f in json.loads(result.stdout)["findings"]]
    assert codes == ["yaml-type"]


# -- the model -------------------------------------------------------------------


def test_report_lists_expired_first_and_groups_by_owner() -> None:
    inv = Inventory(
        Policy.REGISTRY_ONLY,
        Capture(),
        (
            _svc("b", "b.example.com", owner="team-b", expires=datetime.date(2026, 1, 1)),
            _svc("a", "a.example.com", owner="team-a"),
            _svc("c", "c.example.com", expires=datetime.date(2025, 6, 1)),
            _svc("d", "d.example.com", owner="team-a", expires=datetime.date(2027, 1, 1)),
        ),
    )
    got = build(
        inv,
        EffectivePolicy(inv),
        [],
        title="t",
        today=datetime.date(2026, 12, 1),
        include="*",
        exclude="",
    )
    assert [r.name for r in got.expired] == ["c", "b"]
    assert [(o, [r.name for r in rows]) for o, rows in got.owners] == [
        ("team-a", ["a", "d"]),
        ("team-b", ["b"]),
        ("(no owner)", ["c"]),
    ]
    assert all(r.verdict == "allowed" for _, rows in got.owners for r in rows)


def test_report_gives_path_and_reach() -> None:
    inv = Inventory(
        Policy.REGISTRY_ONLY,
        Capture(),
        (
            _svc("google", "www.google.com", via="egress"),
            _svc("stripe", "api.stripe.com"),
            _svc("hidden", "h.example.com", export_to=("~",)),
        ),
        gateways=(EgressGateway("egress"),),
        namespaces=(
            NamespacePolicy("shop", ("stripe", "google")),
            NamespacePolicy("hr", ("google",)),
        ),
    )
    got = build(
        inv,
        EffectivePolicy(inv),
        [],
        title="t",
        today=datetime.date(2026, 12, 1),
        include="*",
        exclude="",
    )
    rows = {r.name: r for _, rs in got.owners for r in rs}
    assert rows["google"].path == "gateway egress"
    assert rows["stripe"].path == "direct"
    assert rows["google"].reach.startswith("hr, shop;")
    assert rows["stripe"].reach.startswith("shop;")
    assert rows["hidden"].reach == "no namespace (exportTo: [~])"
    assert rows["hidden"].verdict == "blocked"


def test_report_verdicts_follow_the_effective_policy() -> None:
    inv = Inventory(
        Policy.ALLOW_ANY,
        Capture(),
        (_svc("hidden", "h.example.com", export_to=("~",)),),
    )
    got = build(
        inv,
        EffectivePolicy(inv),
        [],
        title="t",
        today=datetime.date(2026, 12, 1),
        include="*",
        exclude="",
    )
    assert got.owners[0][1][0].verdict == "passthrough"
    assert got.everything_else.startswith("passthrough")


# -- renderings ----------------------------------------------------------------------


class _Tables(HTMLParser):
    """Rows of the `services` tables and every element's attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self._in_services = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "table":
            self._in_services = dict(attrs).get("class") == "services"
        elif tag == "tr" and self._in_services:
            self.rows.append([])
        elif tag in ("td", "th") and self._in_services:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _report_of(inventory: Path, fmt: str) -> str:
    result = runner.invoke(app, ["report", str(inventory), "--format", fmt])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_markdown_tables_keep_their_columns(inventory: Path) -> None:
    text = _report_of(inventory, "md")
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    # every row has as many cells as the header, even with a `|` in a reason
    for row in rows:
        cells = [c for c in row.replace("\\|", "").split("|")][1:-1]
        assert len(cells) == len(markdown.COLUMNS), row
    heads = [line for line in text.splitlines() if line.startswith("## ")]
    assert heads[0] == "## Expired (1)"
    expired_section = text.split("## Expired (1)")[1].split("## Services")[0]
    assert "legacy-fax" in expired_section


def test_html_is_self_contained_and_escaped(inventory: Path) -> None:
    text = _report_of(inventory, "html")
    parser = _Tables()
    parser.feed(text)
    tags = {tag for tag, _ in parser.tags}
    assert not tags & {"script", "link", "img", "iframe", "object"}
    for _, attrs in parser.tags:
        for key in ("src", "href"):
            assert attrs.get(key) is None
    cells = [c for row in parser.rows for c in row]
    assert "old | fax <gateway>" in cells  # escaped on the way in, read back as text
    names = [row[0] for row in parser.rows if row and row[0] != "Service"]
    # the expired one is listed twice: in "Expired", then under its owner
    assert sorted(names) == ["github", "legacy-fax", "legacy-fax", "metadata", "stripe"]


def test_json_report(inventory: Path) -> None:
    result = runner.invoke(app, ["report", str(inventory), "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["command"] == "report"
    data = doc["data"]
    assert data["expired"] == ["legacy-fax"]
    assert data["policy"] == "REGISTRY_ONLY"
    owners = {o["owner"]: [s["name"] for s in o["services"]] for o in data["owners"]}
    assert owners == {
        "payments": ["legacy-fax", "stripe"],
        "platform": ["github"],
        "(no owner)": ["metadata"],
    }
    assert [f["code"] for f in data["findings"]].count("service-expired") == 1


def test_report_of_an_invalid_inventory_is_exit_3_without_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("services:\n  a:\n    host: a.example.com\n    ports: [99999]\n")
    done = entry_point(tmp_path, "report", str(path))
    assert done.returncode == 3
    assert invalid_input_report(done.stderr)


def test_report_writes_a_file(inventory: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "report.html"
    result = runner.invoke(app, ["report", str(inventory), "-f", "html", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_notes_split_warnings_from_acknowledgements() -> None:
    inv = Inventory(Policy.REGISTRY_ONLY, Capture(), (_svc("a", "a.example.com"),))
    findings = [
        Finding("x-one", Severity.WARNING, Loc("f.yaml", 3, 1), "services.a", "m1"),
        Finding(
            "x-two", Severity.WARNING, Loc("f.yaml", 2, 1), "services.a", "m2", acknowledged="ok"
        ),
    ]
    got = build(
        inv,
        EffectivePolicy(inv),
        findings,
        title="t",
        today=datetime.date(2026, 12, 1),
        include="*",
        exclude="",
    )
    text = html.render(got)
    assert text.index("Warnings (1)") < text.index("x-one") < text.index("Acknowledged (1)")
    assert text.index("Acknowledged (1)") < text.index("x-two")


# -- in a browser --------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# `make test` sets this: there the browser is part of the setup, and a missing one fails.
REQUIRED = os.environ.get("EGRESSCTL_TEST_CHROMIUM") == "required"


def test_html_report_renders_in_headless_chromium(inventory: Path, tmp_path: Path) -> None:
    if CHROMIUM is None:
        if REQUIRED:
            pytest.fail("chromium is not installed (make setup installs it)")
        pytest.skip("chromium is not installed (make setup installs it)")
    page = tmp_path / "report.html"
    page.write_text(_report_of(inventory, "html"), encoding="utf-8")
    profile = tmp_path / "profile"
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
    ]
    dom = subprocess.run(
        [CHROMIUM, *flags, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    parser = _Tables()
    parser.feed(dom.stdout)
    header = [row for row in parser.rows if row and row[0] == "Service"]
    assert header and header[0] == list(markdown.COLUMNS)
    names = sorted(row[0] for row in parser.rows if row and row[0] != "Service")
    assert names == ["github", "legacy-fax", "legacy-fax", "metadata", "stripe"]
    shot = tmp_path / "shot.png"
    done = subprocess.run(
        [CHROMIUM, *flags, f"--screenshot={shot}", "--window-size=1200,900", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
