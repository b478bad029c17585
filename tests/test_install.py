"""egressctl installs like a tool (issue 12 §3): the chart ships inside the package, and
`egressctl init` writes a team's own egress repository.

The wheel test builds egressctl the way a user's installer does (an sdist, then a wheel
from the unpacked sdist), installs it into a fresh virtual environment outside the
source tree and uses it from a folder of its own: init, check, render with the real
helm, the repository's Makefile and CI script, and a deploy against the kubectl
stand-in.  The other tests run in-process, against the editable install of `make setup`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from egressctl import bundled, scaffold
from egressctl.charts.render import chart_folder, default_chart
from egressctl.errors import UsageError
from egressctl.rules.schema import dump
from tests.conftest import CHART, REPO, FakeKubectl, load_all, write

TEAM_FILES = [
    ".gitignore",
    "Makefile",
    "ci/egress-check.sh",
    "schemas/env.schema.json",
    "schemas/inventory.schema.json",
    "values/dev.yaml",
    "values/egress.yaml",
    "values/prod.yaml",
]
EXAMPLE_VALUES = REPO / "values"


def _example_services() -> list[str]:
    """The services of the shipped example inventory (dev and prod override none)."""
    inventory = yaml.safe_load((EXAMPLE_VALUES / "egress.yaml").read_text(encoding="utf-8"))
    return sorted(inventory["services"])


def _tree(folder: Path) -> list[str]:
    """Every file under ``folder``, relative and sorted (folders left out)."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


# ---------------------------------------------------------------------------
# Where the chart comes from


