"""Regenerate only the egress-gateway golden cases (tests/golden/gateways-*), with the
same generator as `make golden` (tests/make_golden.py), which regenerates them too."""

from __future__ import annotations

import sys

from tests.make_golden import GOLDEN, generate


def main() -> int:
    for case in sorted(GOLDEN.glob("gateways-*")):
        if not (case / "inventory.yaml").is_file():
            continue
        values, manifests = generate(case)
        (case / "values.yaml").write_text(values, encoding="utf-8")
        (case / "manifests.yaml").write_text(manifests, encoding="utf-8")
        sys.stderr.write(f"wrote {case.name}/values.yaml, {case.name}/manifests.yaml\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
