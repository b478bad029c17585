"""The structural schema of a CRD version, and the check of a value against it.

:class:`Schema` is one node of an ``openAPIV3Schema``, read once, with its
``x-kubernetes-validations`` rules compiled (:mod:`egressctl.crd.celrules`).
:func:`check` walks a value and its schema together the way the API server does:
types, ``nullable``, enums, ``required``, bounds, lengths, patterns, item and property
counts, cheap string formats, ``oneOf``/``anyOf``/``allOf``/``not``,
``x-kubernetes-int-or-string``, ``x-kubernetes-preserve-unknown-fields`` and
``x-kubernetes-list-type``; fields the schema does not declare are reported as
``unknown field "x"``.  A node's CEL rules run with ``self`` bound to the value the
server would store (nulls and unknown fields pruned), and only when neither the node nor
anything under it has a type or enum error.

Known differences from the API server: ``date-time``/``byte``/``duration`` strings reach
CEL as strings rather than timestamps, bytes and durations, and a ``pattern`` Python's
``re`` cannot read (Kubernetes uses Go's RE2) is not checked.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime
import ipaddress
import re
from collections.abc import Callable, Mapping
from typing import Any

from egressctl.crd.celrules import Compiler, Rule
from egressctl.crd.jsonkind import kind_of, show

_KINDS = ("object", "array", "string", "integer", "number", "boolean")


class Schema:
    """One node of a structural schema, with its CEL rules compiled."""

    def __init__(self, raw: Mapping[str, Any], where: str, compiler: Compiler, junctor: bool):
        self.type: str | None = raw.get("type") if raw.get("type") in _KINDS else None
        self.nullable = bool(raw.get("nullable"))
        self.int_or_string = bool(raw.get("x-kubernetes-int-or-string"))
        self.preserve = bool(raw.get("x-kubernetes-preserve-unknown-fields"))
        self.embedded = bool(raw.get("x-kubernetes-embedded-resource"))
        props = raw.get("properties")
        self.properties: dict[str, Schema] | None = None
        if isinstance(props, Mapping):
            self.properties = {
                str(key): Schema(sub, _join(where, str(key)), compiler, junctor)
                for key, sub in props.items()
                if isinstance(sub, Mapping)
            }
        additional = raw.get("additionalProperties")
        self.additional: Schema | bool | None = None
        if isinstance(additional, Mapping):
            self.additional = Schema(additional, f"{where}[*]", compiler, junctor)
        elif isinstance(additional, bool):
            self.additional = additional
        items = raw.get("items")
        self.items = (
            Schema(items, f"{where}[*]", compiler, junctor) if isinstance(items, Mapping) else None
        )
        self.required: tuple[str, ...] = tuple(str(r) for r in raw.get("required") or ())
        enum = raw.get("enum")
        self.enum: tuple[Any, ...] | None = tuple(enum) if isinstance(enum, list) else None
        self.minimum: float | None = _number(raw.get("minimum"))
        self.maximum: float | None = _number(raw.get("maximum"))
        self.exclusive_minimum = bool(raw.get("exclusiveMinimum"))
        self.exclusive_maximum = bool(raw.get("exclusiveMaximum"))
        self.multiple_of: float | None = _number(raw.get("multipleOf"))
        self.min_length: int | None = raw.get("minLength")
        self.max_length: int | None = raw.get("maxLength")
        self.min_items: int | None = raw.get("minItems")
        self.max_items: int | None = raw.get("maxItems")
        self.min_properties: int | None = raw.get("minProperties")
        self.max_properties: int | None = raw.get("maxProperties")
        self.pattern: re.Pattern[str] | None = None
        if isinstance(raw.get("pattern"), str):
            # Kubernetes uses Go's RE2; a pattern Python's re cannot read is not checked.
            with contextlib.suppress(re.error):
                self.pattern = re.compile(raw["pattern"])
        self.format: str | None = raw.get("format") if raw.get("format") in _FORMATS else None
        self.list_type: str | None = raw.get("x-kubernetes-list-type")
        self.list_map_keys: tuple[str, ...] = tuple(raw.get("x-kubernetes-list-map-keys") or ())

        def subs(key: str) -> tuple[Schema, ...]:
            found = raw.get(key)
            if not isinstance(found, list):
                return ()
            return tuple(
                Schema(s, f"{where}<{key}[{i}]>", compiler, True)
                for i, s in enumerate(found)
                if isinstance(s, Mapping)
            )

        self.all_of = subs("allOf")
        self.any_of = subs("anyOf")
        self.one_of = subs("oneOf")
        self.not_ = (
            Schema(raw["not"], f"{where}<not>", compiler, True)
            if isinstance(raw.get("not"), Mapping)
            else None
        )
        rules: list[Rule] = []
        if not junctor:
            for raw_rule in raw.get("x-kubernetes-validations") or ():
                rule = compiler.rule(raw_rule, where or "(root)")
                if rule is not None:
                    rules.append(rule)
        self.rules = tuple(rules)


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# ---------------------------------------------------------------------------
# Validation

Out = list[tuple[str, str, str]]  # (path, message, rule)

_DATE_TIME_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?"
)
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_UUID_RE = re.compile(r"[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}")


def _valid_byte(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _valid_ip(version: int) -> Callable[[str], bool]:
    def valid(text: str) -> bool:
        try:
            return ipaddress.ip_address(text).version == version
        except ValueError:
            return False

    return valid


def _valid_cidr(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return "/" in text


_FORMATS: dict[str, Callable[[str], bool]] = {
    "date-time": lambda s: _DATE_TIME_RE.fullmatch(s) is not None,
    "datetime": lambda s: _DATE_TIME_RE.fullmatch(s) is not None,
    "date": lambda s: _DATE_RE.fullmatch(s) is not None,
    "byte": _valid_byte,
    "uuid": lambda s: _UUID_RE.fullmatch(s) is not None,
    "ipv4": _valid_ip(4),
    "ipv6": _valid_ip(6),
    "cidr": _valid_cidr,
}

_IMPLICIT = frozenset({"apiVersion", "kind", "metadata"})


def _same(a: Any, b: Any) -> bool:
    return kind_of(a) == kind_of(b) and a == b


def check(s: Schema, value: Any, path: str, out: Out, strict: bool) -> tuple[Any, bool]:
    """Check ``value`` against ``s``, appending problems to ``out``.

    ``strict`` is the structural pass; it is off inside oneOf/anyOf/allOf/not, where
    only value constraints apply.  Returns the value the server would store (nulls and
    unknown fields pruned; numbers as doubles where the schema says ``number``) and
    whether CEL rules may run on it: False after a type or enum error at or below.
    """
    kind = kind_of(value)
    if isinstance(value, datetime.date):
        value = value.isoformat()
    elif kind == "number" and s.type == "integer" and value.is_integer():
        kind, value = "integer", int(value)  # JSON does not tell 443.0 from 443
    if kind == "null":
        if s.nullable or (s.type is None and not s.int_or_string):
            return value, True
        out.append((path, f"must be of type {s.type or 'integer or string'}, got null", ""))
        return value, False
    if s.type is not None:
        if kind != s.type and not (s.type == "number" and kind == "integer"):
            out.append((path, f"must be of type {s.type}, got {kind} {show(value)}", ""))
            return value, False
    elif s.int_or_string and kind not in ("integer", "string"):
        out.append((path, f"must be an integer or a string, got {kind} {show(value)}", ""))
        return value, False
    ok = True
    if s.enum is not None and not any(_same(value, e) for e in s.enum):
        allowed = ", ".join(show(e) for e in s.enum)
        out.append((path, f"unsupported value {show(value)}: supported values: {allowed}", ""))
        ok = False

    if kind == "object":
        value, ok_below = _check_object(s, value, path, out, strict)
        ok = ok and ok_below
    elif kind == "array":
        value, ok_below = _check_array(s, value, path, out, strict)
        ok = ok and ok_below
    elif kind == "string":
        _check_string(s, value, path, out)
    elif kind in ("integer", "number"):
        _check_number(s, value, path, out)
        if s.type == "number" and kind == "integer" and strict:
            value = float(value)

    if s.all_of or s.any_of or s.one_of or s.not_ is not None:
        _check_junctors(s, value, path, out)
    if strict and ok and s.rules:
        _run_rules(s, value, path, out)
    return value, ok


def _check_object(
    s: Schema, value: Mapping[str, Any], path: str, out: Out, strict: bool
) -> tuple[Any, bool]:
    ok = True
    kept: dict[str, Any] = {}
    changed = False
    props = s.properties or {}
    implicit = strict and (s.embedded or path == "")
    for key, child in value.items():
        sub = props.get(key)
        if implicit and key in _IMPLICIT:
            # apiVersion and kind picked the schema; metadata is ObjectMeta, checked by
            # egressctl.crd.objectmeta.  A CRD may still constrain metadata's values.
            if sub is not None:
                check(sub, child, key, out, strict=False)
            kept[key] = child
            continue
        if sub is None:
            if isinstance(s.additional, Schema):
                sub = s.additional
                child_path = f"{path}[{key}]"
            elif s.additional is True or s.preserve or not strict:
                kept[key] = child
                continue
            elif s.properties is None and s.additional is None and s.type is None:
                kept[key] = child  # an untyped value-only schema
                continue
            else:
                out.append((path, f'unknown field "{key}"', ""))
                changed = True
                continue
        else:
            child_path = _join(path, key)
        if child is None and strict and not sub.nullable:
            changed = True  # the server prunes a null it was not told to keep
            continue
        stored, child_ok = check(sub, child, child_path, out, strict)
        ok = ok and child_ok
        changed = changed or stored is not child
        kept[key] = stored
    for key in s.required:
        if key not in kept:
            out.append((path, f'missing required field "{key}"', ""))
    if s.min_properties is not None and len(kept) < s.min_properties:
        out.append((path, f"must have at least {s.min_properties} properties", ""))
    if s.max_properties is not None and len(kept) > s.max_properties:
        out.append((path, f"must have at most {s.max_properties} properties", ""))
    return (kept if changed else value), ok


def _check_array(
    s: Schema, value: list[Any], path: str, out: Out, strict: bool
) -> tuple[Any, bool]:
    ok = True
    stored_items: list[Any] = []
    changed = False
    for i, item in enumerate(value):
        if s.items is None:
            stored_items.append(item)
            continue
        stored, item_ok = check(s.items, item, f"{path}[{i}]", out, strict)
        ok = ok and item_ok
        changed = changed or stored is not item
        stored_items.append(stored)
    if s.min_items is not None and len(value) < s.min_items:
        out.append((path, f"must have at least {s.min_items} items, got {len(value)}", ""))
    if s.max_items is not None and len(value) > s.max_items:
        out.append((path, f"must have at most {s.max_items} items, got {len(value)}", ""))
    if s.list_type in ("set", "map"):
        seen: set[str] = set()
        for i, item in enumerate(stored_items):
            if s.list_type == "map" and isinstance(item, Mapping):
                ident = ", ".join(f"{k}={show(item.get(k))}" for k in s.list_map_keys)
            else:
                ident = show(item)
            if ident in seen:
                out.append((f"{path}[{i}]", f"duplicate entry with {ident}", ""))
            seen.add(ident)
    return (stored_items if changed else value), ok


def _check_string(s: Schema, value: str, path: str, out: Out) -> None:
    if s.min_length is not None and len(value) < s.min_length:
        out.append((path, f"must be at least {s.min_length} characters long", ""))
    if s.max_length is not None and len(value) > s.max_length:
        out.append((path, f"may be at most {s.max_length} characters long", ""))
    if s.pattern is not None and not s.pattern.search(value):
        out.append((path, f"{show(value)} does not match pattern {s.pattern.pattern!r}", ""))
    if s.format is not None and not _FORMATS[s.format](value):
        out.append((path, f"{show(value)} is not a valid {s.format}", ""))


def _check_number(s: Schema, value: float, path: str, out: Out) -> None:
    if s.minimum is not None:
        if s.exclusive_minimum and value <= s.minimum:
            out.append((path, f"must be greater than {s.minimum}, got {value}", ""))
        elif value < s.minimum:
            out.append((path, f"must be greater than or equal to {s.minimum}, got {value}", ""))
    if s.maximum is not None:
        if s.exclusive_maximum and value >= s.maximum:
            out.append((path, f"must be less than {s.maximum}, got {value}", ""))
        elif value > s.maximum:
            out.append((path, f"must be less than or equal to {s.maximum}, got {value}", ""))
    if s.multiple_of and value % s.multiple_of:
        out.append((path, f"must be a multiple of {s.multiple_of}, got {value}", ""))


def _passes(s: Schema, value: Any, path: str) -> tuple[bool, Out]:
    found: Out = []
    check(s, value, path, found, strict=False)
    return not found, found


def _check_junctors(s: Schema, value: Any, path: str, out: Out) -> None:
    for sub in s.all_of:
        check(sub, value, path, out, strict=False)
    if s.any_of and not any(_passes(sub, value, path)[0] for sub in s.any_of):
        out.append((path, "must match at least one of the anyOf schemas", ""))
    if s.one_of:
        matched = [sub for sub in s.one_of if _passes(sub, value, path)[0]]
        if len(matched) != 1:
            out.append((path, _one_of_message(s.one_of, matched, value), ""))
    if s.not_ is not None and _passes(s.not_, value, path)[0]:
        out.append((path, 'must not match the "not" schema', ""))


def _one_of_message(branches: tuple[Schema, ...], matched: list[Schema], value: Any) -> str:
    # Istio writes "at most one of these fields" as oneOf: [not anyOf required…, required a,
    # required b…]; name the fields that are set rather than the schema plumbing.
    fields = [b.required[0] for b in branches if len(b.required) == 1]
    if len(matched) > 1 and fields and isinstance(value, Mapping):
        allowed = ", ".join(f'"{f}"' for f in fields)
        present = ", ".join(f'"{f}"' for f in fields if f in value)
        return f"only one of {allowed} may be set; found {present}"
    return f"must match exactly one of the oneOf schemas, matched {len(matched)}"


def _run_rules(s: Schema, value: Any, path: str, out: Out) -> None:
    for rule in s.rules:
        message = rule.failure(value)
        if message is not None:
            out.append((_field_path(path, rule.field_path), message, rule.rule))


def _field_path(path: str, extra: str) -> str:
    if not extra:
        return path
    if not path or extra.startswith("["):
        return path + extra
    return f"{path}.{extra}"
