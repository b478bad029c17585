"""Regenerate what the docs derive from code (run by `make docs`; a test checks it):

* README.md, between `<!-- rules:begin -->` and `<!-- rules:end -->`: the rule table;
* schemas/inventory.schema.json and schemas/env.schema.json.
"""

from __future__ import annotations

import sys
from pathlib import Path

from egressctl.rules.catalogue import RULES
from egressctl.rules.schema import dump

REPO = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- rules:begin -->", "<!-- rules:end -->"


def rules_table() -> str:
    rows = ["| code | severity | what triggers it | example |", "|---|---|---|---|"]
    for r in RULES:
        rows.append(f"| `{r.code}` | {r.severity.value} | {r.summary} | {r.example} |")
    return "\n".join(rows)


def readme_with_rules(text: str) -> str:
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{rules_table()}\n{END}{tail}"


def main() -> int:
    readme = REPO / "README.md"
    readme.write_text(readme_with_rules(readme.read_text(encoding="utf-8")), encoding="utf-8")
    for kind in ("inventory", "env"):
        (REPO / "schemas" / f"{kind}.schema.json").write_text(dump(kind), encoding="utf-8")
    sys.stderr.write("wrote README.md (rules), schemas/*.schema.json\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
