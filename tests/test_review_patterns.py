"""Second reading (reviewer R2) of the rendered egress patterns against what Istio does:
objects that validate but would route wrongly, or a backstop that allows the wrong
addresses.  Each test names the Istio behaviour it rests on."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any

from egressctl.charts.gatewaycheck import gateway_findings
from egressctl.charts.gateways import render_gateway
from egressctl.errors import Loc
from egressctl.inventory.model import (
    Ambient,
    Capture,
    ClusterRanges,
    Dataplane,
    EgressGateway,
    Environment,
    GatewayChart,
    Inventory,
    NamespacePolicy,
    Policy,
    Port,
    Resolution,
    Service,
)
from egressctl.mesh import plan
from egressctl.pipeline import load_inventory
from tests.conftest import REPO, write

# The rule codes this review added, each with a case below (tests/test_rules.py).
OUR_CODES = {
    "gateway-http-ports",
    "network-policy-gateway",
    "gateway-chart-service-ports",
    "gateway-mtls-mixed",
}

TARGET = plan.Target(
    namespace="istio-system",
    cluster=ClusterRanges(
        pod_cidrs=(ipaddress.ip_network("10.244.0.0/16"),),
        service_cidrs=(ipaddress.ip_network("10.96.0.0/12"),),
    ),
)


def _findings(cli: Any, project: Path, text: str) -> tuple[int, list[tuple[str, int, int]]]:
    write(project / "inv.yaml", text)
    res = cli("check", "inv.yaml", "--output", "json")
    doc = json.loads(res.stdout)
    return res.exit_code, [(f["code"], f["line"], f["column"]) for f in doc["findings"]]


def _plan(tmp_path: Path, text: str) -> plan.Plan:
    inv, _ = load_inventory([write(tmp_path / "inv.yaml", text)])
    return plan.build(inv, TARGET)


def _ip_blocks(policy: dict[str, Any]) -> list[str]:
    return [
        peer["ipBlock"]["cidr"]
        for rule in policy["egress"]
        for peer in rule.get("to", [])
        if "ipBlock" in peer
    ]


# ---------------------------------------------------------------------------
# api: istio — every HTTP port of a service hops through the gateway's port 80.
# The gateway's route for that hop matches `gateways: [ns/gw], port: 80` only, so with
# two HTTP ports the second gateway route is shadowed by the first (Envoy takes the
# first matching route): traffic sent to :8080 leaves the gateway for :80.

TWO_HTTP_PORTS = """\
policy: REGISTRY_ONLY
gateways:
  egress: {namespace: istio-egress}
services:
  api:
    host: api.partner.example
    ports: [80/http, 8080/http]
    via: egress
"""


def test_two_http_ports_through_one_istio_gateway_is_refused(cli: Any, project: Path) -> None:
    code, found = _findings(cli, project, TWO_HTTP_PORTS)
    assert ("gateway-http-ports", 7, 22) in found, found
    assert code == 3


def test_the_gateway_routes_of_a_single_http_port_are_distinct(tmp_path: Path) -> None:
    """What the rule protects: with one HTTP port, each gateway-side match (gateway,
    port) appears once in the VirtualService, so no route is shadowed."""
    p = _plan(tmp_path, TWO_HTTP_PORTS.replace("[80/http, 8080/http]", "[8080/http]"))
    vs = p.extra["gatewayRoutes"]["api"]
    gateway_side = [(r["gateway"], r["port"]) for r in vs["http"] if r["gateway"] != "mesh"]
    assert gateway_side == [("istio-egress/egress", 80)]
    (to,) = [r["destination"] for r in vs["http"] if r["gateway"] != "mesh"]
    assert to == {"host": "api.partner.example", "port": 8080}


def test_two_http_ports_through_a_gateway_api_gateway_are_fine(cli: Any, project: Path) -> None:
    """The Gateway API has one listener per port (`http-80`, `http-8080`): no shadowing."""
    text = TWO_HTTP_PORTS.replace("{namespace: istio-egress}", "{api: gateway-api}")
    code, found = _findings(cli, project, text)
    assert code == 0, found


# ---------------------------------------------------------------------------
# networkPolicy: true — which IPs the sidecar connects to for a direct service.
# Istio (pilot/pkg/serviceregistry/serviceentry/conversion.go, 1.30.3, ~L347-365): an
# entry with resolution DNS/DNS_ROUND_ROBIN and no endpoints gets one endpoint whose
# address is the *host name*: Envoy connects to what DNS returns, never to `addresses`
# (the VIP the app dials).  STATIC: Envoy connects to the endpoints.  Only NONE sends to
# the address dialled.

DNS_WITH_ADDRESSES = """\
policy: REGISTRY_ONLY
services:
  partner:
    host: api.partner.example
    addresses: [203.0.113.7]
    resolution: DNS
    ports: [443/https]
