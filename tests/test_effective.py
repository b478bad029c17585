"""The effective policy (rules/effective.py): one verdict per destination and port, with
its reasons; the destination parser `explain` uses (inventory/destination.py).

Table tests pin each verdict on a small inventory; property tests (hypothesis) pin what
must hold for every inventory: an address inside an include range and outside every
exclude range is never `bypass`, a bare IP means its /32, a registered host on its
port is `allowed` when captured, and so on.
"""

from __future__ import annotations

import ipaddress
import textwrap
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from egressctl.errors import DestinationError, ExitCode
from egressctl.inventory.destination import Destination, parse_destination
from egressctl.inventory.inventory import parse_inventory
from egressctl.inventory.model import ClusterRanges, Inventory, Resolution
from egressctl.inventory.reader import Reader
from egressctl.rules import validate_inventory
from egressctl.rules.effective import (
    EVERYTHING_ELSE,
    EffectivePolicy,
    ObjectRef,
    Verdict,
    uses_ipv6,
)


def inventory(text: str | dict[str, Any]) -> Inventory:
    """An inventory read from YAML text (or data), which must read without a problem."""
    data = yaml.safe_load(textwrap.dedent(text)) if isinstance(text, str) else text
    r = Reader()
    inv = parse_inventory(data, r)
    assert r.problems == [], r.problems
    return inv


def policy(text: str | dict[str, Any], **kw: Any) -> EffectivePolicy:
    return EffectivePolicy(inventory(text), **kw)


LOCKDOWN = """
policy: REGISTRY_ONLY
capture: {exclude: [169.254.169.254/32]}
services:
  stripe: {host: api.stripe.com, ports: [443]}
  httpbin: {host: httpbin.org, ports: [80/http]}
  wiki: {host: "*.wikipedia.org", ports: [443/tls]}
  en-wiki: {host: en.wikipedia.org, ports: [443/tls]}
  github-ssh: {host: github.com, ports: [22/tcp]}
  rds: {host: "*.rds.amazonaws.com", ports: [5432/tcp]}
  broker: {host: broker.internal, addresses: [10.30.2.11], ports: [9092/tcp]}
  billing:
    host: api.billing.example
    ports:
      - {number: 80, protocol: http, originate: {mode: SIMPLE}}
      - 443/https
  partner:
    host: mtls.partner.example
    ports:
      - number: 8080
        protocol: http
        originate:
          mode: MUTUAL
          credentialName: cert
          workloadSelector: {app: invoicer}
          namespace: payments
    exportTo: [payments]
  hidden: {host: internal-only.example, ports: [443], exportTo: ["~"]}
"""
NARROW = """
policy: REGISTRY_ONLY
capture: {include: [10.96.0.0/12, 10.244.0.0/16]}
services:
  stripe: {host: api.stripe.com, ports: [443]}
  db: {host: db.internal, addresses: [10.100.0.5/32], ports: [5432/tcp]}
  outside: {host: ext.example, addresses: [192.0.2.7], ports: [5432/tcp]}
"""
OPEN = """
policy: ALLOW_ANY
services:
  stripe: {host: api.stripe.com, ports: [443]}
"""


def _objects(*refs: str) -> tuple[ObjectRef, ...]:
    """`Kind/namespace/name` strings as references."""
    return tuple(ObjectRef(*(r.split("/")[i] for i in (0, 2, 1))) for r in refs)


