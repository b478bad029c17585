"""Work a render's summary needs that depends on the environment alone (the effective
policy table: 0.5 s at 10,000 services), started in a thread before helm renders chart/,
while the main thread only waits for helm; the summary then finds it done.  helm itself
stays in the main thread (Ctrl-C and SIGTERM stop it as before, :mod:`egressctl.runners`).

The thread reads the environment and writes nothing; its exception, if any, is raised
where the result is asked for, as if the work had run there.  Nobody asking (a deploy)
costs the thread's CPU time, overlapped with helm's."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def started(work: Callable[[], T]) -> Future[T]:
    """``work`` running in its own thread; ``.result()`` waits for it."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="egressctl-prefetch")
    try:
        return pool.submit(work)
    finally:
        pool.shutdown(wait=False)  # the thread ends with the work
