"""Layering inventory inputs the way Helm layers ``-f`` files: maps merge, lists
replace, ``null`` removes.  Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from egressctl.errors import KeyPath


@dataclass(frozen=True, slots=True)
class Layer:
    """One input of the merged inventory: a file, or a part of one (env `egress:`)."""

    shown: str
    data: dict[str, Any]
    prefix: KeyPath = ()  # where ``data`` sits in its file


def merge(base: Any, over: Any) -> Any:
    """Layer ``over`` onto ``base`` the way Helm layers ``-f`` files."""
    if not (isinstance(base, dict) and isinstance(over, dict)):
        return _drop_nulls(over)
    out = dict(base)
    for key, value in over.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge(out.get(key), value)
    return out


def merged(layers: list[Layer]) -> dict[str, Any]:
    """All layers merged, later ones winning."""
    out: dict[str, Any] = {}
    for layer in layers:
        out = merge(out, layer.data)
    return out


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    return value


def holds(data: Any, path: KeyPath) -> bool:
    """Whether ``data`` has a value at ``path``."""
    node = data
    for part in path:
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                return False
            node = node[part]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return False
    return True
