"""Inventory → plan → values: inference, explicit values, capture ranges.  No helm."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest
import yaml

from egressctl.inventory.model import Capture
from egressctl.mesh import emit, plan
from egressctl.pipeline import load_inventory
from egressctl.rules.hosts import host_problem
from tests.conftest import SEED, write


def compile_text(text: str, tmp_path: Path) -> dict[str, Any]:
    """Both charts' generated values, as one dict (their keys do not overlap)."""
    inv, _ = load_inventory([write(tmp_path / "inv.yaml", text)])
    p = plan.build(inv)
    return {**emit.istio_values(p), **emit.chart_values(p)}


def test_seed_values(tmp_path: Path) -> None:
    v = compile_text(SEED, tmp_path)
    assert v["global"] == {
        "outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"},
        "proxy": {"includeIPRanges": "10.96.0.0/12,10.244.0.0/16", "excludeIPRanges": ""},
    }
    assert v["meshConfig"] == {"outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"}}
    assert v["networkingApiVersion"] == "networking.istio.io/v1"
    assert v["serviceEntries"] == {
        "google": {
            "hosts": ["www.google.com"],
            "ports": [{"number": 443, "name": "https", "protocol": "HTTPS"}],
            "resolution": "DNS",
            "location": "MESH_EXTERNAL",
        },
        "httpbin-ext": {
            "hosts": ["httpbin.org"],
            "ports": [{"number": 80, "name": "http", "protocol": "HTTP"}],
            "resolution": "DNS",
            "location": "MESH_EXTERNAL",
        },
    }
    assert v["tlsRoutes"] == {
        "google": {
            "hosts": ["www.google.com"],
            "routes": [
                {
                    "port": 443,
                    "sniHosts": ["www.google.com"],
                    "destination": {"host": "www.google.com", "port": 443},
                    "weight": 100,
                }
            ],
        }
    }


def test_without_capture_everything_is_captured(tmp_path: Path) -> None:
    v = compile_text("policy: ALLOW_ANY\n", tmp_path)
    assert v["global"]["proxy"] == {"includeIPRanges": "*", "excludeIPRanges": ""}
    assert v["global"]["outboundTrafficPolicy"]["mode"] == "ALLOW_ANY"


def test_policy_defaults_to_istio_default(tmp_path: Path) -> None:
    v = compile_text("services: {}\n", tmp_path)
    assert v["meshConfig"]["outboundTrafficPolicy"]["mode"] == "ALLOW_ANY"


PORTS = [
    pytest.param("[80]", [{"number": 80, "name": "http", "protocol": "HTTP"}], id="bare-80"),
    pytest.param("[443]", [{"number": 443, "name": "https", "protocol": "HTTPS"}], id="bare-443"),
    pytest.param("['443']", [{"number": 443, "name": "https", "protocol": "HTTPS"}], id="str-443"),
    pytest.param(
        "[8443/TLS]", [{"number": 8443, "name": "tls", "protocol": "TLS"}], id="case-insensitive"
    ),
    pytest.param(
        "[50051/grpc-web]",
        [{"number": 50051, "name": "grpc-web", "protocol": "GRPC-Web"}],
        id="canonical-spelling",
    ),
    pytest.param(
        "[3128/http_proxy]",
        [{"number": 3128, "name": "http-proxy", "protocol": "HTTP_PROXY"}],
        id="underscore-name",
    ),
    pytest.param(
        "[80/http, 8080/http, 8081/http]",
        [
            {"number": 80, "name": "http", "protocol": "HTTP"},
            {"number": 8080, "name": "http-8080", "protocol": "HTTP"},
            {"number": 8081, "name": "http-8081", "protocol": "HTTP"},
        ],
        id="names-made-unique",
    ),
    pytest.param(
        "[{number: 8080, protocol: http}, {number: 80, protocol: http, name: http-8080}]",
        [
            {"number": 8080, "name": "http", "protocol": "HTTP"},
            {"number": 80, "name": "http-8080", "protocol": "HTTP"},
        ],
        id="explicit-name-wins",
    ),
    pytest.param(
        "[{number: 80, protocol: http, targetPort: 443}]",
        [{"number": 80, "name": "http", "protocol": "HTTP", "targetPort": 443}],
        id="target-port",
    ),
    pytest.param(
        "[{number: 443, protocol: tcp}]",
        [{"number": 443, "name": "tcp", "protocol": "TCP"}],
        id="explicit-protocol-wins",
    ),
]