# (inventory, destination, port, verdict, entry, objects)
EXPLAIN = [
    pytest.param(
        LOCKDOWN,
        "api.stripe.com",
        443,
        Verdict.ALLOWED,
        "stripe",
        _objects("ServiceEntry/istio-system/stripe", "VirtualService/istio-system/stripe"),
        id="https-host",
    ),
    pytest.param(
        LOCKDOWN,
        "API.Stripe.com.",
        443,
        Verdict.ALLOWED,
        "stripe",
        _objects("ServiceEntry/istio-system/stripe", "VirtualService/istio-system/stripe"),
        id="case-and-trailing-dot",
    ),
    pytest.param(
        LOCKDOWN,
        "httpbin.org",
        80,
        Verdict.ALLOWED,
        "httpbin",
        _objects("ServiceEntry/istio-system/httpbin"),
        id="http-host-no-route",
    ),
    pytest.param(LOCKDOWN, "api.strpe.com", 443, Verdict.BLOCKED, None, (), id="typo-blocked"),
    pytest.param(
        LOCKDOWN, "api.stripe.com", 80, Verdict.BLOCKED, None, (), id="registered-other-port"
    ),
    pytest.param(
        LOCKDOWN,
        "de.wikipedia.org",
        443,
        Verdict.ALLOWED,
        "wiki",
        _objects("ServiceEntry/istio-system/wiki", "VirtualService/istio-system/wiki"),
        id="wildcard",
    ),
    pytest.param(
        LOCKDOWN,
        "en.wikipedia.org",
        443,
        Verdict.ALLOWED,
        "en-wiki",
        _objects("ServiceEntry/istio-system/en-wiki", "VirtualService/istio-system/en-wiki"),
        id="exact-beats-wildcard",
    ),
    pytest.param(
        LOCKDOWN,
        "github.com",
        22,
        Verdict.ALLOWED,
        "github-ssh",
        _objects("ServiceEntry/istio-system/github-ssh"),
        id="port-wide-owner",
    ),
    pytest.param(
        LOCKDOWN,
        "gitlab.com",
        22,
        Verdict.CATCH_ALL,
        "github-ssh",
        _objects("ServiceEntry/istio-system/github-ssh"),
        id="dns-catch-all",
    ),
    pytest.param(
        LOCKDOWN,
        "203.0.113.9",
        5432,
        Verdict.CATCH_ALL,
        "rds",
        _objects("ServiceEntry/istio-system/rds"),
        id="none-open-port",
    ),
    pytest.param(
        LOCKDOWN,
        "10.30.2.11",
        9092,
        Verdict.ALLOWED,
        "broker",
        _objects("ServiceEntry/istio-system/broker"),
        id="address",
    ),
    pytest.param(
        LOCKDOWN,
        "broker.internal",
        9092,
        Verdict.ALLOWED,
        "broker",
        _objects("ServiceEntry/istio-system/broker"),
        id="host-with-address",
    ),
    pytest.param(LOCKDOWN, "10.30.2.12", 9092, Verdict.BLOCKED, None, (), id="next-address"),
    pytest.param(LOCKDOWN, "169.254.169.254", 80, Verdict.BYPASS, None, (), id="excluded-metadata"),
    pytest.param(
        LOCKDOWN,
        "api.billing.example",
        80,
        Verdict.ALLOWED,
        "billing",
        _objects("ServiceEntry/istio-system/billing", "DestinationRule/istio-system/billing"),
        id="origination",
    ),
    pytest.param(
        LOCKDOWN,
        "api.billing.example",
        443,
        Verdict.ALLOWED,
        "billing",
        _objects("ServiceEntry/istio-system/billing", "VirtualService/istio-system/billing"),
        id="origination-service-tls-port",
    ),
    pytest.param(
        LOCKDOWN,
        "mtls.partner.example",
        8080,
        Verdict.ALLOWED,
        "partner",
        _objects("ServiceEntry/istio-system/partner", "DestinationRule/payments/partner"),
        id="mutual-rule-in-workload-namespace",
    ),
    pytest.param(
        LOCKDOWN, "internal-only.example", 443, Verdict.BLOCKED, None, (), id="exported-nowhere"
    ),
    pytest.param(
        NARROW,
        "api.stripe.com",
        443,
        Verdict.BYPASS,
        "stripe",
        _objects("ServiceEntry/istio-system/stripe", "VirtualService/istio-system/stripe"),
        id="narrow-include-host",
    ),
    pytest.param(NARROW, "example.org", 443, Verdict.BYPASS, None, (), id="narrow-everything"),
    pytest.param(
        NARROW,
        "10.100.0.5",
        5432,
        Verdict.ALLOWED,
        "db",
        _objects("ServiceEntry/istio-system/db"),
        id="narrow-captured-address",
    ),
    pytest.param(NARROW, "10.100.0.6", 80, Verdict.BLOCKED, None, (), id="narrow-in-cluster"),
    pytest.param(
        NARROW,
        "ext.example",
        5432,
        Verdict.BYPASS,
        "outside",
        _objects("ServiceEntry/istio-system/outside"),
        id="entry-bypassed",
    ),
    pytest.param(OPEN, "example.org", 443, Verdict.PASSTHROUGH, None, (), id="allow-any"),
    pytest.param(
        OPEN,
        "api.stripe.com",
        443,
        Verdict.ALLOWED,
        "stripe",
        _objects("ServiceEntry/istio-system/stripe", "VirtualService/istio-system/stripe"),
        id="allow-any-registered",
    ),
]


