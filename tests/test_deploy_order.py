"""The deploy side of gateways, per-namespace Sidecars/NetworkPolicies and ambient
(issues #13, #14, #15): group-aware kinds, deploy order and waits, foreign Sidecars.
Renders are built here as YAML text (the templates are other modules' work); the cluster
is the recording kubectl stand-in."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from egressctl.charts.gateways import GatewayRender
from egressctl.charts.render import Rendered
from egressctl.charts.rendercheck import ObjectKey, check_egress_render
from egressctl.cluster import apply as cluster_apply
from egressctl.cluster import history
from egressctl.cluster.describe import describe
from egressctl.cluster.diff import diff
from egressctl.cluster.kube import Kube
from egressctl.cluster.objects import EGRESS_KINDS, ObjRef, ref_of
from egressctl.cluster.ownership import Adopt, Identity, classify, parse_adopt
from egressctl.cluster.phases import network_policy_loosens, sidecar_loosens
from egressctl.cluster.plan import StepName, make_plan
from egressctl.errors import ToolError, UsageError, VerificationError
from egressctl.inventory.model import (
    Capture,
    Dataplane,
    Environment,
    GatewayChart,
    Inventory,
    IstioChart,
    Policy,
)
from egressctl.mesh.kinds import GATEWAY_API_GATEWAY, kind_key, lookup
from tests.conftest import FakeKubectl, flag, load_all, owner_labels

NS = "istio-system"
EGRESS_NS = "istio-egress"
ISTIO_GW = "networking.istio.io/v1"
GW_API = "gateway.networking.k8s.io/v1"
GW_API_ALPHA = "gateway.networking.k8s.io/v1alpha2"
SECURITY = "security.istio.io/v1"
K8S_NET = "networking.k8s.io/v1"
GWAPI_GATEWAY = GATEWAY_API_GATEWAY

_INV = Inventory(policy=Policy.REGISTRY_ONLY, capture=Capture(), services=())


# ---------------------------------------------------------------------------
# Building renders


def _env(tmp: Path, dataplane: Dataplane = Dataplane.SIDECAR, istio: bool = True) -> Environment:
    chart = IstioChart(chart="/c", release="istiod", values=()) if istio else None
    return Environment(
        "dev", str(tmp / "dev.yaml"), "kind-dev", NS, None, chart, _INV, dataplane=dataplane
    )


def obj(
    api: str,
    kind: str,
    name: str,
    ns: str = NS,
    spec: dict[str, Any] | None = None,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "apiVersion": api,
        "kind": kind,
        "metadata": {
            "name": name,
            "namespace": ns,
            "labels": owner_labels() if labels is None else labels,
        },
        "spec": spec if spec is not None else {"x": name},
    }


def se(name: str, ns: str = NS) -> dict[str, Any]:
    return obj(ISTIO_GW, "ServiceEntry", name, ns, {"hosts": [f"{name}.example.com"]})


def sidecar(
    ns: str, mode: str, hosts: list[str], name: str = "default", labels: Any = None
) -> dict[str, Any]:
    spec = {"outboundTrafficPolicy": {"mode": mode}, "egress": [{"hosts": hosts}]}
    return obj(ISTIO_GW, "Sidecar", name, ns, spec, labels)


def waypoint(name: str = "egress-waypoint") -> dict[str, Any]:
    spec = {
        "gatewayClassName": "istio-waypoint",
        "listeners": [{"name": "mesh", "port": 15008, "protocol": "HBONE"}],
    }
    return obj(GW_API, "Gateway", name, EGRESS_NS, spec)


def stream(objs: list[dict[str, Any]]) -> str:
    return "".join("---\n" + yaml.safe_dump(o, sort_keys=False) for o in objs)


def istio_text(mode: str) -> str:
    mesh = yaml.safe_dump({"outboundTrafficPolicy": {"mode": mode}})
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "istio", "namespace": NS},
        "data": {"mesh": mesh},
    }
    return stream([cm])


def gateway_chart(release: str = "istio-egressgateway") -> GatewayRender:
    objs = [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": release, "namespace": EGRESS_NS},
            "spec": {"selector": {"matchLabels": {"istio": "egressgateway"}}},
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": release, "namespace": EGRESS_NS},
            "spec": {"type": "ClusterIP"},
        },
    ]
    chart = GatewayChart(chart="/gw", release=release, namespace=EGRESS_NS)
    return GatewayRender(chart, stream(objs), "{}\n", tuple(objs))


def rendered(
    env: Environment,
    objs: list[dict[str, Any]],
    policy: str = "REGISTRY_ONLY",
    gateways: tuple[GatewayRender, ...] = (),
    dataplane: tuple[GatewayRender, ...] = (),
) -> Rendered:
    return Rendered(
        env=env,
        policy=policy,
        include="*",
        exclude="",
        values_text="{}\n",
        egress=stream(objs),
        istio=istio_text(policy) if env.istio is not None else None,
        api_version="v1",
        api_reason="test",
        gateways=gateways,
        dataplane_charts=dataplane,
    )


def deploy(r: Rendered, **kw: Any) -> cluster_apply.DeployReport:
    return cluster_apply.deploy(
        r, dry_run=False, confirm=lambda _l: True, kube=Kube("kind-dev", NS), **kw
    )


def events(kubectl: FakeKubectl) -> list[tuple[str, ...]]:
    """The calls that change or wait, in order: ("apply", ns, kinds…), ("rollout",
    ns, target), ("delete", ns, resource, name), ("get-deployments", ns, selector)."""
    out: list[tuple[str, ...]] = []
    for c in kubectl.calls():
        argv = c["argv"]
        ns = flag(argv, "--namespace") or ""
        args = argv[argv.index("--") + 1 :] if "--" in argv else []
        if "apply" in argv:
            out.append(("apply", ns, *sorted({o["kind"] for o in load_all(c["stdin"])})))
        elif "rollout" in argv:
            out.append(("rollout", ns, *args))
        elif "delete" in argv:
            name = (flag(argv, "--field-selector") or "").removeprefix("metadata.name=")
            out.append(("delete", ns, *args, name))
        elif "get" in argv and args == ["deployments"] and "gateway-name" in str(argv):
            out.append(("get-deployments", ns, flag(argv, "--selector") or ""))
    return out


def live_gets(kubectl: FakeKubectl) -> list[list[str]]:
    """The resources of each listing of the egress kinds."""
    return [
        c["argv"][c["argv"].index("--") + 1].split(",")
        for c in kubectl.calls()
        if "get" in c["argv"]
        and "--" in c["argv"]
        and "serviceentries" in str(c["argv"])
        and not flag(c["argv"], "--selector")
    ]


# ---------------------------------------------------------------------------
# Kind keys (pure)


@pytest.mark.parametrize(
    ("kind", "api", "key"),
    [
        ("Gateway", ISTIO_GW, "Gateway"),
        ("Gateway", "networking.istio.io/v1beta1", "Gateway"),
        ("Gateway", GW_API, GWAPI_GATEWAY),
        ("TLSRoute", GW_API_ALPHA, "TLSRoute"),
        ("TLSRoute", GW_API, "TLSRoute"),
        ("Sidecar", ISTIO_GW, "Sidecar"),
        ("AuthorizationPolicy", SECURITY, "AuthorizationPolicy"),
        ("NetworkPolicy", K8S_NET, "NetworkPolicy"),
        ("ServiceEntry", "example.com/v1", "ServiceEntry.example.com"),
        ("Secret", "v1", "Secret"),
    ],
)
def test_kind_key_tells_groups_apart(kind: str, api: str, key: str) -> None:
    assert kind_key(kind, api) == key
    assert kind_key(kind, api) == key  # the second answer, remembered, is the same


def test_a_kind_that_is_not_a_string_gets_a_key_too() -> None:
    assert (
        kind_key(["ServiceEntry"], "networking.istio.io/v1")
        == "['ServiceEntry'].networking.istio.io"
    )
    assert kind_key("ServiceEntry", None) == "ServiceEntry"


_OURS = owner_labels("prod")


def _se(
    spec: dict[str, object], labels: dict[str, str], notes: dict[str, str]
) -> dict[str, object]:
    made = obj(ISTIO_GW, "ServiceEntry", "a", spec=spec, labels=labels)
    made["metadata"]["annotations"] = notes
    return made


@pytest.mark.parametrize(
    ("live", "verb"),
    [
        pytest.param(_se({"hosts": ["a"]}, _OURS, {"n": "1"}), "unchanged", id="same"),
        pytest.param(
            _se(
                {"hosts": ["a"]},
                _OURS,
                {"n": "1", "kubectl.kubernetes.io/last-applied-configuration": "{}"},
            ),
            "unchanged",
            id="last-applied-aside",
        ),
        pytest.param(_se({"hosts": ["b"]}, _OURS, {"n": "1"}), "change", id="spec"),
        pytest.param(_se({"hosts": ["a"]}, {**_OURS, "x": "y"}, {"n": "1"}), "change", id="labels"),
        pytest.param(_se({"hosts": ["a"]}, _OURS, {"n": "2"}), "change", id="annotations"),
        pytest.param(
            _se(
                {"hosts": ["a"]}, _OURS, {"kubectl.kubernetes.io/last-applied-configuration": "{}"}
            ),
            "change",
            id="annotation-missing",
        ),
    ],
)
def test_an_owned_object_is_unchanged_only_when_spec_labels_and_annotations_are(
    live: dict[str, object], verb: str
) -> None:
    rendered = _se({"hosts": ["a"]}, _OURS, {"n": "1"})
    ref = ref_of(rendered, "istio-system")
    found = classify({ref: rendered}, {ref: live}, Identity("prod", "istio-system"))
    changes = found.kinds["ServiceEntry"]
    assert (changes.unchanged, changes.change) == (
        (("a",), ()) if verb == "unchanged" else ((), ("a",))
    )


def test_both_gateways_are_egress_kinds_with_their_own_resource() -> None:
    assert EGRESS_KINDS["Gateway"] == "gateways.networking.istio.io"
    assert EGRESS_KINDS[GWAPI_GATEWAY] == "gateways.gateway.networking.k8s.io"
    a = ref_of(obj(ISTIO_GW, "Gateway", "egress"), NS)
    b = ref_of(obj(GW_API, "Gateway", "egress"), NS)
    assert a != b and (a.kind, b.kind) == ("Gateway", GWAPI_GATEWAY)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Gateway.gateway.networking.k8s.io/egress", GWAPI_GATEWAY),
        ("gateways.gateway.networking.k8s.io/egress", GWAPI_GATEWAY),
        ("Gateway/egress", "Gateway"),
        ("Gateway.networking.istio.io/egress", "Gateway"),
        ("istio-egress/gateways.networking.istio.io/egress", "Gateway"),
        ("shop/Sidecar/default", "Sidecar"),
        ("networkpolicies/egressctl-egress", "NetworkPolicy"),
        ("TLSRoute/google", "TLSRoute"),
    ],
)
def test_adopt_spelling(text: str, key: str) -> None:
    (name,) = parse_adopt([text]).names
    assert name.kind == key
    assert name.name == text.rsplit("/", 1)[1]


def test_adopt_unknown_kind_names_both_gateway_spellings() -> None:
    with pytest.raises(UsageError) as err:
        parse_adopt(["Gateways.example.com/egress"])
    assert "Istio's Gateway is Gateway" in str(err.value)
    assert GWAPI_GATEWAY in str(err.value)
    assert lookup("gateway") is not None and lookup("gateway").key == "Gateway"  # type: ignore[union-attr]


# ---------------------------------------------------------------------------
# The render check (charts/rendercheck): group-aware when the plan names the group


def test_render_check_tells_the_gateways_apart() -> None:
    planned = {ObjectKey(GWAPI_GATEWAY, EGRESS_NS, "egress")}
    check_egress_render([obj(GW_API, "Gateway", "egress", EGRESS_NS)], planned, NS, "c")
    with pytest.raises(VerificationError, match="not planned"):
        check_egress_render([obj(ISTIO_GW, "Gateway", "egress", EGRESS_NS)], planned, NS, "c")


def test_render_check_accepts_a_bare_gateway_plan() -> None:
    planned = {ObjectKey("Gateway", EGRESS_NS, "egress")}
    check_egress_render([obj(GW_API, "Gateway", "egress", EGRESS_NS)], planned, NS, "c")


# ---------------------------------------------------------------------------
# Live listing: only the kinds needed; prune and adopt group-aware


def test_listing_covers_the_original_kinds_only_when_the_render_has_no_other(
    tmp_path: Path, kubectl: FakeKubectl
) -> None:
    kubectl.state["missing"] = [
        "gateways.gateway.networking.k8s.io",
        "httproutes.gateway.networking.k8s.io",
        "sidecars.networking.istio.io",
    ]
    kubectl.save()
    deploy(rendered(_env(tmp_path), [se("google")]))
    (listed,) = live_gets(kubectl)
    assert listed == [
        "serviceentries.networking.istio.io",
        "virtualservices.networking.istio.io",
        "destinationrules.networking.istio.io",
    ]
    assert kubectl.names("ServiceEntry") == ["google"]


def test_listing_adds_the_render_kinds_and_the_previous_ones(
    tmp_path: Path, kubectl: FakeKubectl
) -> None:
    route = obj(GW_API, "HTTPRoute", "google", NS, {"parentRefs": []})
    deploy(rendered(_env(tmp_path), [se("google"), route]), previous_kinds={"NetworkPolicy"})
    (listed,) = live_gets(kubectl)
    assert "httproutes.gateway.networking.k8s.io" in listed
    assert "networkpolicies.networking.k8s.io" in listed
    assert "gateways.gateway.networking.k8s.io" not in listed


def test_prune_deletes_the_right_gateway(tmp_path: Path, kubectl: FakeKubectl) -> None:
    kubectl.add(obj(ISTIO_GW, "Gateway", "egress", EGRESS_NS))
    kubectl.add(obj(GW_API, "Gateway", "egress", EGRESS_NS, {"gatewayClassName": "x"}))
    r = rendered(
        _env(tmp_path), [obj(GW_API, "Gateway", "egress", EGRESS_NS, {"gatewayClassName": "x"})]
    )
    report = deploy(r, previous_kinds={"Gateway"}, previous=[EGRESS_NS])
    assert report.plan.prune == (ObjRef("Gateway", EGRESS_NS, "egress"),)
    (delete,) = kubectl.deletes()
    assert delete[delete.index("--") + 1 :] == ["gateways.networking.istio.io"]
    left = kubectl.objects("Gateway")
    assert [o["apiVersion"] for o in left] == [GW_API]


def test_prune_finds_a_kind_only_the_history_holds(tmp_path: Path, kubectl: FakeKubectl) -> None:
    """An earlier deploy applied an HTTPRoute; today's render has none: the record's
    kinds make the listing cover it, and it is pruned."""
    env = _env(tmp_path)
    out = tmp_path / "build"
    route = obj(GW_API, "HTTPRoute", "old", NS, {"parentRefs": []})
    first = rendered(env, [se("google"), route])
    pending = history.begin_record(first, out, started=history.now(), revision=None)
    history.complete_record(pending)
    kubectl.add(route)
    assert history.previous_kinds(out) == {"ServiceEntry", "HTTPRoute"}
    deploy(rendered(env, [se("google")]), previous_kinds=history.previous_kinds(out))
    assert kubectl.objects("HTTPRoute") == []
    (delete,) = kubectl.deletes()
    assert delete[delete.index("--") + 1 :] == ["httproutes.gateway.networking.k8s.io"]


def test_an_old_record_reads_its_kinds(tmp_path: Path) -> None:
    """A record written before kind keys existed (SE and VS only, as earlier releases
    rendered) gives its kinds the same way."""
    folder = tmp_path / "history" / "20200101T000000000000Z-abcdef01"
    folder.mkdir(parents=True)
    egress = stream([se("a"), obj(ISTIO_GW, "VirtualService", "a")])
    values = "{}\n"
    (folder / "egress.yaml").write_text(egress)
    (folder / "values.yaml").write_text(values)
    doc = {
        "id": folder.name,
        "time": "2020-01-01T00:00:00Z",
        "source": "deploy",
        "environment": "dev",
        "context": "kind-dev",
        "namespace": NS,
        "policy": "REGISTRY_ONLY",
        "includeIPRanges": "*",
        "excludeIPRanges": "",
        "digests": {"egress.yaml": history.digest(egress), "values.yaml": history.digest(values)},
    }
    (folder / "record.json").write_text(json.dumps(doc))
    assert history.previous_kinds(tmp_path) == {"ServiceEntry", "VirtualService"}


def test_a_foreign_gateway_api_gateway_is_refused_then_adopted_by_its_spelling(
    tmp_path: Path, kubectl: FakeKubectl
) -> None:
    gw = obj(GW_API, "Gateway", "egress", EGRESS_NS, {"gatewayClassName": "x"})
    kubectl.add({**gw, "metadata": {**gw["metadata"], "labels": {"team": "x"}}})
    kubectl.add(obj(ISTIO_GW, "Gateway", "egress", EGRESS_NS, labels={"team": "y"}))
    r = rendered(_env(tmp_path), [gw])
    with pytest.raises(UsageError) as err:
        deploy(r)
    assert f"--adopt {GWAPI_GATEWAY}/egress" in str(err.value)
    assert kubectl.applies() == []
    with pytest.raises(UsageError):  # Istio's Gateway is not the one rendered
        deploy(r, adopt=parse_adopt(["Gateway/egress"]))
    report = deploy(r, adopt=parse_adopt([f"{GWAPI_GATEWAY}/egress"]))
    assert report.plan.adopted == (ObjRef(GWAPI_GATEWAY, EGRESS_NS, "egress"),)
    # The Istio Gateway of the same name is untouched.
    istio_gw = [o for o in kubectl.objects("Gateway") if o["apiVersion"] == ISTIO_GW]
    assert istio_gw[0]["metadata"]["labels"] == {"team": "y"}


# ---------------------------------------------------------------------------
# #13: gateway workloads and routing before tightening, waiting for the gateway


def test_gateway_chart_first_then_wait_then_routing_then_istio(
    tmp_path: Path, kubectl: FakeKubectl
) -> None:
    kubectl.set_mesh_policy("ALLOW_ANY")
    objs = [
        obj(ISTIO_GW, "Gateway", "egress", EGRESS_NS),
        se("google"),
        obj(ISTIO_GW, "VirtualService", "google"),
        obj(ISTIO_GW, "DestinationRule", "egressgateway-for-google"),
    ]
    r = rendered(_env(tmp_path), objs, gateways=(gateway_chart(),))
    report = deploy(r)
    assert [s.name for s in report.plan.steps] == [
        StepName.GATEWAY_CHART,
        StepName.GATEWAY_WAIT,
        StepName.EGRESS,
        StepName.WAIT,
        StepName.ISTIO,
    ]
    assert events(kubectl) == [
        ("apply", EGRESS_NS, "Deployment", "Service"),
        ("rollout", EGRESS_NS, "deployment/istio-egressgateway"),
        ("apply", EGRESS_NS, "Gateway"),
        ("apply", NS, "DestinationRule", "ServiceEntry", "VirtualService"),
        ("apply", NS, "ConfigMap"),
    ]
    status = next(c["argv"] for c in kubectl.calls() if "rollout" in c["argv"])
    assert flag(status, "--timeout") is not None
    lines = describe(report.plan, r, dry_run=False)
    assert any(
        line.split()
        == [
            "wait",
            "for",
            "gateway",
            "chart",
            "istio-egressgateway:",
            "deployment/istio-egressgateway",
            "(namespace",
            "istio-egress)",
        ]
        for line in lines
    ), lines


def test_a_failed_gateway_rollout_stops_before_routing(
    tmp_path: Path, kubectl: FakeKubectl
) -> None:
    kubectl.fail_on("rollout", "status", stderr="error: timed out waiting for the condition")
    r = rendered(_env(tmp_path), [se("google")], gateways=(gateway_chart(),))
    with pytest.raises(ToolError):
        deploy(r)
    assert events(kubectl) == [
        ("apply", EGRESS_NS, "Deployment", "Service"),
        ("rollout", EGRESS_NS, "deployment/istio-egressgateway"),
    ]


def _istiod_made(name: str, gateway: str, ns: str = EGRESS_NS) -> dict[str, Any]:
    """The Deployment istiod makes for a Gateway API Gateway."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": ns,
            "labels": {"gateway.networking.k8s.io/gateway-name": gateway},
        },
    }


