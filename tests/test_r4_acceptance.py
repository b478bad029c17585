"""Acceptance review R4 (issues #13 to #16): gaps found by going through the issues item by
item.  #15: "a mismatch either way is a located error before anything is applied" — an
ambient environment without an Istio chart has no render to check, so the live istiod
decides: a deploy of the ambient objects (lockdown NetworkPolicies included) onto a mesh
whose istiod does not run ambient would cut the sidecars' own connections, with nothing
in the deploy to switch the data plane."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from egressctl.errors import InventoryError
from egressctl.inventory.model import Dataplane
from tests.conftest import FakeKubectl
from tests.test_deploy_order import (
    EGRESS_NS,
    K8S_NET,
    SECURITY,
    _env,
    _istiod,
    _istiod_made,
    deploy,
    events,
    obj,
    rendered,
    se,
    waypoint,
)


def _ambient_without_istio_chart(tmp_path: Path):  # type: ignore[no-untyped-def]
    objs = [
        waypoint(),
        se("google", EGRESS_NS),
        obj(SECURITY, "AuthorizationPolicy", "google", EGRESS_NS),
        obj(K8S_NET, "NetworkPolicy", "egressctl-egress", "shop", {"policyTypes": ["Egress"]}),
    ]
    return rendered(_env(tmp_path, Dataplane.AMBIENT, istio=False), objs)


@pytest.mark.parametrize("live_istiod", [False, None], ids=["sidecar-istiod", "no-istiod"])
def test_ambient_without_istio_chart_onto_a_sidecar_mesh_is_refused_before_applying(
    tmp_path: Path, kubectl: FakeKubectl, live_istiod: bool | None
) -> None:
    if live_istiod is not None:
        kubectl.add(_istiod(ambient=live_istiod))
    kubectl.add(_istiod_made("egress-waypoint", "egress-waypoint"))
    with pytest.raises(InventoryError) as caught:
        deploy(_ambient_without_istio_chart(tmp_path))
    (finding,) = caught.value.findings
    assert finding.code == "dataplane-mismatch"
    assert finding.path == "dataplane"
    assert [e for e in events(kubectl) if e[0] == "apply"] == []


def test_ambient_without_istio_chart_onto_an_ambient_mesh_deploys(
    tmp_path: Path, kubectl: FakeKubectl
) -> None:
    kubectl.add(_istiod(ambient=True))
    kubectl.add(_istiod_made("egress-waypoint", "egress-waypoint"))
    report = deploy(_ambient_without_istio_chart(tmp_path))
    assert not report.plan.migration
    assert ("apply", "shop", "NetworkPolicy") in events(kubectl)


# ---------------------------------------------------------------------------
# #14 "In `make bench`, a 10,000-service inventory over 100 namespaces … reported" and
# #16 "`make bench` reports lines/s and peak memory": the bench target runs both scripts.


def _make_recipe(target: str) -> list[str]:
    lines = (Path(__file__).resolve().parent.parent / "Makefile").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{target}:"))
    recipe: list[str] = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip())
    return recipe


def test_make_bench_runs_the_visibility_and_discover_benches() -> None:
    recipe = _make_recipe("bench")
    assert "$(BIN)/python bench/visibility.py" in recipe
    assert "$(BIN)/python bench/discover.py" in recipe
    for script in ("bench/visibility.py", "bench/discover.py"):
        assert (Path(__file__).resolve().parent.parent / script).is_file()


AMBIENT_INVENTORY = (
    "policy: REGISTRY_ONLY\nservices:\n  google: {host: www.google.com, ports: [443/https]}\n"
)
AMBIENT_BLOCK = (
    "dataplane: ambient\nambient: {enrolled: [shop]}\n"
    "cluster: {podCIDRs: [10.244.0.0/16], serviceCIDRs: [10.96.0.0/12]}\n"
)


def test_cli_deploy_of_ambient_without_istio_chart_is_a_located_error(
    cli: Any, env_file: Any, kubectl: FakeKubectl
) -> None:
    path = env_file(inventory=AMBIENT_INVENTORY, extra=AMBIENT_BLOCK)
    kubectl.add(_istiod(ambient=False))
    for args in (("--dry-run",), ("--yes",)):
        res = cli("deploy", "--env", "dev", *args)
        assert res.exit_code == 3, res.stderr
        line = next(x for x in res.stderr.splitlines() if x.endswith("[dataplane-mismatch]"))
        where = path.read_text().splitlines().index("dataplane: ambient") + 1
        assert line.startswith(f"values/{path.name}:{where}:")
    assert [e for e in events(kubectl) if e[0] == "apply"] == []
