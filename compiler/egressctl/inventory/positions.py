"""Where things are written: key paths → ``file:line:col``.

Only when there is something to report are the files concerned parsed again, with
ruamel.yaml (round-trip, so every key and item has a line and column).  The file that
"wrote" a path is the last layer that holds it, so an error in an override points at the
override."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from egressctl.errors import Anchor, Finding, KeyPath, Loc, Problem, format_path
from egressctl.inventory.layers import Layer, holds
from egressctl.inventory.safeyaml import YamlFile


class Positions:
    """Key path → (key position, value position) of one file, from ruamel.yaml."""

    def __init__(self, text: str, shown: str) -> None:
        self.shown = shown
        self.index: dict[KeyPath, tuple[Loc, Loc]] = {}
        doc = _round_trip(text)
        if doc is _UNREAD and "\t" in text:
            # ruamel's scanner refuses a tab before a value or a comment that libyaml (which
            # decided) reads; indentation tabs were refused before this. One column either way.
            doc = _round_trip(text.replace("\t", " "))
        if doc is _UNREAD:
            return  # positions are best effort: PyYAML, which decides, read the file fine
        top = Loc(shown, 1, 1)
        self._visit(doc, (), top, top, set())

    def _loc(self, pair: Any, near: Loc) -> Loc:
        if not pair or pair[0] is None:
            return near
        return Loc(self.shown, pair[0] + 1, pair[1] + 1)

    def _visit(self, node: Any, path: KeyPath, key: Loc, value: Loc, seen: set[int]) -> None:
        from ruamel.yaml.comments import CommentedMap, CommentedSeq

        if isinstance(node, (CommentedMap, CommentedSeq)):
            value = self._loc((node.lc.line, node.lc.col), value)
            if id(node) in seen:  # an alias: positions are those of the anchor
                self.index.setdefault(path, (key, value))
                return
            seen = seen | {id(node)}
        self.index[path] = (key, value)
        if isinstance(node, CommentedMap):
            for k in node:
                pos = _key_position(node, k)
                kl = self._loc(pos[:2] if pos else None, value)
                vl = self._loc(pos[2:4] if pos else None, kl)
                self._visit(node[k], (*path, k if isinstance(k, str) else str(k)), kl, vl, seen)
        elif isinstance(node, CommentedSeq):
            for i, item in enumerate(node):
                il = self._loc(node.lc.item(i), value)
                self._visit(item, (*path, i), il, il, seen)

    def find(self, path: KeyPath, anchor: Anchor) -> Loc:
        """The position of ``path``, or of the nearest enclosing path written."""
        for cut in range(len(path), -1, -1):
            hit = self.index.get(path[:cut])
            if hit is not None:
                if cut == len(path) and anchor is Anchor.KEY:
                    return hit[0]
                return hit[1]
        return Loc(self.shown)


_UNREAD = object()


def _round_trip(text: str) -> Any:
    """``text`` read by ruamel.yaml (round-trip: every key and item keeps its line and
    column), or _UNREAD."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        yaml_rt = YAML(typ="rt", pure=True)
        yaml_rt.allow_duplicate_keys = True
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return yaml_rt.load(text)
    except (YAMLError, ValueError, TypeError, RecursionError):
        return _UNREAD


def _key_position(node: Any, key: Any, depth: int = 0) -> Any:
    """[key line, key column, value line, value column] of ``key`` in a ruamel mapping;
    a key that a merge (``<<: *base``) brought in has the position it has in the mapping
    it came from.  None when unknown."""
    from ruamel.yaml.comments import CommentedMap

    data = getattr(node.lc, "data", None)  # None for a mapping merged in place (`<<: {…}`)
    found = data.get(key) if isinstance(data, dict) else None
    if found is not None or depth > 20:
        return found
    for merged in getattr(node, "merge", None) or ():
        source = merged[1] if isinstance(merged, tuple) else merged
        if isinstance(source, CommentedMap) and key in source:
            return _key_position(source, key, depth + 1)
    return None


class Locator:
    """Turns problems (key paths) into findings (``file:line:col``), parsing each file
    for positions once, and only when a problem concerns it."""

    def __init__(self, files: Mapping[str, YamlFile], layers: Sequence[Layer]) -> None:
        self.files = files
        self.layers = layers
        self.cache: dict[str, Positions] = {}

    def positions(self, shown: str) -> Positions | None:
        f = self.files.get(shown)
        if f is None:
            return None
        if shown not in self.cache:
            self.cache[shown] = Positions(f.text, shown)
        return self.cache[shown]

    def locate(self, p: Problem) -> Finding:
        if p.layer is not None:
            shown, full = p.layer, p.path
        else:
            shown, full = self._provider(p.path)
        pos = self.positions(shown)
        loc = pos.find(full, p.anchor) if pos else Loc(shown)
        return Finding(
            p.code, p.severity, loc, format_path(p.path), p.message, p.hint, p.acknowledged
        )

    def _provider(self, path: KeyPath) -> tuple[str, KeyPath]:
        """The layer that wrote ``path`` (the last that holds it, or its nearest
        parent), and the path within that layer's file."""
        for layer in reversed(self.layers):
            if holds(layer.data, path):
                return layer.shown, (*layer.prefix, *path)
        for cut in range(len(path) - 1, -1, -1):
            for layer in reversed(self.layers):
                if holds(layer.data, path[:cut]):
                    return layer.shown, (*layer.prefix, *path[:cut])
        last = self.layers[-1] if self.layers else Layer("", {})
        return last.shown, last.prefix


def report_order(f: Finding) -> tuple[str, int, int, str]:
    """Findings are reported by file, line, column, then code."""
    return (f.loc.file, f.loc.line, f.loc.col, f.code)