def test_gateway_api_gateway_then_its_deployment_then_routes(
    tmp_path: Path, kubectl: FakeKubectl
) -> None:
    kubectl.add(_istiod_made("egress-istio", "egress"))
    gw = obj(GW_API, "Gateway", "egress", EGRESS_NS, {"gatewayClassName": "istio"})
    route = obj(GW_API, "HTTPRoute", "google", NS, {"parentRefs": []})
    grant = obj("gateway.networking.k8s.io/v1beta1", "ReferenceGrant", "g", EGRESS_NS)
    report = deploy(rendered(_env(tmp_path), [se("google"), route, grant, gw]))
    assert [s.name for s in report.plan.steps] == [
        StepName.GATEWAYS,
        StepName.GATEWAY_WAIT,
        StepName.EGRESS,
        StepName.WAIT,
        StepName.ISTIO,
    ]
    selector = "gateway.networking.k8s.io/gateway-name=egress"
    assert events(kubectl) == [
        ("apply", EGRESS_NS, "Gateway"),
        ("get-deployments", EGRESS_NS, selector),
        ("rollout", EGRESS_NS, "deployment/egress-istio"),
        ("apply", EGRESS_NS, "ReferenceGrant"),
        ("apply", NS, "HTTPRoute", "ServiceEntry"),
        ("apply", NS, "ConfigMap"),
    ]


