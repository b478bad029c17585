"""Generate a synthetic inventory: a mix of HTTP, HTTPS, TLS-wildcard and TCP services
across ~100 partner domains (used by `make bench`)."""

from __future__ import annotations

import sys


def inventory(n: int, domains: int = 100) -> str:
    lines = [
        "policy: REGISTRY_ONLY",
        "capture:",
        "  exclude: [169.254.169.254/32]",
        "services:",
    ]
    for i in range(n):
        d = f"partner{i % domains}.example"
        kind = i % 4
        if kind == 0:
            lines += [f"  api-{i}:", f"    host: api{i}.{d}", "    ports: [80/http]"]
        elif kind == 1:
            lines += [
                f"  web-{i}:",
                f"    host: www{i}.{d}",
                "    ports: [443/https]",
                f"    owner: team-{i % 37}",
            ]
        elif kind == 2 and i // 4 < domains:
            lines += [f"  wild-{i}:", f"    host: '*.cdn{i // 4}.{d}'", "    ports: [443/tls]"]
        elif kind == 2:
            lines += [f"  tls-{i}:", f"    host: tls{i}.{d}", "    ports: [443/tls, 8443/tls]"]
        else:
            lines += [
                f"  db-{i}:",
                f"    host: db{i}.{d}",
                f"    addresses: [10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}/32]",
                "    ports: [5432/tcp]",
                "    resolution: STATIC",
                f"    endpoints: [10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}]",
            ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(inventory(int(sys.argv[1])))
