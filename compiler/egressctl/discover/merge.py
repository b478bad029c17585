"""Draft entries merged into an inventory file, so that everything written stays as it was.

Two ways, the first that fits:

* **insert** — when ``services:`` is a block mapping with entries, ruamel.yaml's
  round-trip parse says where it ends (before the next top-level key and the comments
  and blank lines that lead to it); the new entries are inserted there as text, with the
  file's own indentation (and its blank lines between entries), each after its
  ``# discovered: …`` comment.  Every other byte
  of the file stays as it was.
* **round trip** — otherwise (no ``services``, ``services: {}``, a flow mapping), the
  file is loaded and dumped with ruamel.yaml's round-trip mode (comments and key order
  kept), the entries added to ``services`` in block style.

Either way the result is read back with the safe loader and must hold exactly the old
data plus the new entries; else nothing is written (:class:`MergeError`, exit 3).
"""

from __future__ import annotations

import difflib
import io
import warnings
from collections.abc import Sequence
from typing import Any

import yaml

from egressctl.discover.draft import Proposal
from egressctl.errors import EgressError, ExitCode
from egressctl.inventory.safeyaml import FastSafeLoader


class MergeError(EgressError):
    """The inventory file cannot take the draft entries as written."""

    exit_code = ExitCode.INVALID


def _load(text: str) -> Any:
    try:
        return yaml.load(text, Loader=FastSafeLoader)  # noqa: S506  (the safe loader)
    except yaml.YAMLError as exc:
        raise MergeError(f"the inventory file does not parse: {exc}") from None


def _scalar(text: str) -> str:
    """``text`` as a YAML scalar that reads back as that string (quoted when plain
    would read as something else: ``null``, ``true``, ``123``)."""
    try:
        plain_ok = yaml.load(text, Loader=FastSafeLoader) == text  # noqa: S506
    except yaml.YAMLError:
        plain_ok = False
    return text if plain_ok else f'"{text}"'


def one_line(text: str) -> str:
    """``text`` with every control character (a line break above all) made a space: a
    comment stays one comment line whatever it quotes."""
    return "".join(" " if not ch.isprintable() else ch for ch in text)


def entry_lines(p: Proposal, indent: str, step: str, eol: str = "\n") -> list[str]:
    return [
        f"{indent}# {one_line(p.comment)}{eol}",
        f"{indent}{_scalar(p.name)}:{eol}",
        f"{indent}{step}host: {_scalar(p.host)}{eol}",
        f"{indent}{step}ports: [{', '.join(p.ports)}]{eol}",
    ]


def split_lines(text: str) -> list[str]:
    """The lines of ``text`` with their ends, split at ``\\n`` only, as ruamel.yaml counts
    them (``str.splitlines`` would also split at U+2028, U+0085, form feeds…)."""
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    return lines if lines[-1] else lines[:-1]


def line_end(text: str) -> str:
    """The file's line end: ``\\r\\n`` when its first line ends so, else ``\\n``."""
    first = text.find("\n")
    return "\r\n" if first > 0 and text[first - 1] == "\r" else "\n"


def expected(old: Any, proposals: Sequence[Proposal]) -> dict[str, Any]:
    data = dict(old) if isinstance(old, dict) else {}
    services = dict(data.get("services") or {})
    for p in proposals:
        services[p.name] = {"host": p.host, "ports": list(p.ports)}
    data["services"] = services
    return data


