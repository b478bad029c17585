"""Regenerate tests/golden/<case>/{values,manifests}.yaml (run by `make golden`).

Review the diff like code: these files are what the tests hold egressctl to.
"""

from __future__ import annotations

import sys
from pathlib import Path

from egressctl.charts.helm import helm_template
from egressctl.pipeline import compile_inventory, load_inventory

GOLDEN = Path(__file__).resolve().parent / "golden"
CHART = GOLDEN.parents[1] / "chart"


def generate(case: Path, helm: str | None = None) -> tuple[str, str]:
    inv, _ = load_inventory([case / "inventory.yaml"], shown=["inventory.yaml"])
    values = compile_inventory(inv).values_text
    manifests = helm_template(
        "egress",
        CHART,
        namespace="istio-system",
        values_text=values,
        step="render golden",
        helm=helm,
    )
    return values, manifests


def main() -> int:
    for case in sorted(p for p in GOLDEN.iterdir() if (p / "inventory.yaml").is_file()):
        values, manifests = generate(case)
        (case / "values.yaml").write_text(values, encoding="utf-8")
        (case / "manifests.yaml").write_text(manifests, encoding="utf-8")
        sys.stderr.write(f"wrote {case.name}/values.yaml, {case.name}/manifests.yaml\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