@pytest.mark.parametrize(("text", "dest", "port", "verdict", "entry", "objects"), EXPLAIN)
def test_explain(
    text: str,
    dest: str,
    port: int,
    verdict: Verdict,
    entry: str | None,
    objects: tuple[ObjectRef, ...],
) -> None:
    answer = policy(text).explain(dest, port)
    assert (answer.verdict, answer.entry, answer.objects) == (verdict, entry, objects), answer
    assert answer.port == port
    assert answer.reason


def test_objects_live_in_the_environment_namespace() -> None:
    answer = policy(LOCKDOWN, namespace="egress").explain("mtls.partner.example", 8080)
    assert answer.objects == _objects(
        "ServiceEntry/egress/partner", "DestinationRule/payments/partner"
    )
    assert "only for pods in namespace payments" in answer.reason


def test_blocked_names_the_closest_hosts() -> None:
    answer = policy(LOCKDOWN).explain("api.strpe.com", 443)
    assert answer.closest == ("api.stripe.com",)
    assert "REGISTRY_ONLY" in answer.reason


def test_bypass_names_the_capture_range() -> None:
    assert policy(LOCKDOWN).explain("169.254.169.254", 80).capture_range == (
        "capture.exclude 169.254.169.254/32"
    )
    narrow = policy(NARROW)
    for dest in ("api.stripe.com", "example.org", "ext.example"):
        assert narrow.explain(dest, 443).capture_range == (
            "capture.include 10.96.0.0/12, 10.244.0.0/16"
        ), dest


def test_catch_all_names_the_listener() -> None:
    answer = policy(LOCKDOWN).explain("gitlab.com", 22)
    assert answer.listener == "0.0.0.0:22"
    assert "github.com" in answer.reason


REACHES = [
    pytest.param("api.stripe.com", 443, True, id="allowed"),
    pytest.param("api.strpe.com", 443, False, id="blocked"),
    pytest.param("169.254.169.254", 80, True, id="bypass"),
    pytest.param("gitlab.com", 22, False, id="catch-all-dns-goes-elsewhere"),
    pytest.param("db.example", 5432, True, id="catch-all-none-passes"),
]


@pytest.mark.parametrize(("dest", "port", "reaches"), REACHES)
def test_whether_the_connection_reaches_what_was_dialled(
    dest: str, port: int, reaches: bool
) -> None:
    answer = policy(LOCKDOWN).explain(dest, port)
    assert answer.reaches is reaches


def test_one_port_wide_listener_per_port_first_by_host() -> None:
    """Two DNS entries on 22/tcp without addresses (`tcp-port-shared`): Istio keeps one
    listener; of entries created together, the first by host name."""
    p = policy(
        """
        services:
          b: {host: bitbucket.org, ports: [22/tcp]}
          a: {host: github.com, ports: [22/tcp]}
        """
    )
    assert p.explain("bitbucket.org", 22).verdict is Verdict.ALLOWED
    answer = p.explain("github.com", 22)
    assert (answer.verdict, answer.entry) == (Verdict.CATCH_ALL, "b")


def test_table_has_every_entry_port_and_everything_else() -> None:
    p = policy(LOCKDOWN)
    rows = p.table()
    expected = [
        (h, port.number)
        for s in sorted(p.inventory.services, key=lambda s: s.name)
        for port in s.ports
        for h in s.hosts
    ]
    assert [(a.destination, a.port) for a in rows[: len(expected)]] == expected
    rest = [(a.destination, a.port, a.verdict, a.entry) for a in rows[len(expected) :]]
    assert rest == [
        (EVERYTHING_ELSE, 22, Verdict.CATCH_ALL, "github-ssh"),
        (EVERYTHING_ELSE, 5432, Verdict.CATCH_ALL, "rds"),
        (EVERYTHING_ELSE, None, Verdict.BLOCKED, None),
    ]
    hidden = next(a for a in rows if a.entry == "hidden")
    assert hidden.verdict is Verdict.BLOCKED


@pytest.mark.parametrize("n", [0, 1, 3, 50])
def test_head_is_the_start_of_the_table_its_last_row_and_its_length(n: int) -> None:
    """What a render summary shows (#12 §5) is the table's, without the rows between."""
    p = policy(LOCKDOWN)
    rows = p.table()
    first, last, count = p.head(n)
    assert first == rows[:n]
    assert (last, count) == (rows[-1], len(rows))
    assert len(rows) > 3  # LOCKDOWN's table is longer than the shorter heads


