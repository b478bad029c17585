"""Issue #12 §4: apply options.  `apply: {serverSide: true}` (or `deploy --server-side`)
applies with `kubectl apply --server-side --field-manager=egressctl`; a field another
manager owns is a conflict reported with that manager's name (exit 4); taking it over
takes `--force-conflicts`, which is never a default."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from egressctl.cluster.fieldmanager import conflict_managers
from egressctl.rules.schema import env_schema
from tests.conftest import (
    MINI_ISTIO,
    SEED,
    EnvFile,
    FakeKubectl,
    flag,
    owner_labels,
)

ISTIO_SYSTEM = "istio-system"
SERVER_SIDE = "apply:\n  serverSide: true\n"


def _env(env_file: EnvFile, extra: str = "", install: str | None = None) -> None:
    env_file(
        inventory=SEED,
        namespace=ISTIO_SYSTEM,
        extra=extra,
        istio={"chart": MINI_ISTIO, "release": "istiod", "install": install},
    )


def _apply_argvs(kubectl: FakeKubectl) -> list[list[str]]:
    return [c["argv"] for c in kubectl.applies()]


def _foreign_google(kubectl: FakeKubectl, manager: str = "argocd-controller") -> None:
    """This environment's ServiceEntry google, edited since by another field manager."""
    kubectl.add(
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "ServiceEntry",
            "metadata": {
                "name": "google",
                "namespace": ISTIO_SYSTEM,
                "labels": owner_labels(),
                "managedFields": [
                    {
                        "manager": manager,
                        "operation": "Update",
                        "apiVersion": "networking.istio.io/v1",
                    }
                ],
            },
            "spec": {"hosts": ["www.google.com"], "ports": [{"number": 8443, "name": "x"}]},
        }
    )


def _records(project: Path) -> list[dict[str, Any]]:
    folder = project / "build" / "dev" / "history"
    return [json.loads((p / "record.json").read_text()) for p in sorted(folder.iterdir())]


# ---------------------------------------------------------------------------
# The flags kubectl gets