def test_editable_install_finds_the_source_trees_chart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make setup` installs egressctl editable: the package has no _chart/, so the
    source tree's chart/ is used, from whatever folder egressctl runs in."""
    monkeypatch.delenv("EGRESSCTL_CHART", raising=False)
    monkeypatch.chdir(tmp_path)
    assert not (REPO / "compiler" / "egressctl" / "_chart").exists()
    assert default_chart() == CHART
    assert chart_folder() == CHART


def test_environment_variable_and_flag_override_the_bundled_chart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = tmp_path / "own-chart"
    flagged = tmp_path / "flagged-chart"
    for chart in (own, flagged):
        write(chart / "Chart.yaml", "apiVersion: v2\nname: egress\nversion: 0.1.0\n")
    monkeypatch.setenv("EGRESSCTL_CHART", str(own))
    assert default_chart() == own
    assert chart_folder() == own
    assert chart_folder(flagged) == flagged  # --chart wins over the variable


def test_a_chart_folder_without_chart_yaml_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EGRESSCTL_CHART", str(tmp_path))
    with pytest.raises(UsageError, match="set EGRESSCTL_CHART or pass --chart"):
        chart_folder()


def test_bundled_folders_come_from_the_package_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wheel holds egressctl/_chart: that copy wins over any source tree."""
    package = tmp_path / "site-packages" / "egressctl"
    (package / "_chart").mkdir(parents=True)
    monkeypatch.setattr(bundled, "_package_folder", lambda: package)
    assert bundled.folder(bundled.CHART) == package / "_chart"
    # Neither in the package nor in a source tree: the package's path, for the error.
    monkeypatch.setattr(bundled, "SOURCE_TREE", tmp_path / "nowhere")
    assert bundled.folder(bundled.EXAMPLE_VALUES) == package / "_values"


# ---------------------------------------------------------------------------
# egressctl init


def test_init_writes_a_team_repository(cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    res = cli("init")
    assert res.exit_code == 0, res.stderr
    assert res.stdout == ""
    assert _tree(tmp_path) == TEAM_FILES
    wrote = [line.removeprefix("wrote ") for line in res.stderr.splitlines()]
    assert sorted(wrote[: len(TEAM_FILES)]) == TEAM_FILES
    # One source: the example values are egressctl's own values/, byte for byte.
    for name in ("egress.yaml", "dev.yaml", "prod.yaml"):
        text = (tmp_path / "values" / name).read_text(encoding="utf-8")
        assert text == (EXAMPLE_VALUES / name).read_text(encoding="utf-8"), name
    # The example files' modelines point at ../schemas/: those are written too.
    for kind in ("inventory", "env"):
        assert (tmp_path / "schemas" / f"{kind}.schema.json").read_text() == dump(kind)
    assert os.access(tmp_path / "ci" / "egress-check.sh", os.X_OK)
    assert not os.access(tmp_path / "Makefile", os.X_OK)
    assert (tmp_path / ".gitignore").read_text().splitlines()[-1] == "/build/"


def test_init_repository_holds_the_lockdown_and_passes_strict_check(
    cli, tmp_path: Path, monkeypatch
) -> None:
    """REGISTRY_ONLY, every outbound address captured (no `include`), only the metadata
    service excluded; both environments pass `check --strict`."""
    monkeypatch.chdir(tmp_path)
    assert cli("init").exit_code == 0
    inventory = yaml.safe_load((tmp_path / "values" / "egress.yaml").read_text())
    assert inventory["policy"] == "REGISTRY_ONLY"
    assert inventory["capture"] == {"exclude": ["169.254.169.254/32"]}
    assert sorted(inventory["services"]) == _example_services()
    for env in ("dev", "prod"):
        res = cli("check", "--strict", "--env", env, "--output", "json")
        assert res.exit_code == 0, res.stderr
        assert yaml.safe_load(res.stdout)["ok"] is True


def _make_dry_run(folder: Path, *args: str) -> list[list[str]]:
    """The commands `make -n ARGS` would run in ``folder``, each split into words."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))}
    proc = subprocess.run(
        ["make", "-n", "--no-print-directory", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    return [line.split() for line in proc.stdout.splitlines()]


def test_init_makefile_calls_the_installed_egressctl(cli, tmp_path: Path) -> None:
    assert cli("init", str(tmp_path)).exit_code == 0
    assert _make_dry_run(tmp_path, "check") == [
        ["egressctl", "check", "--strict", "--env", "dev"],
        ["egressctl", "check", "--strict", "--env", "prod"],
    ]
    assert _make_dry_run(tmp_path, "diff", "ENV=prod") == [["egressctl", "diff", "--env", "prod"]]
    assert _make_dry_run(tmp_path, "deploy", "ENV=prod", "ARGS=--dry-run") == [
        ["egressctl", "deploy", "--env", "prod", "--dry-run"]
    ]
    assert _make_dry_run(tmp_path, "render") == [["egressctl", "render", "--env", "dev"]]
    assert _make_dry_run(tmp_path, "check", "ENVS=staging", "EGRESSCTL=/opt/egressctl") == [
        ["/opt/egressctl", "check", "--strict", "--env", "staging"]
    ]


def test_init_into_a_new_nested_folder(cli, tmp_path: Path) -> None:
    target = tmp_path / "a" / "b"
    res = cli("init", str(target))
    assert res.exit_code == 0, res.stderr
    assert _tree(target) == TEAM_FILES
    assert f"wrote {target / 'values' / 'egress.yaml'}" in res.stderr.splitlines()


def test_init_refuses_existing_files_and_writes_nothing(cli, tmp_path: Path) -> None:
    write(tmp_path / "values" / "dev.yaml", "mine: true\n")
    write(tmp_path / "Makefile", "all:\n")
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "egress-check.sh").symlink_to(tmp_path / "missing")  # dangling
    before = _tree(tmp_path)
    res = cli("init", str(tmp_path))
    assert res.exit_code == 2
    named = [line.strip() for line in res.stderr.splitlines()[1:]]
    assert named == [
        f"{tmp_path / 'Makefile'} exists",
        f"{tmp_path / 'ci' / 'egress-check.sh'} exists",
        f"{tmp_path / 'values' / 'dev.yaml'} exists",
    ]
    assert "nothing was written" in res.stderr.splitlines()[0]
    assert _tree(tmp_path) == before
    assert (tmp_path / "values" / "dev.yaml").read_text() == "mine: true\n"
    assert not (tmp_path / "schemas").exists()


def test_init_refuses_a_file_where_a_folder_goes(cli, tmp_path: Path) -> None:
    write(tmp_path / "values", "not a folder\n")
    res = cli("init", str(tmp_path))
    assert res.exit_code == 2
    assert [line.strip() for line in res.stderr.splitlines()[1:]] == [
        f"{tmp_path / 'values'} is not a folder"
    ]
    assert _tree(tmp_path) == ["values"]


@pytest.mark.parametrize("where", ["file", "below-a-file"])
def test_init_refuses_a_dir_that_is_not_a_folder(cli, tmp_path: Path, where: str) -> None:
    blocker = write(tmp_path / "team", "a file\n")
    target = blocker if where == "file" else blocker / "sub"
    res = cli("init", str(target))
    assert res.exit_code == 2
    assert res.stderr.splitlines() == [
        f"cannot init {target}: {blocker} is not a folder; nothing was written"
    ]
    assert _tree(tmp_path) == ["team"]


def test_init_failing_midway_removes_what_it_wrote(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write that fails (a full disk; as root a read-only folder does not stop us)
    leaves the folder as it was."""
    real_open = os.open
    target = tmp_path / "team"

    def failing_open(path: Any, flags: int, mode: int = 0o777, **kw: Any) -> int:
        if str(path).endswith("prod.yaml"):
            raise OSError(28, "No space left on device")
        return real_open(path, flags, mode, **kw)

    monkeypatch.setattr(os, "open", failing_open)
    res = cli("init", str(target))
    monkeypatch.undo()
    assert res.exit_code == 2
    assert res.stderr.splitlines() == [
        f"cannot write {target / 'values' / 'prod.yaml'}: No space left on device; "
        "nothing was written"
    ]
    assert not target.exists()


def test_init_refusal_is_one_message_not_a_traceback(tmp_path: Path) -> None:
    """Through the entry point in a real process, where a traceback would show."""
    write(tmp_path / "Makefile", "all:\n")
    proc = subprocess.run(
        [sys.executable, "-m", "egressctl", "init"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "egressctl init overwrites no file; these are in the way, nothing was written:",
        "    Makefile exists",
    ]


def test_team_files_are_a_pure_function_of_the_examples() -> None:
    examples = {"egress.yaml": "policy: REGISTRY_ONLY\n", "dev.yaml": "d\n", "prod.yaml": "p\n"}
    files = {f.path: f for f in scaffold.team_files(examples)}
    assert sorted(files) == TEAM_FILES
    assert files["values/dev.yaml"].text == "d\n"
    assert [f.path for f in files.values() if f.executable] == ["ci/egress-check.sh"]
    assert "ENVS ?= dev prod\n" in files["Makefile"].text
    for path, f in files.items():
        assert f.text.endswith("\n"), path
    assert all(line.startswith("\t") for line in _recipe_lines(files["Makefile"].text))


def _recipe_lines(makefile: str) -> list[str]:
    """The lines under a rule (``target:``) up to the next blank line."""
    out, inside = [], False
    for line in makefile.splitlines():
        if not line.strip():
            inside = False
        elif inside:
            out.append(line)
        elif line.endswith(":") and not line.startswith(("#", ".")):
            inside = True
    return out


# ---------------------------------------------------------------------------
# The wheel, installed into a fresh virtual environment


def _run(argv: list[str | Path], **kw: Any) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([str(a) for a in argv], capture_output=True, text=True, check=False, **kw)
    assert proc.returncode == 0, f"{argv}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def _build_wheel(work: Path) -> Path:
    """sdist, then a wheel from the unpacked sdist (what `python -m build` does), with
    this environment's setuptools (no build isolation: no download)."""
    try:
        import setuptools
    except ImportError:  # pragma: no cover - make setup installs it
        pytest.fail("setuptools is missing from the test environment: run `make setup`")
    if tuple(int(p) for p in setuptools.__version__.split(".")[:2]) < (70, 1):
        pytest.fail(
            f"setuptools {setuptools.__version__} cannot build wheels by itself (70.1+ "
            "can): run `make setup`"
        )
    # Copy what the build reads: it writes build/ and *.egg-info into its source folder.
    src = work / "src"
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in ("pyproject.toml", "README.md"):
        src.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, src / name)
    for name in ("compiler", "chart", "values"):
        shutil.copytree(REPO / name, src / name, ignore=skip)
    dist = work / "dist"
    hook = (
        "import sys; from setuptools import build_meta; print(build_meta.build_sdist(sys.argv[1]))"
    )
    sdist_name = _run([sys.executable, "-c", hook, dist], cwd=src).stdout.split()[-1]
    with tarfile.open(dist / sdist_name) as tar:
        # Python 3.10.12+/3.11.4+ check members themselves; older ones trust our own sdist.
        safe: dict[str, Any] = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        tar.extractall(work / "sdist", **safe)  # noqa: S202
    (unpacked,) = (work / "sdist").iterdir()
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            f"--wheel-dir={dist}",
            unpacked,
        ]
    )
    (wheel,) = dist.glob("egressctl-*.whl")
    return wheel


def _check_wheel_contents(wheel: Path) -> None:
    """Every module of compiler/ (pyproject.toml lists the packages), and the chart and
    example values ship inside the package."""
    names = set(zipfile.ZipFile(wheel).namelist())
    package = REPO / "compiler" / "egressctl"
    modules = {f"egressctl/{p.relative_to(package).as_posix()}" for p in package.rglob("*.py")}
    missing = sorted(modules - names)
    assert not missing, f"add their packages to pyproject.toml's packages: {missing}"
    chart_files = {
        f"egressctl/_chart/{p.relative_to(CHART).as_posix()}"
        for p in CHART.rglob("*")
        if p.is_file() and p.relative_to(CHART).parts[0] != "ci"
    }
    missing = sorted(chart_files - names)
    assert not missing, f"add them to pyproject.toml's package-data: {missing}"
    examples = {f"egressctl/_values/{n}" for n in scaffold.EXAMPLE_VALUES}
    assert examples <= names


def _fresh_venv(work: Path, wheel: Path) -> tuple[Path, Path]:
    """A new virtual environment with the wheel installed.  Its dependencies come from
    this environment's site-packages through a .pth line (no download); .pth files
    there, such as the editable install's, are not read through such a line, so
    egressctl itself can only come from the wheel."""
    venv = work / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv])
    python = venv / "bin" / "python"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            f"--python={python}",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--no-index",
            wheel,
        ]
    )
    purelib = _run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"])
    ours = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    pth = Path(purelib.stdout.strip()) / "egressctl-test-dependencies.pth"
    pth.write_text("".join(f"{p}\n" for p in sorted(ours)), encoding="utf-8")
    return venv, pth.parent


@pytest.mark.install
def test_wheel_installed_in_a_fresh_venv_inits_checks_renders_and_deploys(
    tmp_path: Path, kubectl: FakeKubectl, helm4: str
) -> None:
    wheel = _build_wheel(tmp_path / "build")
    _check_wheel_contents(wheel)
    venv, site = _fresh_venv(tmp_path / "build", wheel)
    team = tmp_path / "team"
    team.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MAKE", "MFLAGS", "PYTHON", "EGRESSCTL_CHART", "VIRTUAL_ENV"))
    }
    # The kubectl fixture's PATH (the stand-in and helm 4), then the venv's egressctl,
    # then make and sh.
    env["PATH"] = os.pathsep.join([str(venv / "bin"), os.environ["PATH"], "/usr/bin", "/bin"])
    env["EGRESSCTL_HELM"] = helm4

    def run(*argv: str, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            list(argv), cwd=team, env=env, capture_output=True, text=True, check=False
        )
        assert proc.returncode in ok, f"{argv}: exit {proc.returncode}\n{proc.stderr}"
        return proc

    # The installed egressctl is the wheel's, and finds the chart inside itself.
    where = run(
        "python",
        "-c",
        "import egressctl; from egressctl.charts.render import default_chart; "
        "print(egressctl.__file__); print(default_chart())",
    ).stdout.split()
    assert [Path(p) for p in where] == [
        site / "egressctl" / "__init__.py",
        site / "egressctl" / "_chart",
    ]
    assert shutil.which("egressctl", path=env["PATH"]) == str(venv / "bin" / "egressctl")

    run("egressctl", "init")
    assert _tree(team) == TEAM_FILES
    for name in scaffold.EXAMPLE_VALUES:
        assert (team / "values" / name).read_bytes() == (EXAMPLE_VALUES / name).read_bytes()
    again = run("egressctl", "init", ok=(2,))
    assert len(again.stderr.splitlines()) == 1 + len(TEAM_FILES)

    run("egressctl", "check", "--env", "dev")
    run("egressctl", "render", "--env", "dev")
    rendered = load_all((team / "build" / "dev" / "egress.yaml").read_text())
    services = _example_services()
    assert sorted(o["metadata"]["name"] for o in rendered if o["kind"] == "ServiceEntry") == (
        services
    )

    # The repository's own entry points: its Makefile and its CI script.
    def diffs() -> int:
        return len([c for c in kubectl.calls() if "diff" in c["argv"]])

    run("make", "check")
    run("sh", "ci/egress-check.sh")
    assert diffs() == 0
    run("egressctl", "diff", "--env", "dev", ok=(1,))  # an empty cluster: all would change
    seen = diffs()
    env["DIFF_ENVS"] = "dev"
    run("sh", "ci/egress-check.sh")  # and that is no failure: a change under review has it
    assert diffs() > seen > 0
    run("make", "deploy", "ENV=dev", "ARGS=--yes")
    assert kubectl.names("ServiceEntry") == services
    assert [c for c in kubectl.applies() if "--dry-run=server" not in c["argv"]]
