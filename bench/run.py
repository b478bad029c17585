"""`make bench`: egressctl at fleet scale, against floors measured in the same run.

For 1,000, 10,000 and 50,000 generated services (bench/gen.py) it times, as medians of
several runs in this process tree (the commands of one size run in interleaved rounds, so
a machine that slows down mid-run slows every column alike):

* compile  — `egressctl compile INV -o OUT`, a whole process as a user runs it;
* floor    — one Python process that loads the same inventory with PyYAML's C loader and
             dumps the same generated values with PyYAML's C dumper (the values reach it
             as a pickle, which costs next to nothing);
* check    — `egressctl check INV`;
* render   — `egressctl render --env bench` (compile + `helm template` of chart/);
* chart    — `helm template` of chart/ with the generated values;
* static   — `helm template` of a chart holding the very same rendered objects as static
             YAML, split into files under helm's 5 MiB limit (checked: same objects);
* values   — `helm template` of chart/ with its templates left out, with the same values:
             what helm spends reading the values file and checking it against the schema
             before any template runs.  No chart that reads these values can beat
             `bound` = (values - start-up + static) / static: it pays this, then the same
             post-processing of the same output as the static chart;

and the peak RSS of egressctl's own processes (compile, check) and of helm (`render`'s
peak is that of its helm child).  It prints one table and a closing line with the two
ratios (compile / floor, chart / static) at 10,000 services.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen import inventory

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SIZES = [int(s) for s in os.environ.get("BENCH_SIZES", "1000,10000,50000").split(",")]
RUNS = {1000: 3, 10000: 3, 50000: 1}
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


def timed(argv: list[str], cwd: Path, keep: Path | None = None) -> tuple[float, int]:
    """Wall seconds and peak RSS (MiB) of one child process; it must succeed.  Its output
    goes to /dev/null, or to `keep` when the caller needs it afterwards."""
    start = time.perf_counter()
    with open(keep or os.devnull, "wb") as sink:  # noqa: PTH123
        proc = subprocess.Popen(argv, cwd=cwd, stdout=sink, stderr=subprocess.PIPE)
        assert proc.stderr is not None
        err = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"bench: {' '.join(argv)} failed ({proc.returncode}):\n{err.decode()[-2000:]}")
    return seconds, usage.ru_maxrss // 1024


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


def bench(n: int, work: Path) -> dict[str, float]:
    runs = RUNS.get(n, 3)
    folder = work / str(n)
    (folder / "values").mkdir(parents=True)
    inv = folder / "values" / "inventory.yaml"
    inv.write_text(inventory(n), encoding="utf-8")
    (folder / "values" / "bench.yaml").write_text(
        "inventory: [inventory.yaml]\ncontext: bench\nnamespace: istio-system\n"
    )
    out = folder / "values.yaml"
    pkl = folder / "values.pkl"
    rendered, again = folder / "chart.out", folder / "static.out"
    egressctl = str(BIN / "egressctl")
    template = [helm(), "template", "egress", "--namespace", "istio-system"]
    static, bare = folder / "static", values_chart(folder / "values-only")
    commands = {
        "compile": [egressctl, "compile", str(inv), "-o", str(out)],
        "floor": [sys.executable, "-c", FLOOR, str(inv), str(pkl)],
        "check": [egressctl, "check", str(inv)],
        "render": [egressctl, "-q", "render", "--env", "bench", "--out", str(folder / "build")],
        "chart": [*template, str(REPO / "chart"), "--values", str(out)],
        "static": [*template, str(static)],
        "values": [*template, str(bare), "--values", str(out)],
        "startup": [*template, str(bare)],
    }
    samples: dict[str, list[tuple[float, int]]] = {name: [] for name in commands}
    for round_ in range(runs):
        for name, argv in commands.items():
            if round_ == 0 and name == "floor":
                # In a child: a forked child's peak RSS starts at its parent's size, so
                # this process stays small to keep the peak-memory column honest.
                subprocess.run([sys.executable, "-c", TO_PICKLE, str(out), str(pkl)], check=True)
            if round_ == 0 and name == "static":
                static_chart(rendered.read_text(encoding="utf-8"), static)
            keep = {"chart": rendered, "static": again}.get(name) if round_ == 0 else None
            samples[name].append(timed(argv, folder, keep))
    if documents(again.read_text(encoding="utf-8")) != documents(rendered.read_text("utf-8")):
        sys.exit("bench: the static chart does not render the same objects as chart/")
    row: dict[str, float] = {"services": n, "runs": runs}
    for name, results in samples.items():
        row[name] = statistics.median(r[0] for r in results)
        row[f"{name}_mb"] = max(r[1] for r in results)
    row["bound"] = (row["values"] - row["startup"] + row["static"]) / row["static"]
    row["values_mb_size"] = out.stat().st_size / 2**20
    return row


def main() -> int:
    started = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory(prefix="egressctl-bench-") as tmp:
        for n in SIZES:
            rows.append(bench(n, Path(tmp)))
            sys.stderr.write(f"bench: {n:,} services done ({time.perf_counter() - started:.0f}s)\n")
    head = (
        f"{'services':>9} {'runs':>4} {'compile':>8} {'floor':>7} {'ratio':>6} {'check':>7} "
        f"{'render':>7} {'chart':>7} {'static':>7} {'ratio':>6} {'values':>7} {'bound':>6} "
        f"{'MiB ours':>8} {'MiB helm':>8}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        ours = max(r["compile_mb"], r["check_mb"])  # egressctl's own processes
        theirs = max(r["chart_mb"], r["render_mb"])  # render's peak is its helm child's
        print(
            f"{int(r['services']):>9,} {int(r['runs']):>4} {r['compile']:>7.2f}s "
            f"{r['floor']:>6.2f}s {r['compile'] / r['floor']:>6.2f} {r['check']:>6.2f}s "
            f"{r['render']:>6.2f}s {r['chart']:>6.2f}s {r['static']:>6.2f}s "
            f"{r['chart'] / r['static']:>6.2f} {r['values']:>6.2f}s {r['bound']:>6.2f} "
            f"{ours:>8} {theirs:>8}"
        )
    keys = ("compile", "check", "render", "chart", "static", "values")
    for first in rows[:-1]:
        last = rows[-1]
        scale = last["services"] / first["services"]
        growth = {k: last[k] / first[k] / scale for k in keys}
        print(
            f"time per service, {int(last['services']):,} vs {int(first['services']):,} "
            "services (1.00 = linear): " + ", ".join(f"{k} {v:.2f}" for k, v in growth.items())
        )
    print(
        f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
        f"{helm_version()}; total {time.perf_counter() - started:.0f}s"
    )
    ten = next((r for r in rows if r["services"] == 10000), rows[-1])
    c, h = ten["compile"] / ten["floor"], ten["chart"] / ten["static"]
    print(
        f"at {int(ten['services']):,} services: compile ratio {c:.2f} (goal <= 2.0: "
        f"{'met' if c <= 2.0 else 'NOT met'}), chart ratio {h:.2f} (goal <= 1.3: "
        f"{'met' if h <= 1.3 else 'NOT met'}; no chart reading these values can go "
        f"below {ten['bound']:.2f} here)"
    )
    return 0


def helm_version() -> str:
    from egressctl.charts.helm import helm_version as version

    return "helm " + ".".join(map(str, version(helm())))


if __name__ == "__main__":
    sys.exit(main())
