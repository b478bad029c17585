"""Hostile input to `discover`, `readiness` and `report` (issue #16 review): logs,
Prometheus answers, the cluster and inventory files are untrusted.  Each test names what
an attacker (or an accident) controls and what must hold whatever it says."""

from __future__ import annotations

import base64
import contextlib
import html.parser
import http.server
import json
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from egressctl.discover.draft import Proposal, draft
from egressctl.discover.merge import MergeError, merge
from egressctl.discover.observations import Observations
from egressctl.discover.write import write_inventory
from tests.conftest import FakeKubectl, entry_point

DATA = Path(__file__).parent / "data"
COMMENTED = DATA / "discover" / "commented-inventory.yaml"


def http_line(authority: str, *, port: int = 80, user_agent: str = "curl/8.5.0") -> str:
    """A text-format access-log line: HTTP through PassthroughCluster to ``authority``."""
    return (
        f'[2026-12-01T10:15:02.123Z] "GET / HTTP/1.1" 200 - via_upstream - "-" 0 15 3 2 "-" '
        f'"{user_agent}" "5a3f9c1e" "{authority}" "54.187.174.169:{port}" PassthroughCluster '
        f"10.244.1.17:43210 54.187.174.169:{port} 10.244.1.17:43208 - allow_any"
    )


TLS_PYPI = (
    '[2026-11-30T10:16:00.000Z] "- - -" 0 - - - "-" 1234 5678 300 - "-" "-" "-" "-" '
    '"151.101.1.69:443" PassthroughCluster 10.244.1.17:51234 151.101.1.69:443 '
    "10.244.1.17:51232 pypi.org -"
)


def printable_lines(text: str) -> bool:
    """Every character of every line printable: no escape sequence, no NUL, no U+2028."""
    return all(ch.isprintable() for line in text.split("\n") for ch in line)


def _one() -> list[Proposal]:
    return [Proposal("pypi-org", "pypi.org", ("443/https",), 1, "discovered: 1 connection", ())]


# ---------------------------------------------------------------------------
# A local Prometheus that misbehaves