def test_table_of_the_shipped_example() -> None:
    from tests.conftest import REPO

    p = policy((REPO / "values" / "egress.yaml").read_text(encoding="utf-8"))
    got = [(a.destination, a.port, a.verdict.value) for a in p.table()]
    assert got == [
        ("www.google.com", 443, "allowed"),
        ("httpbin.org", 80, "allowed"),
        (EVERYTHING_ELSE, None, "blocked"),
    ]
    assert p.explain("169.254.169.254", 80).verdict is Verdict.BYPASS


def test_answer_json_has_the_documented_keys() -> None:
    doc = policy(LOCKDOWN).explain("api.stripe.com", 443).as_json()
    assert {k: doc[k] for k in ("destination", "port", "verdict", "entry", "objects")} == {
        "destination": "api.stripe.com",
        "port": 443,
        "verdict": "allowed",
        "entry": "stripe",
        "objects": [
            {"kind": "ServiceEntry", "name": "stripe", "namespace": "istio-system"},
            {"kind": "VirtualService", "name": "stripe", "namespace": "istio-system"},
        ],
    }
    assert isinstance(doc["reason"], str)


def test_a_host_over_ipv6_is_noted_when_ipv6_is_not_captured() -> None:
    text = NARROW.replace("[10.96.0.0/12, 10.244.0.0/16]", "[0.0.0.0/0, 'fd00:10:96::/108']")
    answer = policy(text).explain("api.stripe.com", 443)
    assert answer.verdict is Verdict.ALLOWED
    assert "over IPv6 it bypasses the sidecar" in answer.reason


def test_ipv6_in_use() -> None:
    assert not uses_ipv6(inventory(LOCKDOWN))
    assert uses_ipv6(
        inventory("services: {a: {host: a.com, ports: [1/tcp], addresses: ['fd00::1']}}")
    )
    cluster = ClusterRanges(pod_cidrs=(ipaddress.IPv6Network("fd00:10:244::/56"),))
    assert uses_ipv6(inventory(OPEN), cluster)


# ---------------------------------------------------------------------------
# A bare IP in `addresses` means its /32 (or /128) everywhere


@pytest.mark.parametrize("ports", ["[9092/tcp]", "[443/https]", "[80/http]"])
@pytest.mark.parametrize(
    ("bare", "cidr"), [("10.30.2.11", "10.30.2.11/32"), ("fd00::1", "fd00::1/128")]
)
def test_bare_ip_infers_what_its_host_route_infers(bare: str, cidr: str, ports: str) -> None:
    def read(addr: str) -> Inventory:
        return inventory(
            f"services: {{b: {{host: b.internal, addresses: ['{addr}'], ports: {ports}}}}}"
        )

    a, b = read(bare).services[0], read(cidr).services[0]
    assert a.resolution is b.resolution is Resolution.NONE
    assert (a.addresses, b.addresses) == ((bare,), (cidr,))  # emitted as written


def test_bare_ip_with_endpoints_keeps_dns() -> None:
    text = (
        "services: {b: {host: b.internal, addresses: ['{}'], ports: [80], endpoints: [b.example]}}"
    )
    for addr in ("10.0.0.1", "10.0.0.1/32"):
        assert inventory(text.replace("{}", addr)).services[0].resolution is Resolution.DNS


# ---------------------------------------------------------------------------
# Properties

_PORTS = st.sampled_from([22, 80, 443, 5432, 8443, 9092])
_PROTOCOLS = st.sampled_from(["http", "https", "tls", "tcp", "grpc", "mongo"])
_v4 = st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address)


@st.composite
def _networks(draw: st.DrawFn, min_prefix: int = 4) -> ipaddress.IPv4Network:
    addr = draw(_v4)
    prefix = draw(st.integers(min_prefix, 32))
    return ipaddress.IPv4Network((int(addr), prefix), strict=False)


_LABEL = st.text("abcdefgh", min_size=1, max_size=6)
_HOSTS = st.builds(lambda a, b: f"{a}.{b}.example", _LABEL, _LABEL)