def test_no_gateway_deployment_times_out_before_routes(
    tmp_path: Path, kubectl: FakeKubectl
) -> None:
    gw = obj(GW_API, "Gateway", "egress", EGRESS_NS, {"gatewayClassName": "istio"})
    with pytest.raises(ToolError, match="no Deployment"):
        deploy(rendered(_env(tmp_path), [se("google"), gw]), rollout_timeout=0.1)
    assert [e[0] for e in events(kubectl)][:1] == ["apply"]
    assert not any(e[0] == "rollout" for e in events(kubectl))
    assert [e for e in events(kubectl) if e[0] == "apply"] == [("apply", EGRESS_NS, "Gateway")]


def test_dry_run_waits_for_nothing(tmp_path: Path, kubectl: FakeKubectl) -> None:
    r = rendered(_env(tmp_path), [se("google")], gateways=(gateway_chart(),))
    cluster_apply.deploy(r, dry_run=True, confirm=lambda _l: True, kube=Kube("kind-dev", NS))
    assert not any(e[0] == "rollout" for e in events(kubectl))
    assert all(c["argv"][-1] == "--dry-run=server" for c in kubectl.applies())


# ---------------------------------------------------------------------------
# #14: Sidecars that tighten after the entries they allow; loosening the reverse


def test_new_sidecar_after_entries_before_istio(tmp_path: Path, kubectl: FakeKubectl) -> None:
    kubectl.set_mesh_policy("ALLOW_ANY")
    objs = [
        sidecar("shop", "REGISTRY_ONLY", ["./*", f"{NS}/google.example.com"]),
        obj(K8S_NET, "NetworkPolicy", "egressctl-egress", "shop", {"policyTypes": ["Egress"]}),
        se("google"),
    ]
    report = deploy(rendered(_env(tmp_path), objs))
    assert [s.name for s in report.plan.steps] == [
        StepName.EGRESS,
        StepName.WAIT,
        StepName.LOCKDOWN,
        StepName.ISTIO,
    ]
    assert events(kubectl) == [
        ("apply", NS, "ServiceEntry"),
        ("apply", "shop", "NetworkPolicy", "Sidecar"),
        ("apply", NS, "ConfigMap"),
    ]
    verbs = kubectl.verbs()
    applies = [i for i, v in enumerate(verbs) if v.startswith("apply")]
    assert any(v.startswith("get serviceentries") for v in verbs[applies[0] + 1 : applies[1]])