def merge(text: str, proposals: Sequence[Proposal], shown: str = "inventory") -> str:
    """``text`` (an inventory file) with ``proposals`` added to its ``services``."""
    if not proposals:
        return text
    old = _load(text)
    if old is not None and not isinstance(old, dict):
        raise MergeError(f"{shown}: the inventory file is not a mapping")
    services = old.get("services") if isinstance(old, dict) else None
    if services is not None and not isinstance(services, dict):
        raise MergeError(f"{shown}: services is not a mapping; nothing was written")
    taken = sorted(p.name for p in proposals if isinstance(services, dict) and p.name in services)
    if taken:
        raise MergeError(
            f"{shown}: services.{taken[0]} is already in the file; the draft entry of that "
            "name would replace it (give the environment the file belongs to with --env)"
        )
    want = expected(old, proposals)
    for attempt in (_insert, _round_trip):
        new = attempt(text, proposals)
        if new is not None and _load(new) == want:
            return new
    raise MergeError(
        f"{shown}: the draft entries could not be merged so that the file keeps what it "
        "holds; add them by hand (run with --dry-run or --output json to see them)"
    )


def diff(old: str, new: str, shown: str) -> str:
    """A unified diff from ``old`` to ``new``."""
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"a/{shown}",
            tofile=f"b/{shown}",
        )
    )


def _rt() -> Any:
    from ruamel.yaml import YAML

    rt = YAML(typ="rt", pure=True)
    rt.preserve_quotes = True
    rt.width = 4096
    return rt


def _parse_rt(text: str) -> Any:
    from ruamel.yaml.error import YAMLError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _rt().load(text)
    except (YAMLError, ValueError, TypeError, RecursionError):
        return None


def _insert(text: str, proposals: Sequence[Proposal]) -> str | None:
    """The entries inserted as text at the end of a block ``services:`` mapping."""
    from ruamel.yaml.comments import CommentedMap

    doc = _parse_rt(text)
    if not isinstance(doc, CommentedMap) or "services" not in doc:
        return None
    services = doc["services"]
    if not isinstance(services, CommentedMap) or not services or services.fa.flow_style():
        return None
    keys = list(doc)
    first = next(iter(services))
    line0, col = services.lc.key(first)
    step = "  "
    value = services[first]
    if isinstance(value, CommentedMap) and value and not value.fa.flow_style():
        inner = value.lc.key(next(iter(value)))[1] - col
        if inner > 0:
            step = " " * inner
    eol = line_end(text)
    lines = split_lines(text)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += eol
    following = keys[keys.index("services") + 1 :]
    end = doc.lc.key(following[0])[0] if following else len(lines)
    # Back over blank lines and the comments that lead to the next key (written left
    # of the entries): they stay with it.
    while end > line0 + 1:
        stripped = lines[end - 1].strip()
        indent = len(lines[end - 1]) - len(lines[end - 1].lstrip(" "))
        if stripped == "" or (stripped.startswith("#") and indent < col) or stripped == "...":
            end -= 1
            continue
        break
    # Entries the file separates with blank lines get one too.
    spaced = any(not line.strip() for line in lines[line0:end])
    new: list[str] = []
    for p in proposals:
        new += [eol] if spaced else []
        new += entry_lines(p, " " * col, step, eol)
    return "".join([*lines[:end], *new, *lines[end:]])


def _round_trip(text: str, proposals: Sequence[Proposal]) -> str | None:
    """The file loaded and dumped by ruamel's round trip, with the entries added."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    doc = _parse_rt(text) if text.strip() else CommentedMap()
    if doc is None:
        doc = CommentedMap()
    if not isinstance(doc, CommentedMap):
        return None
    services = doc.get("services")
    if not isinstance(services, CommentedMap):
        services = CommentedMap()
        doc["services"] = services
    services.fa.set_block_style()
    for p in proposals:
        entry = CommentedMap()
        entry["host"] = p.host
        ports = CommentedSeq(p.ports)
        ports.fa.set_flow_style()
        entry["ports"] = ports
        services[p.name] = entry
        services.yaml_set_comment_before_after_key(p.name, before=one_line(p.comment), indent=2)
    rt = _rt()
    rt.indent(mapping=2, sequence=4, offset=2)
    out = io.StringIO()
    rt.dump(doc, out)
    dumped = out.getvalue()
    return dumped.replace("\n", "\r\n") if line_end(text) == "\r\n" else dumped
