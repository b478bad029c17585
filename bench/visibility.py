"""Per-namespace allowlists at scale (issue #14): what each namespace's sidecars see.

Generates SERVICES services over NAMESPACES listed namespaces, each allowing about
ALLOW of them (its own share plus a few shared by all), compiles it with
`egressctl compile` (a whole process, as a user runs it) with and without the
`namespaces:` block, and reads the generated values the way Istio reads the rendered
objects: a (host, port) pair is visible in a namespace when its ServiceEntry is exported
there and the namespace's Sidecar imports the host.  It prints the sum over namespaces
of visible pairs beside what they would see mesh-wide (every namespace sees every
entry without a Sidecar), per namespace as a share of the mesh-wide count, and the
compile times.

    python bench/visibility.py [--services 10000] [--namespaces 100] [--allow 100]
                               [--listed] [--runs 3]

Goal: each namespace sees at most 2 % of the mesh-wide pairs.  Exit 1 when it does not,
or when a compile fails.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

GOAL = 0.02
ENTRY_NS = "istio-system"  # `compile FILE…` renders the Sidecars for entries there
SHARED = 5  # services every namespace allows (a logging SaaS, the cloud's API…)
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def inventory(services: int, namespaces: int, allow: int, listed: bool) -> dict[str, Any]:
    svcs: dict[str, Any] = {}
    for i in range(services):
        ports = ["443/https"] if i % 4 else ["443/https", "80/http"]
        svcs[f"svc-{i:05d}"] = {"host": f"api{i}.vendor{i % 97}.example.com", "ports": ports}
    names = sorted(svcs)
    own = max(allow - SHARED, 0)
    listed_ns: dict[str, Any] = {}
    for n in range(namespaces):
        start = SHARED + n * own
        mine = [names[(start + k) % services] for k in range(own)]
        listed_ns[f"team-{n:03d}"] = {"allow": names[:SHARED] + mine}
    doc: dict[str, Any] = {"policy": "REGISTRY_ONLY", "services": svcs}
    doc["namespaces"] = listed_ns
    if listed:
        doc["defaults"] = {"exportTo": "listed"}
    return doc


def _exported(entry: dict[str, Any], namespace: str) -> bool:
    export = entry.get("exportTo")
    if not export:
        return True
    return any(e == "*" or e == namespace or (e == "." and namespace == ENTRY_NS) for e in export)


def visible_pairs(values: dict[str, Any], namespace: str) -> set[tuple[str, int]]:
    """(host, port) pairs visible to pods of ``namespace`` (no wildcard hosts here)."""
    entries = values.get("serviceEntries") or {}
    sidecar = next(
        (
            s
            for s in (values.get("sidecars") or {}).values()
            if s["namespace"] == namespace and "workloadSelector" not in s
        ),
        None,
    )
    by_host: dict[str, list[dict[str, Any]]] = {}
    for e in entries.values():
        for h in e["hosts"]:
            by_host.setdefault(h, []).append(e)
    if sidecar is None:
        chosen = list(entries.values())
    else:
        chosen = []
        for listener in sidecar["egress"]:
            for item in listener["hosts"]:
                ns, dns = item.split("/", 1)
                if ns not in (ENTRY_NS, "*"):
                    continue  # `./*`: the namespace's own services, none of the entries
                chosen.extend(entries.values() if dns == "*" else by_host.get(dns, ()))
    return {
        (h, p["number"])
        for e in chosen
        if _exported(e, namespace)
        for h in e["hosts"]
        for p in e["ports"]
    }


def compile_once(inv: Path, out: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "egressctl", "compile", str(inv), "-o", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    took = time.perf_counter() - start
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(1)
    return took


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--services", type=int, default=10_000)
    ap.add_argument("--namespaces", type=int, default=100)
    ap.add_argument("--allow", type=int, default=100)
    ap.add_argument("--listed", action="store_true", help="defaults: {exportTo: listed}")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="egressctl-visibility-") as tmp:
        work = Path(tmp)
        doc = inventory(args.services, args.namespaces, args.allow, args.listed)
        plain = {k: v for k, v in doc.items() if k not in ("namespaces", "defaults")}
        with_ns, without = work / "ns.yaml", work / "plain.yaml"
        with_ns.write_text(yaml.dump(doc, Dumper=_Dumper), encoding="utf-8")
        without.write_text(yaml.dump(plain, Dumper=_Dumper), encoding="utf-8")
        times_ns, times_plain = [], []
        for _ in range(args.runs):  # interleaved: a machine that slows slows both alike
            times_plain.append(compile_once(without, work / "plain-out.yaml"))
            times_ns.append(compile_once(with_ns, work / "ns-out.yaml"))
        text = (work / "ns-out.yaml").read_text(encoding="utf-8")
        values = yaml.load(text, Loader=_Loader)  # noqa: S506  # a safe loader (C or Python)
    # What a namespace sees mesh-wide: every entry (no Sidecar, exported everywhere).
    mesh_wide = {
        (h, p["number"])
        for e in values["serviceEntries"].values()
        for h in e["hosts"]
        for p in e["ports"]
    }
    per_ns = {ns: len(visible_pairs(values, ns)) for ns in doc["namespaces"]}
    total = sum(per_ns.values())
    worst_ns, worst = max(per_ns.items(), key=lambda kv: kv[1])
    share = worst / len(mesh_wide)
    t_ns, t_plain = statistics.median(times_ns), statistics.median(times_plain)
    print(
        f"services {args.services}, listed namespaces {args.namespaces}, "
        f"allowed each ~{args.allow}{', exportTo: listed' if args.listed else ''}"
    )
    print(f"mesh-wide visible (host, port) pairs: {len(mesh_wide)}")
    print(
        f"sum over namespaces: {total} with allowlists vs "
        f"{len(mesh_wide) * len(per_ns)} mesh-wide ({total / (len(mesh_wide) * len(per_ns)):.2%})"
    )
    print(
        f"per namespace: at most {worst} ({worst_ns}) = {share:.2%} of mesh-wide "
        f"(goal <= {GOAL:.0%}: {'met' if share <= GOAL else 'MISSED'})"
    )
    print(
        f"compile: {t_ns:.2f}s with namespaces, {t_plain:.2f}s without "
        f"(x{t_ns / t_plain:.2f}), medians of {args.runs}"
    )
    return 0 if share <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
