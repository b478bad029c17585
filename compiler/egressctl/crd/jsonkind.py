"""How a value is named in a CRD problem: its JSON kind, and a short JSON rendering.

The values come from YAML, so the kinds are the API server's view of them: an unquoted
date that PyYAML reads as a date is a string.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from typing import Any


def kind_of(value: Any) -> str:
    """The JSON kind of ``value``: "object", "array", "string", "integer"…"""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, (str, datetime.date)):
        return "string"  # PyYAML reads an unquoted date as a date; the API server, a string
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    return type(value).__name__


def show(value: Any) -> str:
    """``value`` as JSON, cut to 80 characters."""
    text = json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."