@pytest.mark.parametrize(("ports", "expected"), PORTS)
def test_port_inference(tmp_path: Path, ports: str, expected: list[dict[str, Any]]) -> None:
    v = compile_text(f"services:\n  a:\n    host: a.example.com\n    ports: {ports}\n", tmp_path)
    assert v["serviceEntries"]["a"]["ports"] == expected


RESOLUTION = [
    pytest.param("host: a.example.com", {}, "DNS", id="dns-default"),
    pytest.param("host: '*.example.com'", {}, "NONE", id="wildcard-none"),
    pytest.param("host: a.example.com", {"resolution": "none"}, "NONE", id="explicit-wins"),
    pytest.param(
        "host: a.example.com", {"resolution": "DNS_ROUND_ROBIN"}, "DNS_ROUND_ROBIN", id="rr"
    ),
]


@pytest.mark.parametrize(("host", "extra", "expected"), RESOLUTION)
def test_resolution(tmp_path: Path, host: str, extra: dict[str, str], expected: str) -> None:
    lines = "".join(f"    {k}: {v}\n" for k, v in extra.items())
    v = compile_text(f"services:\n  a:\n    {host}\n    ports: [443]\n{lines}", tmp_path)
    assert v["serviceEntries"]["a"]["resolution"] == expected
    assert v["serviceEntries"]["a"]["location"] == "MESH_EXTERNAL"


def test_explicit_location_and_uppercase_host(tmp_path: Path) -> None:
    v = compile_text(
        "services:\n  a:\n    host: API.Example.COM\n    ports: [80]\n"
        "    location: mesh_internal\n",
        tmp_path,
    )
    assert v["serviceEntries"]["a"]["hosts"] == ["api.example.com"]
    assert v["serviceEntries"]["a"]["location"] == "MESH_INTERNAL"


def test_tls_routes_one_per_port_and_host(tmp_path: Path) -> None:
    v = compile_text(
        "services:\n  a:\n    hosts: [a.example.com, b.example.com]\n"
        "    ports: [80, 443, 8443/tls]\n",
        tmp_path,
    )
    routes = v["tlsRoutes"]["a"]["routes"]
    assert v["tlsRoutes"]["a"]["hosts"] == ["a.example.com", "b.example.com"]
    assert [(r["port"], r["sniHosts"], r["destination"]) for r in routes] == [
        (443, ["a.example.com"], {"host": "a.example.com", "port": 443}),
        (443, ["b.example.com"], {"host": "b.example.com", "port": 443}),
        (8443, ["a.example.com"], {"host": "a.example.com", "port": 8443}),
        (8443, ["b.example.com"], {"host": "b.example.com", "port": 8443}),
    ]
    assert {r["weight"] for r in routes} == {100}


def test_http_only_service_gets_no_tls_route(tmp_path: Path) -> None:
    v = compile_text("services:\n  a:\n    host: a.example.com\n    ports: [80]\n", tmp_path)
    assert v["tlsRoutes"] == {}


