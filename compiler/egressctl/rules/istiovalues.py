"""The team's own Istio values that the compiled values replace.  helm reads the team's
values files first and egressctl's generated values last, so a team value at one of the
keys egressctl sets never takes effect: said once, with both values, at the team's line.
Pure: the files as read and the compiled values in, problems out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from egressctl.errors import KeyPath, Problem, warning
from egressctl.inventory.model import TeamValues


@dataclass(frozen=True, slots=True)
class Replaced:
    """A key of the Istio chart's values that the compiled values set, and the
    inventory key it comes from."""

    path: KeyPath
    source: str


# Legacy charts read `global.*`, istiod reads `meshConfig.*`: egressctl sets both.
REPLACED = (
    Replaced(("global", "outboundTrafficPolicy", "mode"), "policy"),
    Replaced(("meshConfig", "outboundTrafficPolicy", "mode"), "policy"),
    Replaced(("global", "proxy", "includeIPRanges"), "capture.include"),
    Replaced(("global", "proxy", "excludeIPRanges"), "capture.exclude"),
)


def overridden_values(team: Sequence[TeamValues], compiled: Mapping[str, Any]) -> list[Problem]:
    """`istio-value-overridden`: each key of :data:`REPLACED` that a team file sets to
    something other than the compiled value (a null is no value: helm drops it)."""
    out: list[Problem] = []
    for values in team:
        for key in REPLACED:
            theirs, ours = _at(values.data, key.path), _at(compiled, key.path)
            if theirs is None or ours is None or _same(theirs, ours):
                continue
            out.append(
                warning(
                    "istio-value-overridden",
                    key.path,
                    f"your value {theirs!r} is replaced by egressctl's {ours!r} "
                    f"(the inventory's `{key.source}`)",
                    f"set it through the inventory's `{key.source}` and remove it here: helm "
                    "reads egressctl's values after this file, so this value never takes "
                    "effect",
                    layer=values.shown,
                )
            )
    return out


def _at(data: Any, path: KeyPath) -> Any:
    """The value at ``path`` in nested mappings, or None."""
    for part in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(part)
    return data


def _same(theirs: Any, ours: Any) -> bool:
    """Equal values; strings up to whitespace (`10.0.0.0/8, 10.1.0.0/16`)."""
    if isinstance(theirs, str) and isinstance(ours, str):
        return "".join(theirs.split()) == "".join(ours.split())
    return bool(theirs == ours)