def test_loosening_sidecar_goes_first(tmp_path: Path, kubectl: FakeKubectl) -> None:
    hosts = ["./*", f"{NS}/google.example.com"]
    kubectl.add(sidecar("shop", "REGISTRY_ONLY", hosts))
    kubectl.add(se("google"))
    kubectl.set_mesh_policy("REGISTRY_ONLY")
    objs = [sidecar("shop", "ALLOW_ANY", hosts), se("google"), se("new")]
    report = deploy(rendered(_env(tmp_path), objs, policy="ALLOW_ANY"), previous=["shop"])
    assert [s.name for s in report.plan.steps] == [
        StepName.LOOSEN_SIDECARS,
        StepName.ISTIO,
        StepName.EGRESS,
        StepName.WAIT,
    ]
    assert events(kubectl) == [
        ("apply", "shop", "Sidecar"),
        ("apply", NS, "ConfigMap"),
        ("apply", NS, "ServiceEntry"),
    ]


@pytest.mark.parametrize(
    ("live", "new", "loosens"),
    [
        (None, ("REGISTRY_ONLY", ["a"]), False),  # new: tightens
        (None, ("ALLOW_ANY", ["a"]), False),  # new: the namespace sees less
        (("REGISTRY_ONLY", ["a"]), ("ALLOW_ANY", ["a"]), True),
        (("REGISTRY_ONLY", ["a"]), ("REGISTRY_ONLY", ["a", "b"]), True),
        (("REGISTRY_ONLY", ["a", "b"]), ("REGISTRY_ONLY", ["a"]), False),
        (("ALLOW_ANY", ["a"]), ("REGISTRY_ONLY", ["a", "b"]), False),
        (("REGISTRY_ONLY", ["a", "b"]), ("ALLOW_ANY", ["a"]), False),  # drops b
        (("REGISTRY_ONLY", ["a"]), ("REGISTRY_ONLY", ["a"]), False),  # unchanged
    ],
)
def test_sidecar_loosens(live: Any, new: Any, loosens: bool) -> None:
    before = None if live is None else sidecar("shop", live[0], live[1])
    assert sidecar_loosens(sidecar("shop", new[0], new[1]), before) is loosens


