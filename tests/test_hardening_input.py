"""Issue #9, the input side: no value read from a file becomes a helm or kubectl flag or
an extra rendered document; devices, FIFOs and oversized files are refused; broken charts,
renders and output paths give one line and an exit code, never a traceback or a hang;
unknown keys are reported whatever their value; SIGTERM cleans up like Ctrl-C.

Security rows assert that no program ran (a marker file a hostile script would create)
and that nothing was rendered.  "No traceback" rows run the entry point in a real process
and compare stderr's last line with the one-line error."""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
import yaml

from egressctl.files import FileTooLarge, read_bounded
from tests.conftest import MINI_ISTIO, SEED, EnvFile, python_tool, write

SUMMARY_1 = "1 error in the input; nothing was written or applied"


def _entry(
    project: Path,
    *args: str,
    extra_env: dict[str, str] | None = None,
    timeout: float = 120,
    memory_limit: int | None = None,
) -> subprocess.CompletedProcess[str]:
    """The installed entry point in a real process (where a traceback would show).
    ``memory_limit`` caps the address space, so a read that never ends fails fast."""

    def limit() -> None:
        if memory_limit is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))

    return subprocess.run(
        [sys.executable, "-m", "egressctl", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=project,
        env={**os.environ, **(extra_env or {})},
        timeout=timeout,
        preexec_fn=limit,
    )


def _last(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _codes(stderr: str) -> list[str]:
    """The `[code]` of every finding line on stderr."""
    return re.findall(r"\[([a-z0-9-]+)\]$", stderr, flags=re.MULTILINE)


def _findings(stdout: str) -> list[tuple[str, str, int, int]]:
    doc = json.loads(stdout)
    return [(f["code"], f["file"], f["line"], f["column"]) for f in doc["findings"]]


def _evil(tmp_path: Path) -> tuple[Path, Path]:
    """A post-renderer that would leave a marker file behind if helm ever ran it."""
    marker = tmp_path / "evil-ran"
    script = tmp_path / "evil.sh"
    script.write_text(f"#!/bin/sh\ntouch {marker}\ncat\n", encoding="utf-8")
    script.chmod(0o755)
    return script, marker


# ---------------------------------------------------------------------------
# Item 1: namespaces, the environment name, context and kubeconfig


NAMESPACES = [
    pytest.param(
        '"istio-system\\n---\\napiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: evil}"',
        id="extra-document",
    ),
    pytest.param('"kube-system # x"', id="comment"),
    pytest.param("Istio-System", id="uppercase"),
    pytest.param('""', id="empty"),
    pytest.param('"--all-namespaces"', id="flag"),
    pytest.param('"istio-system\\n"', id="trailing-newline"),
    pytest.param("x" * 64, id="too-long"),
]


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_namespace_must_be_a_dns_label(
    project: Path, env_file: EnvFile, helm4: str, namespace: str
) -> None:
    env_file(namespace=namespace)
    proc = _entry(project, "render", "--env", "dev")
    assert proc.returncode == 3, proc.stderr
    # One error; the inventory's own findings (warnings) are reported with it (#11).
    summary = r"1 error(, \d+ warnings?)? in the input; nothing was written or applied"
    assert re.fullmatch(summary, _last(proc.stderr)), proc.stderr
    assert re.search(
        r"^values/dev\.yaml:3:12: namespace: .* is not a namespace name .*\[namespace-invalid\]$",
        proc.stderr,
        flags=re.MULTILINE,
    ), proc.stderr
    assert not (project / "build").exists()  # nothing rendered, no extra document anywhere


def test_originate_namespace_must_be_a_dns_label(cli, project: Path) -> None:
    write(
        project / "inv.yaml",
        "services:\n  a:\n    host: a.com\n    ports:\n      - number: 80\n"
        '        protocol: http\n        originate: {mode: SIMPLE, namespace: "ns\\n---"}\n',
    )
    res = cli("check", "inv.yaml", "--output", "json")
    assert res.exit_code == 3
    assert ("namespace-invalid", "inv.yaml", 7, 46) in _findings(res.stdout)


@pytest.mark.parametrize("stem", ["Prod_EU", "prod.eu", "-x", "x" * 64])
def test_environment_name_must_be_a_dns_label(
    cli, project: Path, env_file: EnvFile, stem: str
) -> None:
    env_file(stem)
    res = cli("check", "--env", f"values/{stem}.yaml", "--output", "json")
    assert res.exit_code == 3
    assert _findings(res.stdout) == [("env-name-invalid", f"values/{stem}.yaml", 0, 0)]
    res = cli("render", "--env", f"values/{stem}.yaml")
    assert res.exit_code == 3
    assert not (project / "build").exists()


CONTEXTS = [
    pytest.param('""', id="empty"),
    pytest.param('"kind dev"', id="space"),
    pytest.param('"kind\\tdev"', id="tab"),
    pytest.param('"--kubeconfig=/tmp/evil"', id="flag"),
    pytest.param('"-n"', id="short-flag"),
    pytest.param('"kind\\0dev"', id="nul"),
    pytest.param('"kind\\ndev"', id="newline"),
    pytest.param('"kind\\u00a0dev"', id="no-break-space"),
]


@pytest.mark.parametrize("context", CONTEXTS)
def test_context_is_one_printable_word(cli, env_file: EnvFile, context: str) -> None:
    env_file(context=context)
    res = cli("check", "--env", "dev", "--output", "json")
    assert res.exit_code == 3
    assert ("context-invalid", "values/dev.yaml", 2, 10) in _findings(res.stdout)


@pytest.mark.parametrize(
    "kubeconfig", [pytest.param('"a\\nb"', id="newline"), pytest.param('"a\\0b"', id="nul")]
)
def test_kubeconfig_is_a_path(cli, env_file: EnvFile, kubeconfig: str) -> None:
    env_file(extra=f"kubeconfig: {kubeconfig}\n")
    res = cli("check", "--env", "dev", "--output", "json")
    assert res.exit_code == 3
    assert ("kubeconfig-invalid", "values/dev.yaml", 3, 13) in _findings(res.stdout)


# ---------------------------------------------------------------------------
# Item 2: nothing from a file becomes a helm flag


HELM_FLAGS = [
    "--post-renderer={evil}",
    "--set-string=meshConfig.outboundTrafficPolicy.mode=ALLOW_ANY",
    "--output-dir={out}",
]


@pytest.mark.parametrize("release", HELM_FLAGS)
def test_istio_release_never_becomes_a_helm_flag(
    cli, project: Path, env_file: EnvFile, tmp_path: Path, helm: str, release: str
) -> None:
    evil, marker = _evil(tmp_path)
    out = tmp_path / "elsewhere"
    value = release.format(evil=evil, out=out)
    env_file(istio={"chart": MINI_ISTIO, "release": f"'{value}'"})
    res = cli("render", "--env", "dev", "--output", "json")
    assert res.exit_code == 3, res.stderr
    assert ("istio-release-invalid", "values/dev.yaml", 5, 12) in _findings(res.stdout)
    assert not marker.exists()  # the post-renderer never ran
    assert not out.exists()
    assert not (project / "build").exists()


ISTIO_FIELDS = [
    # (istio block with EVIL/OUT placeholders, code, line, column)
    pytest.param(
        "  repo: http://127.0.0.1:9\n  chart: '--post-renderer={evil}'\n",
        "istio-chart-invalid",
        5,
        10,
        id="chart",
    ),
    pytest.param(
        "  chart: '-{evil}'\n",
        "istio-chart-invalid",
        4,
        10,
        id="local-chart",
    ),
    pytest.param(
        "  repo: '--post-renderer={evil}'\n  chart: istiod\n",
        "istio-repo-invalid",
        4,
        9,
        id="repo-flag",
    ),
    pytest.param(
        "  repo: 'file:///etc'\n  chart: istiod\n",
        "istio-repo-invalid",
        4,
        9,
        id="repo-scheme",
    ),
    pytest.param(
        "  repo: 'https://a.example/charts --post-renderer={evil}'\n  chart: istiod\n",
        "istio-repo-invalid",
        4,
        9,
        id="repo-whitespace",
    ),
    pytest.param(
        "  repo: http://127.0.0.1:9\n  chart: istiod\n  version: '--post-renderer={evil}'\n",
        "istio-version-invalid",
        6,
        12,
        id="version-flag",
    ),
    pytest.param(
        "  repo: http://127.0.0.1:9\n  chart: istiod\n  version: '1.28.0; touch x'\n",
        "istio-version-invalid",
        6,
        12,
        id="version-characters",
    ),
    pytest.param(
        "  chart: {mini}\n  revision: '--x'\n",
        "istio-revision-invalid",
        5,
        13,
        id="revision",
    ),
    pytest.param(
        "  chart: {mini}\n  values: ['--post-renderer={evil}']\n",
        "istio-values-invalid",
        5,
        12,
        id="values",
    ),
    pytest.param(
        "  chart: {mini}\n  release: '{long}'\n",
        "istio-release-invalid",
        5,
        12,
        id="release-too-long",
    ),
]


@pytest.mark.parametrize(("istio", "code", "line", "col"), ISTIO_FIELDS)
def test_istio_fields_never_reach_helm_as_flags(
    cli,
    project: Path,
    env_file: EnvFile,
    tmp_path: Path,
    helm: str,
    istio: str,
    code: str,
    line: int,
    col: int,
) -> None:
    evil, marker = _evil(tmp_path)
    block = istio.format(evil=evil, mini=MINI_ISTIO, long="a" * 54)
    env_file(extra=f"istio:\n{block}")
    res = cli("render", "--env", "dev", "--output", "json")
    assert res.exit_code == 3, res.stderr
    assert (code, "values/dev.yaml", line, col) in _findings(res.stdout)
    assert not marker.exists()
    assert not (project / "build").exists()


def test_valid_istio_fields_still_render(cli, env_file: EnvFile, helm: str) -> None:
    env_file(istio={"chart": MINI_ISTIO, "release": "istiod.canary-1"})
    res = cli("render", "--env", "dev")
    assert res.exit_code == 0, res.stderr


# ---------------------------------------------------------------------------
# Item 8: only regular files, reads bounded by what was read


def _fifo(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)
    return path


def test_inventory_device_is_refused(project: Path) -> None:
    proc = _entry(project, "check", "/dev/zero", timeout=60, memory_limit=2 << 30)
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert proc.stdout.splitlines()[1] == (
        "/dev/zero: not a regular file (a character device) [file-not-regular]"
    )


def test_inventory_fifo_is_refused(project: Path) -> None:
    _fifo(project / "inv.yaml")
    proc = _entry(project, "check", "inv.yaml", timeout=60)
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout.splitlines()[1] == (
        "inv.yaml: not a regular file (a FIFO) [file-not-regular]"
    )


def test_environment_file_device_is_refused(project: Path) -> None:
    proc = _entry(project, "render", "--env", "/dev/zero", timeout=60, memory_limit=2 << 30)
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert proc.stderr.splitlines() == [
        "/dev/zero: not a regular file (a character device) [file-not-regular]",
        SUMMARY_1,
    ]


def test_environment_file_fifo_is_refused(project: Path) -> None:
    _fifo(project / "values" / "dev.yaml")
    proc = _entry(project, "render", "--env", "dev", timeout=60)
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.splitlines() == [
        "values/dev.yaml: not a regular file (a FIFO) [file-not-regular]",
        SUMMARY_1,
    ]


def _big(path: Path, size: int) -> Path:
    """A sparse file of ``size`` bytes (no disk used)."""
    with path.open("wb") as fh:
        fh.truncate(size)
    return path


ENV_FILES = [
    # (environment file, a file to create beside it: "fifo:NAME" / "big:NAME", code, line,
    # column)
    pytest.param(
        "inventory: [/dev/zero]\ncontext: kind-dev\n", None, "file-not-regular", 1, 13, id="inv-dev"
    ),
    pytest.param(
        "inventory: [pipe.yaml]\ncontext: kind-dev\n",
        "fifo:pipe.yaml",
        "file-not-regular",
        1,
        13,
        id="inv-fifo",
    ),
    pytest.param(
        "inventory: [egress.yaml]\ncontext: kind-dev\nistio:\n  chart: {mini}\n"
        "  values: [/dev/zero]\n",
        None,
        "file-not-regular",
        5,
        12,
        id="values-dev",
    ),
    pytest.param(
        "inventory: [egress.yaml]\ncontext: kind-dev\nistio:\n  chart: {mini}\n"
        "  values: [pipe.yaml]\n",
        "fifo:pipe.yaml",
        "file-not-regular",
        5,
        12,
        id="values-fifo",
    ),
    pytest.param(
        "inventory: [egress.yaml]\ncontext: kind-dev\nistio:\n  chart: {mini}\n"
        "  values: [big.yaml]\n",
        "big:big.yaml",
        "file-too-large",
        5,
        12,
        id="values-too-large",
    ),
]


@pytest.mark.parametrize(("env", "make", "code", "line", "col"), ENV_FILES)
def test_files_named_by_the_environment_must_be_regular(
    project: Path, env: str, make: str | None, code: str, line: int, col: int
) -> None:
    write(project / "values" / "egress.yaml", SEED)
    write(project / "values" / "dev.yaml", env.replace("{mini}", str(MINI_ISTIO)))
    if make:
        kind, name = make.split(":")
        target = project / "values" / name
        if kind == "fifo":
            _fifo(target)
        else:
            _big(target, (64 << 20) + 1)
    proc = _entry(project, "check", "--env", "dev", "--output", "json", timeout=60)
    assert proc.returncode == 3, proc.stderr
    assert (code, "values/dev.yaml", line, col) in _findings(proc.stdout)


def test_read_bounded_counts_bytes_read_not_the_size_reported() -> None:
    status = Path("/proc/self/status")
    assert status.stat().st_size == 0  # what the loader used to trust
    with pytest.raises(FileTooLarge):
        read_bounded(status, 16)
    assert read_bounded(status, 1 << 20).startswith(b"Name:")


# ---------------------------------------------------------------------------
# Item 9: one line and an exit code, never a traceback or a hang


def _chart(folder: Path, chart_yaml: bytes) -> Path:
    (folder / "templates").mkdir(parents=True)
    (folder / "Chart.yaml").write_bytes(chart_yaml)
    return folder


BOMB = (
    b"apiVersion: v2\nversion: 1.28.0\n"
    b"a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c]\n"
    b"e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e]\n"
    b"g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\nname: *g\n"
)

CHARTS = [
    # (Chart.yaml bytes, the error after "<chart>/Chart.yaml: ")
    pytest.param(
        b"apiVersion: v2\nname: istio\xe9d\nversion: 1.28.0\n",
        "not UTF-8 text (line 2, column 12)",
        id="not-utf8",
    ),
    pytest.param(b"- name: istiod\n- version: 1\n", "must be a mapping, not a list", id="list"),
    pytest.param(b"istiod 1.28.0\n", "must be a mapping, not a string", id="string"),
    pytest.param(BOMB, "`name` must be a string, not a list", id="alias-bomb"),
    pytest.param(
        b"name: istiod\nversion: [1, 2]\n", "`version` must be a string, not a list", id="version"
    ),
    pytest.param(
        b"name: istiod\nx: " + b"[" * 2000 + b"]" * 2000 + b"\n",
        "does not parse: exceeded maximum nesting depth (line 2, column 1003)",
        id="deep",
    ),
    pytest.param(
        b"name: istiod\nversion: !!python/object/apply:os.system [id]\n",
        "does not parse: could not determine a constructor for the tag "
        "'tag:yaml.org,2002:python/object/apply:os.system' (line 2, column 10)",
        id="tag",
    ),
]


@pytest.mark.parametrize(("chart_yaml", "error"), CHARTS)
def test_broken_istio_chart_yaml_is_one_line(
    project: Path, env_file: EnvFile, tmp_path: Path, chart_yaml: bytes, error: str
) -> None:
    chart = _chart(tmp_path / "istiod", chart_yaml)
    env_file(istio={"chart": chart})
    proc = _entry(project, "compile", "--env", "dev", timeout=60)
    assert proc.returncode == 3, proc.stderr
    assert _last(proc.stderr) == f"{chart}/Chart.yaml: {error}"
    assert proc.stdout == ""


def test_broken_chart_yaml_in_an_archive_is_one_line(
    project: Path, env_file: EnvFile, tmp_path: Path
) -> None:
    chart = _chart(tmp_path / "src" / "istiod", b"name: istio\xe9d\n")
    archive = tmp_path / "istiod-1.28.0.tgz"
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(chart, arcname="istiod")
    env_file(istio={"chart": archive})
    proc = _entry(project, "compile", "--env", "dev", timeout=60)
    assert proc.returncode == 3, proc.stderr
    assert _last(proc.stderr) == (
        f"{archive}: istiod/Chart.yaml: not UTF-8 text (line 1, column 12)"
    )


def test_istio_render_too_deep_for_the_reader_is_one_line(
    project: Path, env_file: EnvFile, tmp_path: Path, helm4: str
) -> None:
    chart = _chart(tmp_path / "istiod", b"apiVersion: v2\nname: istiod\nversion: 1.28.0\n")
    (chart / "templates" / "deep.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\n"
        "deep: " + "[" * 1200 + "]" * 1200 + "\n",
        encoding="utf-8",
    )
    env_file(istio={"chart": chart})
    proc = _entry(project, "render", "--env", "dev")
    assert proc.returncode == 3, proc.stderr
    assert re.fullmatch(
        r"rendered manifest istiod/templates/deep\.yaml is not YAML egressctl can read: "
        r"exceeded maximum nesting depth \(line \d+, column \d+\)",
        _last(proc.stderr),
    ), proc.stderr
    assert not (project / "build").exists()


def test_compile_out_under_a_file_is_one_line(project: Path) -> None:
    write(project / "inv.yaml", SEED)
    write(project / "afile", "x\n")
    proc = _entry(project, "compile", "inv.yaml", "-o", "afile/values.yaml")
    assert proc.returncode == 2, proc.stderr
    assert _last(proc.stderr) == "cannot write afile/values.yaml: afile is not a folder"
    assert (project / "afile").read_text() == "x\n"


def test_render_out_into_an_unwritable_place_is_one_line(
    project: Path, env_file: EnvFile, helm4: str
) -> None:
    env_file()
    proc = _entry(project, "render", "--env", "dev", "-o", "/dev/null/dev")
    assert proc.returncode == 2, proc.stderr
    assert _last(proc.stderr) == "cannot write /dev/null/dev/values.yaml: /dev/null is not a folder"


def test_render_out_on_a_read_only_file_system_is_one_line(
    project: Path, env_file: EnvFile, helm4: str
) -> None:
    env_file()
    proc = _entry(project, "render", "--env", "dev", "-o", "/proc/egressctl-test")
    assert proc.returncode == 2, proc.stderr
    assert _last(proc.stderr).startswith("cannot write /proc/egressctl-test/values.yaml: ")


def test_check_crds_not_utf8_is_one_line(project: Path) -> None:
    write(project / "inv.yaml", SEED)
    (project / "crds.yaml").write_bytes(b"kind: CustomResourceDefinition\nx: caf\xe9\n")
    proc = _entry(project, "check", "inv.yaml", "--crds", "crds.yaml")
    assert proc.returncode == 2, proc.stderr
    assert _last(proc.stderr) == ("crds.yaml: cannot read CRDs: not UTF-8 text (line 2, column 7)")


def test_check_crds_too_deep_is_one_line(project: Path) -> None:
    write(project / "inv.yaml", SEED)
    write(project / "crds.yaml", "x: " + "[" * 2000 + "]" * 2000 + "\n")
    proc = _entry(project, "check", "inv.yaml", "--crds", "crds.yaml")
    assert proc.returncode == 2, proc.stderr
    assert _last(proc.stderr) == (
        "crds.yaml: not valid YAML: exceeded maximum nesting depth (line 1, column 1003)"
    )


def test_check_crds_device_is_one_line(project: Path) -> None:
    write(project / "inv.yaml", SEED)
    proc = _entry(project, "check", "inv.yaml", "--crds", "/dev/zero", memory_limit=2 << 30)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert _last(proc.stderr) == (
        "/dev/zero: cannot read CRDs: not a regular file (a character device)"
    )


# ---------------------------------------------------------------------------
# Item 10: unknown keys whatever their value; a file that is not an inventory


def test_null_unknown_keys_are_reported_in_every_layer(cli, project: Path) -> None:
    write(project / "values" / "egress.yaml", SEED + "polcy:\n")
    write(
        project / "values" / "more.yaml",
        "polcy: REGISTRY_ONLY\nservices:\n  google:\n    resolutoin:\n",
    )
    write(
        project / "values" / "dev.yaml",
        "inventory: [egress.yaml, more.yaml]\ncontext: kind-dev\n"
        "egress:\n  services:\n    google:\n      hots:\n",
    )
    res = cli("check", "--env", "dev", "--output", "json")
    assert res.exit_code == 3
    got = [(c, f, line, col) for c, f, line, col in _findings(res.stdout) if c == "unknown-key"]
    assert got == [
        ("unknown-key", "values/dev.yaml", 6, 7),
        ("unknown-key", "values/egress.yaml", 12, 1),
        ("unknown-key", "values/more.yaml", 1, 1),
        ("unknown-key", "values/more.yaml", 4, 5),
    ]


NOT_INVENTORIES = [
    pytest.param("root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n", id="shadow"),
    pytest.param("{}\n", id="empty-mapping"),
    pytest.param("capture:\n  exclude: [169.254.169.254/32]\n", id="capture-only"),
]


@pytest.mark.parametrize("text", NOT_INVENTORIES)
def test_a_file_that_is_not_an_inventory_is_an_error(cli, project: Path, text: str) -> None:
    write(project / "inv.yaml", text)
    res = cli("check", "inv.yaml", "--output", "json")
    assert res.exit_code == 3
    assert ("inventory-blank", "inv.yaml", 1, 1) in _findings(res.stdout)


def test_an_empty_inventory_needs_the_environment_to_allow_it(cli, env_file: EnvFile) -> None:
    capture_only = "capture:\n  exclude: [169.254.169.254/32]\n"
    env_file(inventory=capture_only)
    res = cli("check", "--env", "dev", "--output", "json")
    assert res.exit_code == 3
    assert _findings(res.stdout) == [("inventory-blank", "values/egress.yaml", 1, 1)]
    env_file(inventory=capture_only, extra="allowEmptyInventory: true\n")
    res = cli("check", "--env", "dev", "--output", "json")
    assert res.exit_code == 0, res.stdout


def test_allow_empty_inventory_must_be_a_boolean(cli, env_file: EnvFile) -> None:
    env_file(extra="allowEmptyInventory: 'yes'\n")
    res = cli("check", "--env", "dev", "--output", "json")
    assert res.exit_code == 3
    assert ("wrong-type", "values/dev.yaml", 3, 22) in _findings(res.stdout)


# ---------------------------------------------------------------------------
# Item 11: SIGTERM, merge keys, annotation size


FAKE_HELM = """\
import json, os, signal, sys, time
args = sys.argv[1:]
if args[:1] == ["version"]:
    print("v3.19.0+gfake")
    sys.exit(0)
state = os.environ["FAKE_HELM_STATE"]
def on_term(*_):
    open(state + ".terminated", "w").close()
    sys.exit(143)
signal.signal(signal.SIGTERM, on_term)
with open(state + ".tmp", "w") as fh:
    json.dump({"argv": args}, fh)
os.replace(state + ".tmp", state)
time.sleep(60)
"""


def test_sigterm_is_handled_like_ctrl_c(project: Path, env_file: EnvFile, tmp_path: Path) -> None:
    helm = python_tool(tmp_path / "helm", FAKE_HELM)
    state = tmp_path / "helm-state.json"
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env_file()
    proc = subprocess.Popen(
        [sys.executable, "-m", "egressctl", "render", "--env", "dev"],
        cwd=project,
        env={
            **os.environ,
            "EGRESSCTL_HELM": str(helm),
            "FAKE_HELM_STATE": str(state),
            "TMPDIR": str(tmp),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not state.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert state.exists(), proc.communicate(timeout=10)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 143, stderr
    assert _last(stderr) == "terminated (SIGTERM); nothing more was applied"
    argv: list[str] = json.loads(state.read_text())["argv"]
    values = [argv[i + 1] for i, a in enumerate(argv) if a == "--values"]
    assert values == ["-"], argv  # the generated values: on stdin, no file to leave
    assert list(tmp.iterdir()) == []  # nothing left in the temporary folder
    assert Path(f"{state}.terminated").exists()  # helm was stopped, not left running
    assert not (project / "build").exists()


MERGED = """\
services:
  a: &web
    host: a.example.com
    ports: [443/https]
    owner: team-web
  b:
    <<: *web
    host: b.example.com
"""


def test_merge_keys_with_overrides_are_accepted(cli, project: Path) -> None:
    write(project / "inv.yaml", MERGED)
    res = cli("compile", "inv.yaml")
    assert res.exit_code == 0, res.stderr
    entries = yaml.safe_load(res.stdout)["serviceEntries"]
    assert entries["b"]["hosts"] == ["b.example.com"]
    assert [p["number"] for p in entries["b"]["ports"]] == [443]
    assert entries["a"]["hosts"] == ["a.example.com"]


MERGE_CASES = [
    # (inventory, code, line, column)
    pytest.param(
        MERGED + "    host: c.example.com\n", "duplicate-key", 9, 5, id="duplicate-after-merge"
    ),
    pytest.param(
        "base: &b {host: a.com, host: b.com}\n", "duplicate-key", 1, 24, id="duplicate-in-base"
    ),
    pytest.param(
        MERGED.replace("b.example.com", "'b..com'"), "host-invalid", 8, 11, id="own-key-located"
    ),
    pytest.param(
        MERGED + "  c:\n    <<: *web\n    host: c.example.com\n    ownr: x\n",
        "unknown-key",
        12,
        5,
        id="unknown-key-beside-merge",
    ),
]


@pytest.mark.parametrize(("text", "code", "line", "col"), MERGE_CASES)
def test_merge_key_problems_are_located(
    cli, project: Path, text: str, code: str, line: int, col: int
) -> None:
    write(project / "inv.yaml", text)
    res = cli("check", "inv.yaml", "--output", "json")
    assert res.exit_code == 3, res.stdout
    assert (code, "inv.yaml", line, col) in _findings(res.stdout)


def test_an_anchor_flattened_before_it_is_built_keeps_its_own_keys(cli, project: Path) -> None:
    """PyYAML flattens a merged mapping in place when a later mapping merges it; here
    `c` is built before `b` (b is nested deeper), so b's own keys must be taken before."""
    write(
        project / "inv.yaml",
        "a: &a {k: 1, v: 1}\nx:\n  y:\n    b: &b {<<: *a, k: 2}\nc: {<<: *b, k: 3}\n",
    )
    res = cli("check", "inv.yaml", "--output", "json")
    assert {code for code, *_ in _findings(res.stdout)} == {"unknown-key", "inventory-blank"}


def test_a_merged_value_is_located_at_its_anchor(cli, project: Path) -> None:
    write(project / "inv.yaml", MERGED.replace("[443/https]", "[8443]"))
    res = cli("check", "inv.yaml", "--output", "json")
    assert res.exit_code == 3, res.stdout
    found = [
        (f["path"], f["line"], f["column"])
        for f in json.loads(res.stdout)["findings"]
        if f["code"] == "port-protocol-missing"
    ]
    assert sorted(found) == [("services.a.ports[0]", 4, 13), ("services.b.ports[0]", 4, 13)]


def _annotated(**values: str) -> str:
    body = "".join(f"    {k}: {json.dumps(v)}\n" for k, v in values.items())
    return f"policy: ALLOW_ANY\nservices:\n  a:\n    host: a.com\n    ports: [443]\n{body}"


def test_annotations_over_the_api_server_limit_are_located(cli, project: Path) -> None:
    each = 90 * 1024  # three values, each well under the limit, together over it
    write(project / "inv.yaml", _annotated(owner="o" * each, reason="r" * (each + 1), ticket="t"))
    res = cli("check", "inv.yaml", "--output", "json")
    assert res.exit_code == 0, res.stdout  # 180 KiB: under 256 KiB
    write(
        project / "inv.yaml",
        _annotated(owner="o" * each, reason="r" * (each + 1), ticket="t" * each),
    )
    res = cli("check", "inv.yaml", "--output", "json")
    assert res.exit_code == 3
    assert _findings(res.stdout) == [("annotations-too-large", "inv.yaml", 7, 13)]
    message = json.loads(res.stdout)["findings"][0]["message"]
    assert message == (
        "owner, reason and ticket make annotations of 276,537 bytes (keys included); "
        "the API server accepts at most 262,144 per object"
    )


def test_annotations_at_the_limit_pass(cli, env_file: EnvFile) -> None:
    # keys egressctl.io/owner (18) + egressctl.io/reason (19): exactly 256 KiB in total
    reason = "r" * (256 * 1024 - 18 - 19 - 1)
    env_file(inventory=_annotated(owner="o", reason=reason))
    res = cli("check", "--env", "dev")
    assert res.exit_code == 0, res.stdout
