"""The visibility property of per-namespace allowlists (issue #14), over random
allowlists: for every listed namespace (and workload allowlist) and every service, the
service is visible there exactly when it is allowed.  Visibility is computed from the
objects chart/ renders — ServiceEntry `exportTo` and the Sidecars' `egress.hosts`,
read the way Istio reads them — not from the planner's data.  Inventories the rules
refuse are skipped (the rules are what keeps the others out)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from egressctl.charts.helm import helm_template
from egressctl.errors import InventoryError
from egressctl.inventory.model import Inventory
from egressctl.mesh import plan
from egressctl.pipeline import compile_inventory, load_inventory
from egressctl.rules.effective import EffectivePolicy
from tests.conftest import CHART, HELMS

ENTRY_NS = "mesh-egress"
HOSTS = [
    "a.example.com",
    "b.example.com",
    "*.example.com",
    "c.other.io",
    "*.other.io",
    "x.c.other.io",
    "solo.net",
]
NAMESPACES = ["shop", "hr", "web", "ops"]
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)


@st.composite
def inventories(draw: Any) -> dict[str, Any]:
    hosts = draw(st.lists(st.sampled_from(HOSTS), min_size=1, max_size=5, unique=True))
    names = [f"s{i}" for i in range(len(hosts))]
    services: dict[str, Any] = {}
    for name, host in zip(names, hosts, strict=True):
        svc: dict[str, Any] = {"host": host, "ports": ["443/https"]}
        if draw(st.booleans()) and draw(st.booleans()):
            svc["exportTo"] = ["*"]
        services[name] = svc
    listed = draw(st.lists(st.sampled_from(NAMESPACES), min_size=1, max_size=4, unique=True))
    namespaces: dict[str, Any] = {}
    for ns in listed:
        every = draw(st.integers(0, 5)) == 0
        allow = ["*"] if every else draw(st.lists(st.sampled_from(names), unique=True))
        entry: dict[str, Any] = {
            "allow": allow,
            "policy": draw(st.sampled_from(["REGISTRY_ONLY", "ALLOW_ANY"])),
        }
        if draw(st.booleans()):
            entry["workloads"] = {
                "w": {
                    "selector": {"app": "w"},
                    "allow": draw(st.lists(st.sampled_from(names), unique=True)),
                }
            }
        namespaces[ns] = entry
    doc: dict[str, Any] = {"policy": "REGISTRY_ONLY", "services": services}
    doc["namespaces"] = namespaces
    if draw(st.booleans()):
        doc["defaults"] = {"exportTo": "listed"}
    return doc


def _overlap(a: str, b: str) -> bool:
    """Istio's host.Name.Matches: equal, or one wildcard covers the other."""
    if a == b:
        return True
    return any(w.startswith("*") and h.endswith(w[1:]) for w, h in ((a, b), (b, a)))


def _exported(entry: dict[str, Any], namespace: str) -> bool:
    spec, where = entry["spec"], entry["metadata"]["namespace"]
    export = spec.get("exportTo")
    if not export:
        return True
    return any(e == "*" or e == namespace or (e == "." and namespace == where) for e in export)


def _sidecar(objects: list[dict[str, Any]], namespace: str, labels: dict[str, str]) -> Any:
    """The Sidecar that applies to a pod: one whose selector its labels match, else the
    namespace's selector-less one, else none."""
    mine = [
        o for o in objects if o["kind"] == "Sidecar" and o["metadata"]["namespace"] == namespace
    ]
    for o in mine:
        sel = o["spec"].get("workloadSelector", {}).get("labels")
        if sel and all(labels.get(k) == v for k, v in sel.items()):
            return o
    return next((o for o in mine if "workloadSelector" not in o["spec"]), None)


def _imported(sidecar: Any, entry: dict[str, Any], namespace: str) -> bool:
    if sidecar is None:
        return True
    where = entry["metadata"]["namespace"]
    for listener in sidecar["spec"]["egress"]:
        for item in listener["hosts"]:
            ns, dns = item.split("/", 1)
            if not (ns == "*" or ns == where or (ns == "." and namespace == where)):
                continue
            if dns == "*" or any(_overlap(dns, h) for h in entry["spec"]["hosts"]):
                return True
    return False


def visible(objects: list[dict[str, Any]], namespace: str, labels: dict[str, str]) -> set[str]:
    entries = [o for o in objects if o["kind"] == "ServiceEntry"]
    sidecar = _sidecar(objects, namespace, labels)
    return {
        e["metadata"]["name"]
        for e in entries
        if _exported(e, namespace) and _imported(sidecar, e, namespace)
    }