# ---------------------------------------------------------------------------
# #14: a selector-less Sidecar egressctl does not own


def _foreign(kubectl: FakeKubectl, name: str = "restrict", labels: Any = None, **spec: Any) -> None:
    s = sidecar("shop", "REGISTRY_ONLY", ["./*"], name=name, labels=labels or {"team": "shop"})
    s["spec"].update(spec)
    kubectl.add(s)


def test_foreign_selectorless_sidecar_is_refused_in_plan_and_diff(
    tmp_path: Path, kubectl: FakeKubectl
) -> None:
    _foreign(kubectl)
    r = rendered(_env(tmp_path), [sidecar("shop", "REGISTRY_ONLY", ["./*"]), se("google")])
    progress: list[str] = []
    with pytest.raises(UsageError) as err:
        cluster_apply.deploy(
            r,
            dry_run=False,
            confirm=lambda _l: True,
            kube=Kube("kind-dev", NS),
            progress=progress.append,
        )
    assert err.value.exit_code == 2
    assert "Sidecar/restrict (namespace shop)" in str(err.value)
    assert "--adopt Sidecar/restrict" in str(err.value)
    refused = [line for line in progress if line.split()[:1] == ["refused"]]
    assert refused and "Sidecar/restrict (namespace shop)" in refused[0]
    assert kubectl.applies() == []
    report = diff(r, kube=Kube("kind-dev", NS))
    assert report.changed
    assert any(
        line.startswith("refused Sidecar/restrict (namespace shop)") for line in report.lines
    )


