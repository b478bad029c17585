"""`expires:` on a service: the date after which the entry should be gone (an exception
granted for a while).  YAML reads `2026-12-31` as a date; a quoted `"2026-12-31"` is read
the same way.  Anything else is a located error."""

from __future__ import annotations

import datetime
from typing import Any

from egressctl.errors import KeyPath
from egressctl.inventory.reader import Reader, type_name


def read_expires(m: dict[str, Any], path: KeyPath, r: Reader) -> datetime.date | None:
    value = m.get("expires")
    if value is None:
        return None
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:
            pass
    shown = repr(value) if isinstance(value, str) else type_name(value)
    r.err(
        "expires-invalid",
        (*path, "expires"),
        f"{shown} is not a date",
        "write the day as YYYY-MM-DD, e.g. `expires: 2026-12-31`",
    )
    return None
