"""`check --crds`: rendered objects against a CRD file or the cluster's CRDs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import CRDS, SEED, EnvFile, FakeKubectl, write

# Only the tests that read Istio's CRD file need it.
needs_crds = pytest.mark.skipif(
    not CRDS.is_file(), reason=f"Istio CRDs not found at {CRDS} (outside this repository's CI)"
)


def _without_v1(tmp_path: Path) -> Path:
    """The CRDs of a pre-1.22 cluster: networking.istio.io/v1 is not served."""
    docs = [d for d in yaml.safe_load_all(CRDS.read_text(encoding="utf-8")) if d]
    for d in docs:
        d["spec"]["versions"] = [v for v in d["spec"]["versions"] if v["name"] != "v1"]
    out = tmp_path / "old-crds.yaml"
    out.write_text(yaml.safe_dump_all(docs), encoding="utf-8")
    return out


@needs_crds
def test_valid_inventory_passes_the_crds(cli, project: Path, helm: str) -> None:
    write(project / "inv.yaml", SEED)
    res = cli("check", "inv.yaml", "--crds", str(CRDS))
    assert res.exit_code == 0, res.stdout
    # SEED's one finding: its narrowed capture, acknowledged (issue #11).
    assert res.stdout.splitlines()[-1] == "0 errors, 1 warning in 1 file"


@needs_crds
def test_unserved_version_is_located_at_the_service(
    cli, env_file: EnvFile, helm: str, tmp_path: Path
) -> None:
    env_file()
    res = cli("check", "--env", "dev", "--crds", str(_without_v1(tmp_path)), "--output", "json")
    assert res.exit_code == 3
    findings = json.loads(res.stdout)["findings"]
    # SEED's narrowed capture is an acknowledged warning (issue #11); the rest is the CRDs'.
    assert findings[0]["code"] == "policy-bypassed-by-capture"
    findings = findings[1:]
    got = {(f["code"], f["file"], f["line"], f["column"], f["path"]) for f in findings}
    assert got == {
        ("crd-schema", "values/egress.yaml", 7, 5, "services.httpbin-ext"),
        ("crd-schema", "values/egress.yaml", 10, 5, "services.google"),
    }
    assert all("is not served" in f["message"] for f in findings)
    assert all("networkingApiVersion" in f["hint"] for f in findings)


@needs_crds
def test_the_environment_api_version_fixes_it(
    cli, env_file: EnvFile, helm: str, tmp_path: Path
) -> None:
    env_file(extra="networkingApiVersion: v1beta1\n")
    res = cli("check", "--env", "dev", "--crds", str(_without_v1(tmp_path)))
    assert res.exit_code == 0, res.stdout


@needs_crds
def test_crds_from_the_cluster(cli, env_file: EnvFile, kubectl: FakeKubectl) -> None:
    env_file()
    kubectl.state["crds"] = str(CRDS)
    kubectl.save()
    res = cli("check", "--env", "dev", "--crds", "cluster")
    assert res.exit_code == 0, res.stdout + res.stderr
    assert "get customresourcedefinitions" in kubectl.verbs()


def test_missing_crd_file_is_a_usage_error(cli, project: Path) -> None:
    write(project / "inv.yaml", SEED)
    res = cli("check", "inv.yaml", "--crds", "nope.yaml")
    assert res.exit_code == 2
    assert "--crds nope.yaml: no such file" in res.stderr


@needs_crds
def test_rules_that_cannot_be_checked_are_named(
    cli, project: Path, helm: str, tmp_path: Path
) -> None:
    docs = [d for d in yaml.safe_load_all(CRDS.read_text(encoding="utf-8")) if d]
    for d in docs:
        if d["spec"]["names"]["kind"] == "ServiceEntry":
            for v in d["spec"]["versions"]:
                spec = v["schema"]["openAPIV3Schema"]["properties"]["spec"]
                spec.setdefault("x-kubernetes-validations", []).append(
                    {"rule": "quantity('1Gi').isGreaterThan(quantity('1Mi'))", "message": "q"}
                )
    crds = tmp_path / "crds.yaml"
    crds.write_text(yaml.safe_dump_all(docs), encoding="utf-8")
    write(project / "inv.yaml", SEED)
    res = cli("check", "inv.yaml", "--crds", str(crds))
    assert res.exit_code == 0, res.stdout
    assert "note: CEL rule not checked:" in res.stderr
    assert "quantity" in res.stderr
