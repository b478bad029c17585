"""The CLI through its real entry point: stdout is data, files are written whole."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

from egressctl import __version__
from egressctl.cli.output import effective_line
from egressctl.crd import CrdSet
from tests.conftest import CRDS, MINI_ISTIO_BLOCK, REPO, SEED, EnvFile, load_all, write

SEED_GOLDEN = (REPO / "tests" / "golden" / "seed" / "values.yaml").read_text(encoding="utf-8")


def test_compile_to_stdout_is_only_yaml(cli, project: Path) -> None:
    inv = write(project / "inventory.yaml", SEED)
    res = cli("compile", "inventory.yaml")
    assert res.exit_code == 0, res.stderr
    assert res.stdout == SEED_GOLDEN
    assert inv.read_text() == SEED  # nothing else changed
    assert sorted(p.name for p in project.iterdir()) == ["inventory.yaml", "values"]


def test_compile_in_a_real_process_pipes_cleanly(project: Path) -> None:
    """As a user pipes it: stdout parses as the values, stderr holds nothing but notes."""
    write(project / "inventory.yaml", SEED)
    proc = subprocess.run(
        [sys.executable, "-m", "egressctl", "compile", "inventory.yaml"],
        capture_output=True,
        text=True,
        check=False,
        cwd=project,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == SEED_GOLDEN
    assert sorted(yaml.safe_load(proc.stdout)["serviceEntries"]) == ["google", "httpbin-ext"]


def test_compile_out_file(cli, project: Path) -> None:
    write(project / "inventory.yaml", SEED)
    res = cli("compile", "inventory.yaml", "-o", "build/values.yaml")
    assert res.exit_code == 0, res.stderr
    assert res.stdout == ""
    assert (project / "build" / "values.yaml").read_text() == SEED_GOLDEN
    assert [p.name for p in (project / "build").iterdir()] == ["values.yaml"]  # no temp left


def test_compile_env_applies_overrides(cli, project: Path) -> None:
    write(project / "values" / "egress.yaml", SEED)
    write(
        project / "values" / "dev.yaml",
        "inventory: [egress.yaml]\ncontext: kind-dev\nnetworkingApiVersion: v1beta1\n"
        "egress:\n  policy: ALLOW_ANY\n  services:\n    google: null\n",
    )
    res = cli("compile", "--env", "dev")
    assert res.exit_code == 0, res.stderr
    values = yaml.safe_load(res.stdout)
    istio = yaml.safe_load(cli("compile", "--env", "dev", "--istio").stdout)
    assert istio["meshConfig"]["outboundTrafficPolicy"]["mode"] == "ALLOW_ANY"
    assert istio["global"]["outboundTrafficPolicy"]["mode"] == "ALLOW_ANY"
    assert list(values["serviceEntries"]) == ["httpbin-ext"]
    assert values["tlsRoutes"] == {}
    assert values["networkingApiVersion"] == "networking.istio.io/v1beta1"


def test_env_by_path(cli, project: Path) -> None:
    write(project / "elsewhere" / "egress.yaml", SEED)
    write(project / "elsewhere" / "stage.yaml", "inventory: egress.yaml\ncontext: stage\n")
    res = cli("compile", "--env", "elsewhere/stage.yaml")
    assert res.exit_code == 0, res.stderr
    assert yaml.safe_load(res.stdout)["owner"]["environment"] == "stage"


def test_compile_needs_files_or_env(cli, project: Path) -> None:
    res = cli("compile")
    assert res.exit_code == 2
    assert "give inventory files or --env" in res.stderr


def test_unknown_option_is_usage_error(cli) -> None:
    res = cli("compile", "--bogus")
    assert res.exit_code == 2


def test_version(cli) -> None:
    res = cli("version")
    assert res.exit_code == 0
    assert res.stdout.strip() == __version__


def test_render_writes_values_and_manifests_and_summarises(
    cli, project: Path, env_file: EnvFile, helm: str
) -> None:
    env_file(namespace="istio-system")
    res = cli("render", "--env", "dev")
    assert res.exit_code == 0, res.stderr
    assert res.stdout == ""
    out = project / "build" / "dev"
    assert sorted(p.name for p in out.iterdir()) == [
        "egress.yaml",
        "istio-values.yaml",
        "values.yaml",
    ]
    kinds = sorted(o["kind"] for o in load_all((out / "egress.yaml").read_text()))
    assert kinds == ["ServiceEntry", "ServiceEntry", "VirtualService"]
    assert "policy  REGISTRY_ONLY" in res.stderr
    assert "capture include 10.96.0.0/12,10.244.0.0/16; exclude (none)" in res.stderr
    assert "egress  ServiceEntry 2, VirtualService 1" in res.stderr
    assert "istio   not rendered: no istio.chart in values/dev.yaml" in res.stderr


def test_render_with_istio_chart_puts_generated_values_last(
    cli, project: Path, env_file: EnvFile, helm: str
) -> None:
    env_file(namespace="istio-system", istio={**MINI_ISTIO_BLOCK, "values": ["istio-dev.yaml"]})
    # The team's values file tries to set the policy; the generated values must win.
    write(
        project / "values" / "istio-dev.yaml",
        "meshConfig:\n  outboundTrafficPolicy:\n    mode: ALLOW_ANY\n",
    )
    res = cli("render", "--env", "dev", "--out", "out")
    assert res.exit_code == 0, res.stderr
    objs = {
        o["metadata"]["name"]: o for o in load_all((project / "out" / "istio.yaml").read_text())
    }
    mesh = yaml.safe_load(objs["istio"]["data"]["mesh"])
    assert mesh["outboundTrafficPolicy"]["mode"] == "REGISTRY_ONLY"
    injector = json.loads(objs["istio-sidecar-injector"]["data"]["values"])
    assert injector["global"]["proxy"]["includeIPRanges"] == "10.96.0.0/12,10.244.0.0/16"
    assert "istio   ConfigMap 2" in res.stderr
    # The echoed helm command, parsed: the team's file first, the generated values last
    # (on helm's stdin, `--values -`: helm is started while egressctl compiles, #12).
    echoed = [
        shlex.split(line[2:])
        for line in res.stderr.splitlines()
        if line.startswith("$ ") and " template " in line and "istiod" in line
    ]
    assert len(echoed) == 1
    argv = echoed[0]
    values = [argv[i + 1] for i, word in enumerate(argv) if word == "--values"]
    assert [Path(v).name for v in values] == ["istio-dev.yaml", "-"]
    assert argv[argv.index("--values", argv.index("--values") + 1) + 2] == "--"


def test_render_json_summary(cli, env_file: EnvFile, helm: str) -> None:
    env_file(namespace="istio-system")
    res = cli("render", "--env", "dev", "--output", "json")
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    # SEED's narrowed capture is an acknowledged warning (issue #11).
    assert [(f["code"], f["severity"]) for f in doc.pop("findings")] == [
        ("policy-bypassed-by-capture", "warning")
    ]
    assert doc == {
        "command": "render",
        "data": {
            "context": "kind-dev",
            # SEED narrows the capture (acknowledged): every host bypasses the sidecar
            "effectivePolicy": [
                {"destination": "www.google.com", "port": 443, "verdict": "bypass"},
                {"destination": "httpbin.org", "port": 80, "verdict": "bypass"},
                {"destination": "(any other destination)", "port": None, "verdict": "bypass"},
            ],
            "egressObjects": {"ServiceEntry": 2, "VirtualService": 1},
            "environment": "dev",
            "excludeIPRanges": "",
            "files": [
                "build/dev/values.yaml",
                "build/dev/istio-values.yaml",
                "build/dev/egress.yaml",
            ],
            "gatewayCharts": [],
            "includeIPRanges": "10.96.0.0/12,10.244.0.0/16",
            "istioChart": None,
            "istioObjects": None,
            "namespace": "istio-system",
            "networkingApiVersion": "networking.istio.io/v1",
            "networkingApiVersionReason": "the default (no Istio chart in the environment)",
            "networkPolicyNamespaces": [],  # no namespace with `networkPolicy: true` (#14)
            "policy": "REGISTRY_ONLY",
            "tlsRouteApiVersion": None,  # no TLSRoute rendered (#13)
        },
        "egressctlOutputVersion": 1,
        "ok": True,
    }


def test_render_helm_failure_is_exit_4_and_writes_nothing(
    cli, project: Path, env_file: EnvFile, helm: str, tmp_path: Path
) -> None:
    broken = write(tmp_path / "broken" / "Chart.yaml", "apiVersion: v2\nname: broken\nversion: 1\n")
    write(broken.parent / "templates" / "x.yaml", '{{ fail "the chart says no" }}\n')
    write(project / "values" / "istio-dev.yaml", "revision: ''\n")
    env_file(
        namespace="istio-system",
        istio={"chart": broken.parent, "release": "istiod", "values": ["istio-dev.yaml"]},
    )
    res = cli("render", "--env", "dev")
    assert res.exit_code == 4
    assert "render the Istio chart" in res.stderr
    assert "the chart says no" in res.stderr
    assert not (project / "build").exists()


def test_check_json_lists_warnings(cli, project: Path) -> None:
    write(project / "inv.yaml", "policy: REGISTRY_ONLY\n")
    res = cli("check", "inv.yaml", "--output", "json")
    assert res.exit_code == 0
    doc = json.loads(res.stdout)
    assert doc["findings"] == [
        {
            "code": "registry-only-empty",
            "column": 9,
            "file": "inv.yaml",
            "acknowledged": None,
            "hint": "add the external services pods need, or use ALLOW_ANY",
            "line": 1,
            "message": "REGISTRY_ONLY with no services blocks all egress from the mesh",
            "path": "policy",
            "severity": "warning",
        }
    ]
    strict = cli("check", "inv.yaml", "--strict")
    assert strict.exit_code == 3


def test_shipped_example_renders(cli, helm: str, monkeypatch, tmp_path: Path) -> None:
    """The README's main job, minus make: the shipped values/dev.yaml renders (into a
    temporary folder: a test never writes into the repository)."""
    monkeypatch.chdir(REPO)
    out = tmp_path / "shipped"
    res = cli("render", "--env", "dev", "--out", str(out))
    assert res.exit_code == 0, res.stderr
    assert (out / "values.yaml").is_file() and (out / "egress.yaml").is_file()
    assert "policy  ALLOW_ANY" in res.stderr  # dev overrides the inventory's REGISTRY_ONLY
    res = cli("check", "--env", "prod")
    assert res.exit_code == 0, res.stderr
    if CRDS.is_file():  # the shipped example's render passes Istio's CRDs, CEL rules included
        objs = load_all((out / "egress.yaml").read_text())
        assert len(objs) == 3
        assert CrdSet.from_file(CRDS).validate_all(objs) == []


def test_render_without_istio_removes_an_earlier_istio_render(
    cli, project: Path, env_file: EnvFile, helm: str
) -> None:
    write(project / "values" / "istio-dev.yaml", "revision: ''\n")
    env_file(namespace="istio-system", istio={**MINI_ISTIO_BLOCK, "values": ["istio-dev.yaml"]})
    assert cli("render", "--env", "dev").exit_code == 0
    assert (project / "build" / "dev" / "istio.yaml").is_file()
    env_file(namespace="istio-system")
    assert cli("render", "--env", "dev").exit_code == 0
    assert sorted(p.name for p in (project / "build" / "dev").iterdir()) == [
        "egress.yaml",
        "istio-values.yaml",
        "values.yaml",
    ]


def test_render_summary_counts_the_verdicts_it_does_not_show(
    cli, env_file: EnvFile, helm: str
) -> None:
    """At 20 services the summary line shows 12 verdicts, counts the others and names the
    command that lists them, and always ends with what happens to anything else."""
    services = "".join(
        f"  s{i:02}: {{host: s{i:02}.example.com, ports: [443/https]}}\n" for i in range(20)
    )
    env_file(inventory=f"policy: REGISTRY_ONLY\nservices:\n{services}")
    res = cli("render", "--env", "dev", "--out", "out")
    assert res.exit_code == 0, res.stderr
    (line,) = [x for x in res.stderr.splitlines() if x.startswith("  effective policy: ")]
    parts = line.removeprefix("  effective policy: ").split("; ")
    assert parts[:12] == [f"s{i:02}.example.com:443 allowed" for i in range(12)]
    assert parts[12] == "… 8 more (`egressctl explain --all --env dev`)"
    assert parts[13:] == ["(any other destination) blocked"]
    listed = cli("render", "--env", "dev", "--out", "out", "--output", "json")
    table = json.loads(listed.stdout)["data"]["effectivePolicy"]
    assert len(table) == 21  # the JSON summary keeps them all


def test_effective_line_shows_a_short_table_whole() -> None:
    rows = [{"destination": f"h{i}", "port": 443, "verdict": "allowed"} for i in range(12)]
    last = {"destination": "(any other destination)", "port": None, "verdict": "blocked"}
    line = effective_line({"rows": [*rows, last], "last": last, "count": 13}, "prod")
    assert line.split("; ") == [
        *(f"h{i}:443 allowed" for i in range(12)),
        "(any other destination) blocked",
    ]