@st.composite
def _inventories(draw: st.DrawFn) -> dict[str, Any]:
    """Random inventories: a capture, and services with hosts, ports, maybe addresses."""
    capture: dict[str, Any] = {}
    if draw(st.booleans()):
        capture["include"] = [str(n) for n in draw(st.lists(_networks(), max_size=3))]
    excl = draw(st.lists(_networks(min_prefix=8), max_size=3))
    if excl:
        capture["exclude"] = [str(n) for n in excl]
    services: dict[str, Any] = {}
    for i, host in enumerate(draw(st.lists(_HOSTS, max_size=5, unique=True))):
        svc: dict[str, Any] = {
            "host": host,
            "ports": [
                f"{n}/{p}"
                for n, p in draw(
                    st.lists(
                        st.tuples(_PORTS, _PROTOCOLS),
                        min_size=1,
                        max_size=3,
                        unique_by=lambda t: t[0],
                    )
                )
            ],
        }
        if draw(st.booleans()):
            svc["addresses"] = [str(draw(_networks(min_prefix=24)))]
        services[f"s{i}"] = svc
    return {
        "policy": draw(st.sampled_from(["ALLOW_ANY", "REGISTRY_ONLY"])),
        "capture": capture,
        "services": services,
    }


PROPERTY = settings(max_examples=200, deadline=None)


@PROPERTY
@given(_inventories(), _v4, _PORTS)
def test_an_address_included_and_not_excluded_is_never_bypass(
    data: dict[str, Any], addr: ipaddress.IPv4Address, port: int
) -> None:
    inv = inventory(data)
    include = inv.capture.include
    captured = (include is None or any(addr in n for n in include)) and not any(
        addr in n for n in inv.capture.exclude
    )
    answer = EffectivePolicy(inv).explain(str(addr), port)
    assert (answer.verdict is Verdict.BYPASS) is (not captured), answer


@PROPERTY
@given(_inventories(), _v4, st.integers(1, 65535))
def test_a_bare_ip_answers_like_its_slash_32(
    data: dict[str, Any], addr: ipaddress.IPv4Address, port: int
) -> None:
    bare = dict(
        data,
        services={
            **data["services"],
            "z": {"host": "z.example", "ports": ["9092/tcp"], "addresses": [str(addr)]},
        },
    )
    slash = dict(
        data,
        services={
            **data["services"],
            "z": {"host": "z.example", "ports": ["9092/tcp"], "addresses": [f"{addr}/32"]},
        },
    )
    a, b = EffectivePolicy(inventory(bare)), EffectivePolicy(inventory(slash))
    for dest, p in ((str(addr), port), (str(addr), 9092), ("z.example", 9092), ("z.example", port)):
        x, y = a.explain(dest, p), b.explain(dest, p)
        assert (x.verdict, x.entry, x.objects, x.capture_range, x.listener) == (
            y.verdict,
            y.entry,
            y.objects,
            y.capture_range,
            y.listener,
        ), (dest, p, x, y)
    codes = sorted((p.code, p.severity) for p in validate_inventory(inventory(bare)))
    assert codes == sorted((p.code, p.severity) for p in validate_inventory(inventory(slash)))


@PROPERTY
@given(_inventories())
def test_a_registered_host_on_its_port_is_allowed_when_captured(data: dict[str, Any]) -> None:
    """With everything captured (no `include`, nothing excluded), every host an entry
    registers is allowed on its HTTP and TLS ports, and on its opaque ports unless
    another entry holds the port-wide listener there."""
    data = dict(data, capture={})
    p = EffectivePolicy(inventory(data))
    for svc in p.inventory.services:
        for port in svc.ports:
            answer = p.explain(svc.hosts[0], port.number)
            holder = p.port_wide_listener(port.number)
            if port.protocol in ("TCP", "Mongo") and not svc.addresses and holder is not svc:
                assert answer.verdict is Verdict.CATCH_ALL, answer
            else:
                assert (answer.verdict, answer.entry) == (Verdict.ALLOWED, svc.name), answer


@PROPERTY
@given(_inventories(), _HOSTS, _PORTS)
def test_an_unregistered_host_follows_the_policy(
    data: dict[str, Any], host: str, port: int
) -> None:
    inv = inventory(data)
    if any(host in s.hosts for s in inv.services):
        return
    p = EffectivePolicy(inv)
    answer = p.explain(host, port)
    if not p.capture.includes_everything(4):
        expected = Verdict.BYPASS
    elif p.port_wide_listener(port) is not None:
        expected = Verdict.CATCH_ALL
    elif data["policy"] == "ALLOW_ANY":
        expected = Verdict.PASSTHROUGH
    else:
        expected = Verdict.BLOCKED
    assert answer.verdict is expected, answer


