"""deploy, diff and rollback against the recording kubectl stand-in (real helm renders)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from egressctl import pipeline
from egressctl.cluster import apply as cluster_apply
from egressctl.cluster.ownership import NO_ADOPT
from egressctl.cluster.plan import Order, StepName
from egressctl.cluster.workloads import Workload, pod_is_stale
from egressctl.pipeline import render_environment
from tests.conftest import (
    LEGACY_ISTIO,
    MINI_ISTIO_BLOCK,
    SEED,
    EnvFile,
    FakeKubectl,
    flag,
    load_all,
    owner_labels,
    write,
)

ISTIO_SYSTEM = "istio-system"


def _kinds(call: dict) -> list[str]:
    return sorted({o["kind"] for o in load_all(call["stdin"])})


_STALE_HEAD = "workload(s) still run sidecars with the old capture ranges"


def _stale_listed(stderr: str) -> list[str]:
    """The workloads a deploy listed as still on the old capture ranges
    (``namespace/kind/name``), parsed from the lines under its heading."""
    lines = stderr.splitlines()
    heads = [i for i, line in enumerate(lines) if _STALE_HEAD in line]
    listed = []
    for line in lines[heads[-1] + 1 :] if heads else []:
        if not (line.startswith("  ") and line.endswith(")")):
            break
        listed.append(line.split()[0])
    return listed


def test_wrong_context_refuses_and_applies_nothing(
    cli, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    env_file(namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    kubectl.state["context"] = "prod-cluster"
    kubectl.save()
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 2
    assert "current kube context is 'prod-cluster'" in res.stderr
    assert "deploys to 'kind-dev'" in res.stderr
    assert kubectl.verbs() == ["config current-context"]


def test_tightening_applies_entries_waits_then_istio(
    cli, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    env_file(namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    kubectl.set_mesh_policy("ALLOW_ANY")
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 0, res.stderr
    applies = kubectl.applies()
    assert [_kinds(c) for c in applies] == [["ServiceEntry", "VirtualService"], ["ConfigMap"]]
    verbs = kubectl.verbs()
    first, second = (i for i, v in enumerate(verbs) if v.startswith("apply"))
    assert any(v.startswith("get serviceentries") for v in verbs[first + 1 : second]), verbs
    assert "mesh policy     ALLOW_ANY → REGISTRY_ONLY" in res.stderr
    assert "tightening: entries first, then the mesh policy" in res.stderr
    assert "deployed dev → kind-dev (tighten)" in res.stderr
    assert kubectl.names("ServiceEntry") == ["google", "httpbin-ext"]


def test_every_call_names_context_namespace_and_kubeconfig(
    cli, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    env_file(namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0
    kubeconfig = str(kubectl.folder / "kubeconfig")
    for call in kubectl.calls():
        argv = call["argv"]
        assert flag(argv, "--kubeconfig") == kubeconfig, argv
        if "current-context" not in argv:
            assert flag(argv, "--context") == "kind-dev", argv
            assert flag(argv, "--namespace"), argv


def test_loosening_applies_istio_first(cli, env_file: EnvFile, kubectl: FakeKubectl) -> None:
    env_file(
        inventory=SEED.replace("REGISTRY_ONLY", "ALLOW_ANY"),
        namespace=ISTIO_SYSTEM,
        istio=MINI_ISTIO_BLOCK,
    )
    kubectl.set_mesh_policy("REGISTRY_ONLY")
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 0, res.stderr
    assert [_kinds(c) for c in kubectl.applies()] == [
        ["ConfigMap"],
        ["ServiceEntry", "VirtualService"],
    ]
    assert "(loosen)" in res.stderr


def test_missing_mesh_configmap_counts_as_allow_any(
    cli, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    env_file(namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 0, res.stderr
    assert "mesh policy     ALLOW_ANY → REGISTRY_ONLY" in res.stderr
    assert _kinds(kubectl.applies()[0]) == ["ServiceEntry", "VirtualService"]


def test_plan_lists_changes_per_kind(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    env_file(namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0
    inventory = SEED.replace("ports: [80/http]", "ports: [80/http, 8080/http]")
    inventory += "  extra:\n    host: extra.example.com\n    ports: [443]\n"
    inventory = inventory.replace(
        "  google:\n    host: www.google.com\n    ports: [443/https]\n", ""
    )
    write(project / "values" / "egress.yaml", inventory)
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 0, res.stderr
    assert (
        "ServiceEntry    create 1 (extra); change 1 (httpbin-ext); delete 1 (google)" in res.stderr
    )
    assert "VirtualService  create 1 (extra); delete 1 (google)" in res.stderr, res.stderr
    assert "mesh policy     REGISTRY_ONLY (unchanged)" in res.stderr
    assert kubectl.names("ServiceEntry") == ["extra", "httpbin-ext"]
    assert kubectl.names("VirtualService") == ["extra"]


def test_prune_is_last_and_touches_only_owned_objects(
    cli, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    env_file(namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    owned = owner_labels("dev")
    for name, labels in (
        ("old-owned", owned),
        ("teams-own", {"team": "x"}),
        ("other-envs", owner_labels("prod")),
    ):
        kubectl.add(
            {
                "apiVersion": "networking.istio.io/v1",
                "kind": "ServiceEntry",
                "metadata": {"name": name, "namespace": ISTIO_SYSTEM, "labels": labels},
                "spec": {"hosts": [f"{name}.example.com"]},
            }
        )
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 0, res.stderr
    verbs = kubectl.verbs()
    last_apply = max(i for i, v in enumerate(verbs) if v.startswith("apply"))
    assert [v for v in verbs[last_apply:] if v.startswith("delete")], verbs
    assert not [v for v in verbs[:last_apply] if v.startswith("delete")], verbs
    assert "delete 1 (old-owned)" in res.stderr
    assert kubectl.names("ServiceEntry") == ["google", "httpbin-ext", "other-envs", "teams-own"]


def test_no_prune_keeps_them(cli, env_file: EnvFile, kubectl: FakeKubectl) -> None:
    env_file(namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    kubectl.add(
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "ServiceEntry",
            "metadata": {"name": "old-owned", "namespace": ISTIO_SYSTEM, "labels": owner_labels()},
            "spec": {},
        }
    )
    res = cli("deploy", "--env", "dev", "--yes", "--no-prune")
    assert res.exit_code == 0, res.stderr
    assert kubectl.deletes() == []
    assert "old-owned" in kubectl.names("ServiceEntry")


def test_dry_run_is_server_side_changes_nothing_records_nothing(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    env_file(namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    res = cli("deploy", "--env", "dev", "--dry-run")
    assert res.exit_code == 0, res.stderr
    applies = kubectl.applies()
    assert len(applies) == 2
    assert all(c["argv"][-1] == "--dry-run=server" for c in applies)
    assert "(server dry run)" in res.stderr
    assert kubectl.objects("ServiceEntry") == []
    assert not (project / "build" / "dev" / "history").exists()


def test_without_terminal_and_without_yes_it_refuses(
    cli, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    env_file(namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    res = cli("deploy", "--env", "dev")
    assert res.exit_code == 2
    assert "pass --yes" in res.stderr
    assert kubectl.applies() == []


def test_declined_confirmation_applies_nothing(
    cli, env_file: EnvFile, kubectl: FakeKubectl, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file(namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    monkeypatch.setattr("egressctl.cli.output.stdin_is_terminal", lambda: True)
    res = cli("deploy", "--env", "dev", input="n\n")
    assert res.exit_code == 2
    assert "not confirmed" in res.stderr
    assert kubectl.applies() == []


def test_confirmed_on_a_terminal_applies(
    cli, env_file: EnvFile, kubectl: FakeKubectl, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file(namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    monkeypatch.setattr("egressctl.cli.output.stdin_is_terminal", lambda: True)
    res = cli("deploy", "--env", "dev", input="y\n")
    assert res.exit_code == 0, res.stderr
    assert len(kubectl.applies()) == 2


def test_failed_apply_stops_names_step_and_rerun_converges(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    env_file(namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    kubectl.fail_on(
        "apply",
        stdin="kind: ConfigMap",
        stderr="Error from server: error when applying configmap/istio: "
        'admission webhook "validation.istio.io" denied',
    )
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 4
    assert "step 3/3: apply the Istio chart" in res.stderr
    assert "configmap/istio" in res.stderr
    assert kubectl.names("ServiceEntry") == ["google", "httpbin-ext"]  # step 1 stays applied
    history = project / "build" / "dev" / "history"
    (pending,) = history.iterdir()  # recorded before the first apply, never completed
    assert json.loads((pending / "record.json").read_text())["state"] == "pending"
    kubectl.clear_failures()
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 0, res.stderr
    assert "ServiceEntry    unchanged 2" in res.stderr
    (done,) = history.iterdir()  # the pending record is superseded
    assert json.loads((done / "record.json").read_text())["state"] == "complete"
    assert [o["metadata"]["name"] for o in kubectl.objects("ConfigMap")] == [
        "istio",
        "istio-sidecar-injector",
    ]


def test_unreachable_cluster_is_exit_4_before_any_apply(
    cli, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    env_file(namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    kubectl.fail_on("get", "configmap", stderr="The connection to the server was refused")
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 4
    assert "read the live mesh ConfigMap istio-system/istio" in res.stderr
    assert kubectl.applies() == []


def test_invalid_inventory_never_calls_kubectl(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    env_file(namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    write(project / "values" / "egress.yaml", "policy: NOPE\n")
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 3
    assert kubectl.calls() == []


def test_without_istio_chart_only_egress_objects_and_a_warning(
    cli, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    env_file(namespace=ISTIO_SYSTEM)
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 0, res.stderr
    assert [_kinds(c) for c in kubectl.applies()] == [["ServiceEntry", "VirtualService"]]
    assert "the mesh policy and capture ranges are NOT applied" in res.stderr
    # The plan does not claim a policy change it does not make (SEED asks REGISTRY_ONLY).
    (policy_line,) = [line for line in res.stderr.splitlines() if "mesh policy  " in line]
    assert policy_line.split()[2:4] == ["ALLOW_ANY,", "not"]


def test_interrupt_exits_130_and_leaves_no_partial_file(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file(namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)

    def interrupted(*_a: object, **_k: object) -> list[str]:
        raise KeyboardInterrupt

    monkeypatch.setattr(cluster_apply, "apply_manifests", interrupted)
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 130
    build = project / "build" / "dev"
    leftovers = [p.name for p in build.iterdir()]
    assert sorted(leftovers) == [
        ".deploy.lock",
        "egress.yaml",
        "history",
        "istio-values.yaml",
        "istio.yaml",
        "values.yaml",
    ]
    (pending,) = (build / "history").iterdir()
    assert sorted(p.name for p in pending.iterdir()) == [
        "egress.yaml",
        "istio-values.yaml",
        "istio.yaml",
        "record.json",
        "values.yaml",
    ]
    assert json.loads((pending / "record.json").read_text())["state"] == "pending"


# --- restarts ---------------------------------------------------------------------


def test_capture_change_lists_stale_workloads_and_restarts_them(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    env_file(namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    kubectl.add_namespace("shop", {"istio-injection": "enabled"})
    kubectl.add_namespace("plain", {})
    kubectl.add_workload("shop", "cart")
    kubectl.add_workload("shop", "ledger", kind="StatefulSet")
    kubectl.add_workload("plain", "batch")
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 0, res.stderr
    assert "2 workload(s) still run sidecars with the old capture ranges" in res.stderr
    assert _stale_listed(res.stderr) == ["shop/deployment/cart", "shop/statefulset/ledger"]
    assert not any("rollout" in c["argv"] for c in kubectl.calls())

    write(
        project / "values" / "egress.yaml",
        SEED.replace("[10.96.0.0/12, 10.244.0.0/16]", "[10.96.0.0/12, 10.244.0.0/15]"),
    )
    res = cli("deploy", "--env", "dev", "--yes", "--restart")
    assert res.exit_code == 0, res.stderr
    rollouts = [c["argv"] for c in kubectl.calls() if "rollout" in c["argv"]]
    restart = [a for a in rollouts if "restart" in a]
    assert len(restart) == 1 and restart[0][-2:] == ["deployment/cart", "statefulset/ledger"]
    assert flag(restart[0], "--namespace") == "shop"
    assert sum("status" in a for a in rollouts) == 2
    assert "restarts done" in res.stderr


def test_unchanged_capture_lists_no_workloads(cli, env_file: EnvFile, kubectl: FakeKubectl) -> None:
    env_file(namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    kubectl.add_namespace("shop", {"istio-injection": "enabled"})
    kubectl.add_workload("shop", "cart")
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0
    before = len(kubectl.calls())
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 0
    assert "capture         include 10.96.0.0/12,10.244.0.0/16; exclude (none) (unchanged)" in (
        res.stderr
    )
    assert _stale_listed(res.stderr) == []
    # The workloads are not even looked at: no namespace, workload or pod was listed.
    listed = [c["argv"] for c in kubectl.calls()[before:] if "get" in c["argv"]]
    assert listed, "the deploy read nothing"
    for argv in listed:
        assert not {"namespaces", "pods"} & set(argv[argv.index("--") :]), argv


# --- diff ------------------------------------------------------------------------


def test_diff_exit_codes(cli, env_file: EnvFile, kubectl: FakeKubectl) -> None:
    env_file(namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    res = cli("diff", "--env", "dev")
    assert res.exit_code == 1
    assert "MERGED/serviceentry.networking.istio.io/google" in res.stdout
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0
    res = cli("diff", "--env", "dev")
    assert res.exit_code == 0, res.stdout
    assert "no differences" in res.stderr
    kubectl.fail_on("diff", exit=2, stderr="error: the server is on holiday")
    res = cli("diff", "--env", "dev")
    assert res.exit_code == 4
    assert "the server is on holiday" in res.stderr


def test_diff_reports_what_prune_would_delete(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    env_file(namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0
    write(project / "values" / "egress.yaml", SEED.split("  google:")[0])
    res = cli("diff", "--env", "dev")
    assert res.exit_code == 1
    assert "would delete ServiceEntry/google (namespace istio-system)" in res.stdout
    assert kubectl.names("ServiceEntry") == ["google", "httpbin-ext"]  # diff changed nothing


# --- history and rollback -------------------------------------------------------------


def test_history_keeps_the_last_ten(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    env_file(namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    for _ in range(12):
        assert cli("deploy", "--env", "dev", "--yes").exit_code == 0
    history = project / "build" / "dev" / "history"
    records = sorted(history.iterdir())
    assert len(records) == 10
    rec = json.loads((records[-1] / "record.json").read_text())
    assert rec["context"] == "kind-dev" and rec["policy"] == "REGISTRY_ONLY"
    assert set(rec["digests"]) == {"values.yaml", "istio-values.yaml", "egress.yaml", "istio.yaml"}
    assert all(d.startswith("sha256:") for d in rec["digests"].values())


def test_rollback_reapplies_the_previous_render(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    env_file(namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0
    write(
        project / "values" / "egress.yaml",
        SEED.split("  google:")[0].replace("REGISTRY_ONLY", "ALLOW_ANY"),
    )
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0
    assert kubectl.names("ServiceEntry") == ["httpbin-ext"]
    listing = cli("rollback", "--env", "dev", "--list")
    assert len(listing.stdout.splitlines()) == 2
    res = cli("rollback", "--env", "dev", "--yes")
    assert res.exit_code == 0, res.stderr
    assert kubectl.names("ServiceEntry") == ["google", "httpbin-ext"]
    assert "mesh policy     ALLOW_ANY → REGISTRY_ONLY" in res.stderr
    mesh = next(o for o in kubectl.objects("ConfigMap") if o["metadata"]["name"] == "istio")
    assert "REGISTRY_ONLY" in mesh["data"]["mesh"]
    assert len(list((project / "build" / "dev" / "history").iterdir())) == 3


def test_rollback_to_a_named_record_and_errors(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    env_file(namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    res = cli("rollback", "--env", "dev", "--yes")
    assert res.exit_code == 2
    assert "nothing to roll back to" in res.stderr
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0
    first = sorted((project / "build" / "dev" / "history").iterdir())[0].name
    res = cli("rollback", "--env", "dev", "--yes", "--to", first)
    assert res.exit_code == 0, res.stderr
    assert cli("rollback", "--env", "dev", "--to", "nope").exit_code == 2
    tampered = sorted((project / "build" / "dev" / "history").iterdir())[0] / "egress.yaml"
    tampered.write_text("kind: Secret\n")
    res = cli("rollback", "--env", "dev", "--yes", "--to", first)
    assert res.exit_code == 3
    assert "does not match its recorded digest" in res.stderr


# --- the Istio chart generations --------------------------------------------------


def test_legacy_chart_is_recognised_and_verified(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    env_file(namespace=ISTIO_SYSTEM, istio={"chart": LEGACY_ISTIO, "release": "istiod"})
    res = cli("render", "--env", "dev")
    assert res.exit_code == 0, res.stderr
    assert "legacy chart istio 1.1.0" in res.stderr
    assert "networking.istio.io/v1alpha3: legacy Istio chart 1.1.0" in res.stderr
    egress = load_all((project / "build" / "dev" / "egress.yaml").read_text())
    assert {o["apiVersion"] for o in egress} == {"networking.istio.io/v1alpha3"}
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 0, res.stderr
    assert "(no live injector ConfigMap) → include 10.96.0.0/12,10.244.0.0/16" in res.stderr, (
        res.stderr
    )


def test_revisioned_install(cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl) -> None:
    env_file(namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    write(project / "values" / "istio-dev.yaml", "revision: canary\n")
    dev = project / "values" / "dev.yaml"
    dev.write_text(dev.read_text() + "  values: [istio-dev.yaml]\n")
    kubectl.set_mesh_policy("REGISTRY_ONLY", name="istio-canary")
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 0, res.stderr
    gets = [c["argv"] for c in kubectl.calls() if "configmap" in c["argv"]]
    assert any("istio-canary" in a for a in gets)
    assert any("istio-sidecar-injector-canary" in a for a in gets)
    assert "mesh policy     REGISTRY_ONLY (unchanged)" in res.stderr


def test_chart_that_ignores_the_key_stops_before_applying(
    cli, env_file: EnvFile, kubectl: FakeKubectl, tmp_path: Path
) -> None:
    chart = tmp_path / "stubborn"
    write(chart / "Chart.yaml", "apiVersion: v2\nname: istiod\nversion: 1.28.0\n")
    write(
        chart / "templates" / "cm.yaml",
        """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: istio}
        data:
          mesh: |-
            outboundTrafficPolicy:
              mode: ALLOW_ANY
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: istio-sidecar-injector}
        data:
          values: '{"global": {"proxy": {"includeIPRanges": "*", "excludeIPRanges": ""}}}'
        """,
    )
    env_file(namespace=ISTIO_SYSTEM, istio={"chart": chart, "release": "istiod"})
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 3
    assert (
        "ConfigMap 'istio' data.mesh outboundTrafficPolicy.mode is ALLOW_ANY, not REGISTRY_ONLY"
    ) in res.stderr
    assert (
        "ConfigMap 'istio-sidecar-injector' data.values global.proxy includeIPRanges is "
        "'*', not '10.96.0.0/12,10.244.0.0/16'"
    ) in res.stderr
    assert kubectl.calls() == []


def test_not_an_istio_chart_stops_before_applying(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl, tmp_path: Path
) -> None:
    chart = tmp_path / "nginx"
    write(chart / "Chart.yaml", "apiVersion: v2\nname: nginx\nversion: 1.0.0\n")
    write(
        chart / "templates" / "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: nginx}\n",
    )
    env_file(namespace=ISTIO_SYSTEM, istio={"chart": chart, "release": "istiod"})
    res = cli("render", "--env", "dev")
    assert res.exit_code == 3
    assert "the render has no mesh ConfigMap 'istio'" in res.stderr
    assert not (project / "build").exists()


# --- found in review ------------------------------------------------------------------

MUTUAL = (
    SEED
    + """\
  bank:
    host: api.bank.example
    ports:
      - number: 8080
        protocol: http
        originate:
          mode: MUTUAL
          credentialName: bank-client
          workloadSelector: {app: payer}
          namespace: payments
