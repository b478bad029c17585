"""Commands started before their input exists (#12 §5): `runners.start`, and helm's
renders started while egressctl compiles (`PendingTemplate`, `renders_started`)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from egressctl import pipeline
from egressctl.charts.helm import PendingTemplate, helm_template
from egressctl.errors import ToolError, UsageError
from egressctl.runners import start
from tests.conftest import (
    CHART,
    MINI_ISTIO,
    MINI_ISTIO_BLOCK,
    EnvFile,
    hostile_template_argv,
    python_tool,
)

# A stand-in helm: `version` answers VERSION; any other verb records its argv, its pid
# and (once stdin ends) what it read, then prints it back.
HELM = """\
import json, os, sys
log = {log!r}
if sys.argv[1:2] == ["version"]:
    print({version!r})
    sys.exit(0)
with open(log, "a") as f:
    f.write(json.dumps({{"pid": os.getpid(), "argv": sys.argv[1:]}}) + "\\n")
data = sys.stdin.read()
with open(log, "a") as f:
    f.write(json.dumps({{"pid": os.getpid(), "stdin": data}}) + "\\n")
print("---\\n# Source: x/templates/a.yaml\\nkind: ConfigMap\\n" + data)
"""


def _helm(tmp_path: Path, version: str = "v3.19.0+gfake") -> tuple[Path, Path]:
    log = tmp_path / "helm.log"
    return python_tool(tmp_path / "helm", HELM.format(log=str(log), version=version)), log


def _records(log: Path) -> list[dict[str, object]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


def _gone(pid: int) -> bool:
    """Whether process ``pid`` has ended (and been reaped) within a few seconds."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def _started_pids(log: Path, count: int) -> list[int]:
    """The pids of the first ``count`` started renders, once they have recorded them."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        pids = [int(str(r["pid"])) for r in _records(log) if "argv" in r]
        if len(pids) >= count:
            return pids
        time.sleep(0.05)
    raise AssertionError(f"{count} render(s) did not start: {_records(log)}")


def test_start_keeps_stdin_open_until_send(tmp_path: Path) -> None:
    tool = python_tool(tmp_path / "tool", "import sys; print(sys.stdin.read().upper())")
    started = start([tool], step="t", open_stdin=True)
    started.send("late input")
    assert started.wait().stdout == "LATE INPUT\n"


def test_start_without_send_closes_stdin_at_wait(tmp_path: Path) -> None:
    tool = python_tool(tmp_path / "tool", "import sys; print(repr(sys.stdin.read()))")
    assert start([tool], step="t", open_stdin=True).wait().stdout == "''\n"


def test_send_needs_an_open_stdin(tmp_path: Path) -> None:
    tool = python_tool(tmp_path / "tool", "print('x')")
    started = start([tool], step="t")
    with pytest.raises(ValueError, match="open stdin"):
        started.send("x")
    assert started.wait().stdout == "x\n"


def test_a_started_command_that_fails_is_a_tool_error(tmp_path: Path) -> None:
    tool = python_tool(tmp_path / "tool", "import sys; sys.stdin.read(); sys.exit(5)")
    started = start([tool], step="do it", open_stdin=True)
    started.send("")
    with pytest.raises(ToolError) as info:
        started.wait()
    assert info.value.returncode == 5
    assert str(info.value).startswith("do it: ")


def test_stop_ends_a_command_waiting_on_its_stdin(tmp_path: Path) -> None:
    helm, log = _helm(tmp_path)
    started = start([helm, "template"], step="t", open_stdin=True)
    (pid,) = _started_pids(log, 1)
    started.stop()
    assert _gone(pid)
    assert not [r for r in _records(log) if "stdin" in r]  # it never got to read its input
    started.stop()  # twice is harmless


def test_pending_template_sends_the_values_last_on_stdin(tmp_path: Path) -> None:
    helm, log = _helm(tmp_path)
    pending = PendingTemplate(
        "--post-renderer=x",
        "-chart",
        namespace="ns",
        values_files=["team.yaml"],
        repo="https://charts.example",
        version="1.2.3",
        step="render",
        helm=str(helm),
    )
    pending.send("a: 1\n")
    assert pending.output().endswith("kind: ConfigMap\na: 1\n\n")
    argv = next(r["argv"] for r in _records(log) if "argv" in r)
    # the generated values: stdin, after the team's files, so they win
    assert argv == hostile_template_argv("-")
    assert [r["stdin"] for r in _records(log) if "stdin" in r] == ["a: 1\n"]


def test_pending_template_refuses_an_old_helm_and_stops_its_render(tmp_path: Path) -> None:
    helm, log = _helm(tmp_path, version="v3.7.2+gold")
    pending = PendingTemplate("egress", CHART, namespace="ns", step="render", helm=str(helm))
    (pid,) = _started_pids(log, 1)
    with pytest.raises(ToolError) as info:
        pending.output()
    assert "needs helm 3.8 or newer" in str(info.value)
    assert _gone(pid)
    assert not [r for r in _records(log) if "stdin" in r]


@pytest.mark.parametrize("major", [3, 4])
def test_pending_template_renders_what_helm_template_renders(
    helm_majors: dict[int, str], major: int
) -> None:
    exe = helm_majors[major]
    values = "policy: REGISTRY_ONLY\nserviceEntries: {}\n"
    once = helm_template(
        "istiod", MINI_ISTIO, namespace="istio-system", values_text=values, step="s", helm=exe
    )
    pending = PendingTemplate("istiod", MINI_ISTIO, namespace="istio-system", step="s", helm=exe)
    pending.send(values)
    assert pending.output() == once
    assert "kind: ConfigMap" in once


@pytest.mark.parametrize("halves", [False, True], ids=["one", "halves"])
def test_a_failed_compile_stops_the_renders_started_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env_file: EnvFile, halves: bool
) -> None:
    env_file(namespace="istio-system", istio=MINI_ISTIO_BLOCK)
    helm, log = _helm(tmp_path / "values")
    monkeypatch.setenv("EGRESSCTL_HELM", str(helm))
    if halves:  # chart/ in two processes (#12): three renders start
        monkeypatch.setattr(pipeline, "egress_parts", lambda _env: 2)
    env, _ = pipeline.load_environment("dev")
    assert env.istio is not None  # chart/'s render(s) and the Istio chart's start
    count = 3 if halves else 2

    def broken(_env: object, **_options: object) -> None:
        _started_pids(log, count)  # all are up, waiting for their values
        raise UsageError("compile broke")

    monkeypatch.setattr(pipeline, "compile_environment", broken)
    with pytest.raises(UsageError, match="compile broke"):
        pipeline.render_environment(env)
    pids = _started_pids(log, count)
    assert len(pids) == count
    assert all(_gone(pid) for pid in pids)
    assert not [r for r in _records(log) if "stdin" in r]  # none got any values