@PROPERTY
@given(_inventories())
def test_the_table_ends_with_everything_else(data: dict[str, Any]) -> None:
    p = EffectivePolicy(inventory(data))
    rows = p.table()
    assert rows[-1].destination == EVERYTHING_ELSE and rows[-1].port is None
    assert all(r.reason for r in rows)
    assert (
        len(rows)
        == sum(len(s.ports) * len(s.hosts) for s in p.inventory.services)
        + len(
            {
                pt.number
                for s in p.inventory.services
                if not s.addresses
                for pt in s.ports
                if pt.protocol in ("TCP", "Mongo")
            }
        )
        + 1
    )


# ---------------------------------------------------------------------------
# The destination parser

PARSED = [
    pytest.param("https://api.stripe.com/v1", "api.stripe.com", 443, id="https-url"),
    pytest.param("http://x", "x", 80, id="http-url"),
    pytest.param(
        "https://api.stripe.com:8443/v1?a=b#c", "api.stripe.com", 8443, id="explicit-port-wins"
    ),
    pytest.param("HTTPS://API.Stripe.COM/", "api.stripe.com", 443, id="any-case"),
    pytest.param("api.stripe.com", "api.stripe.com", None, id="host"),
    pytest.param("api.stripe.com.", "api.stripe.com", None, id="trailing-dot"),
    pytest.param("api.stripe.com:443", "api.stripe.com", 443, id="host-port"),
    pytest.param("api.stripe.com/v1", "api.stripe.com", None, id="host-path"),
    pytest.param("  github.com:22 ", "github.com", 22, id="spaces-around"),
    pytest.param("10.30.2.11", "10.30.2.11", None, id="ipv4"),
    pytest.param("10.30.2.11:9092", "10.30.2.11", 9092, id="ipv4-port"),
    pytest.param("fd00::1", "fd00::1", None, id="ipv6"),
    pytest.param("[fd00::1]:443", "fd00::1", 443, id="ipv6-port"),
    pytest.param("https://[FD00::1]/x", "fd00::1", 443, id="ipv6-url"),
    pytest.param("postgres://db.example:6543/app", "db.example", 6543, id="postgres-port"),
    pytest.param("ssh://github.com", "github.com", 22, id="ssh-default"),
    pytest.param("localhost", "localhost", None, id="single-label"),
]


@pytest.mark.parametrize(("text", "host", "port"), PARSED)
def test_parse_destination(text: str, host: str, port: int | None) -> None:
    assert parse_destination(text) == Destination(host, port)


REFUSED = [
    pytest.param("", id="empty"),
    pytest.param("   ", id="blank"),
    pytest.param("https://", id="no-host"),
    pytest.param("api.stripe.com:", id="empty-port"),
    pytest.param("api.stripe.com:https", id="port-not-a-number"),
    pytest.param("api.stripe.com:70000", id="port-too-large"),
    pytest.param("api.stripe.com:0", id="port-zero"),
    pytest.param("gopher+x://host", id="unknown-scheme-no-port"),
    pytest.param("https://user:secret@api.stripe.com", id="userinfo"),
    pytest.param("api..stripe.com", id="empty-label"),
    pytest.param("*.stripe.com", id="wildcard"),
    pytest.param("api_x.stripe.com", id="underscore"),
    pytest.param("a.123", id="numeric-tld"),
    pytest.param("api stripe.com", id="inner-space"),
    pytest.param("a.\x00com", id="nul"),
    pytest.param("://x", id="empty-scheme"),
]


@pytest.mark.parametrize("text", REFUSED)
def test_parse_destination_refuses(text: str) -> None:
    with pytest.raises(DestinationError) as caught:
        parse_destination(text)
    assert caught.value.exit_code is ExitCode.INVALID
    assert str(caught.value).startswith("destination ")


def test_parse_destination_hides_a_password() -> None:
    with pytest.raises(DestinationError) as caught:
        parse_destination("https://user:secret@api.stripe.com/x")
    assert caught.value.lines() == [
        "destination 'https://…@api.stripe.com/x' holds user information (user@)",
        "    hint: drop everything up to the @",
    ]


def test_parse_destination_unknown_scheme_with_port() -> None:
    assert parse_destination("gopher+x://host:70") == Destination("host", 70)


def test_destination_text() -> None:
    assert str(Destination("fd00::1", 443)) == "[fd00::1]:443"
    assert str(Destination("a.com")) == "a.com"
    assert Destination("10.0.0.1").is_address and not Destination("a.com").is_address