namespaces:
  shop:
    allow: [partner]
    networkPolicy: true
"""


def test_dns_service_with_addresses_cannot_be_allowed_by_a_network_policy(
    cli: Any, project: Path
) -> None:
    code, found = _findings(cli, project, DNS_WITH_ADDRESSES)
    assert ("network-policy-direct", 10, 13) in found, found
    assert code == 3


def test_static_service_is_allowed_at_its_endpoints_not_its_addresses(tmp_path: Path) -> None:
    text = DNS_WITH_ADDRESSES.replace(
        "resolution: DNS\n",
        "resolution: STATIC\n    endpoints: [{address: 198.51.100.5}]\n",
    )
    p = _plan(tmp_path, text)
    policy = p.extra["networkPolicies"]["shop.egressctl-egress"]
    assert _ip_blocks(policy) == ["10.244.0.0/16", "10.96.0.0/12", "198.51.100.5/32"]


def test_none_service_is_allowed_at_its_addresses(tmp_path: Path) -> None:
    """Resolution NONE: Envoy forwards to the address dialled, so `addresses` is right."""
    p = _plan(tmp_path, DNS_WITH_ADDRESSES.replace("resolution: DNS", "resolution: NONE"))
    policy = p.extra["networkPolicies"]["shop.egressctl-egress"]
    assert _ip_blocks(policy) == ["10.244.0.0/16", "10.96.0.0/12", "203.0.113.7/32"]


# ---------------------------------------------------------------------------
# networkPolicy: true in the namespace where an egress gateway runs: the policy's
# `podSelector: {}` selects the gateway's pods too, and allows them DNS, the cluster and
# istiod only, so the gateway itself can no longer reach any external host.  (Gateways
# use no Sidecar of their namespace: pilot/pkg/model/push_context.go doGetSidecarScope,
# `case Router, Waypoint`, 1.30.3; the NetworkPolicy is what breaks them.)

GATEWAY_NAMESPACE_LOCKED = """\
policy: REGISTRY_ONLY
gateways:
  egress: {namespace: istio-egress}
services:
  google: {host: www.google.com, ports: [443/https], via: egress}
namespaces:
  shop: {allow: [google], networkPolicy: true}
  istio-egress: {allow: [google], networkPolicy: true}
"""


def test_network_policy_in_the_gateway_namespace_is_refused(cli: Any, project: Path) -> None:
    code, found = _findings(cli, project, GATEWAY_NAMESPACE_LOCKED)
    assert [f for f in found if f[0] == "network-policy-gateway"] == [
        ("network-policy-gateway", 8, 50)
    ], found
    assert code == 3


def test_listing_the_gateway_namespace_without_network_policy_passes(
    cli: Any, project: Path
) -> None:
    text = GATEWAY_NAMESPACE_LOCKED.replace(
        "istio-egress: {allow: [google], networkPolicy: true}", "istio-egress: {allow: [google]}"
    )
    code, found = _findings(cli, project, text)
    assert code == 0, found


# ---------------------------------------------------------------------------
# The gateway chart's Service must expose every port the sidecars' mesh routes send to
# (80 for the HTTP hop, each TLS port as it is): a VirtualService destination port the
# Service does not define names a cluster (outbound|PORT|subset|host) that does not
# exist, and the connection fails.  Istio's gateway chart (manifests/charts/gateway,
# 1.30.3) exposes 15021, 80 and 443 by default; the stand-in chart does 80 and 443.

STAND_IN = REPO / "tests" / "charts" / "gateway"


def _gateway_env(ports: tuple[Port, ...], values: tuple[str, ...]) -> tuple[Any, GatewayChart]:
    chart = GatewayChart(
        chart=str(STAND_IN),
        release="istio-egressgateway",
        namespace="istio-egress",
        values=values,
        index=0,
        loc=Loc("values/dev.yaml", 7, 7),
    )
    svc = Service("wiki", ("en.wikipedia.org",), ports, Resolution.DNS, via="egress")
    inv = Inventory(
        policy=Policy.REGISTRY_ONLY,
        capture=Capture(),
        services=(svc,),
        gateways=(EgressGateway("egress", namespace="istio-egress"),),
    )
    env = Environment(
        name="dev",
        file="values/dev.yaml",
        context="kind-dev",
        namespace="istio-system",
        api_version=None,
        istio=None,
        inventory=inv,
        gateway_charts=(chart,),
    )
    return env, chart


def test_gateway_service_without_a_routed_tls_port_is_an_error(helm: str, tmp_path: Path) -> None:
    values = write(tmp_path / "gw.yaml", "service:\n  type: ClusterIP\n")
    env, chart = _gateway_env(
        (Port(443, "HTTPS", "https"), Port(8443, "TLS", "tls")), (str(values),)
    )
    found = gateway_findings(env, [render_gateway(chart)])
    assert [(f.code, str(f.loc), f.path) for f in found] == [
        ("gateway-chart-service-ports", "values/dev.yaml:7:7", "istio.gateways[0]")
    ]
    assert "8443" in found[0].message


def test_gateway_service_with_every_routed_port_passes(helm: str, tmp_path: Path) -> None:
    values = write(
        tmp_path / "gw.yaml",
        "service:\n  type: ClusterIP\n  ports:\n"
        "    - {name: http2, port: 80, protocol: TCP, targetPort: 80}\n"
        "    - {name: https, port: 443, protocol: TCP, targetPort: 443}\n"
        "    - {name: tls-8443, port: 8443, protocol: TCP, targetPort: 8443}\n",
    )
    env, chart = _gateway_env(
        (Port(8080, "HTTP", "http"), Port(8443, "TLS", "tls")), (str(values),)
    )
    assert gateway_findings(env, [render_gateway(chart)]) == []


# ---------------------------------------------------------------------------
# Two `api: istio` gateways whose selectors pick the same pods (a Gateway's selector
# applies across namespaces: PILOT_SCOPE_GATEWAY_TO_NAMESPACE defaults to false) are
# merged on those pods per port (pilot/pkg/model/gateway.go MergeGateways, 1.30.3):
# a plain-text HTTP server and an HTTPS (ISTIO_MUTUAL) server on port 80 cannot merge
# (`canMergeProtocols`), so one of them is skipped ("conflict with existing server") and
# the HTTP services of that gateway go nowhere.

MIXED_MTLS = """\
policy: REGISTRY_ONLY
gateways:
  egress: {namespace: istio-egress}
  plain: {namespace: egress-plain, mtls: false}
