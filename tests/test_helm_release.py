"""Issue #12 §2: living next to the team's Helm release of the Istio chart.

`istio.install: template | helm | auto`: auto finds the release (its Secrets, one kubectl
call) and upgrades it with helm; a kubectl apply over Istio that Helm manages is refused
unless the environment chose template; rollback rolls the release back to the recorded
revision.  The cluster side runs against the kubectl and helm stand-ins (one JSON-file
cluster); `helm template` is the real helm 4."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from egressctl.charts.helm import HelmTarget, helm_history, helm_rollback, helm_upgrade
from egressctl.cluster.helmrelease import Release
from egressctl.cluster.history import Recorded
from egressctl.cluster.install import choose
from egressctl.cluster.live import HelmOwned
from egressctl.errors import ToolError, UsageError
from egressctl.inventory.model import (
    Capture,
    Environment,
    Inventory,
    IstioChart,
    IstioInstall,
    Policy,
)
from tests.conftest import MINI_ISTIO, SEED, EnvFile, FakeKubectl, load_all, serve_chart_repo, write

ISTIO_SYSTEM = "istio-system"
LOOSE = SEED.replace("REGISTRY_ONLY", "ALLOW_ANY")


def _env(
    env_file: EnvFile,
    *,
    inventory: str = SEED,
    install: str | None = None,
    release: str = "istiod",
    values: list[str] | None = None,
    extra: str = "",
) -> None:
    env_file(
        inventory=inventory,
        namespace=ISTIO_SYSTEM,
        extra=extra,
        istio={"chart": MINI_ISTIO, "release": release, "install": install, "values": values},
    )


def _records(project: Path) -> list[dict[str, Any]]:
    folder = project / "build" / "dev" / "history"
    return [json.loads((p / "record.json").read_text()) for p in sorted(folder.iterdir())]


def _generated_istio_values(project: Path) -> str:
    """The generated values the Istio chart is rendered with: its own file."""
    return (project / "build" / "dev" / "istio-values.yaml").read_text(encoding="utf-8")


def _helm(kubectl: FakeKubectl, verb: str) -> list[dict[str, Any]]:
    return [c for c in kubectl.helm_calls() if c["argv"][:1] == [verb]]


def _mesh_policy(kubectl: FakeKubectl) -> str | None:
    mesh = kubectl.get("ConfigMap", "istio")
    return None if mesh is None else mesh["data"]["mesh"]


def _applied_kinds(kubectl: FakeKubectl) -> list[str]:
    return sorted({o["kind"] for c in kubectl.applies() for o in load_all(c["stdin"])})


# ---------------------------------------------------------------------------
# auto, helm, template


def test_auto_finds_the_release_and_upgrades_it_with_helm(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    write(project / "values" / "istio-dev.yaml", "global:\n  hub: docker.io/istio\n")
    _env(env_file, values=["istio-dev.yaml"])
    kubectl.add_helm_release("istiod", ISTIO_SYSTEM, revision=7)
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 0, res.stderr
    assert "Istio install   helm upgrade of release istiod " in res.stderr
    assert "(auto: release istiod found (revision 7))" in res.stderr

    (call,) = _helm(kubectl, "upgrade")
    argv = call["argv"]
    generated = argv[argv.index("--") - 1]
    assert argv == [
        "upgrade",
        "--namespace",
        ISTIO_SYSTEM,
        "--kube-context",
        "kind-dev",
        "--kubeconfig",
        str(kubectl.folder / "kubeconfig"),
        "--values",
        str((project / "values" / "istio-dev.yaml").resolve()),
        "--values",
        generated,
        "--",
        "istiod",
        str(MINI_ISTIO.resolve()),
    ]
    assert call["values"][generated] == _generated_istio_values(project)
    assert not Path(generated).exists()  # the temporary file is gone

    assert _applied_kinds(kubectl) == ["ServiceEntry", "VirtualService"]  # Istio: by helm
    assert kubectl.helm_revisions() == [*((n, "superseded") for n in range(1, 8)), (8, "deployed")]
    mesh = kubectl.get("ConfigMap", "istio")
    assert mesh is not None and "REGISTRY_ONLY" in mesh["data"]["mesh"]
    assert mesh["metadata"]["annotations"]["meta.helm.sh/release-name"] == "istiod"
    (record,) = _records(project)
    assert (record["state"], record["istioInstall"]) == ("complete", "helm")
    assert (record["helmRelease"], record["helmRevision"]) == ("istiod", 8)


@pytest.fixture
def chart_repo(tmp_path: Path, helm4: str) -> Iterator[str]:
    """A real Helm chart repository holding the istiod stand-in 1.28.0, on 127.0.0.1."""
    with serve_chart_repo(tmp_path, helm4) as url:
        yield url


def test_a_chart_from_a_repository_is_upgraded_from_it(
    cli, project: Path, env_file: EnvFile, chart_repo: str, kubectl: FakeKubectl
) -> None:
    env_file(
        inventory=SEED,
        istio={"repo": chart_repo, "chart": "istiod", "version": "1.28.0", "install": "helm"},
    )
    kubectl.add_helm_release("istiod", ISTIO_SYSTEM, revision=1)
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 0, res.stderr
    (call,) = _helm(kubectl, "upgrade")
    argv = call["argv"]
    assert argv[7:11] == ["--repo", chart_repo, "--version", "1.28.0"]
    assert argv[11] == "--values"
    assert argv[-3:] == ["--", "istiod", "istiod"]
    assert "(install: helm in values/dev.yaml; release istiod at revision 1)" in res.stderr
    assert kubectl.helm_revisions()[-1] == (2, "deployed")


def test_the_release_is_found_with_one_kubectl_call_reading_no_secret_data(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    _env(env_file)
    kubectl.add_helm_release("istiod", ISTIO_SYSTEM, revision=2)
    assert cli("deploy", "--env", "dev", "--yes", "--dry-run").exit_code == 0
    lookups = [c["argv"] for c in kubectl.calls() if c["argv"][-2:] == ["--", "secrets"]]
    assert len(lookups) == 1
    (argv,) = lookups
    assert "--selector=owner=helm,name=istiod" in argv
    assert "--output=custom-columns=NAME:.metadata.name,STATUS:.metadata.labels.status" in argv


def test_tightening_upgrades_the_release_after_the_entries_exist(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    _env(env_file)
    kubectl.add_helm_release("istiod", ISTIO_SYSTEM, revision=1)
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 0, res.stderr
    assert "tightening: entries first, then the mesh policy" in res.stderr
    steps = _steps(kubectl)
    applied, upgraded = steps.index("kubectl apply"), steps.index("helm upgrade")
    assert applied < upgraded, steps
    assert "kubectl get serviceentries" in steps[applied:upgraded], steps  # the wait


def test_loosening_upgrades_the_release_before_the_entries(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    _env(env_file)
    kubectl.add_helm_release("istiod", ISTIO_SYSTEM, revision=1)
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0
    _env(env_file, inventory=LOOSE)
    kubectl.log.unlink()
    kubectl.helm_log.unlink()
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 0, res.stderr
    assert "loosening: the mesh policy first, then the entries" in res.stderr
    steps = _steps(kubectl)
    assert steps.index("helm upgrade") < steps.index("kubectl apply")
    mesh = _mesh_policy(kubectl)
    assert mesh is not None and "ALLOW_ANY" in mesh
    assert kubectl.helm_revisions()[-1] == (3, "deployed")


def _steps(kubectl: FakeKubectl) -> list[str]:
    """Each call as `tool verb [resource]`, in the order they ran (helm: its verb only)."""
    out = []
    for tool, argv in kubectl.timeline():
        if tool == "helm":
            out.append(f"helm {argv[0]}")
            continue
        words = [a for a in argv if not a.startswith("-")]
        verb = words[0] if words else ""
        if verb == "get":
            out.append(f"kubectl get {argv[-1].split('.')[0]}")
        else:
            out.append(f"kubectl {verb}")
    return out


def test_auto_without_a_release_applies_the_render_with_kubectl(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    _env(env_file)
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 0, res.stderr
    assert (
        "Istio install   kubectl apply of the render "
        "(auto: no Helm release istiod in namespace istio-system)" in res.stderr
    )
    assert _applied_kinds(kubectl) == ["ConfigMap", "ServiceEntry", "VirtualService"]
    assert kubectl.helm_cluster_calls() == []
    (record,) = _records(project)
    assert record["istioInstall"] == "template"
    assert "helmRevision" not in record and "helmRelease" not in record


def test_explicit_template_beside_a_release_is_allowed_with_a_warning(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    _env(env_file, install="template")
    kubectl.add_helm_release("istiod", ISTIO_SYSTEM, revision=4)
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 0, res.stderr
    assert "(install: template in values/dev.yaml)" in res.stderr
    assert "warning         Helm release istiod also manages Istio here" in res.stderr
    assert "ConfigMap" in _applied_kinds(kubectl)
    assert _helm(kubectl, "upgrade") == []
    assert kubectl.helm_revisions()[-1] == (4, "deployed")


def test_implicit_template_over_another_helm_release_is_refused(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    _env(env_file)
    kubectl.set_mesh_policy("ALLOW_ANY")
    mesh = kubectl.get("ConfigMap", "istio")
    assert mesh is not None
    kubectl.load()
    for o in kubectl.state["objects"]:
        if o["kind"] == "ConfigMap":
            o["metadata"]["annotations"] = {"meta.helm.sh/release-name": "istio-cp"}
    kubectl.save()
    kubectl.add_helm_release("istio-cp", ISTIO_SYSTEM, revision=3)
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 2, res.stderr
    assert "ConfigMap istio-system/istio belongs to Helm release istio-cp" in res.stderr
    assert "`istio.release: istio-cp`" in res.stderr
    assert "`istio.install: template`" in res.stderr
    assert kubectl.applies() == []
    assert kubectl.helm_cluster_calls() == []
    assert not (project / "build" / "dev" / "history").exists()


def test_install_helm_without_a_release_is_refused(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    _env(env_file, install="helm")
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 2, res.stderr
    assert (
        "sets `istio.install: helm`, but namespace istio-system holds no Helm release istiod"
        in res.stderr
    )
    assert kubectl.applies() == []
    assert kubectl.helm_cluster_calls() == []


def test_a_release_with_a_helm_command_pending_is_refused(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    _env(env_file)
    kubectl.add_helm_release("istiod", ISTIO_SYSTEM, revision=5, status="pending-upgrade")
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 2, res.stderr
    assert "Helm release istiod in namespace istio-system is pending-upgrade" in res.stderr
    assert kubectl.applies() == []


def test_dry_run_upgrades_with_dry_run_server_and_changes_nothing(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    _env(env_file)
    kubectl.add_helm_release("istiod", ISTIO_SYSTEM, revision=7)
    res = cli("deploy", "--env", "dev", "--dry-run")
    assert res.exit_code == 0, res.stderr
    (call,) = _helm(kubectl, "upgrade")
    argv = call["argv"]
    assert argv[argv.index("--") - 1] == "--dry-run=server"
    assert argv[argv.index("--") :] == ["--", "istiod", str(MINI_ISTIO.resolve())]
    assert "dry run: kubectl --dry-run=server and helm --dry-run, nothing changes" in res.stderr
    assert kubectl.helm_revisions()[-1] == (7, "deployed")
    assert _helm(kubectl, "history") == []  # no revision read back: nothing was made
    assert kubectl.get("ConfigMap", "istio") is None
    assert not (project / "build" / "dev" / "history").exists()


def test_a_failed_upgrade_stops_the_deploy_and_leaves_the_record_pending(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    _env(env_file)
    kubectl.add_helm_release("istiod", ISTIO_SYSTEM, revision=2)
    kubectl.helm_fail_on("upgrade", stderr="Error: UPGRADE FAILED: context deadline exceeded")
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 4, res.stderr
    assert "upgrade Helm release istiod" in res.stderr
    assert "UPGRADE FAILED: context deadline exceeded" in res.stderr
    (record,) = _records(project)
    assert (record["state"], record["istioInstall"], record["helmRelease"]) == (
        "pending",
        "helm",
        "istiod",
    )
    kubectl.load()
    kubectl.state["helmFail"] = []
    kubectl.save()
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0  # a re-run converges
    assert _records(project)[-1]["helmRevision"] == 3


# ---------------------------------------------------------------------------
# rollback


def test_rollback_rolls_the_release_back_to_the_recorded_revision(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    _env(env_file)
    kubectl.add_helm_release("istiod", ISTIO_SYSTEM, revision=7)
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0  # revision 8
    _env(env_file, inventory=LOOSE)
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0  # revision 9
    assert [r["helmRevision"] for r in _records(project)] == [8, 9]
    listing = cli("rollback", "--env", "dev", "--list")
    assert [line.split("  helm ")[1].split("  (")[0] for line in listing.stdout.splitlines()] == [
        "istiod revision 8",
        "istiod revision 9",
    ]

    res = cli("rollback", "--env", "dev", "--yes")
    assert res.exit_code == 0, res.stderr
    assert "helm rollback of release istiod to revision 8 (rollback: recorded deploy " in res.stderr
    (call,) = _helm(kubectl, "rollback")
    assert call["argv"] == [
        "rollback",
        "--namespace",
        ISTIO_SYSTEM,
        "--kube-context",
        "kind-dev",
        "--kubeconfig",
        str(kubectl.folder / "kubeconfig"),
        "--",
        "istiod",
        "8",
    ]
    assert kubectl.helm_revisions()[-1] == (10, "deployed")
    mesh = _mesh_policy(kubectl)
    assert mesh is not None and "REGISTRY_ONLY" in mesh
    last = _records(project)[-1]
    assert (last["source"].startswith("rollback to "), last["helmRevision"]) == (True, 10)


@pytest.mark.parametrize("revision", ["8; rm -rf /", 0, True, "--dry-run"])
def test_a_tampered_helm_revision_is_refused_before_any_use(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl, revision: object
) -> None:
    _env(env_file)
    kubectl.add_helm_release("istiod", ISTIO_SYSTEM, revision=7)
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0
    (folder,) = (project / "build" / "dev" / "history").iterdir()
    record = json.loads((folder / "record.json").read_text())
    record["helmRevision"] = revision
    (folder / "record.json").write_text(json.dumps(record))
    res = cli("rollback", "--env", "dev", "--yes", "--to", folder.name)
    assert res.exit_code == 3, res.stderr
    assert "helmRevision: " in res.stderr and "is not a revision" in res.stderr
    assert _helm(kubectl, "rollback") == []


def test_rollback_dry_run_is_helms_own(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    _env(env_file)
    kubectl.add_helm_release("istiod", ISTIO_SYSTEM, revision=1)
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0
    _env(env_file, inventory=LOOSE)
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0
    res = cli("rollback", "--env", "dev", "--dry-run")
    assert res.exit_code == 0, res.stderr
    (call,) = _helm(kubectl, "rollback")
    assert call["argv"][-4:] == ["--dry-run=server", "--", "istiod", "2"]  # helm 4
    assert kubectl.helm_revisions()[-1] == (3, "deployed")


def test_rollback_of_a_kubectl_deploy_over_a_helm_release_is_refused(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    _env(env_file)
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0  # auto → template
    _env(env_file, inventory=LOOSE)
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0
    kubectl.add_helm_release("istiod", ISTIO_SYSTEM, revision=1)  # the team moves to helm
    res = cli("rollback", "--env", "dev", "--yes")
    assert res.exit_code == 2, res.stderr
    assert "applied the Istio render with kubectl, but Istio in namespace" in res.stderr
    assert "Helm release istiod (revision 1, deployed)" in res.stderr
    assert "`istio.install: template`" in res.stderr
    before = len(kubectl.applies())
    _env(env_file, inventory=LOOSE, install="template")  # chosen explicitly: allowed
    res = cli("rollback", "--env", "dev", "--yes")
    assert res.exit_code == 0, res.stderr
    assert len(kubectl.applies()) > before
    mesh = _mesh_policy(kubectl)
    assert mesh is not None and "REGISTRY_ONLY" in mesh


# ---------------------------------------------------------------------------
# Values from files never become flags


def test_a_hostile_release_name_is_refused_before_helm_runs(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    _env(env_file, release="'--post-renderer=/tmp/x.sh'")
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 3, res.stderr
    assert "istio-release-invalid" in res.stderr
    assert kubectl.helm_cluster_calls() == []
    assert kubectl.calls() == []


def test_a_hostile_release_name_stays_positional_in_every_helm_command(
    kubectl: FakeKubectl, tmp_path: Path
) -> None:
    """Validation keeps such names out; the argv would keep them positional anyway."""
    hostile = "--post-renderer=/tmp/x.sh"
    where = HelmTarget(ISTIO_SYSTEM, "kind-dev", str(tmp_path / "kubeconfig"))
    with pytest.raises(ToolError):
        helm_upgrade(
            hostile, str(MINI_ISTIO), target=where, values_text="{}\n", dry_run=False, step="t"
        )
    with pytest.raises(ToolError):
        helm_rollback(hostile, 3, target=where, dry_run=False, step="t")
    with pytest.raises(ToolError):
        helm_history(hostile, target=where, step="t")
    calls = kubectl.helm_cluster_calls()
    assert [c[0] for c in calls] == ["upgrade", "rollback", "history"]
    for argv in calls:
        assert argv.count(hostile) == 1
        assert argv.index(hostile) == argv.index("--") + 1, argv


# ---------------------------------------------------------------------------
# The choice itself, as a table (pure)

_INV = Inventory(policy=Policy.ALLOW_ANY, capture=Capture(), services=())


def _environment(install: IstioInstall) -> Environment:
    istio = IstioChart(chart="/c", release="istiod", values=(), install=install)
    return Environment("dev", "values/dev.yaml", "kind-dev", ISTIO_SYSTEM, None, istio, _INV)


_FOUND = Release("istiod", ISTIO_SYSTEM, 7, "deployed")
_GONE = Release("istiod", ISTIO_SYSTEM, 7, "uninstalled")
_OTHER = HelmOwned("istio-cp", "istio-system/istio")
_OURS = HelmOwned("istiod", "istio-system/istio")
_HELM_RECORD = Recorded("r1", IstioInstall.HELM, "istiod", 5)
_KUBECTL_RECORD = Recorded("r1", IstioInstall.TEMPLATE, None, None)
A, H, T = IstioInstall.AUTO, IstioInstall.HELM, IstioInstall.TEMPLATE


@pytest.mark.parametrize(
    ("declared", "found", "owner", "recorded", "expected"),
    [
        pytest.param(
            A, _FOUND, _OURS, None, (H, "auto: release istiod found (revision 7)"), id="auto-found"
        ),
        pytest.param(
            A,
            None,
            None,
            None,
            (T, "auto: no Helm release istiod in namespace istio-system"),
            id="auto-none",
        ),
        pytest.param(
            A,
            _GONE,
            None,
            None,
            (T, "auto: no Helm release istiod in namespace istio-system"),
            id="auto-uninstalled",
        ),
        pytest.param(
            A, None, _OTHER, None, "belongs to Helm release istio-cp", id="auto-other-release"
        ),
        pytest.param(A, None, _OURS, None, "no release Secret", id="auto-other-storage"),
        pytest.param(
            H,
            _FOUND,
            None,
            None,
            (H, "install: helm in values/dev.yaml; release istiod at revision 7"),
            id="helm-found",
        ),
        pytest.param(H, None, None, None, "holds no Helm release istiod", id="helm-none"),
        pytest.param(
            T,
            _FOUND,
            _OURS,
            None,
            (T, "install: template in values/dev.yaml"),
            id="template-beside",
        ),
        pytest.param(
            T, None, None, None, (T, "install: template in values/dev.yaml"), id="template"
        ),
        pytest.param(
            A,
            _FOUND,
            None,
            _HELM_RECORD,
            (H, "rollback: recorded deploy r1 upgraded release istiod to revision 5"),
            id="rollback-helm",
        ),
        pytest.param(
            T,
            _FOUND,
            None,
            _HELM_RECORD,
            (H, "rollback: recorded deploy r1 upgraded release istiod to revision 5"),
            id="rollback-helm-record-decides",
        ),
        pytest.param(
            A, None, None, _HELM_RECORD, "holds no such release now", id="rollback-helm-gone"
        ),
        pytest.param(
            A,
            None,
            None,
            _KUBECTL_RECORD,
            (T, "rollback: recorded deploy r1 applied it with kubectl"),
            id="rollback-kubectl",
        ),
        pytest.param(
            A,
            _FOUND,
            None,
            _KUBECTL_RECORD,
            "a kubectl apply would be reverted",
            id="rollback-kubectl-beside-helm",
        ),
        pytest.param(
            T,
            _FOUND,
            None,
            _KUBECTL_RECORD,
            (
                T,
                "rollback: recorded deploy r1 applied it with kubectl; "
                "install: template in values/dev.yaml",
            ),
            id="rollback-kubectl-chosen",
        ),
    ],
)
def test_choose(
    declared: IstioInstall,
    found: Release | None,
    owner: HelmOwned | None,
    recorded: Recorded | None,
    expected: tuple[IstioInstall, str] | str,
) -> None:
    env = _environment(declared)
    if isinstance(expected, str):
        with pytest.raises(UsageError) as caught:
            choose(env, found, owner, recorded)
        assert expected in str(caught.value)
        return
    mode = choose(env, found, owner, recorded)
    assert (mode.install, mode.reason) == expected