"""
)


def test_objects_in_other_namespaces_are_applied_there_and_pruned_later(
    cli, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    env_file(inventory=MUTUAL, namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 0, res.stderr
    rule = next(o for o in kubectl.objects("DestinationRule"))
    assert rule["metadata"]["namespace"] == "payments"
    namespaces = {flag(c["argv"], "--namespace") for c in kubectl.applies()}
    assert namespaces == {"istio-system", "payments"}
    assert cli("diff", "--env", "dev").exit_code == 0
    # The bank service is gone: its rule in `payments` must go too.
    env_file(namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    res = cli("diff", "--env", "dev")
    assert res.exit_code == 1
    assert "would delete DestinationRule/bank (namespace payments)" in res.stdout
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 0, res.stderr
    assert kubectl.objects("DestinationRule") == []


def test_prune_deletes_by_owner_label_and_name(
    cli, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    env_file(namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    kubectl.add(
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "ServiceEntry",
            "metadata": {"name": "old", "namespace": ISTIO_SYSTEM, "labels": owner_labels()},
            "spec": {},
        }
    )
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0
    (delete,) = kubectl.deletes()
    assert flag(delete, "--selector") == (
        "egressctl.io/owned=true,egressctl.io/environment=dev,"
        "egressctl.io/environment-namespace=istio-system"
    )
    assert flag(delete, "--field-selector") == "metadata.name=old"
    assert delete[delete.index("--") + 1 :] == ["serviceentries.networking.istio.io"]


def test_rollback_skips_records_of_the_same_renders(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    env_file(namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0  # A
    write(project / "values" / "egress.yaml", SEED.split("  google:")[0])
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0  # B
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0  # B again
    res = cli("rollback", "--env", "dev", "--yes")
    assert res.exit_code == 0, res.stderr
    assert kubectl.names("ServiceEntry") == ["google", "httpbin-ext"]  # back to A


def test_rollback_works_when_todays_inventory_is_broken(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    env_file(namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0
    write(project / "values" / "egress.yaml", SEED.split("  google:")[0])
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0
    write(project / "values" / "egress.yaml", "policy: NOPE\n")
    res = cli("rollback", "--env", "dev", "--yes")
    assert res.exit_code == 0, res.stderr
    assert "google" in kubectl.names("ServiceEntry")


def test_rollback_refuses_another_context(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    env_file(namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0
    write(project / "values" / "egress.yaml", SEED.split("  google:")[0])
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0
    dev = project / "values" / "dev.yaml"
    dev.write_text(dev.read_text().replace("context: kind-dev", "context: other"))
    before = len(kubectl.calls())
    res = cli("rollback", "--env", "dev", "--yes")
    assert res.exit_code == 2  # a refused guard, like deploy's wrong context
    assert "went to context 'kind-dev'" in res.stderr
    assert kubectl.calls()[before:] == []


def test_interrupted_record_folders_are_skipped(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    """A folder without record.json: its writing stopped before the first apply.  (A
    damaged record.json is an error: see test_hardening_deploy.py.)"""
    env_file(namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0
    interrupted = project / "build" / "dev" / "history" / "29990101T000000Z-interrupted"
    write(interrupted / "egress.yaml", "half")
    res = cli("rollback", "--env", "dev", "--list")
    assert res.exit_code == 0, res.stderr
    assert len(res.stdout.splitlines()) == 1
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0
    assert not interrupted.exists()  # cleaned up by the next complete deploy


def test_a_failed_workload_listing_does_not_fail_a_done_deploy(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    env_file(namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    kubectl.fail_on("get", "namespaces", stderr="Error from server (Forbidden): namespaces")
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 0, res.stderr
    assert "warning: could not list the workloads to restart" in res.stderr
    assert len(list((project / "build" / "dev" / "history").iterdir())) == 1


@pytest.mark.parametrize(
    "mesh",
    ["outboundTrafficPolicy: REGISTRY_ONLY\n", "- a list\n", "{unclosed\n", ""],
)
def test_odd_live_mesh_configmaps_are_no_crash(
    cli, env_file: EnvFile, kubectl: FakeKubectl, mesh: str
) -> None:
    env_file(namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    kubectl.add(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "istio", "namespace": ISTIO_SYSTEM},
            "data": {"mesh": mesh},
        }
    )
    kubectl.add(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "istio-sidecar-injector", "namespace": ISTIO_SYSTEM},
            "data": {"values": '{"global": {"proxy": "x"}}'},
        }
    )
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 0, res.stderr
    assert "mesh policy     ALLOW_ANY → REGISTRY_ONLY" in res.stderr


def test_end_of_input_at_the_prompt_applies_nothing(
    cli, env_file: EnvFile, kubectl: FakeKubectl, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file(namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    monkeypatch.setattr("egressctl.cli.output.stdin_is_terminal", lambda: True)
    res = cli("deploy", "--env", "dev", input="")
    assert res.exit_code == 130
    assert kubectl.applies() == []


def test_kubeconfig_from_the_environment_file_expands_home(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(project / "home"))
    env_file(namespace=ISTIO_SYSTEM, extra="kubeconfig: ~/.kube/prod\n", istio=MINI_ISTIO_BLOCK)
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0
    wanted = str((project / "home" / ".kube" / "prod").resolve())
    assert all(flag(c["argv"], "--kubeconfig") == wanted for c in kubectl.calls())


def test_merged_kubeconfig_list_is_left_to_kubectl(
    cli, env_file: EnvFile, kubectl: FakeKubectl, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", "/a/config:/b/config")
    env_file(namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0
    assert not any(flag(c["argv"], "--kubeconfig") for c in kubectl.calls())


def _pod(
    args: list[str] | None = None,
    annotations: dict[str, str] | None = None,
    created: str = "2020-01-01T00:00:00Z",
) -> dict:
    spec = {"initContainers": [{"name": "istio-init", "args": args}]} if args else {}
    return {
        "metadata": {"creationTimestamp": created, "annotations": annotations or {}},
        "spec": spec,
    }


NEW = ("10.96.0.0/12", "")
SINCE = "2026-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("pod", "stale"),
    [
        pytest.param(_pod(["-i", "*", "-x", ""]), True, id="old-default-ranges"),
        pytest.param(_pod(["-i", "10.96.0.0/12", "-x", ""]), False, id="already-new"),
        pytest.param(_pod(["-i", "10.96.0.0/12", "-x", "10.0.0.1/32"]), True, id="old-exclude"),
        pytest.param(
            _pod(["-i", "*"], {"traffic.sidecar.istio.io/includeOutboundIPRanges": "*"}),
            False,
            id="own-annotation",
        ),
        pytest.param(_pod(None, {"sidecar.istio.io/status": "{}"}), True, id="cni-old-pod"),
        pytest.param(
            _pod(None, {"sidecar.istio.io/status": "{}"}, "2030-01-01T00:00:00Z"),
            False,
            id="cni-new-pod",
        ),
        pytest.param(_pod(None), False, id="not-injected"),
    ],
)
def test_pod_is_stale(pod: dict, stale: bool) -> None:
    assert pod_is_stale(pod, *NEW, SINCE) is stale


def test_pods_already_on_the_new_ranges_are_not_listed(
    cli, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    env_file(namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    kubectl.add_namespace("shop", {"istio-injection": "enabled"})
    kubectl.add_workload("shop", "fresh", include="10.96.0.0/12,10.244.0.0/16")
    kubectl.add_workload("shop", "old")
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 0, res.stderr
    assert "1 workload(s) still run sidecars with the old capture ranges" in res.stderr
    assert _stale_listed(res.stderr) == ["shop/deployment/old"]


# --- the pipeline returns what it did ------------------------------------------------


def test_deploy_environment_reports_plan_stale_workloads_and_restarts(
    project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    env_file(namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    kubectl.set_mesh_policy("ALLOW_ANY")
    kubectl.add_namespace("shop", {"istio-injection": "enabled"})
    kubectl.add_workload("shop", "cart")
    environment, _ = pipeline.load_environment("dev")
    rendered = render_environment(environment)
    progress: list[str] = []
    asked: list[list[str]] = []

    def confirm(lines: list[str]) -> bool:
        asked.append(lines)
        return True

    outcome = pipeline.deploy_environment(
        rendered,
        project / "build" / "dev",
        lock=project / "lock",
        dry_run=False,
        prune=True,
        restart=True,
        adopt=NO_ADOPT,
        confirm=confirm,
        progress=progress.append,
    )
    plan = outcome.report.plan
    assert plan.order is Order.TIGHTEN
    assert [s.name for s in plan.steps] == [StepName.EGRESS, StepName.WAIT, StepName.ISTIO]
    assert outcome.stale == (Workload("Deployment", "shop", "cart", "2020-01-01T00:00:00Z"),)
    assert outcome.restarted == ("shop/deployment/cart",)
    assert outcome.rolled_back_to is None
    assert outcome.report.record is not None and outcome.report.record.is_dir()
    assert (
        len(asked) == 1 and asked[0][0] == "plan for dev: context kind-dev, namespace istio-system"
    )
    assert progress[-1] == "restarts done"


def test_rollback_environment_says_which_record(
    project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    env_file(namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    out = project / "build" / "dev"
    environment, _ = pipeline.load_environment("dev")
    kwargs = dict(
        lock=project / "lock",
        dry_run=False,
        prune=True,
        adopt=NO_ADOPT,
        confirm=lambda _lines: True,
        progress=lambda _line: None,
    )
    first = pipeline.deploy_environment(
        render_environment(environment), out, restart=False, **kwargs
    )
    env_file(
        inventory=SEED.replace("REGISTRY_ONLY", "ALLOW_ANY"),
        namespace=ISTIO_SYSTEM,
        istio=MINI_ISTIO_BLOCK,
    )
    environment, _ = pipeline.load_environment("dev")
    pipeline.deploy_environment(render_environment(environment), out, restart=False, **kwargs)
    back = pipeline.rollback_environment(environment, out, to=None, **kwargs)
    assert first.report.record is not None
    assert back.rolled_back_to == first.report.record.name
    assert back.report.plan.order is Order.TIGHTEN
    assert back.report.plan.target_policy == "REGISTRY_ONLY"
