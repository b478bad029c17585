"""Where the Istio chart comes from: a .tgz, a chart repository (served on loopback)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from egressctl.charts.chartinfo import ChartInfo, Generation, served_api_version
from egressctl.runners import run
from tests.conftest import MINI_ISTIO, EnvFile, load_all, serve_chart_repo


@pytest.fixture
def chart_repo(tmp_path: Path, helm: str) -> Iterator[str]:
    """A real Helm chart repository with the istiod stand-in, on 127.0.0.1."""
    with serve_chart_repo(tmp_path, helm) as url:
        yield url


def test_chart_from_a_repository(
    cli, project: Path, env_file: EnvFile, chart_repo: str, helm: str
) -> None:
    env_file(istio={"repo": chart_repo, "chart": "istiod", "version": "1.28.0"})
    res = cli("render", "--env", "dev")
    assert res.exit_code == 0, res.stderr
    assert f"--repo {chart_repo} --version 1.28.0" in res.stderr
    assert "networking.istio.io/v1: istiod chart 1.28.0 serves v1" in res.stderr
    names = sorted(
        o["metadata"]["name"]
        for o in load_all((project / "build" / "dev" / "istio.yaml").read_text())
    )
    assert names == ["istio", "istio-sidecar-injector"]


def test_missing_version_in_repository_is_exit_4(
    cli, project: Path, env_file: EnvFile, chart_repo: str, helm: str
) -> None:
    env_file(istio={"repo": chart_repo, "chart": "istiod", "version": "9.9.9"})
    res = cli("render", "--env", "dev")
    assert res.exit_code == 4
    # helm's own words, under the failed command (not the echoed command line)
    head, _, helm_said = res.stderr.partition("failed with exit code 1\n")
    assert "helm" in head
    assert "9.9.9" in helm_said
    assert not (project / "build").exists()


def test_chart_from_a_tgz(cli, project: Path, env_file: EnvFile, helm: str, tmp_path: Path) -> None:
    run([helm, "package", MINI_ISTIO, "--destination", tmp_path], step="helm package")
    tgz = next(tmp_path.glob("istiod-*.tgz"))
    shutil.copy(tgz, project / "values" / "istiod.tgz")
    env_file(istio={"chart": "istiod.tgz"})
    res = cli("render", "--env", "dev")
    assert res.exit_code == 0, res.stderr
    assert "istiod chart istiod 1.28.0" in res.stderr


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        (ChartInfo("istio", "1.1.0", Generation.LEGACY), "v1alpha3"),
        (ChartInfo("istiod", "1.28.0", Generation.ISTIOD), "v1"),
        (ChartInfo("istiod", "1.22.0", Generation.ISTIOD), "v1"),
        (ChartInfo("istiod", "1.21.6", Generation.ISTIOD), "v1beta1"),
        (ChartInfo("istiod", "1.0.0", Generation.ISTIOD), "v1beta1"),  # a git copy
        (ChartInfo("my-istio", "3.2.1", None), "v1beta1"),  # a wrapper chart
    ],
)
def test_served_api_version(info: ChartInfo, expected: str) -> None:
    assert served_api_version(info)[0] == expected


def test_explicit_api_version_wins_over_the_chart(
    cli, project: Path, env_file: EnvFile, helm: str
) -> None:
    env_file(istio={"chart": MINI_ISTIO})
    dev = project / "values" / "dev.yaml"
    dev.write_text(dev.read_text() + "networkingApiVersion: v1beta1\n")
    res = cli("render", "--env", "dev")
    assert res.exit_code == 0, res.stderr
    assert "networking.istio.io/v1beta1: set in values/dev.yaml" in res.stderr
