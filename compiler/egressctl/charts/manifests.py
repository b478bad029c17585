"""Rendered YAML → objects, and counts per kind: how every stage after render reads what
helm printed.  Pure."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import yaml

from egressctl.errors import VerificationError
from egressctl.files import yaml_problem
from egressctl.inventory.safeyaml import FastSafeLoader

_TRAILING_WS = re.compile(r"[ \t]+$", re.MULTILINE)


def parse_manifests(text: str) -> list[dict[str, Any]]:
    """Rendered YAML → objects (``List`` objects unwrapped).  Trailing whitespace is
    stripped first: the 1.1-era Istio chart emits trailing tabs that PyYAML rejects.

    A render helm accepts but PyYAML cannot read (nested past its depth limit, say) is a
    VerificationError naming the template it came from (helm's `# Source:` line)."""
    out: list[dict[str, Any]] = []
    stripped = _TRAILING_WS.sub("", text)
    try:
        for doc in yaml.load_all(stripped, Loader=FastSafeLoader):
            if not isinstance(doc, dict):
                continue
            if doc.get("kind") == "List" and isinstance(doc.get("items"), list):
                out.extend(d for d in doc["items"] if isinstance(d, dict))
            else:
                out.append(doc)
    except (yaml.YAMLError, RecursionError) as exc:
        raise VerificationError(
            f"rendered manifest {_source_of(stripped, exc)} is not YAML egressctl can read: "
            f"{yaml_problem(exc)}"
        ) from None
    return out


_SOURCE = re.compile(r"^# Source: (\S+)", re.MULTILINE)


def _source_of(text: str, exc: BaseException) -> str:
    """The template a reader error falls in: the last `# Source:` line before it."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    end = len(text) if mark is None else mark.index
    sources = _SOURCE.findall(text, 0, end)
    return sources[-1] if sources else "(of an unknown template)"


_TOP_KIND = re.compile(r"^kind:[ \t]*['\"]?([A-Za-z0-9]+)", re.MULTILINE)


def kind_counts(text: str) -> dict[str, int]:
    """Objects per kind, from the top-level `kind:` lines (no YAML parse: renders of tens
    of thousands of objects are counted in milliseconds).  A `List` counts its items."""
    counts = Counter(_TOP_KIND.findall(text))
    if "List" in counts:
        counts = Counter(str(obj.get("kind", "?")) for obj in parse_manifests(text))
    return dict(sorted(counts.items()))
