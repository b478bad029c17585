"""deploy against the recording kubectl stand-in (real helm renders)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import MINI_ISTIO, SEED, FakeKubectl, load_all, write


def _env(project: Path, policy: str = "REGISTRY_ONLY", istio: bool = True) -> None:
    write(project / "values" / "egress.yaml", SEED.replace("REGISTRY_ONLY", policy))
    text = "inventory: [egress.yaml]\ncontext: kind-dev\nnamespace: istio-system\n"
    if istio:
        text += f"istio:\n  chart: {MINI_ISTIO}\n  release: istiod\n"
    write(project / "values" / "dev.yaml", text)


def _applied_kinds(call: dict) -> list[str]:
    return sorted({o["kind"] for o in load_all(call["stdin"])})


def test_wrong_context_refuses_and_applies_nothing(
    cli, project: Path, kubectl: FakeKubectl
) -> None:
    _env(project)
    kubectl.state["context"] = "prod-cluster"
    kubectl.save()
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 2
    assert "current kube context is 'prod-cluster'" in res.stderr
    assert "deploys to 'kind-dev'" in res.stderr
    assert kubectl.applies() == []


def test_tightening_applies_egress_objects_first(cli, project: Path, kubectl: FakeKubectl) -> None:
    _env(project, "REGISTRY_ONLY")
    kubectl.set_mesh_policy("ALLOW_ANY")
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 0, res.stderr
    applies = kubectl.applies()
    assert [_applied_kinds(c) for c in applies] == [
        ["ServiceEntry", "VirtualService"],
        ["ConfigMap"],
    ]
    for call in applies:
        assert call["argv"][:4] == ["--context", "kind-dev", "--namespace", "istio-system"]
        assert call["argv"][4:] == ["apply", "--filename", "-"]
    assert "mesh policy: ALLOW_ANY → REGISTRY_ONLY" in res.stderr
    assert "deployed: dev → kind-dev (tighten)" in res.stderr


def test_loosening_applies_istio_first(cli, project: Path, kubectl: FakeKubectl) -> None:
    _env(project, "ALLOW_ANY")
    kubectl.set_mesh_policy("REGISTRY_ONLY")
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 0, res.stderr
    assert [_applied_kinds(c) for c in kubectl.applies()] == [
        ["ConfigMap"],
        ["ServiceEntry", "VirtualService"],
    ]
    assert "(loosen)" in res.stderr


def test_missing_mesh_configmap_counts_as_allow_any(
    cli, project: Path, kubectl: FakeKubectl
) -> None:
    _env(project, "REGISTRY_ONLY")
    kubectl.set_mesh_policy(None)
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 0, res.stderr
    assert "mesh policy: ALLOW_ANY → REGISTRY_ONLY" in res.stderr
    assert _applied_kinds(kubectl.applies()[0]) == ["ServiceEntry", "VirtualService"]
    gets = [c for c in kubectl.calls() if "get" in c["argv"]]
    assert gets[0]["argv"] == [
        "--context",
        "kind-dev",
        "--namespace",
        "istio-system",
        "get",
        "configmap",
        "istio",
        "--ignore-not-found",
        "--output",
        "json",
    ]


def test_dry_run_is_server_side_and_needs_no_confirmation(
    cli, project: Path, kubectl: FakeKubectl
) -> None:
    _env(project)
    res = cli("deploy", "--env", "dev", "--dry-run")
    assert res.exit_code == 0, res.stderr
    applies = kubectl.applies()
    assert len(applies) == 2
    assert all(c["argv"][-1] == "--dry-run=server" for c in applies)
    assert "(server dry run)" in res.stderr


def test_without_terminal_and_without_yes_it_refuses(
    cli, project: Path, kubectl: FakeKubectl
) -> None:
    _env(project)
    res = cli("deploy", "--env", "dev")
    assert res.exit_code == 2
    assert "pass --yes" in res.stderr
    assert kubectl.applies() == []


def test_declined_confirmation_applies_nothing(
    cli, project: Path, kubectl: FakeKubectl, monkeypatch: pytest.MonkeyPatch
) -> None:
    _env(project)
    monkeypatch.setattr("egressctl.cli._stdin_is_terminal", lambda: True)
    res = cli("deploy", "--env", "dev", input="n\n")
    assert res.exit_code == 2
    assert "not confirmed" in res.stderr
    assert kubectl.applies() == []


def test_confirmed_on_a_terminal_applies(
    cli, project: Path, kubectl: FakeKubectl, monkeypatch: pytest.MonkeyPatch
) -> None:
    _env(project)
    monkeypatch.setattr("egressctl.cli._stdin_is_terminal", lambda: True)
    res = cli("deploy", "--env", "dev", input="y\n")
    assert res.exit_code == 0, res.stderr
    assert len(kubectl.applies()) == 2


def test_failed_apply_stops_names_step_and_exit_4(cli, project: Path, kubectl: FakeKubectl) -> None:
    _env(project, "REGISTRY_ONLY")
    kubectl.fail_on(
        "apply",
        stdin="kind: ServiceEntry",
        stderr='Error from server: admission webhook "validation.istio.io" denied',
    )
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 4
    assert "apply egress objects (chart/) (step 1/2)" in res.stderr
    assert "validation.istio.io" in res.stderr
    # the Istio step never ran
    assert len(kubectl.applies()) == 1


def test_unreachable_cluster_is_exit_4_before_any_apply(
    cli, project: Path, kubectl: FakeKubectl
) -> None:
    _env(project)
    kubectl.fail_on("get", "configmap", stderr="The connection to the server was refused")
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 4
    assert "read the live mesh ConfigMap istio-system/istio" in res.stderr
    assert kubectl.applies() == []


def test_invalid_inventory_never_calls_kubectl(cli, project: Path, kubectl: FakeKubectl) -> None:
    _env(project)
    write(project / "values" / "egress.yaml", "policy: NOPE\n")
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 3
    assert kubectl.calls() == []


def test_without_istio_chart_only_egress_objects_and_a_warning(
    cli, project: Path, kubectl: FakeKubectl
) -> None:
    _env(project, istio=False)
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 0, res.stderr
    assert [_applied_kinds(c) for c in kubectl.applies()] == [["ServiceEntry", "VirtualService"]]
    assert "mesh policy and capture ranges are NOT applied" in res.stderr
