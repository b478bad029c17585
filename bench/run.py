"""`make bench`: egressctl at fleet scale, against floors measured in the same run.

For 1,000, 10,000 and 50,000 generated services (bench/gen.py) it times, as medians of
several runs in this process tree:

* compile  — `egressctl compile INV -o OUT`, a whole process as a user runs it;
* floor    — one Python process that loads the same inventory with PyYAML's C loader and
             dumps the same generated values with PyYAML's C dumper (the values reach it
             as a pickle, which costs next to nothing);
* check    — `egressctl check INV`;
* render   — `egressctl render --env bench` (compile + `helm template` of chart/);
* chart    — `helm template` of chart/ with the generated values;
* static   — `helm template` of a chart holding the very same rendered objects as static
             YAML, split into files under helm's 5 MiB limit;

and the peak RSS of egressctl's own processes (compile, check) and of helm (`render`'s
peak is that of its helm child).  It prints one table and a closing line with the two
ratios (compile ÷ floor, chart ÷ static) at 10,000 services.
"""

from __future__ import annotations

import os
import resource
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


def timed(argv: list[str], cwd: Path) -> tuple[float, int]:
    """Wall seconds and peak RSS (MiB) of one child process; it must succeed."""
    start = time.perf_counter()
    with open(os.devnull, "wb") as null:  # noqa: PTH123
        proc = subprocess.Popen(argv, cwd=cwd, stdout=null, stderr=subprocess.PIPE)
        assert proc.stderr is not None
        err = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"bench: {' '.join(argv)} failed ({proc.returncode}):\n{err.decode()[-2000:]}")
    return seconds, usage.ru_maxrss // 1024


def median(argv: list[str], cwd: Path, runs: int) -> tuple[float, int]:
    results = [timed(argv, cwd) for _ in range(runs)]
    return statistics.median(r[0] for r in results), max(r[1] for r in results)


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


def helm() -> str:
    from egressctl.runners import find_helm

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
    egressctl = str(BIN / "egressctl")
    row: dict[str, float] = {"services": n, "runs": runs}
    row["compile"], row["compile_mb"] = median(
        [egressctl, "compile", str(inv), "-o", str(out)], folder, runs
    )
    pkl = folder / "values.pkl"
    # In a child: a forked child's peak RSS starts at its parent's size, so this process
    # stays small to keep the peak-memory column honest.
    subprocess.run([sys.executable, "-c", TO_PICKLE, str(out), str(pkl)], check=True)
    row["floor"], row["floor_mb"] = median(
        [sys.executable, "-c", FLOOR, str(inv), str(pkl)], folder, runs
    )
    row["check"], row["check_mb"] = median([egressctl, "check", str(inv)], folder, runs)
    row["render"], row["render_mb"] = median(
        [egressctl, "-q", "render", "--env", "bench", "--out", str(folder / "build")], folder, runs
    )
    h = helm()
    chart_argv = [
        h,
        "template",
        "egress",
        str(REPO / "chart"),
        "--namespace",
        "istio-system",
        "--values",
        str(out),
    ]
    row["chart"], row["chart_mb"] = median(chart_argv, folder, runs)
    rendered = subprocess.run(chart_argv, capture_output=True, text=True, check=True).stdout
    static = static_chart(rendered, folder / "static")
    row["static"], row["static_mb"] = median(
        [h, "template", "egress", str(static), "--namespace", "istio-system"], folder, runs
    )
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
        f"{'render':>7} {'chart':>7} {'static':>7} {'ratio':>6} {'MiB ours':>8} {'MiB helm':>8} "
        f"{'µs/svc compile':>15}"
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
            f"{r['chart'] / r['static']:>6.2f} {ours:>8} {theirs:>8} "
            f"{r['compile'] / r['services'] * 1e6:>15.0f}"
        )
    first, last = rows[0], rows[-1]
    scale = last["services"] / first["services"]
    growth = {k: last[k] / first[k] / scale for k in ("compile", "check", "render", "chart")}
    print(
        "growth per service, largest vs smallest size (1.00 = linear): "
        + ", ".join(f"{k} {v:.2f}" for k, v in growth.items())
    )
    print(
        f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
        f"{resource.getpagesize()} B pages; total {time.perf_counter() - started:.0f}s"
    )
    ten = next((r for r in rows if r["services"] == 10000), rows[-1])
    c, h = ten["compile"] / ten["floor"], ten["chart"] / ten["static"]
    print(
        f"at {int(ten['services']):,} services: compile ratio {c:.2f} (goal <= 2.0: "
        f"{'met' if c <= 2.0 else 'NOT met'}), chart ratio {h:.2f} (goal <= 1.3: "
        f"{'met' if h <= 1.3 else 'NOT met'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