@contextlib.contextmanager
def serve(handle: Callable[[http.server.BaseHTTPRequestHandler], None]) -> Iterator[str]:
    """A local HTTP server calling ``handle`` for every GET; yields its base URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            handle(self)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _answer(h: http.server.BaseHTTPRequestHandler, code: int, body: bytes, **headers: str) -> None:
    h.send_response(code)
    for k, v in headers.items():
        h.send_header(k, v)
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


EMPTY = json.dumps({"status": "success", "data": {"resultType": "vector", "result": []}})

# The entry point with Prometheus' whole-request timeout set (the default is 30 s).
_WITH_TIMEOUT = (
    "import sys, egressctl.cluster.prometheus as p; p.TIMEOUT = float(sys.argv.pop(1)); "
    "from egressctl.cli import main; sys.argv[0] = 'egressctl'; main()"
)


def entry_point_with_timeout(
    cwd: Path, timeout: float, *args: str, wait: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _WITH_TIMEOUT, str(timeout), *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        timeout=wait,
    )


def test_prometheus_json_nested_too_deeply_is_a_tool_error(tmp_path: Path) -> None:
    def deep(h: http.server.BaseHTTPRequestHandler) -> None:
        _answer(h, 200, b"[" * 200_000)

    with serve(deep) as url:
        proc = entry_point(tmp_path, "discover", "--prometheus", url)
    assert proc.returncode == 4, proc.stderr
    assert (
        proc.stderr.strip().splitlines()[-1].endswith("ran, but it answered JSON nested too deeply")
    )


@pytest.mark.parametrize(
    "location",
    [
        pytest.param("{other}/api/v1/query", id="another-host"),
        pytest.param("ftp://127.0.0.1:1/x", id="another-scheme"),
    ],
)
def test_prometheus_redirects_are_not_followed(tmp_path: Path, location: str) -> None:
    hits: list[str] = []

    def other(h: http.server.BaseHTTPRequestHandler) -> None:
        hits.append(h.path)
        _answer(h, 200, EMPTY.encode())

    with serve(other) as other_url:

        def redirect(h: http.server.BaseHTTPRequestHandler) -> None:
            _answer(h, 302, b"", Location=location.format(other=other_url))

        with serve(redirect) as url:
            proc = entry_point(tmp_path, "discover", "--prometheus", url)
    assert proc.returncode == 4, proc.stderr
    assert hits == []
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("    HTTP 302 Found: redirects are not followed"), proc.stderr


def test_prometheus_credentials_go_as_basic_auth_and_are_never_shown(tmp_path: Path) -> None:
    seen: list[str | None] = []

    def refuse(h: http.server.BaseHTTPRequestHandler) -> None:
        seen.append(h.headers.get("Authorization"))
        _answer(h, 500, b"boom")

    with serve(refuse) as url:
        with_user = url.replace("http://", "http://ops%40example.com:s3cr%3At@")
        proc = entry_point(tmp_path, "discover", "--prometheus", with_user)
    assert proc.returncode == 4, proc.stderr
    assert seen == ["Basic " + base64.b64encode(b"ops@example.com:s3cr:t").decode()]
    # Every URL egressctl printed is the one without the credentials.
    shown = [w.strip("`'") for w in proc.stderr.split() if "://" in w]
    assert shown and {w.split("/api/")[0] for w in shown} == {url}


def test_prometheus_text_reaches_the_terminal_as_printable_lines(tmp_path: Path) -> None:
    def error_field(h: http.server.BaseHTTPRequestHandler) -> None:
        body = {"status": "error", "error": "\x1b[2J\x1b[31mpwned\nfake: line"}
        _answer(h, 200, json.dumps(body).encode())

    def error_body(h: http.server.BaseHTTPRequestHandler) -> None:
        _answer(h, 500, b"\x1b]0;title\x07\x1b[31mred\r\nsecond\x00line")

    with serve(error_field) as url:
        one = entry_point(tmp_path, "discover", "--prometheus", url)
    with serve(error_body) as url:
        two = entry_point(tmp_path, "discover", "--prometheus", url)
    assert (one.returncode, two.returncode) == (4, 4)
    assert printable_lines(one.stderr) and printable_lines(two.stderr)
    assert (
        one.stderr.strip().splitlines()[-1].endswith("the query failed: ?[2J?[31mpwned?fake: line")
    )
    assert two.stderr.strip().splitlines()[-1] == (
        "    HTTP 500 Internal Server Error: ?]0;title??[31mred second?line"
    )


@pytest.mark.parametrize(
    ("url", "last"),
    [
        ("http://[::1", "'http://[::1': give an http:// or https:// URL with a host"),
        ("http://ops:pw@[::1/", "'[::1/': give an http:// or https:// URL with a host"),
        ("http://127.0.0.1:1/p\u00e4",
         "'http://127.0.0.1:1/p\u00e4': give the path percent-encoded (ASCII)"),
        ("http://a b/", "'http://a b/': the URL holds whitespace or control characters"),
        ("http://ops:pw@h:99999/",
         "'http://***@h:99999/': give an http:// or https:// URL with a host"),
    ],
)  # fmt: skip
def test_prometheus_bad_urls_are_usage_errors_before_anything_is_read(
    tmp_path: Path, url: str, last: str
) -> None:
    proc = entry_point(tmp_path, "readiness", "--env", "nowhere", "--prometheus", url)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == f"--prometheus {last}"


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP port that accepts connections and never says a word."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


def test_prometheus_that_never_answers_exits_4_within_the_timeout(
    tmp_path: Path, silent_server: str
) -> None:
    start = time.monotonic()
    proc = entry_point_with_timeout(tmp_path, 1.0, "discover", "--prometheus", silent_server)
    assert proc.returncode == 4, proc.stderr
    assert time.monotonic() - start < 15  # the interpreter's start included
    assert proc.stderr.strip().splitlines()[-1] == "    cannot reach Prometheus: timed out"


def test_prometheus_trickling_an_answer_is_cut_at_the_timeout(tmp_path: Path) -> None:
    stop = threading.Event()

    def trickle(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.end_headers()
        with contextlib.suppress(OSError):
            while not stop.wait(0.2):  # a byte well within every socket timeout
                h.wfile.write(b" ")
                h.wfile.flush()

    with serve(trickle) as url:
        start = time.monotonic()
        try:
            proc = entry_point_with_timeout(tmp_path, 1.0, "discover", "--prometheus", url)
        finally:
            stop.set()
    assert proc.returncode == 4, proc.stderr
    assert time.monotonic() - start < 20
    assert proc.stderr.strip().splitlines()[-1] == "    Prometheus did not answer within 1s"


# ---------------------------------------------------------------------------
# Writing the inventory: that file, whole, as it was plus the entries


@pytest.fixture
def team(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "egress.yaml").write_text(COMMENTED.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "tls.log").write_text(TLS_PYPI + "\n", encoding="utf-8")
    return tmp_path


def test_a_symlinked_inventory_is_refused_and_both_stay(team: Path, cli: Any) -> None:
    real = team / "real"
    real.mkdir()
    (team / "egress.yaml").rename(real / "egress.yaml")
    (team / "egress.yaml").symlink_to(real / "egress.yaml")
    res = cli("discover", "tls.log", "-i", "egress.yaml")
    assert res.exit_code == 3, res.stderr
    assert (team / "egress.yaml").is_symlink()
    assert (real / "egress.yaml").read_text(encoding="utf-8") == COMMENTED.read_text("utf-8")


def test_the_merged_inventory_keeps_its_permission_bits(team: Path, cli: Any) -> None:
    (team / "egress.yaml").chmod(0o644)
    res = cli("discover", "tls.log", "-i", "egress.yaml")
    assert res.exit_code == 0, res.stderr
    assert "pypi-org" in yaml.safe_load((team / "egress.yaml").read_text())["services"]
    assert stat.S_IMODE((team / "egress.yaml").stat().st_mode) == 0o644


def test_an_inventory_changed_meanwhile_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "egress.yaml"
    path.write_text("services: {}\n", encoding="utf-8")
    with pytest.raises(MergeError):
        write_inventory(path, "policy: ALLOW_ANY\n", "policy: ALLOW_ANY\nservices: {}\n")
    assert path.read_text(encoding="utf-8") == "services: {}\n"
    assert [p.name for p in tmp_path.iterdir()] == ["egress.yaml"]  # no temporary left


def test_a_crlf_inventory_stays_crlf(team: Path, cli: Any) -> None:
    crlf = COMMENTED.read_text(encoding="utf-8").replace("\n", "\r\n")
    (team / "egress.yaml").write_bytes(crlf.encode())
    (team / "flow.yaml").write_bytes(b"policy: ALLOW_ANY\r\nservices: {}\r\n")
    for name in ("egress.yaml", "flow.yaml"):  # the text insert, then the round trip
        res = cli("discover", "tls.log", "-i", name)
        assert res.exit_code == 0, res.stderr
        data = (team / name).read_bytes()
        lines = data.split(b"\n")
        assert lines[-1] == b"" and all(line.endswith(b"\r") for line in lines[:-1]), name
        assert yaml.safe_load(data)["services"]["pypi-org"] == {
            "host": "pypi.org",
            "ports": ["443/https"],
        }


def test_line_separators_in_values_do_not_move_the_insertion() -> None:
    text = (
        "policy: ALLOW_ANY\nservices:\n"
        '  a: {host: a.com, ports: [80/http], reason: "x\u2028y\x85z"}\n'
        "  b: {host: b.com, ports: [80/http]}\ncapture: {}\n"
    )
    added = (
        "  # discovered: 1 connection\n  pypi-org:\n    host: pypi.org\n    ports: [443/https]\n"
    )
    at = text.index("capture:")
    # Inserted as text at the end of `services`; every other byte as it was.
    assert merge(text, _one()) == text[:at] + added + text[at:]


def test_merge_refuses_a_name_the_file_already_has() -> None:
    text = "services:\n  pypi-org: {host: other.example.com, ports: [80/http]}\n"
    with pytest.raises(MergeError, match=r"services\.pypi-org is already in the file"):
        merge(text, _one())


def test_merge_refuses_services_that_is_not_a_mapping() -> None:
    with pytest.raises(MergeError, match="services is not a mapping"):
        merge("services:\n  - a\n", _one())


def test_the_draft_goes_only_into_an_inventory_file_of_the_environment(
    project: Path, env_file: Any, cli: Any
) -> None:
    env = env_file("dev", inventory="policy: ALLOW_ANY\nservices: {}\n")
    before = env.read_text(encoding="utf-8")
    (project / "tls.log").write_text(TLS_PYPI + "\n", encoding="utf-8")
    res = cli("discover", "tls.log", "--env", "dev", "-i", str(env))
    assert res.exit_code == 2, res.stderr
    assert env.read_text(encoding="utf-8") == before
    ok = cli("discover", "tls.log", "--env", "dev", "-i", "values/egress.yaml")
    assert ok.exit_code == 0, ok.stderr
    merged = yaml.safe_load((project / "values" / "egress.yaml").read_text())
    assert list(merged["services"]) == ["pypi-org"]


# ---------------------------------------------------------------------------
# What a log line may make of the draft


@pytest.mark.parametrize(
    "authority",
    [
        "kubernetes.default.svc.cluster.local",
        "payments.shop.svc",
        "redis",
        "localhost",
        "app.localhost",
    ],
)
def test_in_cluster_and_short_names_are_never_proposed(authority: str) -> None:
    obs = Observations()
    obs.feed(http_line(authority))
    d = draft(obs.merged(), None)
    assert d.proposals == ()
    assert [x.host for x, _ in d.not_proposed] == [authority]


def test_injection_through_log_values_never_reaches_the_inventory(team: Path, cli: Any) -> None:
    hostile = [
        "evil.example.com\\n  x: y",
        "evil.example.com # c",
        "evil.example.com: b",
        "evil.example.com\u2028services: {}",
        "evil.example.com\u0085x",
        "*.example.com",
        "*",
        "a" * 300 + ".com",
        "\x1b[31mred.example.com",
    ]
    lines = [http_line(a) for a in hostile]
    lines += ["[pod/x\x1b[2J-7d9f8b6c5d-x2x4z/istio-proxy] " + TLS_PYPI]
    (team / "hostile.log").write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = yaml.safe_load(COMMENTED.read_text(encoding="utf-8"))
    res = cli("discover", "hostile.log", "-i", "egress.yaml", "--output", "json")
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)["data"]
    assert [(p["name"], p["host"]) for p in data["proposed"]] == [("pypi-org", "pypi.org")]
    assert data["proposed"][0]["comment"] == "discovered: 1 connection, 2026-11-30"
    after = yaml.safe_load((team / "egress.yaml").read_text(encoding="utf-8"))
    before["services"]["pypi-org"] = {"host": "pypi.org", "ports": ["443/https"]}
    assert after == before


def test_garbage_logs_end_without_a_traceback_in_bounded_lines(tmp_path: Path) -> None:
    big = http_line("big.example.com", user_agent="x" * (5 * 1024 * 1024))
    with (tmp_path / "garbage.log").open("wb") as fh:
        fh.write(b"\x00\xff\xfe" * 1000 + b"\n")
        fh.write(b'{"upstream_cluster": ' + b"[" * 30_000 + b"\n")
        fh.write(big.encode() + b"\n")
        fh.write(b"[pod/\x1b]0;t\x07/istio-proxy] " + TLS_PYPI.encode() + b"\n")
        fh.write(http_line("nul\x00.example.com").encode() + b"\n")
        fh.write(http_line("ok.example.com", user_agent="UA").encode().replace(b"UA", b"\xc3(\xff"))
        fh.write(b"\n")
    proc = entry_point(tmp_path, "discover", "garbage.log")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines()[0] == (
        "read: 6 lines, 2 counted, 3 malformed (skipped), 1 not access logs, "
        "1 with an invalid host (kept as IP-only)"
    )
    assert printable_lines(proc.stderr)


# ---------------------------------------------------------------------------
# The cluster


def _injected_pod(namespace: str, name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"containers": [{"name": "app"}, {"name": "istio-proxy"}]},
        "status": {"phase": "Running"},
    }


def test_cluster_log_lines_over_the_limit_are_malformed_as_in_a_file(
    project: Path, env_file: Any, kubectl: FakeKubectl, cli: Any
) -> None:
    env_file("dev", inventory="policy: ALLOW_ANY\nservices: {}\n")
    kubectl.add_namespace("shop", {"istio-injection": "enabled"})
    kubectl.add(_injected_pod("shop", "checkout-7d9f8b6c5d-x2x4z"))
    kubectl.load()
    long_line = http_line("long.example.com", user_agent="x" * 70_000)
    kubectl.state["logs"] = {"shop/checkout-7d9f8b6c5d-x2x4z": f"{long_line}\n{TLS_PYPI}\n"}
    kubectl.save()
    res = cli("discover", "--cluster", "--env", "dev", "--dry-run", "--output", "json")
    assert res.exit_code == 0, res.stderr
    read = json.loads(res.stdout)["data"]["read"]
    assert (read["lines"], read["counted"], read["malformed"]) == (2, 1, 1)


def test_readiness_with_an_unreadable_pod_log_is_unproven(
    project: Path, env_file: Any, kubectl: FakeKubectl, cli: Any
) -> None:
    env_file("prod", inventory="policy: ALLOW_ANY\nservices: {}\n")
    kubectl.add_namespace("shop", {"istio-injection": "enabled"})
    kubectl.add(_injected_pod("shop", "gone-7d9f8b6c5d-x2x4z"))  # no log: kubectl fails
    res = cli("readiness", "--env", "prod", "--cluster")
    assert res.exit_code == 4, res.stderr
    assert res.stdout.splitlines() == [
        "unproven: none of the 0 destinations seen would be blocked if prod were "
        "REGISTRY_ONLY now, but the log of 1 pod(s) could not be read"
    ]
    as_json = cli("readiness", "--env", "prod", "--cluster", "--output", "json")
    assert as_json.exit_code == 4
    data = json.loads(as_json.stdout)["data"]
    assert (data["ready"], data["read"]["unreadPods"]) == (False, 1)


# ---------------------------------------------------------------------------
# The report


HOSTILE_INVENTORY = r"""
policy: ALLOW_ANY
services:
  evil:
    host: api.example.com
    ports: [443/https]
    owner: "team [x](javascript:alert(1)) ![t](https://evil.example/t.png)"
    reason: "\e[2J\e[31mred <script>alert(1)</script> | broken | \u2028next \"q' onload=x \
      <img src=x>"
    ticket: "[NET-1](https://evil.example/) *bold* _it_ `code` &lt;b&gt; ~~s~~"
  wild:
    hosts: ["*.github.com", "*.example.org"]
    ports: [443/https]
    owner: "</style><script src=//evil.example/x.js></script>"