def _render(tmp_path: Path, doc: dict[str, Any]) -> tuple[Inventory, list[dict[str, Any]]] | None:
    path = tmp_path / "inv.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    try:
        inv, _ = load_inventory([path])
    except InventoryError:
        return None
    values = compile_inventory(inv, target=plan.Target(namespace=ENTRY_NS)).values_text
    out = helm_template(
        "egress", CHART, namespace=ENTRY_NS, values_text=values, step="render", helm=HELMS[-1]
    )
    return inv, [d for d in yaml.safe_load_all(out) if d]


def _expected_verdict(
    objects: list[dict[str, Any]], namespace: str, labels: dict[str, str], host: str
) -> str:
    """What pods there get for ``host``:443, from the rendered objects: allowed when a
    visible entry registers it (its host, or a wildcard covering it), else the mode of
    the Sidecar that applies (the mesh's, REGISTRY_ONLY here, without one)."""
    seen = visible(objects, namespace, labels)
    for e in objects:
        if e["kind"] != "ServiceEntry" or e["metadata"]["name"] not in seen:
            continue
        if any(
            h == host or (h.startswith("*") and host.endswith(h[1:])) for h in e["spec"]["hosts"]
        ):
            return "allowed"
    sidecar = _sidecar(objects, namespace, labels)
    mode = "REGISTRY_ONLY" if sidecar is None else sidecar["spec"]["outboundTrafficPolicy"]["mode"]
    return "blocked" if mode == "REGISTRY_ONLY" else "passthrough"


def _allowed(doc: dict[str, Any], allow: list[str]) -> set[str]:
    return set(doc["services"]) if "*" in allow else set(allow)


@pytest.mark.skipif(not HELMS, reason="no helm configured")
@SETTINGS
@given(doc=inventories())
def test_visible_iff_allowed(tmp_path: Path, doc: dict[str, Any]) -> None:
    rendered = _render(tmp_path, doc)
    assume(rendered is not None)  # the rules refused it
    assert rendered is not None
    _, objects = rendered
    for ns, entry in doc["namespaces"].items():
        assert visible(objects, ns, {}) == _allowed(doc, entry["allow"]), ns
        for w in entry.get("workloads", {}).values():
            assert visible(objects, ns, w["selector"]) == set(w["allow"]), (ns, w)
    everything = set(doc["services"])
    unlisted = visible(objects, "unlisted", {})
    if "defaults" in doc:  # strict tenancy: only the entries exported everywhere by hand
        assert unlisted == {n for n, s in doc["services"].items() if s.get("exportTo")}
    else:  # unlisted namespaces keep today's behaviour
        assert unlisted == everything


def test_the_visibility_reader_can_fail() -> None:
    """A Sidecar that imports the entry namespace wholesale shows every entry."""
    se = {
        "kind": "ServiceEntry",
        "metadata": {"name": "s0", "namespace": ENTRY_NS},
        "spec": {"hosts": ["a.example.com"]},
    }
    wide = {
        "kind": "Sidecar",
        "metadata": {"name": "default", "namespace": "shop"},
        "spec": {"egress": [{"hosts": ["./*", f"{ENTRY_NS}/*"]}]},
    }
    narrow = {
        "kind": "Sidecar",
        "metadata": {"name": "default", "namespace": "shop"},
        "spec": {"egress": [{"hosts": ["./*", f"{ENTRY_NS}/*.other.io"]}]},
    }
    assert visible([se, wide], "shop", {}) == {"s0"}
    assert visible([se, narrow], "shop", {}) == set()


@pytest.mark.skipif(not HELMS, reason="no helm configured")
@SETTINGS
@given(doc=inventories())
def test_explain_from_agrees_with_the_render(tmp_path: Path, doc: dict[str, Any]) -> None:
    """`explain --from` (computed from the model) gives, for every listed namespace and
    workload and every exact host, the verdict the rendered objects make."""
    rendered = _render(tmp_path, doc)
    assume(rendered is not None)
    assert rendered is not None
    inv, objects = rendered
    mesh = EffectivePolicy(inv, namespace=ENTRY_NS)
    hosts = [s["host"] for s in doc["services"].values() if not s["host"].startswith("*")]
    sources: list[tuple[str, dict[str, str]]] = []
    for ns, entry in doc["namespaces"].items():
        sources.append((ns, {}))
        sources += [(ns, w["selector"]) for w in entry.get("workloads", {}).values()]
    for ns, labels in sources:
        text = ns + ("/" + ",".join(f"{k}={v}" for k, v in labels.items()) if labels else "")
        seen = mesh.seen_from(text)
        for host in [*hosts, "unknown.example.org"]:
            got = seen.explain(host, 443).verdict.value
            assert got == _expected_verdict(objects, ns, labels, host), (text, host)