def test_same_named_foreign_sidecar_is_refused_as_any_foreign_object(
    tmp_path: Path, kubectl: FakeKubectl
) -> None:
    _foreign(kubectl, name="default")
    r = rendered(_env(tmp_path), [sidecar("shop", "REGISTRY_ONLY", ["./*"])])
    with pytest.raises(UsageError, match="Sidecar/default"):
        deploy(r)
    report = deploy(r, adopt=parse_adopt(["shop/Sidecar/default"]))
    assert report.plan.adopted == (ObjRef("Sidecar", "shop", "default"),)
    assert kubectl.names("Sidecar") == ["default"]


def test_another_environments_sidecar_is_never_adopted(
    tmp_path: Path, kubectl: FakeKubectl
) -> None:
    _foreign(kubectl, labels=owner_labels("prod"))
    r = rendered(_env(tmp_path), [sidecar("shop", "REGISTRY_ONLY", ["./*"])])
    with pytest.raises(UsageError, match="another environment's object is never changed"):
        deploy(r, adopt=Adopt(all=True))


def test_a_foreign_sidecar_with_a_workload_selector_is_fine(
    tmp_path: Path, kubectl: FakeKubectl
) -> None:
    _foreign(kubectl, workloadSelector={"labels": {"app": "x"}})
    report = deploy(rendered(_env(tmp_path), [sidecar("shop", "REGISTRY_ONLY", ["./*"])]))
    assert report.plan.refused == ()
    assert kubectl.names("Sidecar") == ["default", "restrict"]


def test_adopted_foreign_sidecar_is_replaced_after_ours(
    tmp_path: Path, kubectl: FakeKubectl
) -> None:
    _foreign(kubectl)
    r = rendered(_env(tmp_path), [sidecar("shop", "REGISTRY_ONLY", ["./*"]), se("google")])
    report = deploy(r, adopt=parse_adopt(["shop/Sidecar/restrict"]))
    assert report.plan.replaced == (ObjRef("Sidecar", "shop", "restrict"),)
    assert [s.name for s in report.plan.steps][-3:] == [
        StepName.LOCKDOWN,
        StepName.REPLACE,
        StepName.ISTIO,
    ]
    ev = events(kubectl)
    assert ev.index(("apply", "shop", "Sidecar")) < ev.index(
        ("delete", "shop", "sidecars.networking.istio.io", "restrict")
    )
    assert kubectl.names("Sidecar") == ["default"]
    delete = kubectl.deletes()[0]
    assert flag(delete, "--selector") is None  # it never carried egressctl's labels


# ---------------------------------------------------------------------------
# #15: moving from sidecars to ambient


def _istiod(ambient: bool) -> dict[str, Any]:
    env = [{"name": "PILOT_ENABLE_AMBIENT", "value": "true"}] if ambient else []
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "istiod", "namespace": NS, "labels": {"app": "istiod"}},
        "spec": {"template": {"spec": {"containers": [{"name": "discovery", "env": env}]}}},
    }


def _ambient_render(tmp_path: Path, policy: str = "REGISTRY_ONLY") -> Rendered:
    objs = [
        waypoint(),
        se("google", EGRESS_NS),
        obj(SECURITY, "AuthorizationPolicy", "google", EGRESS_NS),
        obj(ISTIO_GW, "DestinationRule", "google", EGRESS_NS),
        obj(K8S_NET, "NetworkPolicy", "egressctl-egress", "shop", {"policyTypes": ["Egress"]}),
    ]
    return rendered(_env(tmp_path, Dataplane.AMBIENT), objs, policy=policy)


