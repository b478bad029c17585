"""Whether a path an environment file names is there, without a traceback: Python's
``Path.exists()`` raises for a name too long, a folder without search permission and the
like (only "no such file" is False)."""

from __future__ import annotations

from pathlib import Path


def looked_up(path: Path) -> str | None:
    """None when ``path`` exists; "" when it does not; else why it cannot be looked at."""
    try:
        return None if path.exists() else ""
    except OSError as exc:
        return exc.strerror or str(exc)
