"""`egressctl discover` and `readiness` (issue #16): access logs and metrics → observed
destinations → draft entries merged into an inventory, and the REGISTRY_ONLY verdicts.

The corpus under tests/data/accesslogs/ holds lines in Istio's default text format and
its JSON encoding.  The merge golden is tests/data/discover/commented-merged.yaml;
regenerate it with ``EGRESSCTL_DISCOVER_GOLDEN=1 pytest tests/test_discover.py``.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from egressctl.discover.accesslog import Kind, Line, Outcome, parse_line
from egressctl.discover.draft import draft, name_for
from egressctl.discover.merge import merge
from egressctl.discover.metrics import query, read_result
from egressctl.discover.observations import Destination, Observations
from egressctl.discover.pods import workload_of
from egressctl.discover.readiness import readiness
from egressctl.discover.sources import read_files
from egressctl.inventory.model import (
    Capture,
    Environment,
    Inventory,
    NamespacePolicy,
    Policy,
    Port,
    Resolution,
    Service,
)
from tests.conftest import FakeKubectl, entry_point, flag, write

DATA = Path(__file__).parent / "data"
LOGS = DATA / "accesslogs"
GOLDEN = DATA / "discover"

TEXT_HTTP = (
    '[2026-11-30T10:15:02.123Z] "GET /v1/charges HTTP/1.1" 200 - via_upstream - "-" 0 1520 '
    '87 86 "-" "python-requests/2.31.0" "5a3f9c1e" "api.stripe.com" "54.187.174.169:80" '
    "PassthroughCluster 10.244.1.17:43210 54.187.174.169:80 10.244.1.17:43208 - allow_any"
)
TEXT_TLS = (
    '[2026-11-30T10:16:00.000Z] "- - -" 0 - - - "-" 1234 5678 300 - "-" "-" "-" "-" '
    '"140.82.112.3:443" PassthroughCluster 10.244.1.17:51234 140.82.112.3:443 '
    "10.244.1.17:51232 api.github.com -"
)
TEXT_BLOCK_ALL = (
    '[2026-12-01T09:00:00.000Z] "GET /status/200 HTTP/1.1" 502 - direct_response - "-" 0 0 0 '
    '- "-" "curl/8.5.0" "0c6b8d2e" "example.org" "-" - - 93.184.215.14:80 10.244.2.9:50000 '
    "- block_all"
)
TEXT_NR = (
    '[2026-12-01T09:05:00.000Z] "GET / HTTP/1.1" 404 NR route_not_found - "-" 0 0 0 - "-" '
    '"curl/8.5.0" "1d7c9e3f" "partner.example.com:8080" "-" - - 10.99.0.5:8080 '
    "10.244.2.9:50002 - -"
)
TEXT_BLACKHOLE_IP = (
    '[2026-12-01T08:00:00.000Z] "- - -" 0 UH - - "-" 0 0 0 - "-" "-" "-" "-" "-" '
    "BlackHoleCluster - 93.184.216.34:5432 10.244.2.9:40000 - -"
)
TEXT_REGISTERED = (
    '[2026-12-01T09:06:00.000Z] "GET / HTTP/1.1" 200 - via_upstream - "-" 0 512 12 11 "-" '
    '"curl/8.5.0" "2e8d0f4a" "www.google.com" "142.250.74.36:443" '
    "outbound|443||www.google.com 10.244.2.9:50010 142.250.74.36:443 10.244.2.9:50008 "
    "www.google.com -"
)
JSON_BLACKHOLE_SNI = json.dumps(
    {
        "start_time": "2026-12-01T10:00:00.000Z",
        "method": None,
        "response_code": 0,
        "response_flags": "UH",
        "authority": None,
        "upstream_cluster": "BlackHoleCluster",
        "downstream_local_address": "151.101.1.69:443",
        "requested_server_name": "pypi.org",
        "route_name": None,
    }
)


# ---------------------------------------------------------------------------
# One line


@pytest.mark.parametrize(
    ("line", "outcome", "kind", "host", "address", "port"),
    [
        pytest.param(TEXT_HTTP, Outcome.PASSTHROUGH, Kind.HTTP, "api.stripe.com",
                     "54.187.174.169", 80, id="text-http-passthrough"),
        pytest.param(TEXT_TLS, Outcome.PASSTHROUGH, Kind.TLS, "api.github.com",
                     "140.82.112.3", 443, id="text-tls-sni"),
        pytest.param(TEXT_BLOCK_ALL, Outcome.REFUSED, Kind.HTTP, "example.org",
                     "93.184.215.14", 80, id="text-502-block-all"),
        pytest.param(TEXT_NR, Outcome.REFUSED, Kind.HTTP, "partner.example.com",
                     "10.99.0.5", 8080, id="text-404-NR"),
        pytest.param(TEXT_BLACKHOLE_IP, Outcome.BLACKHOLE, Kind.TCP, None,
                     "93.184.216.34", 5432, id="text-blackhole-ip-only"),
        pytest.param(JSON_BLACKHOLE_SNI, Outcome.BLACKHOLE, Kind.TLS, "pypi.org",
                     "151.101.1.69", 443, id="json-blackhole-sni"),
        pytest.param("[pod/checkout-7d9f8b6c5d-x2x4z/istio-proxy] " + TEXT_HTTP,
                     Outcome.PASSTHROUGH, Kind.HTTP, "api.stripe.com", "54.187.174.169", 80,
                     id="kubectl-prefix"),
        pytest.param(TEXT_HTTP.replace('"api.stripe.com"', '"API.Stripe.com.:80"'),
                     Outcome.PASSTHROUGH, Kind.HTTP, "api.stripe.com", "54.187.174.169", 80,
                     id="authority-case-port-dot"),
        pytest.param(TEXT_HTTP.replace('"python-requests/2.31.0"', '"a \\"quoted\\" agent"'),
                     Outcome.PASSTHROUGH, Kind.HTTP, "api.stripe.com", "54.187.174.169", 80,
                     id="quotes-in-user-agent"),
    ],
)  # fmt: skip
def test_counted_lines(
    line: str, outcome: Outcome, kind: Kind, host: str | None, address: str, port: int
) -> None:
    parsed = parse_line(line)
    assert parsed.line is Line.COUNTED
    r = parsed.record
    assert r is not None
    assert (r.outcome, r.kind, r.host, r.address, r.port) == (outcome, kind, host, address, port)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        pytest.param(TEXT_REGISTERED, Line.IGNORED, id="registered-outbound"),
        pytest.param(TEXT_HTTP.replace("PassthroughCluster", "inbound|8080||"), Line.IGNORED,
                     id="inbound"),
        pytest.param("2026-12-01T09:10:01.000000Z\tinfo\txdsproxy\tconnected", Line.OTHER,
                     id="proxy-log"),
        pytest.param('{"level":"info","msg":"connected"}', Line.OTHER, id="proxy-json-log"),
        pytest.param("", Line.OTHER, id="blank"),
        pytest.param('[2026-12-01T09:11:00.000Z] "GET / HTTP/1.1" 200 - via_upstream',
                     Line.MALFORMED, id="truncated-text"),
        pytest.param('{"upstream_cluster": "PassthroughCluster"', Line.MALFORMED,
                     id="truncated-json"),
        pytest.param('["not", "an", "object"]', Line.MALFORMED, id="json-array"),
        pytest.param("[pod/broken [2026-12-01", Line.MALFORMED, id="broken-prefix"),
        pytest.param("[\x00\xff garbage", Line.MALFORMED, id="garbage"),
    ],
)  # fmt: skip
def test_lines_that_do_not_count(line: str, expected: Line) -> None:
    assert parse_line(line).line is expected


@pytest.mark.parametrize(
    "authority",
    ['"<script>.evil.example"', '"exa mple.com"', '"*.example.com"', '"host:99999"',
     '"' + "a" * 300 + '.com"', '"bücher.de"'],
)  # fmt: skip
def test_junk_hosts_become_ip_only_never_hosts(authority: str) -> None:
    r = parse_line(TEXT_HTTP.replace('"api.stripe.com"', authority)).record
    assert r is not None
    assert (r.host, r.address, r.junk_host) == (None, "54.187.174.169", True)


def test_an_ip_authority_is_ip_only_not_junk() -> None:
    r = parse_line(TEXT_HTTP.replace('"api.stripe.com"', '"54.187.174.169:80"')).record
    assert r is not None
    assert (r.host, r.junk_host) == (None, False)


@pytest.mark.parametrize(
    ("pod", "workload"),
    [
        ("checkout-7d9f8b6c5d-x2x4z", "checkout"),  # Deployment
        ("shop-api-7d9f8b6c5d-x2x4z", "shop-api"),
        ("db-0", "db"),  # StatefulSet
        ("fluentd-k8s9z", "fluentd"),  # DaemonSet
        ("checkout-v2", "checkout-v2"),  # a bare pod
        ("Bad_Name", None),
    ],
)
def test_workload_of_pod(pod: str, workload: str | None) -> None:
    assert workload_of(pod) == workload


# ---------------------------------------------------------------------------
# The corpus


def _read(*names: str) -> Observations:
    obs = Observations()
    read_files(obs, [str(LOGS / n) for n in names])
    return obs


def _by_shown(ds: list[Destination]) -> dict[str, Destination]:
    return {d.shown: d for d in ds}


def test_text_corpus() -> None:
    obs = _read("text.log")
    c = obs.counts
    assert (c.lines, c.counted, c.ignored, c.other, c.malformed, c.junk_hosts) == (
        17, 12, 2, 1, 2, 1,
    )  # fmt: skip
    ds = _by_shown(obs.destinations())
    assert sorted(ds) == [
        "(IP-only):443", "(IP-only):5432", "(IP-only):80", "(IP-only):9000",
        "api.github.com:443", "api.stripe.com:80", "example.org:80", "httpbin.org:80",
        "partner.example.com:8080", "pypi.org:443",
    ]  # fmt: skip
    stripe = ds["api.stripe.com:80"]
    assert (stripe.requests, stripe.first, stripe.last) == (
        2, "2026-11-30T10:15:02.123Z", "2026-11-30T10:15:09.001Z",
    )  # fmt: skip
    assert dict(ds["example.org:80"].outcomes) == {"refused": 1}
    assert dict(ds["pypi.org:443"].outcomes) == {"blackhole": 1}
    assert ds["(IP-only):443"].addresses == ("52.1.2.3", "52.1.2.4")
    assert ds["(IP-only):80"].addresses == ("203.0.113.9",)  # the junk authority's


def test_json_corpus() -> None:
    obs = _read("json.log")
    c = obs.counts
    assert (c.lines, c.counted, c.ignored, c.other, c.malformed) == (10, 6, 1, 1, 2)
    ds = _by_shown(obs.destinations())
    assert sorted(ds) == [
        "(IP-only):443", "api.github.com:443", "api.stripe.com:80", "example.org:80",
        "partner.example.com:8080", "pypi.org:443",
    ]  # fmt: skip
    assert dict(ds["api.github.com:443"].kinds) == {"tls": 1}


def test_prefixed_corpus_names_workloads() -> None:
    obs = _read("prefixed.log")
    assert (obs.counts.counted, obs.counts.other, obs.counts.malformed) == (5, 1, 1)
    ds = _by_shown(obs.destinations())
    assert ds["api.stripe.com:80"].workloads == (("checkout", 2), ("cart", 1))
    assert ds["pypi.org:443"].workloads == (("db", 1),)
    assert ds["(IP-only):9200"].workloads == (("fluentd", 1),)


def test_memory_is_bounded_per_destination() -> None:
    obs = Observations()
    for i in range(200):
        pod = f"app{i}-7d9f8b6c5d-x2x4z"
        ip = f"52.1.{i // 250}.{i % 250}"
        obs.feed(f"[pod/{pod}/istio-proxy] " + TEXT_BLACKHOLE_IP.replace("93.184.216.34", ip))
    (d,) = obs.destinations()
    assert d.requests == 200
    assert len(d.workloads) == 32 and d.more_workloads
    assert len(d.addresses) == 16 and d.more_addresses


def test_an_over_long_line_is_counted_malformed(tmp_path: Path) -> None:
    f = tmp_path / "long.log"
    f.write_bytes(b"[" + b"x" * 200_000 + b"\n" + TEXT_HTTP.encode() + b"\n")
    obs = Observations()
    read_files(obs, [str(f)])
    assert (obs.counts.lines, obs.counts.malformed, obs.counts.counted) == (2, 1, 1)


# ---------------------------------------------------------------------------
# The draft


def _svc(name: str, host: str, *ports: tuple[int, str]) -> Service:
    resolution = Resolution.NONE if host.startswith("*") else Resolution.DNS
    return Service(
        name=name,
        hosts=(host,),
        ports=tuple(Port(n, p, f"{p.lower()}-{n}") for n, p in ports),
        resolution=resolution,
    )


def _inv(*services: Service, policy: Policy = Policy.ALLOW_ANY) -> Inventory:
    return Inventory(policy=policy, capture=Capture(), services=services)


def test_draft_skips_covered_hosts_wildcards_included() -> None:
    inv = _inv(
        _svc("api-stripe-com", "api.stripe.com", (443, "HTTPS")),
        _svc("github", "*.github.com", (443, "HTTPS")),
        _svc("httpbin-ext", "httpbin.org", (80, "HTTP")),
    )
    d = draft(_read("text.log").merged(), inv)
    assert [(p.name, p.host, p.ports) for p in d.proposals] == [
        ("example-org", "example.org", ("80/http",)),
        ("partner-example-com", "partner.example.com", ("8080/http",)),
        ("pypi-org", "pypi.org", ("443/https",)),
    ]
    known = {(k.destination.host, k.entry, k.covered) for k in d.known}
    assert known == {
        ("api.github.com", "github", True),  # the wildcard covers it
        ("httpbin.org", "httpbin-ext", True),
        ("api.stripe.com", "api-stripe-com", False),  # registered, but not on port 80
    }
    assert [x.port for x in d.ip_only] == [80, 443, 5432, 9000]


def test_draft_names_are_unique_dns_labels() -> None:
    taken = {"pypi-org"}
    assert name_for("pypi.org", taken) == "pypi-org-2"
    long = ".".join(["a" * 40, "b" * 40, "com"])
    name = name_for(long, set())
    assert len(name) <= 63 and not name.endswith("-")
    assert name_for(long, {name}).endswith("-2")


def test_draft_comment_counts_workloads_and_dates() -> None:
    d = draft(_read("prefixed.log").merged(), None)
    stripe = next(p for p in d.proposals if p.host == "api.stripe.com")
    assert stripe.comment == ("discovered: 3 requests from checkout, cart, 2026-11-30..2026-12-01")


# ---------------------------------------------------------------------------
# The merge


def _merge_golden() -> tuple[str, str]:
    from egressctl.inventory.load import read_inventory

    src = GOLDEN / "commented-inventory.yaml"
    inv = read_inventory([src]).model
    obs = Observations()
    read_files(obs, [str(GOLDEN / "logs.txt")])
    d = draft(obs.merged(), inv)
    old = src.read_text(encoding="utf-8")
    return old, merge(old, d.proposals, "commented-inventory.yaml")


def test_merge_keeps_a_commented_inventory_intact_golden() -> None:
    old, new = _merge_golden()
    golden = GOLDEN / "commented-merged.yaml"
    if os.environ.get("EGRESSCTL_DISCOVER_GOLDEN"):
        golden.write_text(new, encoding="utf-8")
    assert new == golden.read_text(encoding="utf-8")
    # Every line of the original is there, in order: the new ones are only inserted.
    old_lines, new_lines = old.splitlines(), iter(new.splitlines())
    assert all(any(line == n for n in new_lines) for line in old_lines)
    data = yaml.safe_load(new)
    assert list(data["services"]) == [
        "stripe", "github", "httpbin-ext", "inventory-partner-example-com", "pypi-org",
    ]  # fmt: skip
    assert data["services"]["pypi-org"] == {"host": "pypi.org", "ports": ["443/https"]}


@pytest.mark.parametrize(
    "text",
    [
        "policy: ALLOW_ANY\nservices: {}\n",
        "# only a policy\npolicy: ALLOW_ANY  # keep\n",
        "policy: ALLOW_ANY\nservices: {a: {host: a.example.com, ports: [80/http]}}\n",
    ],
)
def test_merge_by_round_trip_when_services_is_not_a_block(text: str) -> None:
    d = draft(_read("prefixed.log").merged(), None)
    new = merge(text, d.proposals)
    data = yaml.safe_load(new)
    assert data["policy"] == "ALLOW_ANY"
    assert data["services"]["api-stripe-com"] == {
        "host": "api.stripe.com",
        "ports": ["80/http"],
    }
    assert "# discovered: 3 requests from checkout, cart" in new
    if "# keep" in text:
        assert "policy: ALLOW_ANY  # keep" in new


# ---------------------------------------------------------------------------
# The CLI: discover


@pytest.fixture
def team(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "egress.yaml").write_text(
        (GOLDEN / "commented-inventory.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    return tmp_path


def test_discover_merges_into_the_file_then_has_nothing_more(team: Path, cli: Any) -> None:
    logs = str(GOLDEN / "logs.txt")
    res = cli("discover", logs, "--inventory", "egress.yaml")
    assert res.exit_code == 0, res.stderr
    assert (team / "egress.yaml").read_text() == (GOLDEN / "commented-merged.yaml").read_text()
    again = cli("discover", logs, "--inventory", "egress.yaml", "--output", "json")
    assert again.exit_code == 0, again.stderr
    doc = json.loads(again.stdout)
    assert doc["data"]["proposed"] == [] and doc["data"]["written"] is False


def test_discover_dry_run_prints_a_diff_and_writes_nothing(team: Path, cli: Any) -> None:
    before = (team / "egress.yaml").read_text()
    res = cli("discover", str(GOLDEN / "logs.txt"), "-i", "egress.yaml", "--dry-run")
    assert res.exit_code == 0, res.stderr
    assert (team / "egress.yaml").read_text() == before
    added = [line[1:] for line in res.stdout.splitlines() if line.startswith("+ ")]
    assert added == [
        "  # discovered: 2 requests from cart, 2026-12-01",
        "  inventory-partner-example-com:",
        "    host: inventory.partner.example.com",
        "    ports: [8080/http]",
        "  # discovered: 1 connection from checkout, 2026-11-30",
        "  pypi-org:",
        "    host: pypi.org",
        "    ports: [443/https]",
    ]


def test_discover_json_envelope(team: Path, cli: Any) -> None:
    res = cli("discover", str(LOGS / "text.log"), "-i", "egress.yaml", "--dry-run",
              "--output", "json")  # fmt: skip
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert (doc["egressctlOutputVersion"], doc["command"], doc["ok"]) == (1, "discover", True)
    data = doc["data"]
    assert data["read"]["malformed"] == 2 and data["read"]["junkHosts"] == 1
    assert [p["host"] for p in data["proposed"]] == [
        "example.org", "partner.example.com", "pypi.org",
    ]  # fmt: skip
    assert [(x["port"], x["addresses"]) for x in data["ipOnly"]] == [
        (80, ["203.0.113.9"]), (443, ["52.1.2.3", "52.1.2.4"]), (5432, ["93.184.216.34"]),
        (9000, ["198.51.100.7"]),
    ]  # fmt: skip
    assert data["written"] is False and data["diff"].startswith("--- a/egress.yaml")


def test_discover_reads_stdin(team: Path, cli: Any) -> None:
    res = cli("discover", "-", input=(LOGS / "json.log").read_text())
    assert res.exit_code == 0, res.stderr
    data = yaml.safe_load(res.stdout)
    assert sorted(data["services"]) == [
        "api-github-com", "api-stripe-com", "example-org", "partner-example-com", "pypi-org",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "code"),
    [
        pytest.param([], 2, id="no-source"),
        pytest.param(["--cluster"], 2, id="cluster-without-env"),
        pytest.param(["x.log", "--since", "yesterday"], 2, id="bad-since"),
        pytest.param(["missing.log"], 3, id="missing-file"),
        pytest.param([".", "-i", "egress.yaml"], 3, id="a-folder"),
        pytest.param(["--prometheus", "file:///etc/passwd"], 2, id="prometheus-not-http"),
    ],
)
def test_discover_refuses_bad_input(team: Path, cli: Any, args: list[str], code: int) -> None:
    (team / "x.log").write_text(TEXT_HTTP + "\n")
    assert cli("discover", *args).exit_code == code


def test_bad_input_never_shows_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "garbage.log").write_bytes(b'\xff\xfe[\x00\x01\n{"a": [[[[[[\n' * 50)
    ok = entry_point(tmp_path, "discover", "garbage.log")
    assert ok.returncode == 0, ok.stderr
    assert ok.stderr.splitlines()[0] == (
        "read: 100 lines, 0 counted, 50 malformed (skipped), 50 not access logs"
    )
    missing = entry_point(tmp_path, "discover", "nothing-here.log")
    assert missing.returncode == 3
    last = missing.stderr.strip().splitlines()[-1]
    assert last == "1 error in the input; nothing was written or applied"


# ---------------------------------------------------------------------------
# Readiness


def _env(inv: Inventory) -> Environment:
    return Environment(
        name="prod",
        file="values/prod.yaml",
        context="kind-prod",
        namespace="istio-system",
        api_version="v1",
        istio=None,
        inventory=inv,
    )


def test_readiness_per_namespace() -> None:
    inv = Inventory(
        policy=Policy.ALLOW_ANY,
        capture=Capture(),
        services=(
            _svc("stripe", "api.stripe.com", (80, "HTTP")),
            _svc("pypi", "pypi.org", (443, "HTTPS")),
        ),
        namespaces=(NamespacePolicy("shop", allow=("stripe",)),),
    )
    obs = Observations()
    stripe = "[pod/checkout-7d9f8b6c5d-x2x4z/istio-proxy] " + TEXT_HTTP
    pypi = "[pod/build-7d9f8b6c5d-x2x4z/istio-proxy] " + JSON_BLACKHOLE_SNI
    obs.feed(stripe, namespace="shop")
    obs.feed(pypi, namespace="shop")  # shop may not reach pypi
    obs.feed(pypi, namespace="ci")  # ci is not listed: the whole inventory
    r = readiness(_env(inv), obs.destinations())
    assert not r.ready and r.judged == 3
    (b,) = r.blocked
    assert (b.destination.host, b.destination.namespace) == ("pypi.org", "shop")
    assert b.destination.workloads == (("shop/build", 1),)
    assert b.scope == "namespace shop (namespaces.shop.allow)"


def _readiness_env(env_file: Any) -> None:
    env_file(
        "prod",
        inventory="policy: ALLOW_ANY\nservices:\n"
        "  stripe: {host: api.stripe.com, ports: [80/http]}\n"
        "  github: {hosts: ['*.github.com'], ports: [443/https]}\n",
        context="kind-prod",
    )


def test_readiness_exit_codes(project: Path, env_file: Any, cli: Any) -> None:
    _readiness_env(env_file)
    ready = write(project / "ready.log", TEXT_HTTP + "\n" + TEXT_TLS + "\n")
    res = cli("readiness", "--env", "prod", str(ready))
    assert res.exit_code == 0, res.stderr
    assert res.stdout.startswith("ready: none of the 2 destinations")
    blocked = write(project / "blocked.log", TEXT_HTTP + "\n" + TEXT_BLOCK_ALL + "\n")
    res = cli("readiness", "--env", "prod", str(blocked), "--output", "json")
    assert res.exit_code == 1, res.stderr
    data = json.loads(res.stdout)["data"]
    assert data["ready"] is False
    assert [(b["host"], b["port"], b["verdict"]) for b in data["blocked"]] == [
        ("example.org", 80, "blocked")
    ]


def test_readiness_without_one_log_line_is_unproven(project: Path, env_file: Any, cli: Any) -> None:
    """An empty log (access logging off, a wrong file) proves nothing: exit 4, not 0."""
    _readiness_env(env_file)
    empty = write(project / "empty.log", "")
    res = cli("readiness", "--env", "prod", str(empty), "--output", "json")
    assert res.exit_code == 4, res.stderr
    data = json.loads(res.stdout)["data"]
    assert data["ready"] is False
    assert data["unproven"].startswith("not one access-log line was read")
    garbage = write(project / "garbage.log", "not a log line\n\x00\n")
    assert cli("readiness", "--env", "prod", str(garbage)).exit_code == 4
    # one real line is enough to judge
    one = write(project / "one.log", TEXT_HTTP + "\n")
    assert cli("readiness", "--env", "prod", str(one)).exit_code == 0


def test_readiness_ip_only_destinations_are_judged_by_address(
    project: Path, env_file: Any, cli: Any
) -> None:
    _readiness_env(env_file)
    f = write(project / "ip.log", TEXT_BLACKHOLE_IP + "\n")
    res = cli("readiness", "--env", "prod", str(f), "--output", "json")
    assert res.exit_code == 1
    (b,) = json.loads(res.stdout)["data"]["blocked"]
    assert (b["ipOnly"], b["addresses"], b["port"]) == (True, ["93.184.216.34"], 5432)


# ---------------------------------------------------------------------------
# Prometheus


def _series(name: str, service: str, value: str, **labels: str) -> dict[str, Any]:
    metric = {"destination_service_name": name, "destination_service": service, **labels}
    return {"metric": metric, "value": [1764583200.0, value]}


REQUESTS_ANSWER = {
    "status": "success",
    "data": {
        "resultType": "vector",
        "result": [
            _series("PassthroughCluster", "api.stripe.com", "1234.4",
                    source_workload="checkout", source_workload_namespace="shop"),
            _series("BlackHoleCluster", "example.org", "3",
                    source_workload="cart", source_workload_namespace="shop"),
            _series("PassthroughCluster", "<junk>", "2"),
            {"metric": "not a map", "value": [0, "1"]},
        ],
    },
}  # fmt: skip
TCP_ANSWER = {
    "status": "success",
    "data": {
        "resultType": "vector",
        "result": [
            _series("PassthroughCluster", "PassthroughCluster", "7",
                    requested_server_name="api.github.com", source_workload="checkout",
                    source_workload_namespace="shop"),
            _series("PassthroughCluster", "52.1.2.3", "5"),
        ],
    },
}  # fmt: skip


@pytest.fixture
def prometheus() -> Iterator[tuple[str, list[str]]]:
    """A local server answering /api/v1/query with the recorded answers above; yields
    its URL and the queries it received."""
    queries: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            q = urllib.parse.parse_qs(url.query).get("query", [""])[0]
            queries.append(q)
            if url.path != "/api/v1/query":
                self.send_error(404)
                return
            answer = TCP_ANSWER if "istio_tcp_connections_opened_total" in q else REQUESTS_ANSWER
            body = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=functools.partial(server.serve_forever, 0.05), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", queries
    finally:
        server.shutdown()
        server.server_close()


def test_metrics_read_result() -> None:
    obs = Observations()
    read_result(obs, REQUESTS_ANSWER, tcp=False)
    read_result(obs, TCP_ANSWER, tcp=True)
    assert (obs.counts.series, obs.counts.malformed, obs.counts.junk_hosts) == (6, 1, 1)
    ds = _by_shown(obs.merged())
    assert ds["api.stripe.com"].requests == 1234
    assert ds["api.stripe.com"].workloads == (("shop/checkout", 1234),)
    assert dict(ds["example.org"].outcomes) == {"blackhole": 3}
    assert dict(ds["api.github.com"].kinds) == {"tls": 7}
    assert ds["(IP-only)"].addresses == ("52.1.2.3",)


def test_discover_from_prometheus(team: Path, cli: Any, prometheus: tuple[str, list[str]]) -> None:
    url, queries = prometheus
    res = cli("discover", "--prometheus", url + "/", "--since", "2h", "-i", "egress.yaml",
              "--dry-run", "--output", "json")  # fmt: skip
    assert res.exit_code == 0, res.stderr
    assert queries == [
        query("istio_requests_total", "2h"),
        query("istio_tcp_connections_opened_total", "2h"),
    ]
    assert "[2h]" in queries[0] and 'reporter="source"' in queries[0]
    proposed = json.loads(res.stdout)["data"]["proposed"]
    # api.stripe.com on 80 (HTTP, metrics carry no port) is not on the 443 entry;
    # api.github.com is covered by *.github.com.
    assert [(p["host"], p["ports"]) for p in proposed] == [("example.org", ["80/http"])]
    assert proposed[0]["comment"] == "discovered: 3 requests from shop/cart"


def test_prometheus_down_is_a_tool_error(team: Path, cli: Any) -> None:
    res = cli("discover", "--prometheus", "http://127.0.0.1:9", "-i", "egress.yaml")
    assert res.exit_code == 4
    assert "cannot reach Prometheus" in res.stderr


# ---------------------------------------------------------------------------
# --cluster, with the recording kubectl stand-in


def _injected_pod(namespace: str, name: str, native: bool = False) -> dict[str, Any]:
    proxy = {"name": "istio-proxy", "image": "proxyv2"}
    spec: dict[str, Any] = {"containers": [{"name": "app"}]}
    if native:
        spec["initContainers"] = [{**proxy, "restartPolicy": "Always"}]
    else:
        spec["containers"].append(proxy)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
        "status": {"phase": "Running"},
    }


def test_discover_cluster_reads_sidecar_logs(
    project: Path, env_file: Any, kubectl: FakeKubectl, cli: Any
) -> None:
    env_file("dev", inventory="policy: ALLOW_ANY\nservices: {}\n")
    kubectl.add_namespace("shop", {"istio-injection": "enabled"})
    kubectl.add_namespace("other", {})
    kubectl.add(_injected_pod("shop", "checkout-7d9f8b6c5d-x2x4z"))
    kubectl.add(_injected_pod("shop", "db-0", native=True))
    kubectl.add(_injected_pod("shop", "zz-extra-7d9f8b6c5d-x2x4z"))  # past --max-pods
    kubectl.add(
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "plain", "namespace": "shop"},
         "spec": {"containers": [{"name": "app"}]}}
    )  # fmt: skip
    kubectl.load()
    kubectl.state["logs"] = {
        "shop/checkout-7d9f8b6c5d-x2x4z": TEXT_HTTP + "\nnot a log line\n",
        "shop/db-0": JSON_BLACKHOLE_SNI + "\n",
    }
    kubectl.save()
    res = cli("discover", "--cluster", "--env", "dev", "--since", "30m", "--max-pods", "2",
              "--dry-run", "--output", "json")  # fmt: skip
    assert res.exit_code == 0, res.stderr
    logs = [c["argv"] for c in kubectl.calls() if "logs" in c["argv"]]
    assert [a[a.index("--") + 1 :] for a in logs] == [["checkout-7d9f8b6c5d-x2x4z"], ["db-0"]]
    for argv in logs:
        assert flag(argv, "--namespace") == "shop"
        assert flag(argv, "--container") == "istio-proxy"
        assert flag(argv, "--since") == "30m"
        assert flag(argv, "--context") == "kind-dev"
    data = json.loads(res.stdout)["data"]
    assert data["read"]["pods"] == 2 and data["read"]["other"] == 1
    # --env without --inventory: the environment's (first) inventory file takes the draft.
    assert data["inventory"] == str(Path("values") / "egress.yaml")
    assert data["written"] is False and "+  api-stripe-com:" in data["diff"]
    hosts = {p["host"]: p["destinations"][0]["workloads"] for p in data["proposed"]}
    assert hosts == {
        "api.stripe.com": [{"name": "shop/checkout", "requests": 1}],
        "pypi.org": [{"name": "shop/db", "requests": 1}],
    }
    assert "discover: namespace shop (1/1): reading 2 of 3 pod(s)" in res.stderr


def test_discover_cluster_skips_a_pod_whose_log_fails(
    project: Path, env_file: Any, kubectl: FakeKubectl, cli: Any
) -> None:
    env_file("dev", inventory="policy: ALLOW_ANY\nservices: {}\n")
    kubectl.add_namespace("shop", {"istio-injection": "enabled"})
    kubectl.add(_injected_pod("shop", "gone-7d9f8b6c5d-x2x4z"))
    res = cli("discover", "--cluster", "--env", "dev", "--output", "json")
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["data"]["read"]["pods"] == 0
    assert "skipped pod shop/gone-7d9f8b6c5d-x2x4z" in res.stderr


def test_readiness_cluster_per_namespace(
    project: Path, env_file: Any, kubectl: FakeKubectl, cli: Any
) -> None:
    env_file(
        "prod",
        inventory="policy: ALLOW_ANY\nservices:\n"
        "  stripe: {host: api.stripe.com, ports: [80/http]}\n"
        "  pypi: {host: pypi.org, ports: [443/https]}\n"
        "namespaces:\n  shop:\n    allow: [stripe]\n",
        context="kind-dev",
    )
    for ns in ("shop", "ci"):
        kubectl.add_namespace(ns, {"istio-injection": "enabled"})
    kubectl.add(_injected_pod("shop", "checkout-7d9f8b6c5d-x2x4z"))
    kubectl.add(_injected_pod("ci", "build-7d9f8b6c5d-x2x4z"))
    kubectl.load()
    kubectl.state["logs"] = {
        "shop/checkout-7d9f8b6c5d-x2x4z": f"{TEXT_HTTP}\n{JSON_BLACKHOLE_SNI}\n",
        "ci/build-7d9f8b6c5d-x2x4z": f"{JSON_BLACKHOLE_SNI}\n",
    }
    kubectl.save()
    res = cli("readiness", "--env", "prod", "--cluster")
    assert res.exit_code == 1, res.stderr
    assert res.stdout.splitlines() == [
        "not ready: 1 of the 3 destinations seen would be blocked if prod were REGISTRY_ONLY now",
        "  pypi.org:443 [namespace shop]: 1 seen, from shop/checkout",
        "    judged by namespace shop (namespaces.shop.allow): no entry registers pypi.org; "
        "the mesh is REGISTRY_ONLY: it is blocked",
    ]


def test_readiness_from_prometheus(
    project: Path, env_file: Any, cli: Any, prometheus: tuple[str, list[str]]
) -> None:
    _readiness_env(env_file)
    url, queries = prometheus
    res = cli("readiness", "--env", "prod", "--prometheus", url, "--output", "json")
    assert res.exit_code == 1, res.stderr
    assert len(queries) == 2
    data = json.loads(res.stdout)["data"]
    blocked = [(b["host"], b["port"], b["judgedPort"], b["namespace"]) for b in data["blocked"]]
    # api.stripe.com (HTTP: port 80) and api.github.com (*.github.com) are registered.
    assert blocked == [("example.org", None, 80, "shop")]
    assert [d["addresses"] for d in data["unjudged"]] == [["52.1.2.3"]]  # no port known


def test_readiness_bad_environment_without_traceback(tmp_path: Path) -> None:
    (tmp_path / "x.log").write_text(TEXT_HTTP + "\n")
    proc = entry_point(tmp_path, "readiness", "--env", "nowhere", "x.log")
    assert proc.returncode == 3
    assert proc.stderr.strip().splitlines()[-1] == (
        "1 error in the input; nothing was written or applied"
    )


def test_a_comment_stays_one_line() -> None:
    from egressctl.discover.draft import Proposal

    p = Proposal("x-com", "x.com", ("80/http",), 1, "discovered: 1\nservices: {}", ())
    new = merge("policy: ALLOW_ANY\nservices:\n  a: {host: a.com, ports: [80/http]}\n", [p])
    assert yaml.safe_load(new)["services"]["x-com"] == {"host": "x.com", "ports": ["80/http"]}
    assert "  # discovered: 1 services: {}\n" in new


def test_bench_script_runs_small(tmp_path: Path) -> None:
    """bench/discover.py end to end at 2,000 lines (`make bench` runs it at 1,000,000)."""
    import subprocess
    import sys

    bench = Path(__file__).resolve().parent.parent / "bench" / "discover.py"
    proc = subprocess.run(
        [sys.executable, str(bench), "--lines", "2000", "--keep", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    rows = [line.split() for line in proc.stdout.splitlines()[1:3]]
    assert [r[0] for r in rows] == ["200", "2,000"]
    assert (tmp_path / "access-2000.log").read_text().count("\n") == 2000