services:
  a: {host: a.example.com, ports: [80/http], via: egress}
  b: {host: b.example.com, ports: [80/http], via: plain}
"""


def test_http_hops_with_and_without_mtls_on_the_same_pods_are_refused(
    cli: Any, project: Path
) -> None:
    code, found = _findings(cli, project, MIXED_MTLS)
    assert ("gateway-mtls-mixed", 4, 42) in found, found
    assert code == 3


def test_gateways_on_other_pods_may_differ_in_mtls(cli: Any, project: Path) -> None:
    text = MIXED_MTLS.replace(
        "{namespace: egress-plain, mtls: false}",
        "{namespace: egress-plain, mtls: false, selector: {istio: plain-egress}}",
    )
    code, found = _findings(cli, project, text)
    assert code == 0, found


def test_mtls_mix_matters_only_for_the_http_hop(cli: Any, project: Path) -> None:
    """TLS passthrough servers merge by SNI whatever `mtls` says."""
    text = MIXED_MTLS.replace(
        "b.example.com, ports: [80/http]", "b.example.com, ports: [443/https]"
    )
    code, found = _findings(cli, project, text)
    assert code == 0, found


# ---------------------------------------------------------------------------
# Ambient, mesh ALLOW_ANY: a listed namespace keeps its own `policy` (REGISTRY_ONLY by
# default, issue #14), and ambient renders its lockdown NetworkPolicy; the waypoint's
# ALLOW policy on a service that no namespace allows must then not let that namespace
# in (with sidecars its Sidecar, REGISTRY_ONLY, imports only its allowlist).  Enrolled
# namespaces that are not listed follow the mesh's ALLOW_ANY and may reach it.


def test_ambient_allow_any_mesh_keeps_a_locked_listed_namespace_out() -> None:
    https = Port(443, "HTTPS", "https")
    inv = Inventory(
        policy=Policy.ALLOW_ANY,
        capture=Capture(),
        services=(
            Service("a", ("a.example.com",), (https,), Resolution.DNS),
            Service("c", ("c.example.com",), (https,), Resolution.DNS),
        ),
        namespaces=(NamespacePolicy("shop", ("a",)),),  # policy REGISTRY_ONLY (default)
    )
    target = plan.Target(
        namespace="istio-system",
        dataplane=Dataplane.AMBIENT,
        cluster=TARGET.cluster,
        ambient=Ambient(namespace="istio-egress", waypoint="egress-waypoint", enrolled=("batch",)),
    )
    p = plan.build(inv, target)
    nps = p.extra["networkPolicies"]
    assert [e["namespace"] for e in nps.values()] == ["shop"]  # shop is locked down
    ap = p.extra["authorizationPolicies"]["c"]
    assert ap["rules"] == [{"from": [{"source": {"namespaces": ["batch"]}}]}]
