"""`egressctl discover` over generated access logs: lines per second and peak memory.

Writes LINES generated sidecar access-log lines (Istio's default text format and its
JSON encoding, half with the `kubectl logs --prefix` prefix; passthrough HTTP, TLS with
an SNI, IP-only TCP, BlackHole, REGISTRY_ONLY 502/404, registered traffic, the proxy's
own log lines, a few malformed lines) over HOSTS hosts and 2,000 pods, then runs
`egressctl discover FILE --output json` as a child process at a tenth of the lines and
at all of them.  It prints the lines per second of each run and the child's peak RSS
(ru_maxrss): streaming with bounded memory means the peak does not grow with the lines.

    python bench/discover.py [--lines 1000000] [--hosts 500] [--keep DIR]

Exit 1 when a run fails or reads another number of lines than written.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_SAFE = "bcdfghjklmnpqrstvwxz2456789"


def _pod(rng: random.Random, i: int) -> str:
    h = "".join(rng.choice(_SAFE) for _ in range(10))
    s = "".join(rng.choice(_SAFE) for _ in range(5))
    return f"app{i % 400}-{h}-{s}"


def _text(t: str, method: str, code: str, flags: str, details: str, authority: str,
          cluster: str, dst: str, sni: str, route: str) -> str:  # fmt: skip
    req = f"{method} /path HTTP/1.1" if method != "-" else "- - -"
    return (
        f'[{t}] "{req}" {code} {flags} {details} - "-" 0 100 5 4 "-" "bench/1.0" '
        f'"0b1c2d3e" "{authority}" "{dst}" {cluster} 10.244.1.7:40000 {dst} '
        f"10.244.1.7:39000 {sni} {route}"
    )


def _json(t: str, method: str, code: str, flags: str, details: str, authority: str,
          cluster: str, dst: str, sni: str, route: str) -> str:  # fmt: skip
    def v(x: str) -> str | None:
        return None if x == "-" else x

    return json.dumps(
        {
            "start_time": t,
            "method": v(method),
            "protocol": "HTTP/1.1" if method != "-" else None,
            "response_code": int(code),
            "response_flags": flags,
            "response_code_details": v(details),
            "authority": v(authority),
            "upstream_host": v(dst),
            "upstream_cluster": v(cluster),
            "downstream_local_address": dst,
            "requested_server_name": v(sni),
            "route_name": v(route),
        },
        separators=(",", ":"),
    )


def generate(path: Path, lines: int, hosts: int, seed: int = 16) -> None:
    rng = random.Random(seed)
    names = [f"api{i}.vendor{i % 37}.example.com" for i in range(hosts)]
    pods = [_pod(rng, i) for i in range(2000)]
    with path.open("w", encoding="utf-8") as out:
        for n in range(lines):
            t = f"2026-11-{30 if n < lines // 2 else 29}T{n % 24:02d}:{n % 60:02d}:00.000Z"
            host = names[rng.randrange(hosts)]
            ip = f"52.{n % 200}.{(n // 200) % 250}.{n % 250}"
            pick = rng.random()
            if pick < 0.35:
                f = ("GET", "200", "-", "via_upstream", host, "PassthroughCluster",
                     f"{ip}:80", "-", "allow_any")  # fmt: skip
            elif pick < 0.55:
                f = ("-", "0", "-", "-", "-", "PassthroughCluster", f"{ip}:443", host, "-")
            elif pick < 0.65:
                f = ("-", "0", "-", "-", "-", "PassthroughCluster", f"{ip}:443", "-", "-")
            elif pick < 0.72:
                f = ("-", "0", "UH", "-", "-", "BlackHoleCluster", f"{ip}:5432", "-", "-")
            elif pick < 0.80:
                f = ("GET", "502", "-", "direct_response", host, "-", f"{ip}:80", "-",
                     "block_all")  # fmt: skip
            elif pick < 0.83:
                f = ("GET", "404", "NR", "route_not_found", host, "-", f"{ip}:8080", "-", "-")
            elif pick < 0.97:
                f = ("GET", "200", "-", "via_upstream", "www.google.com",
                     "outbound|443||www.google.com", f"{ip}:443", "www.google.com",
                     "-")  # fmt: skip
            elif pick < 0.99:
                out.write(f"{t}\tinfo\txdsproxy\tconnected to upstream XDS server\n")
                continue
            else:
                out.write(f'[{t}] "GET / HTTP/1.1" 200 truncated\n')
                continue
            line = (_json if n % 3 == 0 else _text)(t, *f)
            if n % 2:
                line = f"[pod/{pods[n % len(pods)]}/istio-proxy] {line}"
            out.write(line + "\n")


def run(path: Path) -> tuple[float, int, dict[str, int]]:
    """(seconds, peak RSS in KiB, the read counts) of one `discover` child process,
    reaped with wait4 so that its own rusage is read."""
    argv = [sys.executable, "-m", "egressctl", "-q", "discover", str(path), "--output", "json"]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            sys.stderr.write(err.read().decode(errors="replace"))
            raise SystemExit(f"discover failed with exit code {proc.returncode}")
        doc = json.loads(out.read())
    return elapsed, usage.ru_maxrss, doc["data"]["read"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--hosts", type=int, default=500)
    ap.add_argument("--keep", type=Path, default=None, help="write the logs here, keep them")
    args = ap.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="egressctl-bench-discover-"))
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for lines in (args.lines // 10, args.lines):
        path = folder / f"access-{lines}.log"
        t0 = time.perf_counter()
        generate(path, lines, args.hosts)
        gen = time.perf_counter() - t0
        seconds, peak_kib, counts = run(path)
        if counts["lines"] != lines:
            print(f"read {counts['lines']:,} lines of {lines:,}")
            return 1
        rows.append((lines, path.stat().st_size, gen, seconds, peak_kib, counts))
        if args.keep is None:
            path.unlink()
    print(f"{'LINES':>10}  {'MB':>6}  {'SECONDS':>7}  {'LINES/S':>9}  {'PEAK RSS MB':>11}  COUNTED")
    for lines, size, _gen, seconds, peak_kib, counts in rows:
        print(
            f"{lines:>10,}  {size / 1e6:>6.0f}  {seconds:>7.2f}  {lines / seconds:>9,.0f}  "
            f"{peak_kib / 1024:>11.1f}  {counts['counted']:,} "
            f"(malformed {counts['malformed']:,}, other {counts['other']:,})"
        )
    small, big = rows[0][4], rows[-1][4]
    print(
        f"peak memory at {rows[-1][0]:,} lines is {big / small:.2f}x that at {rows[0][0]:,}: "
        + ("bounded" if big < small * 1.5 else "GROWS with the input")
    )
    if args.keep is None:
        folder.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
