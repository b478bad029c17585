"""`make bench`: egressctl at fleet scale, against floors measured in the same run.

For 1,000, 10,000 and 50,000 generated services (bench/gen.py) it times, as medians of
several runs in this process tree (the commands of one size run in interleaved rounds, so
a machine that slows down mid-run slows every column alike; each ratio is the median of
the rounds' own ratios, a round running the commands it compares back to back, and the
goal lines give the ratio of the columns' medians beside it):

* compile  — `egressctl compile INV -o OUT`, a whole process as a user runs it;
* floor    — one Python process that loads the same inventory with PyYAML's C loader and
             dumps the same generated values with PyYAML's C dumper (the values reach it
             as a pickle, which costs next to nothing);
* check    — `egressctl check INV`;
* chart    — `helm template` of chart/ with the generated values;
* static   — `helm template` of a chart holding the very same rendered objects as static
             YAML, split into files under helm's 5 MiB limit (checked: same objects);
* values   — `helm template` of chart/ with its templates left out, with the same values:
             what helm spends reading the values file and checking it against the schema
             before any template runs.  No chart that reads these values can beat
             `bound` = (values - start-up + static) / static: it pays this, then the same
             post-processing of the same output as the static chart; chart/bound is
             what the templates add on top of that;

and the whole path a user waits for:

* render   — `egressctl render --env bench`: compile, `helm template` of chart/ and of
             the Istio chart (tests/charts/istiod, the stand-in: no network), every
             check, the files written;
* cenv, chenv — its parts alone: `egressctl compile --env bench` and `helm template` of
             chart/ with the environment's chart/ values (as `compile`, `chart`, but for
             the environment: its objects carry the owner's labels and annotation);
* istio2   — `helm template` of that Istio chart with the Istio values of a 2-service
             environment: what the Istio chart costs alone (it must not grow with the
             inventory), so that parts = cenv + chenv + istio2;
* deploy0, deployN — `egressctl deploy --env bench --dry-run` against a kubectl that
             answers at once (bench/kubectl.py): an empty cluster, then one already
             holding every rendered object; with the number of kubectl calls each made
             (it must not grow with the services).  Up to 10,000 services only (at
             50,000 it would double the bench's time).

and the peak RSS of egressctl's own processes (compile, check) and of helm (`render`'s
peak is that of its helm child).  Beside render / parts (wall time, what a user waits
for) it prints the same ratio of processor time (user + system, children included):
render runs chart/ in two helm processes side by side from 2,000 services on, which
shortens the wait without making anything cheaper, and the `cpu` column shows what
render costs beyond its parts all the same.  It prints two tables and closing lines with the goals
at 10,000 services: compile / floor, chart/bound, render / parts, deploy / render.

One size: `BENCH_SIZES=10000 make bench` (the goals' size alone, 7 rounds);
`BENCH_RUNS=N` for N rounds of every size.  On a machine others use, read the columns
of one run against each other only (they run interleaved), never against another run.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen import inventory

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ISTIO_CHART = REPO / "tests" / "charts" / "istiod"
DEPLOY_MAX = 10000  # deploy columns up to this size
SIZES = [int(s) for s in os.environ.get("BENCH_SIZES", "1000,10000,50000").split(",")]
RUNS = {1000: 3, 10000: 7, 50000: 1}  # the goals' size: 7 rounds, for steadier medians
if "BENCH_RUNS" in os.environ:
    RUNS = dict.fromkeys(SIZES, int(os.environ["BENCH_RUNS"]))
FLOOR = """
import pickle, sys, yaml
yaml.load(open(sys.argv[1], encoding="utf-8"), Loader=yaml.CSafeLoader)
values = pickle.load(open(sys.argv[2], "rb"))
sys.stdout.write(yaml.dump(values, Dumper=yaml.CSafeDumper, sort_keys=False))
"""
SPLIT = 4 * 1024 * 1024
TO_PICKLE = """
import pickle, sys, yaml
values = yaml.load(open(sys.argv[1], encoding="utf-8"), Loader=yaml.CSafeLoader)
open(sys.argv[2], "wb").write(pickle.dumps(values, protocol=pickle.HIGHEST_PROTOCOL))
"""


Sample = tuple[float, int, float]  # wall seconds, peak MiB, processor seconds


def timed(
    argv: list[str],
    cwd: Path,
    keep: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Sample:
    """Wall seconds, peak RSS (MiB) and processor seconds (user + system, its own
    children's included) of one child process; it must succeed.  Its output goes to
    /dev/null, or to `keep` when the caller needs it afterwards."""
    start = time.perf_counter()
    with open(keep or os.devnull, "wb") as sink:  # noqa: PTH123
        proc = subprocess.Popen(argv, cwd=cwd, stdout=sink, stderr=subprocess.PIPE, env=env)
        assert proc.stderr is not None
        err = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"bench: {' '.join(argv)} failed ({proc.returncode}):\n{err.decode()[-2000:]}")
    return seconds, usage.ru_maxrss // 1024, usage.ru_utime + usage.ru_stime


def static_chart(rendered: str, folder: Path) -> Path:
    (folder / "templates").mkdir(parents=True)
    (folder / "Chart.yaml").write_text("apiVersion: v2\nname: static\nversion: 0.1.0\n")
    docs = [d for d in rendered.split("\n---\n") if d.strip()]
    chunk: list[str] = []
    size = n = 0
    for doc in [*docs, None]:
        if doc is None or (size + len(doc) > SPLIT and chunk):
            text = "\n---\n".join(chunk).replace("{{", '{{ "{{" }}') + "\n"
            (folder / "templates" / f"part{n:03d}.yaml").write_text(text)
            chunk, size, n = [], 0, n + 1
        if doc is not None:
            chunk.append(doc)
            size += len(doc) + 5
    return folder


def values_chart(folder: Path) -> Path:
    """chart/ without its templates: helm loads and schema-checks the values, renders nothing."""
    (folder / "templates").mkdir(parents=True)
    for name in ("Chart.yaml", "values.yaml", "values.schema.json"):
        (folder / name).write_bytes((REPO / "chart" / name).read_bytes())
    return folder


def documents(rendered: str) -> list[str]:
    """The rendered objects, without helm's `# Source:` lines, in a stable order."""
    docs = (
        "\n".join(x for x in d.splitlines() if not x.startswith("# Source: ")).strip()
        for d in rendered.split("\n---\n")
    )
    return sorted(d for d in docs if d)


def helm() -> str:
    from egressctl.charts.helm import find_helm

    return find_helm()


ENVIRONMENT = """inventory: [inventory.yaml]
context: bench
namespace: istio-system
istio:
  chart: {chart}
  release: istiod
"""
TWO_SERVICES = """policy: REGISTRY_ONLY
capture:
  exclude: [169.254.169.254/32]
services:
  a: {host: a.example, ports: [443/https]}
  b: {host: b.example, ports: [80/http]}
"""


def kubectl_stub(folder: Path) -> Path:
    """A bin folder holding bench/kubectl.py as `kubectl`, run by this Python without
    its site packages (it needs none; it starts faster)."""
    folder.mkdir(parents=True)
    stub = folder / "kubectl"
    # sh, not a `#!` line to this Python: a #! line cannot hold a path with spaces.
    code = REPO / "bench" / "kubectl.py"
    stub.write_text(
        f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -S {shlex.quote(str(code))} "$@"\n'
    )
    stub.chmod(0o755)
    return folder


def live_cluster(build: Path, target: Path) -> Path:
    """What a cluster holding a render's objects answers (bench/kubectl.py's folder): the
    egress objects, and the mesh and injector ConfigMaps of the Istio render."""
    from egressctl.charts.manifests import parse_manifests

    egress = parse_manifests((build / "egress.yaml").read_text(encoding="utf-8"))
    istio = parse_manifests((build / "istio.yaml").read_text(encoding="utf-8"))
    configmaps = {o["metadata"]["name"]: o for o in istio if o.get("kind") == "ConfigMap"}
    target.mkdir()
    listed = {"apiVersion": "v1", "kind": "List", "items": egress}
    (target / "egress.json").write_text(json.dumps(listed), encoding="utf-8")
    (target / "configmaps.json").write_text(json.dumps(configmaps), encoding="utf-8")
    return target


def calls(log: Path) -> int:
    """kubectl calls logged since the last look (the log is emptied)."""
    n = len(log.read_text(encoding="utf-8").splitlines()) if log.exists() else 0
    log.write_text("", encoding="utf-8")
    return n


def bench(n: int, work: Path) -> dict[str, float]:
    runs = RUNS.get(n, 3)
    folder = work / str(n)
    (folder / "values").mkdir(parents=True)
    inv = folder / "values" / "inventory.yaml"
    inv.write_text(inventory(n), encoding="utf-8")
    (folder / "values" / "bench.yaml").write_text(ENVIRONMENT.format(chart=ISTIO_CHART))
    two = folder / "two.yaml"
    two.write_text(TWO_SERVICES, encoding="utf-8")
    out = folder / "values.yaml"
    istio2 = folder / "istio2-values.yaml"
    pkl = folder / "values.pkl"
    rendered, again = folder / "chart.out", folder / "static.out"
    egressctl = str(BIN / "egressctl")
    subprocess.run(
        [egressctl, "-q", "compile", "--istio", str(two), "-o", str(istio2)],
        check=True,
        capture_output=True,
    )
    template = [helm(), "template", "egress", "--namespace", "istio-system"]
    istio_template = [helm(), "template", "istiod", "--namespace", "istio-system"]
    static, bare = folder / "static", values_chart(folder / "values-only")
    build = folder / "build" / "bench"
    env_out = folder / "env-values.yaml"
    # In each round the commands a ratio compares run back to back (compile, floor;
    # chart, static, values, startup; cenv, chenv, istio2, render, deploy0, deployN).
    commands = {
        "compile": [egressctl, "compile", str(inv), "-o", str(out)],
        "floor": [sys.executable, "-c", FLOOR, str(inv), str(pkl)],
        "check": [egressctl, "check", str(inv)],
        "chart": [*template, str(REPO / "chart"), "--values", str(out)],
        "static": [*template, str(static)],
        "values": [*template, str(bare), "--values", str(out)],
        "startup": [*template, str(bare)],
        "cenv": [egressctl, "-q", "compile", "--env", "bench", "-o", str(env_out)],
        "chenv": [*template, str(REPO / "chart"), "--values", str(env_out)],
        "istio2": [*istio_template, str(ISTIO_CHART), "--values", str(istio2)],
        "render": [egressctl, "-q", "render", "--env", "bench", "--out", str(build)],
    }
    deploy = [egressctl, "-q", "deploy", "--env", "bench", "--dry-run"]
    log = folder / "kubectl.log"
    stub_path = f"{kubectl_stub(folder / 'stub')}{os.pathsep}{os.environ.get('PATH', '')}"
    stub_env = {**os.environ, "PATH": stub_path, "BENCH_KUBECTL_LOG": str(log)}
    stub_env.pop("BENCH_KUBECTL_LIVE", None)
    live = folder / "live"
    envs = {
        "deploy0": stub_env,
        "deployN": {**stub_env, "BENCH_KUBECTL_LIVE": str(live)},
    }
    if n <= DEPLOY_MAX:
        commands |= dict.fromkeys(envs, deploy)
    samples: dict[str, list[Sample]] = {name: [] for name in commands}
    kubectl_calls: dict[str, int] = {}
    for round_ in range(runs):
        for name, argv in commands.items():
            if round_ == 0 and name == "floor":
                # In a child: a forked child's peak RSS starts at its parent's size, so
                # this process stays small to keep the peak-memory column honest.
                subprocess.run([sys.executable, "-c", TO_PICKLE, str(out), str(pkl)], check=True)
            if round_ == 0 and name == "static":
                static_chart(rendered.read_text(encoding="utf-8"), static)
            if round_ == 0 and name == "deployN":
                live_cluster(build, live)
            keep = {"chart": rendered, "static": again}.get(name) if round_ == 0 else None
            samples[name].append(timed(argv, folder, keep, envs.get(name)))
            if name in envs:
                kubectl_calls[name] = calls(log)
    if documents(again.read_text(encoding="utf-8")) != documents(rendered.read_text("utf-8")):
        sys.exit("bench: the static chart does not render the same objects as chart/")
    shutil.rmtree(folder / "build")
    row: dict[str, float] = {"services": n, "runs": runs}
    for name, results in samples.items():
        row[name] = statistics.median(r[0] for r in results)
        row[f"{name}_mb"] = max(r[1] for r in results)
        row[f"{name}_cpu"] = statistics.median(r[2] for r in results)
    row["values_mb_size"] = out.stat().st_size / 2**20
    row["parts"] = row["cenv"] + row["chenv"] + row["istio2"]
    row |= ratios(samples)
    for name, count in kubectl_calls.items():
        row[f"{name}_calls"] = count
    return row


def ratios(samples: Mapping[str, list[Sample]]) -> dict[str, float]:
    """Every ratio the bench reports, each the median over the rounds of that round's own
    ratio: a round runs the commands it compares back to back, so a machine that speeds
    up or slows down between rounds moves both sides of a ratio alike.  The same ratio
    taken from the columns' medians is kept beside it (`<name>_m`) for the goal lines."""
    Round = Mapping[str, Sample]

    def bound(r: Round) -> float:  # what any chart reading these values pays, in seconds
        return r["values"][0] - r["startup"][0] + r["static"][0]

    def parts(r: Round, at: int = 0) -> float:
        return sum(r[name][at] for name in ("cenv", "chenv", "istio2"))

    each: dict[str, Callable[[Round], float]] = {
        "compile_ratio": lambda r: r["compile"][0] / r["floor"][0],
        "chart_ratio": lambda r: r["chart"][0] / r["static"][0],
        "bound": lambda r: bound(r) / r["static"][0],
        "cb": lambda r: r["chart"][0] / bound(r),
        "render_ratio": lambda r: r["render"][0] / parts(r),
        "render_cpu_ratio": lambda r: r["render"][2] / parts(r, 2),
    }

    def over_render(name: str) -> Callable[[Round], float]:
        return lambda r: r[name][0] / r["render"][0]

    for name in ("deploy0", "deployN"):
        if name in samples:
            each[f"{name}_ratio"] = over_render(name)
    rounds = [
        {name: results[i] for name, results in samples.items()}
        for i in range(len(samples["chart"]))
    ]
    medians: Round = {
        name: (
            statistics.median(r[0] for r in results),
            0,
            statistics.median(r[2] for r in results),
        )
        for name, results in samples.items()
    }
    row = {key: statistics.median(f(r) for r in rounds) for key, f in each.items()}
    return row | {f"{key}_m": f(medians) for key, f in each.items()}


def main() -> int:
    started = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory(prefix="egressctl-bench-") as tmp:
        for n in SIZES:
            rows.append(bench(n, Path(tmp)))
            sys.stderr.write(f"bench: {n:,} services done ({time.perf_counter() - started:.0f}s)\n")
    print_tables(rows)
    print(
        f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
        f"{helm_version()}; total {time.perf_counter() - started:.0f}s"
    )
    print_goals(rows)
    return 0


def met(value: float, goal: float) -> str:
    return f"goal <= {goal}: {'met' if value <= goal else 'NOT met'}"


def print_tables(rows: list[dict[str, float]]) -> None:
    """Table 1: compile and chart against their floors; table 2: the whole path."""
    head = (
        f"{'services':>9} {'runs':>4} {'compile':>8} {'floor':>7} {'ratio':>6} {'check':>7} "
        f"{'chart':>7} {'static':>7} {'ratio':>6} {'values':>7} {'bound':>6} {'c/b':>5} "
        f"{'MiB ours':>8} {'MiB helm':>8}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        ours = max(r["compile_mb"], r["check_mb"])  # egressctl's own processes
        theirs = max(r["chart_mb"], r["render_mb"])  # render's peak is its helm child's
        print(
            f"{int(r['services']):>9,} {int(r['runs']):>4} {r['compile']:>7.2f}s "
            f"{r['floor']:>6.2f}s {r['compile_ratio']:>6.2f} {r['check']:>6.2f}s "
            f"{r['chart']:>6.2f}s {r['static']:>6.2f}s {r['chart_ratio']:>6.2f} "
            f"{r['values']:>6.2f}s {r['bound']:>6.2f} {r['cb']:>5.2f} {ours:>8} {theirs:>8}"
        )
    print()
    head = (
        f"{'services':>9} {'render':>7} {'cenv':>7} {'chenv':>7} {'istio2':>7} {'parts':>7} "
        f"{'ratio':>6} {'cpu':>6} "
        f"{'deploy0':>8} {'ratio':>6} {'calls':>5} {'deployN':>8} {'ratio':>6} {'calls':>5}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        line = (
            f"{int(r['services']):>9,} {r['render']:>6.2f}s {r['cenv']:>6.2f}s "
            f"{r['chenv']:>6.2f}s {r['istio2']:>6.2f}s {r['parts']:>6.2f}s "
            f"{r['render_ratio']:>6.2f} {r['render_cpu_ratio']:>6.2f}"
        )
        for name in ("deploy0", "deployN"):
            if name in r:
                line += f" {r[name]:>7.2f}s {r[name + '_ratio']:>6.2f} {int(r[name + '_calls']):>5}"
            else:
                line += f" {'-':>8} {'-':>6} {'-':>5}"
        print(line)
    keys = ("compile", "check", "render", "chart", "static", "values", "istio2")
    for first in rows[:-1]:
        last = rows[-1]
        scale = last["services"] / first["services"]
        growth = {k: last[k] / first[k] / scale for k in keys}
        print(
            f"time per service, {int(last['services']):,} vs {int(first['services']):,} "
            "services (1.00 = linear): " + ", ".join(f"{k} {v:.2f}" for k, v in growth.items())
        )


def print_goals(rows: list[dict[str, float]]) -> None:
    """The goals, at 10,000 services (else the largest size run)."""
    ten = next((r for r in rows if r["services"] == 10000), rows[-1])
    at = f"at {int(ten['services']):,} services:"
    c, h, cb = ten["compile_ratio"], ten["chart_ratio"], ten["cb"]
    print(
        f"{at} compile ratio {c:.2f} ({met(c, 2.0)}), chart/bound {cb:.2f} ({met(cb, 1.15)}; "
        f"{ten['cb_m']:.2f} from the medians; chart ratio {h:.2f}, and no chart reading "
        f"these values can go below {ten['bound']:.2f})"
    )
    p, cpu = ten["render_ratio"], ten["render_cpu_ratio"]
    line = (
        f"{at} render {ten['render']:.2f}s = {p:.2f} x its parts ({met(p, 1.15)}; "
        f"{ten['render_ratio_m']:.2f} from the medians; processor time {cpu:.2f} x theirs)"
    )
    if "deploy0" in ten:
        d0, dn = ten["deploy0_ratio"], ten["deployN_ratio"]
        worst = max(d0, dn)
        counted = sorted(
            {(int(r["deploy0_calls"]), int(r["deployN_calls"])) for r in rows if "deploy0" in r}
        )
        calls = "; ".join(f"{a} and {b}" for a, b in counted)
        same = "the same at every size" if len(counted) == 1 else "NOT the same at every size"
        line += (
            f"; deploy --dry-run {d0:.2f} x render on an empty cluster, {dn:.2f} x on one "
            f"holding the objects ({met(worst, 1.3)}; {ten['deploy0_ratio_m']:.2f} and "
            f"{ten['deployN_ratio_m']:.2f} from the medians); kubectl calls {calls} ({same})"
        )
    print(line)


def helm_version() -> str:
    from egressctl.charts.helm import helm_version as version

    return "helm " + ".".join(map(str, version(helm())))


if __name__ == "__main__":
    sys.exit(main())
