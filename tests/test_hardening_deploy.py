"""Issue #9, the deploy side: verified records, ownership per environment, no silent
adoption, pending records, one deploy at a time, no traceback, `--` in every kubectl argv.

Security tests assert on what the fake cluster holds and on the recorded argv."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from egressctl.cluster import history
from egressctl.cluster.apply import wait_for_objects
from egressctl.cluster.kube import Kube
from egressctl.cluster.objects import ObjRef
from egressctl.errors import VerificationError
from tests.conftest import (
    CHART,
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

MUTUAL = """\
policy: REGISTRY_ONLY
capture:
  include: [10.96.0.0/12, 10.244.0.0/16]
  acknowledge: {policy-bypassed-by-capture: the tests keep the classic narrowed capture}
services:
  NAME:
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


def _entry(name: str, namespace: str = ISTIO_SYSTEM, labels: dict[str, str] | None = None) -> dict:
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "ServiceEntry",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
        "spec": {"hosts": [f"{name}.example.com"], "resolution": "DNS"},
    }


def _history(project: Path, env: str = "dev") -> list[Path]:
    folder = project / "build" / env / "history"
    return sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def _record(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "record.json").read_text())


def _entry_point(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed entry point in a real process: where a traceback would show."""
    return subprocess.run(
        [sys.executable, "-m", "egressctl", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=project,
        env=dict(os.environ),
    )


def _labels_of(kubectl: FakeKubectl, name: str) -> dict[str, str]:
    obj = kubectl.get("ServiceEntry", name)
    assert obj is not None, name
    return dict(obj["metadata"]["labels"])


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


# --- item 3: every record is verified before it is used ----------------------------------


def test_tampered_record_does_not_widen_prune(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    env_file(inventory_file="egress-dev.yaml", namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0
    # An object in kube-system carrying this environment's labels, never deployed by it.
    kubectl.add(_entry("coredns-upstream", "kube-system", owner_labels()))
    (record,) = _history(project)
    egress = record / "egress.yaml"
    egress.write_text(
        egress.read_text() + "---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\n"
        "metadata:\n  name: x\n  namespace: kube-system\n"
    )
    before = len(kubectl.calls())
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 3, res.stderr
    assert f"{record.name}/egress.yaml" in res.stderr
    assert "does not match its recorded digest" in res.stderr
    assert kubectl.get("ServiceEntry", "coredns-upstream", "kube-system") is not None
    assert [c for c in kubectl.calls()[before:] if {"apply", "delete"} & set(c["argv"])] == []


def test_listing_and_diff_verify_records_too(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    env_file(inventory_file="egress-dev.yaml", namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0
    (record,) = _history(project)
    (record / "values.yaml").write_text("tampered: true\n")
    res = cli("rollback", "--env", "dev", "--list")
    assert res.exit_code == 3
    assert f"{record.name}/values.yaml does not match its recorded digest" in res.stderr
    assert cli("diff", "--env", "dev").exit_code == 3


def test_a_missing_record_file_is_a_located_error(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    env_file(inventory_file="egress-dev.yaml", namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0
    (record,) = _history(project)
    (record / "istio.yaml").unlink()
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 3
    assert f"{record.name}/istio.yaml" in res.stderr
    assert len(kubectl.applies()) == 2  # only the first deploy's


def test_partial_record_is_one_line_not_a_traceback(
    project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    env_file(inventory_file="egress-dev.yaml", namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    folder = project / "build" / "dev" / "history" / "20260101T000000000000Z-a"
    write(folder / "record.json", '{"digests": {}}')  # no id, time, context…
    proc = _entry_point(project, "rollback", "--env", "dev", "--list")
    assert proc.returncode == 3, proc.stderr
    (line,) = _lines(proc.stderr)  # one line: the error, no traceback
    assert "20260101T000000000000Z-a/record.json" in line


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("{not json", id="not-json"),
        pytest.param('{"id": 1, "digests": []}', id="wrong-types"),
        pytest.param("[]", id="not-a-mapping"),
    ],
)
def test_broken_records_are_errors_with_exit_3(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl, text: str
) -> None:
    env_file(inventory_file="egress-dev.yaml", namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0
    broken = project / "build" / "dev" / "history" / "29990101T000000000000Z-broken"
    write(broken / "record.json", text)
    res = cli("rollback", "--env", "dev", "--list")
    assert res.exit_code == 3
    assert "29990101T000000000000Z-broken/record.json" in res.stderr


# --- item 4: ownership is per environment -------------------------------------------------


def test_two_environments_in_one_namespace_keep_their_objects(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    env_file("dev", inventory_file="egress-dev.yaml", namespace=ISTIO_SYSTEM)
    other = SEED.split("  httpbin-ext:")[0] + "  partner:\n    host: partner.example\n"
    env_file(
        "dev2",
        inventory=other + "    ports: [443]\n",
        inventory_file="egress-dev2.yaml",
        namespace=ISTIO_SYSTEM,
    )
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0
    res = cli("deploy", "--env", "dev2", "--yes")
    assert res.exit_code == 0, res.stderr
    assert kubectl.names("ServiceEntry") == ["google", "httpbin-ext", "partner"]
    assert kubectl.deletes() == []
    for name, env in (("google", "dev"), ("httpbin-ext", "dev"), ("partner", "dev2")):
        labels = _labels_of(kubectl, name)
        assert {k: labels[k] for k in owner_labels()} == owner_labels(env)
    # dev's own prune still works, and touches only dev's objects.
    write(project / "values" / "egress-dev.yaml", SEED.split("  google:")[0])
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 0, res.stderr
    assert kubectl.names("ServiceEntry") == ["httpbin-ext", "partner"]


def test_name_collision_between_environments_is_refused_even_with_adopt_all(
    cli, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    env_file("dev", inventory_file="egress-dev.yaml", namespace=ISTIO_SYSTEM)
    env_file(
        "dev2",
        inventory=SEED.replace("www.google.com", "google.example"),
        inventory_file="egress-dev2.yaml",
        namespace=ISTIO_SYSTEM,
    )
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0
    before = len(kubectl.applies())
    for extra in ([], ["--adopt-all"], ["--adopt", "ServiceEntry/google"]):
        res = cli("deploy", "--env", "dev2", "--yes", *extra)
        assert res.exit_code == 2, res.stderr
        assert (
            "ServiceEntry/google (namespace istio-system): exists, owned by environment dev "
            "(namespace istio-system)" in res.stderr
        )
    assert len(kubectl.applies()) == before
    google = kubectl.get("ServiceEntry", "google")
    assert google is not None and google["spec"]["hosts"] == ["www.google.com"]
    assert google["metadata"]["labels"]["egressctl.io/environment"] == "dev"
    res = cli("diff", "--env", "dev2")
    assert res.exit_code == 1
    assert "exists, owned by environment dev" in res.stdout


def test_environments_in_other_namespaces_share_a_workload_namespace(
    cli, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    env_file(
        "a",
        inventory=MUTUAL.replace("NAME", "bank"),
        inventory_file="egress-a.yaml",
        namespace=ISTIO_SYSTEM,
    )
    env_file(
        "b",
        inventory=MUTUAL.replace("NAME", "bank-b"),
        inventory_file="egress-b.yaml",
        namespace="mesh-b",
    )
    assert cli("deploy", "--env", "a", "--yes").exit_code == 0
    res = cli("deploy", "--env", "b", "--yes")
    assert res.exit_code == 0, res.stderr
    assert kubectl.names("DestinationRule") == ["bank", "bank-b"]
    res = cli("deploy", "--env", "a", "--yes")
    assert res.exit_code == 0, res.stderr
    assert kubectl.names("DestinationRule") == ["bank", "bank-b"]
    assert cli("diff", "--env", "b").exit_code == 0


def test_prune_wait_and_diff_select_on_the_environment(
    cli, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    env_file(inventory_file="egress-dev.yaml", namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    kubectl.add(_entry("old", labels=owner_labels()))
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0
    selector = (
        "egressctl.io/owned=true,egressctl.io/environment=dev,"
        "egressctl.io/environment-namespace=istio-system"
    )
    (delete,) = kubectl.deletes()
    assert flag(delete, "--selector") == selector
    assert flag(delete, "--field-selector") == "metadata.name=old"
    waits = [c["argv"] for c in kubectl.calls() if flag(c["argv"], "--selector") == selector]
    assert any("get" in argv for argv in waits)
    assert kubectl.get("ServiceEntry", "old") is None


def test_rendered_objects_carry_the_environment_identity(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    env_file(
        inventory=MUTUAL.replace("NAME", "bank") + SEED.split("services:\n")[1],
        inventory_file="egress-dev.yaml",
        namespace=ISTIO_SYSTEM,
        istio=MINI_ISTIO_BLOCK,
    )
    res = cli("render", "--env", "dev")
    assert res.exit_code == 0, res.stderr
    values = yaml.safe_load((project / "build" / "dev" / "values.yaml").read_text())
    assert values["owner"] == {
        "environment": "dev",
        "namespace": ISTIO_SYSTEM,
        "context": "kind-dev",
    }
    objects = load_all((project / "build" / "dev" / "egress.yaml").read_text())
    assert {o["kind"] for o in objects} == {"ServiceEntry", "VirtualService", "DestinationRule"}
    for o in objects:
        labels = o["metadata"]["labels"]
        assert {k: labels[k] for k in owner_labels()} == owner_labels(), o["metadata"]


# --- the chart side of the identity -------------------------------------------------------


def _helm_template(
    helm: str, values: dict[str, Any], tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    return subprocess.run(
        [helm, "template", "egress", str(CHART), "-n", ISTIO_SYSTEM, "-f", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


_SE = {"hosts": ["a.example"], "ports": [{"number": 80, "name": "http", "protocol": "HTTP"}]}
_VALUES = {
    "networkingApiVersion": "networking.istio.io/v1",
    "serviceEntries": {"a": {**_SE, "resolution": "DNS", "location": "MESH_EXTERNAL"}},
    "tlsRoutes": {},
}


def test_chart_labels_name_the_owner(helm: str, tmp_path: Path) -> None:
    owner = {"environment": "prod", "namespace": "mesh", "context": "arn:aws:eks:x/y"}
    proc = _helm_template(helm, {**_VALUES, "owner": owner}, tmp_path)
    assert proc.returncode == 0, proc.stderr
    (obj,) = load_all(proc.stdout)
    labels = obj["metadata"]["labels"]
    assert labels["egressctl.io/environment"] == "prod"
    assert labels["egressctl.io/environment-namespace"] == "mesh"
    assert labels["egressctl.io/owned"] == "true"
    assert 'egressctl.io/environment: "prod"' in proc.stdout  # quoted
    proc = _helm_template(helm, _VALUES, tmp_path)
    (obj,) = load_all(proc.stdout)
    assert "egressctl.io/environment" not in obj["metadata"]["labels"]


@pytest.mark.parametrize(
    "owner",
    [
        pytest.param({"environment": "Prod", "namespace": "mesh", "context": "c"}, id="upper"),
        pytest.param({"environment": "p", "namespace": "-x", "context": "c"}, id="dash"),
        pytest.param({"environment": "p", "namespace": "m", "context": ""}, id="empty-ctx"),
        pytest.param({"environment": "p", "namespace": "m"}, id="no-context"),
        pytest.param(
            {"environment": "p", "namespace": "m", "context": "c", "x": "y"}, id="extra-key"
        ),
        pytest.param({"environment": "a" * 64, "namespace": "m", "context": "c"}, id="too-long"),
    ],
)
def test_chart_schema_rejects_a_bad_owner(helm: str, tmp_path: Path, owner: dict) -> None:
    proc = _helm_template(helm, {**_VALUES, "owner": owner}, tmp_path)
    assert proc.returncode != 0
    assert "owner" in proc.stderr


def test_owner_annotation_helper_renders_the_context(helm: str, tmp_path: Path) -> None:
    """`egress.annotations`: the entry's own annotations plus egressctl.io/context."""
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: egressctl\nversion: 0.1.0\n")
    (chart / "templates" / "_helpers.tpl").write_text(
        (CHART / "templates" / "_helpers.tpl").read_text()
    )
    (chart / "templates" / "cm.yaml").write_text(  # as chart/'s templates call it
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"
        '  {{- with include "egress.annotations" (dict "root" $ "metadata" .Values.meta) }}\n'
        "  {{- . | nindent 2 }}\n"
        "  {{- end }}\n"
    )
    values = tmp_path / "v.yaml"
    for given, wanted in (
        (
            {"owner": {"context": "kind: dev"}, "meta": {"annotations": {"a": "1"}}},
            {"a": "1", "egressctl.io/context": "kind: dev"},
        ),
        ({"meta": {"annotations": {"a": "1"}}}, {"a": "1"}),
        ({"owner": {"context": "c"}}, {"egressctl.io/context": "c"}),
        ({}, None),
    ):
        values.write_text(yaml.safe_dump(given))
        proc = subprocess.run(
            [helm, "template", "x", str(chart), "-f", str(values)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        (obj,) = load_all(proc.stdout)
        assert obj["metadata"].get("annotations") == wanted


# --- item 5: no silent adoption ------------------------------------------------------------


def test_existing_unowned_object_is_refused_unless_adopted(
    cli, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    env_file(inventory_file="egress-dev.yaml", namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    kubectl.add(_entry("google", labels={"team": "search"}))
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 2, res.stderr
    assert (
        "ServiceEntry/google (namespace istio-system): exists, not owned by this environment"
        in res.stderr
    )
    assert "--adopt ServiceEntry/google" in res.stderr
    assert kubectl.applies() == []
    assert _labels_of(kubectl, "google") == {"team": "search"}

    res = cli("diff", "--env", "dev")
    assert res.exit_code == 1
    assert "ServiceEntry/google (namespace istio-system): exists, not owned" in res.stdout

    res = cli("deploy", "--env", "dev", "--yes", "--adopt", "ServiceEntry/google")
    assert res.exit_code == 0, res.stderr
    assert "adopt 1 (google)" in res.stderr
    labels = _labels_of(kubectl, "google")
    assert labels["egressctl.io/environment"] == "dev"
    # A re-run with the same flags converges (the object is now this environment's).
    res = cli("deploy", "--env", "dev", "--yes", "--adopt", "ServiceEntry/google")
    assert res.exit_code == 0, res.stderr
    assert "ServiceEntry    unchanged 2" in res.stderr


def test_adopt_with_namespace_and_adopt_all(cli, env_file: EnvFile, kubectl: FakeKubectl) -> None:
    env_file(inventory_file="egress-dev.yaml", namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    kubectl.add(_entry("google"))
    kubectl.add(_entry("httpbin-ext"))
    res = cli("deploy", "--env", "dev", "--yes", "--adopt", "istio-system/ServiceEntry/google")
    assert res.exit_code == 2
    assert "ServiceEntry/httpbin-ext (namespace istio-system): exists, not owned" in res.stderr
    assert kubectl.applies() == []
    res = cli("deploy", "--env", "dev", "--yes", "--adopt-all")
    assert res.exit_code == 0, res.stderr
    assert "adopt 2 (google, httpbin-ext)" in res.stderr


def test_objects_of_the_previous_egressctl_need_adoption(
    cli, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    env_file(inventory_file="egress-dev.yaml", namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    kubectl.add(_entry("google", labels={"egressctl.io/owned": "true"}))
    kubectl.add(_entry("retired", labels={"egressctl.io/owned": "true"}))
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 2
    assert "labelled egressctl.io/owned=true by an earlier egressctl" in res.stderr
    assert kubectl.applies() == []
    res = cli("deploy", "--env", "dev", "--yes", "--adopt-all")
    assert res.exit_code == 0, res.stderr
    assert kubectl.get("ServiceEntry", "retired") is not None  # not this environment's: kept


@pytest.mark.parametrize(
    ("adopt", "message"),
    [
        pytest.param("google", "--adopt google: write Kind/name or namespace/Kind/name", id="form"),
        pytest.param("Secret/google", "--adopt Secret/google: Secret is not", id="kind"),
        pytest.param("ServiceEntry/nope", "--adopt ServiceEntry/nope: no such object", id="none"),
    ],
)
def test_bad_adopt_names_are_usage_errors(
    cli, env_file: EnvFile, kubectl: FakeKubectl, adopt: str, message: str
) -> None:
    env_file(inventory_file="egress-dev.yaml", namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    res = cli("deploy", "--env", "dev", "--yes", "--adopt", adopt)
    assert res.exit_code == 2
    assert message in res.stderr
    assert kubectl.applies() == []


# --- item 6: a pending record before the first apply ---------------------------------------


def test_history_that_cannot_be_written_fails_before_anything_is_applied(
    project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    env_file(inventory_file="egress-dev.yaml", namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    write(project / "build" / "dev" / "history", "not a folder\n")
    proc = _entry_point(project, "deploy", "--env", "dev", "--yes")
    assert proc.returncode == 5, proc.stderr
    last = _lines(proc.stderr)[-1]  # the error is the last line (a traceback would end it)
    assert "could not write the deploy record" in last
    assert "nothing was applied" in last
    assert kubectl.applies() == []


def test_record_failure_after_the_apply_has_its_own_exit_and_a_rerun_converges(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file(inventory_file="egress-dev.yaml", namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0
    env_file(
        inventory=MUTUAL.replace("NAME", "bank"),
        inventory_file="egress-dev.yaml",
        namespace=ISTIO_SYSTEM,
        istio=MINI_ISTIO_BLOCK,
    )
    real = history.write_atomic

    def disk_full(path: Path, text: str) -> None:
        if path.name == "record.json" and '"state": "complete"' in text:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path, text)

    monkeypatch.setattr(history, "write_atomic", disk_full)
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 5, res.stderr
    assert "the cluster was changed" in res.stderr
    assert "No space left on device" in res.stderr
    assert "run the deploy again" in res.stderr
    assert kubectl.names("DestinationRule") == ["bank"]
    assert [_record(p)["state"] for p in _history(project)] == ["complete", "pending"]
    monkeypatch.setattr(history, "write_atomic", real)

    # rollback ignores the pending record; prune scope counts it.
    env_file(inventory_file="egress-dev.yaml", namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 0, res.stderr
    assert kubectl.objects("DestinationRule") == []  # found through the pending record
    assert [_record(p)["state"] for p in _history(project)] == ["complete", "complete"]


def test_failed_deploy_leaves_a_pending_record_that_prune_scope_counts(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    env_file(inventory_file="egress-dev.yaml", namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0
    env_file(
        inventory=MUTUAL.replace("NAME", "bank"),
        inventory_file="egress-dev.yaml",
        namespace=ISTIO_SYSTEM,
        istio=MINI_ISTIO_BLOCK,
    )
    kubectl.fail_on("apply", stdin="kind: ConfigMap")
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 4
    assert kubectl.names("DestinationRule") == ["bank"]
    first, pending = _history(project)
    assert (_record(first)["state"], _record(pending)["state"]) == ("complete", "pending")
    listing = cli("rollback", "--env", "dev", "--list")
    assert listing.exit_code == 0
    assert [line.split()[2] for line in _lines(listing.stdout)] == ["complete", "pending"]
    kubectl.clear_failures()
    res = cli("rollback", "--env", "dev", "--yes", "--to", pending.name)
    assert res.exit_code == 2
    assert f"{pending.name} is pending" in res.stderr
    res = cli("rollback", "--env", "dev", "--yes")  # to the last complete one
    assert res.exit_code == 0, res.stderr
    assert f"back to recorded deploy {first.name}" in res.stderr
    assert kubectl.objects("DestinationRule") == []


def test_a_deploy_without_prune_keeps_pending_records_in_scope(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    env_file(
        inventory=MUTUAL.replace("NAME", "bank"),
        inventory_file="egress-dev.yaml",
        namespace=ISTIO_SYSTEM,
        istio=MINI_ISTIO_BLOCK,
    )
    kubectl.fail_on("apply", stdin="kind: ConfigMap", times=1)
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 4  # pending, bank applied
    env_file(inventory_file="egress-dev.yaml", namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    assert cli("deploy", "--env", "dev", "--yes", "--no-prune").exit_code == 0
    assert [_record(p)["state"] for p in _history(project)] == ["pending", "complete"]
    assert kubectl.names("DestinationRule") == ["bank"]
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0
    assert kubectl.objects("DestinationRule") == []
    assert [_record(p)["state"] for p in _history(project)] == ["complete", "complete"]


# --- item 7: one deploy at a time -----------------------------------------------------------

_HOLD = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.flock(fd, fcntl.LOCK_EX)
os.write(fd, b"4242\\n")
print("locked", flush=True)
sys.stdin.read()
"""


def test_a_second_deploy_refuses_while_one_holds_the_lock(
    cli, project: Path, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    env_file(inventory_file="egress-dev.yaml", namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    lock = project / "build" / "dev" / ".deploy.lock"
    lock.parent.mkdir(parents=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(lock)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        for args in (("deploy", "--env", "dev", "--yes"), ("rollback", "--env", "dev", "--yes")):
            res = cli(*args)
            assert res.exit_code == 2, res.stderr
            assert "build/dev/.deploy.lock" in res.stderr
            assert "pid 4242" in res.stderr
        assert kubectl.applies() == []
    finally:
        holder.communicate("")
    res = cli("deploy", "--env", "dev", "--yes")
    assert res.exit_code == 0, res.stderr
    assert "lock            held (build/dev/.deploy.lock)" in res.stderr


# --- item 9: no traceback ---------------------------------------------------------------


def test_an_unknown_kind_in_a_record_is_refused_before_applying(
    project: Path, env_file: EnvFile, kubectl: FakeKubectl, cli
) -> None:
    env_file(inventory_file="egress-dev.yaml", namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0
    (first,) = _history(project)
    second = first.parent / "29990101T000000000000Z-secret"
    second.mkdir()
    doc = _record(first)
    for name in doc["digests"]:
        text = (first / name).read_text()
        if name == "egress.yaml":
            text += "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n"
        (second / name).write_text(text)
        doc["digests"][name] = history.digest(text)
    doc["id"] = second.name
    (second / "record.json").write_text(json.dumps(doc))
    applies = len(kubectl.applies())
    proc = _entry_point(project, "rollback", "--env", "dev", "--yes", "--to", second.name)
    assert proc.returncode == 3, proc.stderr
    assert "Secret/s" in _lines(proc.stderr)[-1]  # the error is the last line, no traceback
    assert len(kubectl.applies()) == applies


def test_wait_step_with_an_unknown_kind_is_an_error_not_a_key_error(kubectl: FakeKubectl) -> None:
    kube = Kube("kind-dev", ISTIO_SYSTEM)
    ref = ObjRef("Secret", ISTIO_SYSTEM, "s")
    with pytest.raises(VerificationError, match="Secret"):
        wait_for_objects(
            kube, [ref], selector="a=b", title="wait", timeout=1, progress=lambda _l: None
        )
    assert kubectl.calls() == []


# --- item 2: `--` before positional arguments ------------------------------------------

_VERBS = {"kubectl", "get", "apply", "diff", "delete", "rollout", "restart", "status"}
_SWITCHES = {"--ignore-not-found"}  # the one flag without a value


def test_every_kubectl_argv_puts_positionals_after_double_dash(
    cli, env_file: EnvFile, kubectl: FakeKubectl
) -> None:
    env_file(
        inventory=MUTUAL.replace("NAME", "bank"),
        inventory_file="egress-dev.yaml",
        namespace=ISTIO_SYSTEM,
        istio=MINI_ISTIO_BLOCK,
    )
    kubectl.add_namespace("shop", {"istio-injection": "enabled"})
    kubectl.add_workload("shop", "cart")
    kubectl.add(_entry("old", labels=owner_labels()))
    assert cli("deploy", "--env", "dev", "--yes", "--restart").exit_code == 0
    env_file(inventory_file="egress-dev.yaml", namespace=ISTIO_SYSTEM, istio=MINI_ISTIO_BLOCK)
    assert cli("diff", "--env", "dev").exit_code == 1
    assert cli("deploy", "--env", "dev", "--yes").exit_code == 0
    assert cli("rollback", "--env", "dev", "--yes").exit_code == 0
    seen = set()
    for call in kubectl.calls():
        argv = call["argv"]
        if "current-context" in argv:
            continue
        head = argv[: argv.index("--")] if "--" in argv else argv
        for word in head:
            if word.startswith("-"):
                assert (word.startswith("--") and "=" in word) or word in _SWITCHES, argv
                continue
            assert word in _VERBS, argv
        verb = next(w for w in head[1:] if not w.startswith("-") and w in _VERBS)
        seen.add(verb)
        if verb in ("get", "delete", "rollout"):
            assert "--" in argv and argv.index("--") < len(argv) - 1, argv
    assert {"get", "apply", "diff", "delete", "rollout"} <= seen


@pytest.mark.parametrize("kind", ["symlink", "fifo"])
def test_a_lock_that_is_not_a_regular_file_is_refused_and_its_target_untouched(
    tmp_path: Path, kind: str
) -> None:
    """A symlink committed as build/ENV/.deploy.lock must not make egressctl truncate
    what it points at (nor a FIFO block it)."""
    from egressctl.cluster.lock import LOCK_FILE, deploy_lock
    from egressctl.errors import UsageError

    out = tmp_path / "build" / "dev"
    out.mkdir(parents=True)
    precious = tmp_path / "precious"
    precious.write_text("keep me\n", encoding="utf-8")
    if kind == "symlink":
        (out / LOCK_FILE).symlink_to(precious)
    else:
        os.mkfifo(out / LOCK_FILE)
    with pytest.raises(UsageError) as exc, deploy_lock(out, "dev"):
        pass
    assert "deploy lock" in str(exc.value)
    assert precious.read_text(encoding="utf-8") == "keep me\n"