"""

_TAGS = {
    "html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "table", "thead",
    "tbody", "tr", "th", "td", "code", "br", "span", "strong", "p", "ul", "li",
}  # fmt: skip
_ATTRIBUTES = {"lang", "charset", "name", "content", "class", "id"}


class _Page(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self.cells: list[str] = []
        self._cell: list[str] | None = None
        self.style: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes |= {k for k, _ in attrs}
        if tag == "td":
            self._cell = []
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.cells.append("".join(self._cell))
            self._cell = None
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._in_style:
            self.style.append(data)


@pytest.fixture
def hostile_inventory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "egress.yaml"
    path.write_text(HOSTILE_INVENTORY.lstrip("\n"), encoding="utf-8")
    return path


def test_html_report_has_no_script_and_no_external_fetch_whatever_the_inventory_says(
    hostile_inventory: Path, cli: Any
) -> None:
    res = cli("report", "egress.yaml", "--format", "html")
    assert res.exit_code == 0, res.stderr
    page = _Page()
    page.feed(res.stdout)
    page.close()
    assert page.tags <= _TAGS, page.tags - _TAGS
    assert page.attributes <= _ATTRIBUTES, page.attributes - _ATTRIBUTES
    assert "url(" not in "".join(page.style) and "@import" not in "".join(page.style)
    assert printable_lines(res.stdout)
    reasons = [c for c in page.cells if "onload" in c]
    assert reasons == [
        "\ufffd[2J\ufffd[31mred <script>alert(1)</script> | broken | \ufffdnext \"q' "
        "onload=x <img src=x>"
    ]


def _md_cells(line: str) -> list[str]:
    """A Markdown table row split at its unescaped pipes."""
    cells, cur, escaped = [], "", False
    for ch in line.strip()[1:-1]:
        if ch == "|" and not escaped:
            cells.append(cur.strip())
            cur = ""
            continue
        escaped = ch == "\\" and not escaped
        cur += ch
    return [*cells, cur.strip()]


def test_markdown_report_values_are_text_never_links_images_or_emphasis(
    hostile_inventory: Path, cli: Any
) -> None:
    from markdown_it import MarkdownIt

    res = cli("report", "egress.yaml")
    assert res.exit_code == 0, res.stderr
    assert printable_lines(res.stdout)
    page = _Page()
    page.feed(MarkdownIt("commonmark").enable("table").enable("strikethrough").render(res.stdout))
    assert page.tags <= _TAGS | {"h4"}, page.tags - _TAGS
    rows = [_md_cells(line) for line in res.stdout.splitlines() if line.startswith("| ")]
    evil = next(r for r in rows if r[0] == "evil")
    assert len(evil) == 9
    wild = next(c for c in page.cells if "github" in c)
    assert wild == "*.github.com, *.example.org"
    ticket = next(c for c in page.cells if "NET-1" in c)
    assert ticket == "[NET-1](https://evil.example/) *bold* _it_ `code` &lt;b&gt; ~~s~~"


def test_long_authorities_do_not_pile_up_in_memory() -> None:
    """Clients choose their Host header (Envoy takes up to 60 KiB): 2,000 different long
    ones must not be kept (each line is read and dropped)."""
    import tracemalloc

    obs = Observations()
    filler = "x" * 60_000
    tracemalloc.start()
    try:
        for n in range(2_000):
            obs.feed(http_line(f"{n}.{filler}.example.com"))
        _, peak = tracemalloc.get_traced_memory()
        kept, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (obs.counts.counted, obs.counts.junk_hosts) == (2_000, 2_000)
    assert kept < 5_000_000, kept  # 2,000 times 60 KB would be 120 MB
    assert peak < 10_000_000, peak


def test_readiness_exit_codes_under_errors(tmp_path: Path) -> None:
    """Whatever fails, readiness never exits 0 (ready) and never shows a traceback."""
    values = tmp_path / "values"
    values.mkdir()
    (values / "prod.yaml").write_text("inventory: [egress.yaml]\ncontext: kind-prod\n")
    (values / "egress.yaml").write_text("policy: ALLOW_ANY\nservices: {}\n")
    (values / "broken.yaml").write_text("inventory: [nothing.yaml]\ncontext: kind-prod\n")
    (tmp_path / "garbage.log").write_bytes(b"\x00\xff[\x1b[31m\n" + TLS_PYPI.encode() + b"\n")

    def deep(h: http.server.BaseHTTPRequestHandler) -> None:
        _answer(h, 200, b"[" * 100_000)

    with serve(deep) as url:
        cases = {
            "blocked": (["--env", "prod", "garbage.log"], 1),
            "missing-file": (["--env", "prod", "missing.log"], 3),
            "a-folder": (["--env", "prod", "values"], 3),
            "bad-environment": (["--env", "broken", "garbage.log"], 3),
            "no-source": (["--env", "prod"], 2),
            "bad-since": (["--env", "prod", "garbage.log", "--since", "1w"], 2),
            "prometheus-garbage": (["--env", "prod", "--prometheus", url], 4),
            "prometheus-down": (["--env", "prod", "--prometheus", "http://127.0.0.1:9"], 4),
        }
        codes = {
            name: entry_point(tmp_path, "readiness", *args) for name, (args, _) in cases.items()
        }
    assert {name: p.returncode for name, p in codes.items()} == {
        name: code for name, (_, code) in cases.items()
    }
    assert all(printable_lines(p.stderr) for p in codes.values())
    # Exit 1 is "not ready", not a crash: the verdict is there.
    assert codes["blocked"].stdout.splitlines()[0] == (
        "not ready: 1 of the 1 destinations seen would be blocked if prod were REGISTRY_ONLY now"
    )


def test_an_ipv6_zone_never_reaches_the_output() -> None:
    """`fe80::1%ZONE` is an IP to Python whatever ZONE holds (an escape sequence)."""
    from egressctl.discover.metrics import read_result

    obs = Observations()
    obs.feed(
        '[2026-12-01T08:00:00.000Z] "- - -" 0 UH - - "-" 0 0 0 - "-" "-" "-" "-" "-" '
        "BlackHoleCluster - [fe80::1%\x1b[31mx]:5432 10.244.2.9:40000 - -"
    )
    series = {
        "metric": {
            "destination_service": "fe80::2%\x1b]0;t\x07",
            "destination_service_name": "PassthroughCluster",
        },
        "value": [0, "3"],
    }
    read_result(obs, {"status": "success", "data": {"result": [series]}}, tcp=True)
    assert [(d.host, d.port, d.addresses, d.requests) for d in obs.destinations()] == [
        (None, None, (), 4)
    ]


@pytest.mark.parametrize(
    "answer",
    [
        {"status": "success"},
        {"status": "success", "data": {"resultType": "string", "result": "x"}},
        {"status": "success", "data": []},
    ],
)
def test_readiness_never_passes_on_a_prometheus_answer_without_results(
    project: Path, env_file: Any, cli: Any, answer: dict[str, Any]
) -> None:
    env_file("prod", inventory="policy: ALLOW_ANY\nservices: {}\n")

    def odd(h: http.server.BaseHTTPRequestHandler) -> None:
        _answer(h, 200, json.dumps(answer).encode())

    with serve(odd) as url:
        res = cli("readiness", "--env", "prod", "--prometheus", url)
    assert res.exit_code == 4, res.stdout
    assert (
        res.stderr.strip()
        .splitlines()[-1]
        .endswith("ran, but its answer holds no data.result list")
    )
