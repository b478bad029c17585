"""Opt-in: the same deploy against a real cluster (`make test-cluster`).

Runs only with `-m cluster` and a KUBECONFIG that names a reachable cluster with
Istio's CRDs installed.  It deploys the seed inventory (egress objects only, into a
namespace of its own) with --dry-run first, then for real, reads the objects back
and deletes them.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from egressctl.runners import kubectl
from tests.conftest import SEED, write

pytestmark = pytest.mark.cluster


@pytest.fixture
def real_cluster() -> str:
    if not os.environ.get("KUBECONFIG"):
        pytest.fail("the cluster suite needs KUBECONFIG to name a cluster")
    return kubectl(["config", "current-context"], step="current context").stdout.strip()


def test_deploy_seed_to_a_real_cluster(cli, project: Path, real_cluster: str, helm: str) -> None:
    ns = f"egressctl-test-{uuid.uuid4().hex[:8]}"
    kubectl(["create", "namespace", ns], step="create test namespace", context=real_cluster)
    try:
        write(project / "values" / "egress.yaml", SEED)
        write(
            project / "values" / "it.yaml",
            f"inventory: [egress.yaml]\ncontext: {real_cluster}\nnamespace: {ns}\n",
        )
        dry = cli("deploy", "--env", "it", "--dry-run")
        assert dry.exit_code == 0, dry.stderr
        got = kubectl(
            ["get", "serviceentries", "--output", "name"],
            step="list",
            context=real_cluster,
            namespace=ns,
        ).stdout
        assert got.strip() == ""  # the dry run changed nothing
        res = cli("deploy", "--env", "it", "--yes")
        assert res.exit_code == 0, res.stderr
        got = kubectl(
            [
                "get",
                "serviceentries,virtualservices",
                "--output",
                "name",
                "--selector",
                "egressctl.io/owned=true",
            ],
            step="list",
            context=real_cluster,
            namespace=ns,
        ).stdout.split()
        assert sorted(got) == [
            "serviceentry.networking.istio.io/google",
            "serviceentry.networking.istio.io/httpbin-ext",
            "virtualservice.networking.istio.io/google",
        ]
    finally:
        kubectl(
            ["delete", "namespace", ns, "--wait=false"],
            step="delete test namespace",
            context=real_cluster,
            check=False,
        )
