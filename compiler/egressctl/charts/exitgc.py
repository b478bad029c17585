"""A render leaves hundreds of thousands of containers alive until the process ends (the
inventory, both charts' values, 15,000 parsed objects at 10,000 services); the
interpreter's last garbage collection, after the atexit handlers, walks them all for
nothing (0.3 s at 10,000 services; they are freed by reference counting anyway).

:func:`skip_final_collection` registers :func:`gc.freeze` as an atexit handler: at exit,
every object moves to the permanent generation, which that last collection skips.  The
atexit handlers, the flushing of stdout and stderr and every object's deallocation
happen as before; a process that does not end (a test session) is not affected until it
ends."""

from __future__ import annotations

import atexit
import gc

_registered: list[bool] = []


def skip_final_collection() -> None:
    """Register the atexit :func:`gc.freeze` once per process."""
    if not _registered:
        _registered.append(True)
        atexit.register(gc.freeze)