def test_the_environment_file_turns_server_side_apply_on(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    _env(env_file, SERVER_SIDE)
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 0, res.stderr
    argvs = _apply_argvs(kubectl)
    assert len(argvs) == 2  # the egress objects, the Istio render
    for argv in argvs:
        assert "--server-side" in argv, argv
        assert flag(argv, "--field-manager") == "egressctl", argv
        assert "--force-conflicts" not in argv, argv
    assert "kubectl apply   server-side, field manager egressctl" in res.stderr
    se = kubectl.get("ServiceEntry", "google")
    assert se is not None
    assert [f["manager"] for f in se["metadata"]["managedFields"]] == ["egressctl"]


def test_the_flag_turns_server_side_apply_on(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    _env(env_file)
    res = cli("deploy", "--env", "dev", "--yes", "--server-side")
    assert res.exit_code == 0, res.stderr
    argvs = _apply_argvs(kubectl)
    assert len(argvs) == 2
    for argv in argvs:
        assert "--server-side" in argv and flag(argv, "--field-manager") == "egressctl", argv


def test_client_side_apply_stays_the_default(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    _env(env_file)
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0
    for argv in _apply_argvs(kubectl):
        assert [a for a in argv if a.startswith(("--server-side", "--field-manager"))] == []


def test_a_server_side_dry_run_carries_both_flags(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    _env(env_file, SERVER_SIDE)
    res = cli("deploy", "--env", "dev", "--dry-run")
    assert res.exit_code == 0, res.stderr
    for argv in _apply_argvs(kubectl):
        assert {"--server-side", "--dry-run=server", "--field-manager=egressctl"} <= set(argv)
    assert kubectl.objects("ServiceEntry") == []


def test_diff_diffs_server_side_too(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    _env(env_file, SERVER_SIDE)
    assert cli("diff", "--env", "dev").exit_code == 1
    diffs = [c["argv"] for c in kubectl.calls() if "diff" in c["argv"]]
    assert diffs
    for argv in diffs:
        assert "--server-side" in argv and flag(argv, "--field-manager") == "egressctl"


# ---------------------------------------------------------------------------
# Conflicts


def test_a_field_conflict_names_the_other_manager_and_changes_nothing(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    _env(env_file, SERVER_SIDE)
    _foreign_google(kubectl)
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 4, res.stderr
    assert 'fields that another field manager owns: "argocd-controller"' in res.stderr
    assert "re-run with --force-conflicts to take them over" in res.stderr
    se = kubectl.get("ServiceEntry", "google")
    assert se is not None and se["spec"]["ports"] == [{"number": 8443, "name": "x"}]
    assert [r["state"] for r in _records(project)] == ["pending"]
    assert not [a for a in _apply_argvs(kubectl) if "--force-conflicts" in a]


def test_force_conflicts_takes_the_fields_over_for_that_run(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    _env(env_file, SERVER_SIDE)
    _foreign_google(kubectl)
    res = cli("deploy", "--env", "dev", "--yes", "--force-conflicts")
    assert res.exit_code == 0, res.stderr
    assert "server-side, field manager egressctl, --force-conflicts" in res.stderr
    assert all("--force-conflicts" in argv for argv in _apply_argvs(kubectl))
    se = kubectl.get("ServiceEntry", "google")
    assert se is not None
    assert [f["manager"] for f in se["metadata"]["managedFields"]] == ["egressctl"]
    assert se["spec"]["ports"][0]["number"] == 443
    kubectl.log.unlink()
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0  # not kept: one run only
    assert not [a for a in _apply_argvs(kubectl) if "--force-conflicts" in a]


def test_force_conflicts_needs_server_side(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    _env(env_file)
    res = cli("deploy", "--env", "dev", "--yes", "--force-conflicts")
    assert res.exit_code == 2
    assert "--force-conflicts applies to server-side apply" in res.stderr
    assert kubectl.calls() == []


def test_explicit_template_over_helms_configmaps_conflicts_with_helm(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    """The team's Helm release owns the mesh ConfigMap's fields; server-side apply says
    so instead of silently fighting Helm's merges."""
    _env(env_file, SERVER_SIDE, install="template")
    kubectl.set_mesh_policy("ALLOW_ANY")
    kubectl.load()
    for o in kubectl.state["objects"]:
        if o["kind"] == "ConfigMap":
            o["metadata"]["annotations"] = {"meta.helm.sh/release-name": "istiod"}
            o["metadata"]["managedFields"] = [
                {"manager": "helm", "operation": "Update", "apiVersion": "v1"}
            ]
    kubectl.save()
    kubectl.add_helm_release("istiod", ISTIO_SYSTEM, revision=2)
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 4, res.stderr
    assert 'another field manager owns: "helm"' in res.stderr


def test_an_injected_conflict_with_several_managers_names_each(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    _env(env_file, SERVER_SIDE)
    kubectl.fail_on(
        "apply",
        "--server-side",
        stderr='error: Apply failed with 2 conflicts: conflicts with "kube-ops" using '
        'networking.istio.io/v1:\n- .spec.ports\nconflicts with "team-web":\n- .spec.hosts\n'
        "Please review the fields above--they currently have other managers.",
    )
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 4, res.stderr
    assert 'another field manager owns: "kube-ops", "team-web"' in res.stderr


@pytest.mark.parametrize(
    ("stderr", "managers"),
    [
        pytest.param(
            'error: Apply failed with 1 conflict: conflict with "helm" using v1: .data.mesh',
            ["helm"],
            id="one",
        ),
        pytest.param(
            'error: Apply failed with 1 conflict: conflict with "kubectl" with subresource '
            '"scale" using apps/v1: .spec.replicas',
            ["kubectl"],
            id="subresource",
        ),
        pytest.param(
            'Apply failed with 3 conflicts: conflicts with "a":\n- .x\n- .y\n'
            'conflicts with "b \\"quoted\\"" using v1:\n- .z',
            ["a", 'b "quoted"'],
            id="several",
        ),
        pytest.param('error: the server could not find "x"', [], id="not-a-conflict"),
    ],
)
def test_conflict_managers(stderr: str, managers: list[str]) -> None:
    assert conflict_managers(stderr) == managers


# ---------------------------------------------------------------------------
# The environment file key


@pytest.mark.parametrize(
    ("text", "code", "line", "col"),
    [
        pytest.param("apply:\n  serverSide: 'yes'\n", "wrong-type", 4, 15, id="not-a-boolean"),
        pytest.param("apply:\n  forceConflicts: true\n", "unknown-key", 4, 3, id="force-in-file"),
        pytest.param("apply: true\n", "wrong-type", 3, 8, id="not-a-mapping"),
    ],
)
def test_the_apply_key_is_validated(
    cli, project: Path, env_file: EnvFile, text: str, code: str, line: int, col: int
) -> None:
    env_file(extra=text)
    res = cli("check", "--env", "dev", "--output", "json")
    assert res.exit_code == 3
    found = [(f["code"], f["line"], f["column"]) for f in json.loads(res.stdout)["findings"]]
    assert (code, line, col) in found, found


def test_the_schema_knows_the_apply_key() -> None:
    validator = jsonschema.Draft7Validator(env_schema())
    ok = yaml.safe_load("inventory: [e.yaml]\ncontext: c\napply: {serverSide: true}\n")
    assert list(validator.iter_errors(ok)) == []
    bad = yaml.safe_load("inventory: [e.yaml]\ncontext: c\napply: {forceConflicts: true}\n")
    assert list(validator.iter_errors(bad)) != []
