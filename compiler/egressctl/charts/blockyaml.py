"""A fast reader for the plain block-style YAML documents helm prints from chart/: every
object a render holds is read before anything is applied (exactly the plan, within the
API server's limits), and PyYAML's constructor, in Python, costs about as much as helm's
whole render of 10,000 services.

:class:`Reader` reads one document made of block mappings and sequences (by
indentation, with YAML's indentless sequences), whose keys are plain words (or
double-quoted without escapes) and whose
values are double-quoted strings without escapes, single-quoted strings without quotes
inside, decimal integers, ``true``/``false``, ``{}``/``[]``, and plain words, plain text
and dotted numbers (IP addresses) that YAML 1.1 reads as strings.  For anything else (block
scalars, escapes, anchors, tags, flow collections, comments after values, nulls,
duplicate keys, characters PyYAML refuses…) it returns None and the caller reads that
document with PyYAML; for what it accepts it builds what PyYAML's safe loader builds
(tests/test_blockyaml.py holds it to that).  Pure."""

from __future__ import annotations

import re
from typing import Any

# indent, "- ", then either `key:` (a plain word, or double-quoted without escapes: the
# chart quotes label keys) with an optional value, or a scalar.
_LINE = re.compile(r'( *)(- )?(?:(?:([A-Za-z][A-Za-z0-9_./-]*)|"([^"\\]*)"):(?: (.+))?|(.+))\Z')
_INT = re.compile(r"(?:0|-?[1-9][0-9]*)\Z")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_./-]*\Z")
# Plain text: words of those characters (and ()+=@) joined by single spaces, starting
# with a letter: no YAML 1.1 type but str starts with a letter and holds a space.
_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9_./()+=@-]*(?: [A-Za-z0-9_./()+=@-]+)+\Z")
# Dotted numbers with three parts or more (IPv4 addresses and CIDRs, versions): no
# YAML 1.1 int, float or timestamp has two dots, so they are strings.
_DOTTED = re.compile(r"[0-9]+(?:\.[0-9]+){2,}(?:/[0-9]+)?\Z")
_DOUBLE = re.compile(r'"([^"\\]*)"\Z')
_SINGLE = re.compile(r"'([^']*)'\Z")
# Words YAML 1.1 reads as booleans or null in some spelling (y/n for good measure).
_NOT_STRINGS = frozenset({"yes", "no", "on", "off", "y", "n", "true", "false", "null"})
# Characters that send a document to PyYAML: what PyYAML's reader refuses anywhere in a
# stream (yaml/reader.py NON_PRINTABLE), the tab, and YAML's line breaks other than
# "\n" (\r, NEL \x85, \u2028, \u2029): this reader splits lines at "\n" only, and
# PyYAML breaks lines, and folds quoted scalars, at each of them.
_DECLINED = re.compile("[^\x0a\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_FALLBACK = object()  # a scalar this reader leaves to PyYAML


def _scalar(text: str) -> Any:
    """The value of a one-line scalar, or _FALLBACK."""
    m = _DOUBLE.match(text) or _SINGLE.match(text)
    if m is not None:
        return m.group(1)
    if text == "true":
        return True
    if text == "false":
        return False
    if _INT.match(text):
        return int(text)
    if _WORD.match(text):
        return _FALLBACK if text.lower() in _NOT_STRINGS else text
    if _DOTTED.match(text) or _TEXT.match(text):
        return text
    return _FALLBACK


# What one line holds: its indent, whether it starts a sequence item, its key (None
# for a bare sequence item), and its value: _PENDING (`key:`: a block follows), _MAP or
# _LIST (an empty flow collection, made fresh for each use) or a scalar.
_Line = tuple[int, bool, str | None, Any]
_PENDING, _MAP, _LIST = object(), object(), object()


def _line(text: str) -> _Line | None:
    m = _LINE.match(text)
    if m is None:
        return None
    spaces, dash, key, quoted, value, scalar = m.groups()
    if key is not None and key.lower() in _NOT_STRINGS:
        return None  # a key YAML reads as a boolean or null
    if quoted is not None:
        key = quoted
    raw = scalar if key is None else value
    if raw is None:
        found: Any = _PENDING
    elif raw == "{}":
        found = _MAP
    elif raw == "[]":
        found = _LIST
    else:
        found = _scalar(raw)
        if found is _FALLBACK:
            return None
    return len(spaces), dash is not None, key, found


class Reader:
    """Reads the documents of one render; lines repeat from object to object (labels,
    ports), so each distinct line is matched once."""

    def __init__(self) -> None:
        self._lines: dict[str, _Line | None] = {}

    def read(self, text: str) -> list[dict[str, Any]] | None:
        """The objects of one YAML document: ``[]`` when it holds nothing but comments
        and blank lines, ``[mapping]`` when it is a block mapping this reader reads,
        None when PyYAML must read it.  Trailing whitespace must already be stripped."""
        if _DECLINED.search(text):
            return None
        lines = self._lines
        root: dict[str, Any] = {}
        seen = False
        # The collection the current line belongs to (the indent of its entries, whether
        # it is a sequence), and the ones around it, innermost last.
        cur: Any = root
        cur_indent, cur_list = 0, False
        stack: list[tuple[int, Any]] = []
        pending: tuple[dict[str, Any], str, int] | None = None  # `key:` awaiting its block
        for raw in text.split("\n"):
            if not raw or raw[0] == "#":
                continue
            parsed = lines.get(raw)
            if parsed is None:
                if raw in lines:
                    return None  # a line read before, and left to PyYAML
                parsed = lines[raw] = _line(raw)
                if parsed is None:
                    return None
            indent, dash, key, value = parsed
            if not seen:
                if indent or dash or key is None:
                    return None  # not a block mapping at column 0
                seen = True
            if pending is not None:
                parent, pkey, pindent = pending
                pending = None
                block: Any
                if dash and indent >= pindent:  # a sequence (indentless when ==)
                    block = []
                elif not dash and key is not None and indent > pindent:
                    block = {}
                else:
                    return None  # `key:` with nothing under it: a null
                parent[pkey] = block
                stack.append((cur_indent, cur))
                cur, cur_indent, cur_list = block, indent, dash
            else:
                while cur_indent > indent or (cur_list and not dash and cur_indent == indent):
                    if not stack:
                        return None
                    cur_indent, cur = stack.pop()
                    cur_list = type(cur) is list
                if cur_indent != indent:
                    return None
            if dash:
                if not cur_list:
                    return None
                if key is None:
                    cur.append(_fresh(value))
                    continue
                item: dict[str, Any] = {}
                cur.append(item)
                stack.append((cur_indent, cur))
                cur, cur_indent, cur_list = item, indent + 2, False
            elif cur_list or key is None:
                return None
            if key in cur:
                return None  # a duplicate key: PyYAML keeps the last one
            if value is _PENDING:
                cur[key] = None
                pending = (cur, key, cur_indent)
            elif value is _MAP:
                cur[key] = {}
            elif value is _LIST:
                cur[key] = []
            else:
                cur[key] = value
        if pending is not None:
            return None
        return [root] if seen else []


def _fresh(value: Any) -> Any:
    if value is _MAP:
        return {}
    if value is _LIST:
        return []
    return value
