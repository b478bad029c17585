"""How cluster steps talk to the person running them, without knowing a CLI: a
:data:`Progress` callable gets one line at a time as work goes on; a :data:`Confirm`
callable gets the plan's lines once and answers whether to go on."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str], None]
Confirm = Callable[[list[str]], bool]


def quiet(_line: str) -> None:
    """A Progress that shows nothing."""
    return None