@pytest.mark.parametrize("policy", ["REGISTRY_ONLY", "ALLOW_ANY"])
def test_sidecar_to_ambient_order(tmp_path: Path, kubectl: FakeKubectl, policy: str) -> None:
    """Waypoint, ServiceEntries and AuthorizationPolicies first; wait for the waypoint;
    NetworkPolicies next; the Istio render last, even when its policy loosens."""
    kubectl.add(_istiod(ambient=False))
    kubectl.add(_istiod_made("egress-waypoint", "egress-waypoint"))
    kubectl.set_mesh_policy("REGISTRY_ONLY")
    r = _ambient_render(tmp_path, policy)
    report = deploy(r)
    assert report.plan.migration
    assert [s.name for s in report.plan.steps] == [
        StepName.GATEWAYS,
        StepName.GATEWAY_WAIT,
        StepName.EGRESS,
        StepName.WAIT,
        StepName.LOCKDOWN,
        StepName.ISTIO,
    ]
    assert events(kubectl) == [
        ("apply", EGRESS_NS, "AuthorizationPolicy", "Gateway", "ServiceEntry"),
        ("get-deployments", EGRESS_NS, "gateway.networking.k8s.io/gateway-name=egress-waypoint"),
        ("rollout", EGRESS_NS, "deployment/egress-waypoint"),
        ("apply", EGRESS_NS, "DestinationRule"),
        ("apply", "shop", "NetworkPolicy"),
        ("apply", NS, "ConfigMap"),
    ]
    lines = describe(report.plan, r, dry_run=False)
    assert (
        "  data plane      sidecar → ambient: the lockdown moves from outboundTrafficPolicy "
        "to waypoint + AuthorizationPolicy + NetworkPolicy"
    ) in lines
    assert any(line.startswith("  order           waypoint, ServiceEntries") for line in lines)


def _ztunnel() -> GatewayRender:
    ds = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "ztunnel", "namespace": NS},
        "spec": {"x": 1},
    }
    chart = GatewayChart(chart="/ztunnel", release="ztunnel", namespace=NS)
    return GatewayRender(chart, stream([ds]), "{}\n", (ds,))


def test_sidecar_to_ambient_applies_the_dataplane_charts_just_before_istio(
    tmp_path: Path, kubectl: FakeKubectl
) -> None:
    kubectl.add(_istiod(ambient=False))
    kubectl.add(_istiod_made("egress-waypoint", "egress-waypoint"))
    r = _ambient_render(tmp_path)
    r = rendered(r.env, load_all(r.egress), dataplane=(_ztunnel(),))
    report = deploy(r)
    assert [s.name for s in report.plan.steps][-3:] == [
        StepName.LOCKDOWN,
        StepName.DATAPLANE_CHART,
        StepName.ISTIO,
    ]
    assert events(kubectl)[-3:] == [
        ("apply", "shop", "NetworkPolicy"),
        ("apply", NS, "DaemonSet"),
        ("apply", NS, "ConfigMap"),
    ]


def test_an_ambient_mesh_is_no_migration(tmp_path: Path, kubectl: FakeKubectl) -> None:
    kubectl.add(_istiod(ambient=True))
    kubectl.add(_istiod_made("egress-waypoint", "egress-waypoint"))
    report = deploy(_ambient_render(tmp_path))
    assert not report.plan.migration
    # Still: the waypoint before what uses it, the NetworkPolicies after the entries.
    assert [s.name for s in report.plan.steps] == [
        StepName.GATEWAYS,
        StepName.GATEWAY_WAIT,
        StepName.EGRESS,
        StepName.WAIT,
        StepName.LOCKDOWN,
        StepName.ISTIO,
    ]
    assert events(kubectl)[0] == ("apply", EGRESS_NS, "Gateway")


def test_a_sidecar_environment_reads_no_istiod(tmp_path: Path, kubectl: FakeKubectl) -> None:
    plan = make_plan(rendered(_env(tmp_path), [se("google")]), Kube("kind-dev", NS))
    assert not plan.migration
    assert not any("deployments" in c["argv"] for c in kubectl.calls())


def test_adopt_names_of_no_such_object_still_fail_before_listing(
    tmp_path: Path, kubectl: FakeKubectl
) -> None:
    with pytest.raises(UsageError, match="no such object"):
        deploy(rendered(_env(tmp_path), [se("google")]), adopt=parse_adopt(["ServiceEntry/x"]))
    assert live_gets(kubectl) == []
    with pytest.raises(UsageError, match="no such object"):
        deploy(rendered(_env(tmp_path), [se("google")]), adopt=parse_adopt(["shop/Sidecar/x"]))


# ---------------------------------------------------------------------------
# End to end: the real chart's render, split by phase (the YAML as helm prints it)


def test_real_render_of_a_namespace_allowlist_goes_in_by_phase(
    cli: Any, env_file: Any, kubectl: FakeKubectl
) -> None:
    from tests.conftest import MINI_ISTIO_BLOCK, SEED

    inventory = SEED + "namespaces:\n  shop:\n    allow: [google]\n"
    env_file(namespace=NS, istio=MINI_ISTIO_BLOCK, inventory=inventory)
    kubectl.set_mesh_policy("ALLOW_ANY")
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 0, res.stderr
    ev = [e for e in events(kubectl) if e[0] == "apply"]
    assert ev == [
        ("apply", NS, "ServiceEntry", "VirtualService"),
        ("apply", "shop", "Sidecar"),
        ("apply", NS, "ConfigMap"),
    ]
    assert kubectl.names("Sidecar") == ["default"]


def test_real_deploy_refuses_a_foreign_sidecar_exit_2_and_diff_reports_it(
    cli: Any, env_file: Any, kubectl: FakeKubectl
) -> None:
    from tests.conftest import MINI_ISTIO_BLOCK, SEED

    inventory = SEED + "namespaces:\n  shop:\n    allow: [google]\n"
    env_file(namespace=NS, istio=MINI_ISTIO_BLOCK, inventory=inventory)
    _foreign(kubectl)
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 2, res.stderr
    assert kubectl.applies() == []
    res = cli("diff", "--env", "dev")
    assert res.exit_code == 1
    refused = [line for line in res.stdout.splitlines() if line.startswith("refused ")]
    assert refused and refused[0].startswith("refused Sidecar/restrict (namespace shop)")
    res = cli("deploy", "--env", "dev", "--yes", "--adopt", "shop/Sidecar/restrict")
    assert res.exit_code == 0, res.stderr
    assert kubectl.names("Sidecar") == ["default"]


