"""Version strings (helm's `v4.1.4+g…`, a chart's `1.28.0`, `1.28`) as comparable tuples:
the one place egressctl reads a version."""

from __future__ import annotations

import re

_VERSION = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+))?")


def parse_version(text: str) -> tuple[int, int, int] | None:
    """The first ``MAJOR.MINOR[.PATCH]`` in ``text`` (a missing patch is 0), or None."""
    m = _VERSION.search(text)
    if not m:
        return None
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
