"""A small block-style YAML writer for the generated values: plain data in, text out.

PyYAML's dumper builds a node for every value before emitting; for 50,000 services that
is millions of nodes, most of the time and memory of `compile`.  The values are only
mappings, lists, strings, integers, booleans and null, so they are written directly, in
the layout PyYAML uses by default (block style, sequences not indented under their key).

Strings are written plain when that reads back as the same string under YAML 1.1 and 1.2
(PyYAML's resolver decides), single-quoted otherwise, and double-quoted (JSON escapes,
which YAML reads the same way) when they hold characters single quotes cannot carry.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any

import yaml

# Starts with a letter, then letters, digits and . _ / - : a host name, a label key, an
# enum.  Such a string cannot be a number, a date or an indicator; only a few words
# (bool and null spellings) resolve to something else, and the resolver catches those.
_SIMPLE = re.compile(r"[A-Za-z][A-Za-z0-9._/-]*\Z")
_PLAIN_CHARS = re.compile(r"[A-Za-z0-9 ._/@()+=,;-]*\Z")
_RESOLVER = yaml.resolver.Resolver()
_STR = "tag:yaml.org,2002:str"
_WORDS_1_2 = frozenset({"true", "false", "null", "True", "False", "Null", "TRUE", "FALSE", "NULL"})


@lru_cache(maxsize=4096)
def _plain_ok(text: str) -> bool:
    if not text or text[0] in " -?:,[]{}#&*!|>'\"%@`" or text[-1] == " ":
        return False
    if not _PLAIN_CHARS.match(text) or ": " in text or " #" in text:
        return False
    if text in _WORDS_1_2:
        return False
    return bool(_RESOLVER.resolve(yaml.ScalarNode, text, (True, False)) == _STR)  # type: ignore[no-untyped-call]


def scalar(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        return text.replace("e", ".0e", 1) if "." not in text and "e" in text else text
    if not isinstance(value, str):
        raise TypeError(f"cannot write a {type(value).__name__} as YAML")
    if value not in _BOOLISH and (_SIMPLE.match(value) or _plain_ok(value)):
        return value
    if value.isprintable():
        return "'" + value.replace("'", "''") + "'"
    return _double_quoted(value)


def _double_quoted(text: str) -> str:
    """YAML double quotes: printable characters as they are, the rest escaped."""
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch.isprintable() and not 0xD800 <= ord(ch) <= 0xDFFF:
            out.append(ch)
        elif ord(ch) < 0x100:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


_BOOLISH = frozenset(
    {
        "yes",
        "Yes",
        "YES",
        "no",
        "No",
        "NO",
        "true",
        "True",
        "TRUE",
        "false",
        "False",
        "FALSE",
        "on",
        "On",
        "ON",
        "off",
        "Off",
        "OFF",
        "null",
        "Null",
        "NULL",
        "y",
        "Y",
        "n",
        "N",
    }
)


def _mapping(doc: dict[str, Any], pad: str, out: list[str], first: str | None = None) -> None:
    lead = first if first is not None else pad
    for key, value in doc.items():
        k = scalar(key)
        if isinstance(value, dict) and value:
            out.append(f"{lead}{k}:\n")
            _mapping(value, pad + "  ", out)
        elif isinstance(value, list) and value:
            out.append(f"{lead}{k}:\n")
            _sequence(value, pad, out)
        else:
            out.append(f"{lead}{k}: {_flow_empty(value)}\n")
        lead = pad


def _sequence(items: list[Any], pad: str, out: list[str], first: str | None = None) -> None:
    lead = first if first is not None else pad
    for item in items:
        if isinstance(item, dict) and item:
            _mapping(item, pad + "  ", out, first=f"{lead}- ")
        elif isinstance(item, list) and item:
            _sequence(item, pad + "  ", out, first=f"{lead}- ")
        else:
            out.append(f"{lead}- {_flow_empty(item)}\n")
        lead = pad


def _flow_empty(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return scalar(value)


def dump(doc: dict[str, Any]) -> str:
    """``doc`` as block-style YAML text."""
    if not doc:
        return "{}\n"
    out: list[str] = []
    _mapping(doc, "", out)
    return "".join(out)


def dump_halves(
    doc: dict[str, Any], split: dict[str, str], shared: frozenset[str]
) -> tuple[str, str, str]:
    """``doc`` as :func:`dump` writes it, and as two documents that hold it between them,
    all from one pass: for each key of ``split`` (a mapping of entries) the entries whose
    key sorts at or after its pivot go to the second (a null entry stays in the first),
    the others to the first; the keys in ``shared`` go to both, every other key to the
    first.  Each text is the one :func:`dump` writes for its document (an entry's lines
    do not depend on its neighbours)."""
    if not doc:
        return "{}\n", "{}\n", "{}\n"
    full: list[str] = []
    lower: list[str] = []
    upper: list[str] = []
    for key, value in doc.items():
        pivot = split.get(key)
        if pivot is None or not (isinstance(value, dict) and value):
            piece: list[str] = []
            _mapping({key: value}, "", piece)
            text = "".join(piece)
            full.append(text)
            lower.append(text)
            if key in shared:
                upper.append(text)
            continue
        head = f"{scalar(key)}:\n"
        full.append(head)
        lower.append(head)
        upper.append(head)
        for name, entry in value.items():
            piece = []
            _mapping({name: entry}, "  ", piece)
            text = "".join(piece)
            full.append(text)
            (upper if entry is not None and name >= pivot else lower).append(text)
    return "".join(full), "".join(lower), "".join(upper)