def test_real_deploy_prunes_a_sidecar_only_the_history_knows(
    cli: Any, env_file: Any, kubectl: FakeKubectl
) -> None:
    from tests.conftest import MINI_ISTIO_BLOCK, SEED

    env_file(
        namespace=NS,
        istio=MINI_ISTIO_BLOCK,
        inventory=SEED + "namespaces:\n  shop:\n    allow: [google]\n",
    )
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0
    assert kubectl.names("Sidecar") == ["default"]
    env_file(namespace=NS, istio=MINI_ISTIO_BLOCK, inventory=SEED)
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 0, res.stderr
    assert kubectl.names("Sidecar") == []
    (delete,) = kubectl.deletes()
    assert delete[delete.index("--") + 1 :] == ["sidecars.networking.istio.io"]
    assert flag(delete, "--namespace") == "shop"


def test_real_gateway_api_render_waits_for_the_gateway_before_its_routes(
    cli: Any, env_file: Any, kubectl: FakeKubectl
) -> None:
    from tests.conftest import MINI_ISTIO_BLOCK

    inventory = """\
policy: REGISTRY_ONLY
gateways:
  egress:
    namespace: istio-egress
    api: gateway-api
    mtls: false
services:
  google:
    host: www.google.com
    ports: [443/https]
    via: egress
"""
    env_file(namespace=NS, istio=MINI_ISTIO_BLOCK, inventory=inventory)
    kubectl.add(_istiod_made("egress-istio", "egress"))
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 0, res.stderr
    ev = events(kubectl)
    gateway = ev.index(("apply", EGRESS_NS, "Gateway"))
    rollout = ev.index(("rollout", EGRESS_NS, "deployment/egress-istio"))
    routes = [i for i, e in enumerate(ev) if e[0] == "apply" and "TLSRoute" in e]
    istio = ev.index(("apply", NS, "ConfigMap"))
    assert routes and gateway < rollout < min(routes) and max(routes) < istio
    assert f"  {GWAPI_GATEWAY} create 1 (egress)" in res.stderr.splitlines()


def test_diff_covers_the_gateway_and_dataplane_charts_in_their_namespace(
    tmp_path: Path, kubectl: FakeKubectl
) -> None:
    r = rendered(
        _env(tmp_path), [se("google")], gateways=(gateway_chart(),), dataplane=(_ztunnel(),)
    )
    report = diff(r, kube=Kube("kind-dev", NS))
    assert report.changed
    diffs = [c for c in kubectl.calls() if "diff" in c["argv"]]
    kinds = {(flag(c["argv"], "--namespace"), k) for c in diffs for k in _kinds_of(c)}
    assert (EGRESS_NS, "Deployment") in kinds
    assert (NS, "DaemonSet") in kinds
    assert (NS, "ServiceEntry") in kinds
    assert not kubectl.applies()


def _kinds_of(call: dict[str, Any]) -> list[str]:
    return [o["kind"] for o in load_all(call["stdin"])]


_DNS = {"to": [{"namespaceSelector": {}}], "ports": [{"protocol": "UDP", "port": 53}]}
_GW = {"to": [{"podSelector": {"matchLabels": {"istio": "egressgateway"}}}]}


@pytest.mark.parametrize(
    ("live", "new", "loosens"),
    [
        (None, [_DNS], False),
        ([_DNS], [_DNS, _GW], True),
        ([_DNS, _GW], [_DNS], False),
        ([_DNS], [_GW], False),
        ([_DNS], [_DNS], False),
    ],
)
def test_network_policy_loosens(live: Any, new: Any, loosens: bool) -> None:
    def np(rules: list[Any]) -> dict[str, Any]:
        spec = {"podSelector": {}, "policyTypes": ["Egress"], "egress": rules}
        return obj(K8S_NET, "NetworkPolicy", "egressctl-egress", "shop", spec)

    assert network_policy_loosens(np(new), None if live is None else np(live)) is loosens


def test_a_network_policy_that_lets_a_gateway_in_goes_before_the_routes(
    tmp_path: Path, kubectl: FakeKubectl
) -> None:
    spec = {"podSelector": {}, "policyTypes": ["Egress"], "egress": [_DNS]}
    kubectl.add(obj(K8S_NET, "NetworkPolicy", "egressctl-egress", "shop", spec))
    wider = {**spec, "egress": [_DNS, _GW]}
    objs = [
        obj(K8S_NET, "NetworkPolicy", "egressctl-egress", "shop", wider),
        se("google"),
        obj(ISTIO_GW, "VirtualService", "google"),
    ]
    report = deploy(rendered(_env(tmp_path), objs))
    assert [s.name for s in report.plan.steps][:2] == [StepName.LOOSEN_SIDECARS, StepName.EGRESS]
    assert [e for e in events(kubectl) if e[0] == "apply"][:2] == [
        ("apply", "shop", "NetworkPolicy"),
        ("apply", NS, "ServiceEntry", "VirtualService"),
    ]
