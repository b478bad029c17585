"""Opt-in: the real Istio charts, from local copies named by environment variables.

    ISTIO_CHART=…/manifests/charts/istio-control/istio-discovery   (the istiod chart)
    ISTIO_LEGACY_CHART=…/install/kubernetes/helm/istio             (1.1-era, patched as
        the README says), with ISTIO_LEGACY_VALUES=a.yaml:b.yaml optional

Fetch istio/istio to run these; never commit any of it.  Skipped when unset.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from tests.conftest import EnvFile, load_all, write

ISTIOD = os.environ.get("ISTIO_CHART")
LEGACY = os.environ.get("ISTIO_LEGACY_CHART")
LEGACY_VALUES = [v for v in os.environ.get("ISTIO_LEGACY_VALUES", "").split(":") if v]


def _configmaps(project: Path) -> dict[str, dict]:
    text = (project / "build" / "dev" / "istio.yaml").read_text()
    objs = load_all("\n".join(line.rstrip() for line in text.splitlines()))
    return {o["metadata"]["name"]: o for o in objs if o.get("kind") == "ConfigMap"}


@pytest.mark.skipif(not ISTIOD, reason="set ISTIO_CHART to a local istiod chart to run")
def test_real_istiod_chart(cli, project: Path, env_file: EnvFile, helm: str) -> None:
    team = write(
        project / "values" / "istio-team.yaml",
        "meshConfig:\n  outboundTrafficPolicy:\n    mode: ALLOW_ANY\n"
        "global:\n  hub: docker.io/istio\n  tag: 1.28.0\n",
    )
    env_file(istio={"chart": str(ISTIOD), "values": [team.name]})
    res = cli("render", "--env", "dev")
    assert res.exit_code == 0, res.stderr
    assert "verified: ConfigMaps istio and istio-sidecar-injector" in res.stderr
    cms = _configmaps(project)
    mesh = yaml.safe_load(cms["istio"]["data"]["mesh"])
    assert mesh["outboundTrafficPolicy"]["mode"] == "REGISTRY_ONLY"  # ours beat the team's
    proxy = json.loads(cms["istio-sidecar-injector"]["data"]["values"])["global"]["proxy"]
    assert proxy["includeIPRanges"] == "10.96.0.0/12,10.244.0.0/16"


@pytest.mark.skipif(not ISTIOD, reason="set ISTIO_CHART to a local istiod chart to run")
def test_real_istiod_chart_with_a_revision(
    cli, project: Path, env_file: EnvFile, helm: str
) -> None:
    team = write(project / "values" / "istio-team.yaml", "revision: canary\n")
    env_file(istio={"chart": str(ISTIOD), "values": [team.name]})
    res = cli("render", "--env", "dev")
    assert res.exit_code == 0, res.stderr
    assert "revision canary" in res.stderr
    assert {"istio-canary", "istio-sidecar-injector-canary"} <= set(_configmaps(project))


@pytest.mark.skipif(not LEGACY, reason="set ISTIO_LEGACY_CHART to a local 1.1-era chart to run")
def test_real_legacy_chart(cli, project: Path, env_file: EnvFile, helm: str) -> None:
    env_file(istio={"chart": str(LEGACY), "values": LEGACY_VALUES or None})
    res = cli("render", "--env", "dev")
    assert res.exit_code == 0, res.stderr
    assert "legacy chart istio" in res.stderr
    assert "networking.istio.io/v1alpha3" in res.stderr
    cms = _configmaps(project)
    assert "mode: REGISTRY_ONLY" in cms["istio"]["data"]["mesh"]
    assert '"10.96.0.0/12,10.244.0.0/16"' in cms["istio-sidecar-injector"]["data"]["config"]
