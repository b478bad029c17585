"""The cyclic garbage collector and the big heap of one run (an inventory of 10,000
services, its values, a render).

A render holds hundreds of thousands of containers until the process ends (the
inventory, both charts' values, 15,000 parsed objects at 10,000 services), none of them
in a reference cycle.  The collector's passes walk them all for nothing:

* :func:`skip_final_collection` registers :func:`gc.freeze` as an atexit handler: at
  exit, every object moves to the permanent generation, which the interpreter's last
  collection (after the atexit handlers) skips (0.3 s at 10,000 services; the objects
  are freed by reference counting anyway).  The atexit handlers, the flushing of stdout
  and stderr and every object's deallocation happen as before; a process that does not
  end (a test session) is not affected until it ends.
* :func:`collection_paused` pauses the collector for a block that builds many objects
  (reading an inventory, compiling it, reading and checking chart/'s render): the passes
  it would trigger cost as much as the work (reading 10,000 services: 1.7 s with them,
  0.8 s without).  It is enabled again after the block, as it was before; but the
  objects the block built would then be walked by the next passes all the same (each
  pass walks what is young, then moves it to an older generation), so in a process that
  ends after one command (:func:`short_lived_process`, the CLI's entry point) the block
  ends with :func:`gc.freeze`: what it built lives until the process ends, in the
  permanent generation that no pass walks.  Garbage the block left in a reference
  cycle is then never collected: bounded by what one block built.  Elsewhere (a test
  session, a library user) nothing is frozen."""

from __future__ import annotations

import atexit
import gc
from collections.abc import Iterator
from contextlib import contextmanager

_registered: list[bool] = []
_short_lived: list[bool] = []


def short_lived_process() -> None:
    """Say that this process ends after one command (the CLI's entry point): the heap
    built so far (the imported modules) and what each :func:`collection_paused` block
    builds are frozen, and the final collection is skipped."""
    if not _short_lived:
        _short_lived.append(True)
        gc.freeze()
        skip_final_collection()


def skip_final_collection() -> None:
    """Register the atexit :func:`gc.freeze` once per process."""
    if not _registered:
        _registered.append(True)
        atexit.register(gc.freeze)


@contextmanager
def collection_paused() -> Iterator[None]:
    """The cyclic collector off for the block (and back on after it, if it was on);
    in a short-lived process, what the block built frozen at its end."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if _short_lived:
            gc.freeze()
        if enabled:
            gc.enable()