CAPTURE = [
    pytest.param([], "", id="empty-include-captures-nothing"),
    pytest.param(["10.0.0.0/9", "10.128.0.0/9"], "10.0.0.0/8", id="adjacent-merged"),
    pytest.param(["10.0.0.0/8", "10.1.0.0/16"], "10.0.0.0/8", id="nested-merged"),
    pytest.param(["192.168.0.0/16", "10.0.0.0/8"], "10.0.0.0/8,192.168.0.0/16", id="sorted"),
    pytest.param(["9.0.0.0/8", "10.0.0.0/8"], "9.0.0.0/8,10.0.0.0/8", id="numeric-not-text"),
    pytest.param(["fd00::/8", "10.0.0.0/8"], "10.0.0.0/8,fd00::/8", id="ipv4-before-ipv6"),
    pytest.param(["10.1.2.3/8"], "10.0.0.0/8", id="host-bits-network-used"),
]


@pytest.mark.parametrize(("include", "expected"), CAPTURE)
def test_capture_ranges(include: list[str], expected: str) -> None:
    nets = tuple(ipaddress.ip_network(n, strict=False) for n in include)
    assert plan.capture_values(Capture(include=nets))[0] == expected


def test_capture_exclude_and_host_bits_warning(tmp_path: Path) -> None:
    inv_path = write(
        tmp_path / "inv.yaml",
        "capture:\n  exclude: [169.254.169.254/32, 10.1.2.3/16]\npolicy: ALLOW_ANY\n",
    )
    inv, findings = load_inventory([inv_path])
    v = emit.istio_values(plan.build(inv))
    assert v["global"]["proxy"] == {
        "includeIPRanges": "*",
        "excludeIPRanges": "10.1.0.0/16,169.254.169.254/32",
    }
    assert [(f.code, f.loc.line, f.loc.col) for f in findings] == [("cidr-host-bits", 2, 33)]


def test_null_in_a_later_file_removes_a_service(tmp_path: Path) -> None:
    base = write(tmp_path / "a.yaml", SEED)
    over = write(tmp_path / "b.yaml", "policy: ALLOW_ANY\nservices:\n  google: null\n")
    inv, _ = load_inventory([base, over])
    assert [s.name for s in inv.services] == ["httpbin-ext"]
    assert inv.policy.value == "ALLOW_ANY"
    assert inv.capture.include is not None  # maps merge: capture kept from a.yaml


def test_lists_replace_not_append(tmp_path: Path) -> None:
    base = write(tmp_path / "a.yaml", SEED)
    over = write(tmp_path / "b.yaml", "services:\n  google:\n    ports: [8443/tls]\n")
    inv, _ = load_inventory([base, over])
    google = next(s for s in inv.services if s.name == "google")
    assert [(p.number, p.protocol) for p in google.ports] == [(8443, "TLS")]
    assert google.hosts == ("www.google.com",)


def test_generated_yaml_has_header_and_round_trips(tmp_path: Path) -> None:
    inv, _ = load_inventory([write(tmp_path / "inv.yaml", SEED)])
    doc = emit.chart_values(plan.build(inv))
    text = emit.dump(doc, inv.sources)
    assert text.startswith("# Generated by egressctl")
    assert "Do not edit" in text
    assert yaml.safe_load(text) == doc


HOSTS = [
    ("www.google.com", None),
    ("*.wikipedia.org", None),
    ("*", "`*` alone is not a valid host"),
    ("a.*.com", "a wildcard `*` is only allowed in the first label"),
    ("**.a.com", "`*` may only start the first label"),
    ("*foo.example.com", None),
    ("a..b", "host has an empty label (two dots, or a leading or trailing dot)"),
    ("-a.com", "label '-a' is not a DNS label (a-z, 0-9 and '-', at most 63)"),
    (
        "a.123",
        "the last label cannot be all digits (an IP is not a host name: give the "
        "service a name as host and the IP under `addresses`)",
    ),
    ("x" * 64 + ".com", f"label '{'x' * 64}' is not a DNS label (a-z, 0-9 and '-', at most 63)"),
    ("localhost", None),
]


@pytest.mark.parametrize(("host", "problem"), HOSTS)
def test_host_rules(host: str, problem: str | None) -> None:
    assert host_problem(host) == problem
