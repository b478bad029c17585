"""Typed reading of already-parsed YAML: mappings read key by key, every value
type-checked, every problem collected (reading never stops at the first) as a
:class:`Problem` with the key path it concerns.  Pure: no files, no positions."""

from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from egressctl.errors import Anchor, KeyPath, Problem, Severity, error, warning
from egressctl.inventory.model import IPNetwork


def type_name(value: Any) -> str:
    """How messages name the type of ``value``: `a mapping`, `an integer`, `null`…"""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return f"a {type(value).__name__} value"


_WANT = {dict: "a mapping", list: "a list", str: "a string", int: "an integer", bool: "a boolean"}


def is_type(value: Any, typ: type) -> bool:
    """isinstance, except that a boolean is not an integer (YAML `true` is no port)."""
    if typ is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, typ)


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    """A hint naming the choice closest to ``word`` (any case), or "" when none is."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in choices}
        found = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
        close = [lowered[c] for c in found]
    return f"did you mean `{close[0]}`?" if close else ""


@dataclass
class Reader:
    """Reads mappings key by key, type-checking and collecting problems."""

    layer: str | None = None
    problems: list[Problem] = field(default_factory=list)

    def err(
        self, code: str, path: KeyPath, message: str, hint: str = "", anchor: Anchor = Anchor.VALUE
    ) -> None:
        self.problems.append(error(code, path, message, hint, anchor=anchor, layer=self.layer))

    def warn(self, code: str, path: KeyPath, message: str, hint: str = "") -> None:
        self.problems.append(warning(code, path, message, hint, layer=self.layer))

    def mark(self) -> int:
        """A point in the reading, to ask :meth:`erred_since` about."""
        return len(self.problems)

    def erred_since(self, mark: int) -> bool:
        """Whether an error was reported since ``mark`` (what was read since then is not
        what the file says: a part the rules must not judge)."""
        return any(p.severity is Severity.ERROR for p in self.problems[mark:])

    def mapping(self, value: Any, path: KeyPath, what: str = "") -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.err(
                "wrong-type", path, f"{what or 'this'} must be a mapping, not {type_name(value)}"
            )
            return None
        bad = [k for k in value if not isinstance(k, str)]
        for k in bad:
            self.err("key-type", path, f'key {k!r} must be a string (quote it: "{k}")')
        return value

    def fields(self, m: dict[str, Any], path: KeyPath, known: Sequence[str]) -> None:
        for key in sorted(k for k in m if isinstance(k, str) and k not in known):
            self.err(
                "unknown-key",
                (*path, key),
                "unknown key",
                did_you_mean(key, known) or f"known keys here: {', '.join(known)}",
                anchor=Anchor.KEY,
            )

    def get(
        self, m: dict[str, Any], key: str, path: KeyPath, typ: type, required: bool = False
    ) -> Any:
        value = m.get(key)
        if value is None:
            if required:
                self.err("key-missing", path, f"`{key}` is required")
            return None
        if not is_type(value, typ):
            self.err("wrong-type", (*path, key), f"must be {_WANT[typ]}, not {type_name(value)}")
            return None
        return value

    def string(
        self, m: dict[str, Any], key: str, path: KeyPath, required: bool = False
    ) -> str | None:
        value = self.get(m, key, path, str, required)
        return None if value is None else str(value)

    def strings(
        self, m: dict[str, Any], key: str, path: KeyPath, one_allowed: bool = False
    ) -> list[str] | None:
        value = m.get(key)
        if value is None:
            return None
        if one_allowed and isinstance(value, str):
            return [value]
        if not isinstance(value, list):
            self.err(
                "wrong-type", (*path, key), f"must be a list of strings, not {type_name(value)}"
            )
            return None
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, str):
                self.err("wrong-type", (*path, key, i), f"must be a string, not {type_name(item)}")
            else:
                out.append(item)
        return out

    def string_map(self, m: dict[str, Any], key: str, path: KeyPath) -> dict[str, str] | None:
        value = m.get(key)
        if value is None:
            return None
        got = self.mapping(value, (*path, key), f"`{key}`")
        if got is None:
            return None
        out = {}
        for k, v in got.items():
            if isinstance(v, bool) or not isinstance(v, (str, int, float)):
                self.err(
                    "wrong-type", (*path, key, str(k)), f"must be a string, not {type_name(v)}"
                )
            else:
                out[str(k)] = str(v)
        return out

    def enum(
        self, m: dict[str, Any], key: str, path: KeyPath, choices: Sequence[str], code: str
    ) -> str | None:
        value = self.string(m, key, path)
        if value is None:
            return None
        upper = value.strip().upper()
        if upper not in choices:
            self.err(
                code,
                (*path, key),
                f"{value!r} is not one of {', '.join(choices)}",
                did_you_mean(upper, choices),
            )
            return None
        return upper

    def cidrs(self, m: dict[str, Any], key: str, path: KeyPath) -> list[IPNetwork] | None:
        items = self.strings(m, key, path)
        if items is None:
            return None
        out: list[IPNetwork] = []
        for i, text in enumerate(items):
            net = self.cidr(text, (*path, key, i))
            if net is not None:
                out.append(net)
        return out

    def cidr(self, text: str, path: KeyPath) -> IPNetwork | None:
        try:
            net = ipaddress.ip_network(text.strip(), strict=False)
        except ValueError:
            self.err(
                "cidr-invalid",
                path,
                f"{text!r} is not an IP range",
                "write a CIDR such as 10.96.0.0/12 or fd00::/8",
            )
            return None
        if "/" in text and net.network_address != ipaddress.ip_interface(text.strip()).ip:
            self.warn(
                "cidr-host-bits", path, f"{text!r} has host bits set; {net} is used", f"write {net}"
            )
        return net
