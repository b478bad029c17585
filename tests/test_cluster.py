"""Opt-in: deploy, diff, prune and rollback against a real cluster (`make test-cluster`).

Runs only with `-m cluster` and a KUBECONFIG that names a reachable cluster with Istio's
CRDs installed.  Everything happens in a namespace of its own, created and deleted here;
no Istio chart is applied (the mesh's own ConfigMaps are left alone).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from egressctl.cluster.kube import Kube
from tests.conftest import SEED, write

pytestmark = pytest.mark.cluster


@pytest.fixture
def cluster_ns() -> Iterator[tuple[str, str]]:
    if not os.environ.get("KUBECONFIG"):
        pytest.fail("the cluster suite needs KUBECONFIG to name a cluster")
    context = Kube().current_context()
    ns = f"egressctl-test-{uuid.uuid4().hex[:8]}"
    kube = Kube(context)
    kube.run(["create", "namespace"], args=[ns], step="create test namespace")
    try:
        yield context, ns
    finally:
        kube.run(
            ["delete", "namespace"],
            flags=["--wait=false"],
            args=[ns],
            step="delete test namespace",
            check=False,
        )


def _owned(context: str, ns: str, env: str = "it") -> list[str]:
    """The objects environment ``env`` (deployed to namespace ``ns``) owns there."""
    selector = (
        "egressctl.io/owned=true,egressctl.io/environment="
        f"{env},egressctl.io/environment-namespace={ns}"
    )
    out = (
        Kube(context, ns)
        .run(
            ["get"],
            flags=["--output=name", f"--selector={selector}"],
            args=["serviceentries,virtualservices,destinationrules"],
            step="list",
        )
        .stdout.split()
    )
    return sorted(out)


def test_deploy_diff_prune_rollback(
    cli, project: Path, cluster_ns: tuple[str, str], helm4: str
) -> None:
    context, ns = cluster_ns
    write(project / "values" / "egress.yaml", SEED)
    write(
        project / "values" / "it.yaml",
        f"inventory: [egress.yaml]\ncontext: {context}\nnamespace: {ns}\n",
    )

    dry = cli("deploy", "--env", "it", "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    assert _owned(context, ns) == []  # the dry run changed nothing

    assert cli("diff", "--env", "it").exit_code == 1
    res = cli("deploy", "--env", "it", "--yes")
    assert res.exit_code == 0, res.stderr
    assert _owned(context, ns) == [
        "serviceentry.networking.istio.io/google",
        "serviceentry.networking.istio.io/httpbin-ext",
        "virtualservice.networking.istio.io/google",
    ]
    res = cli("diff", "--env", "it")
    assert res.exit_code == 0, res.stdout + res.stderr

    # An object egressctl does not own is never pruned.
    Kube(context, ns).run(
        ["apply"],
        flags=["--filename=-"],
        step="foreign entry",
        stdin="apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata:\n"
        "  name: foreign\nspec:\n  hosts: [foreign.example.com]\n  ports:\n"
        "  - {number: 443, name: https, protocol: HTTPS}\n  resolution: DNS\n",
    )
    write(project / "values" / "egress.yaml", SEED.split("  google:")[0])
    assert cli("diff", "--env", "it").exit_code == 1
    res = cli("deploy", "--env", "it", "--yes")
    assert res.exit_code == 0, res.stderr
    assert _owned(context, ns) == ["serviceentry.networking.istio.io/httpbin-ext"]
    foreign = (
        Kube(context, ns)
        .run(["get"], flags=["--output=name"], args=["serviceentry", "foreign"], step="foreign")
        .stdout.strip()
    )
    assert foreign == "serviceentry.networking.istio.io/foreign"

    # A rendered entry named like the foreign object is refused, unless adopted.
    write(
        project / "values" / "egress.yaml",
        SEED + "  foreign:\n    host: foreign.example.com\n    ports: [443]\n",
    )
    res = cli("deploy", "--env", "it", "--yes")
    assert res.exit_code == 2, res.stderr
    assert "ServiceEntry/foreign" in res.stderr and "exists, not owned" in res.stderr
    res = cli("deploy", "--env", "it", "--yes", "--adopt", "ServiceEntry/foreign")
    assert res.exit_code == 0, res.stderr
    assert "serviceentry.networking.istio.io/foreign" in _owned(context, ns)

    # A second environment in the same namespace prunes nothing of the first one's.
    write(
        project / "values" / "egress2.yaml",
        SEED.split("  httpbin-ext:")[0]
        + "  partner:\n    host: partner.example\n    ports: [443]\n",
    )
    write(
        project / "values" / "it2.yaml",
        f"inventory: [egress2.yaml]\ncontext: {context}\nnamespace: {ns}\n",
    )
    res = cli("deploy", "--env", "it2", "--yes")
    assert res.exit_code == 0, res.stderr
    assert _owned(context, ns, "it2") == [
        "serviceentry.networking.istio.io/partner",
        "virtualservice.networking.istio.io/partner",
    ]
    assert "serviceentry.networking.istio.io/google" in _owned(context, ns)

    write(project / "values" / "egress.yaml", SEED.split("  google:")[0])
    assert cli("deploy", "--env", "it", "--yes").exit_code == 0
    res = cli("rollback", "--env", "it", "--yes")
    assert res.exit_code == 0, res.stderr
    assert "serviceentry.networking.istio.io/google" in _owned(context, ns)
