"""One deploy or rollback at a time per environment: a flock on ``build/ENV/.deploy.lock``."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

from egressctl.errors import UsageError

LOCK_FILE = ".deploy.lock"


@contextlib.contextmanager
def deploy_lock(out: Path, environment: str) -> Iterator[Path]:
    """Hold ``out/.deploy.lock`` (flock, exclusive, not waiting) for a deploy or rollback
    of ``environment``; a second one refuses, naming the lock file and the holder's pid.
    The file stays (removing it would let two deploys lock two different files)."""
    path = out / LOCK_FILE
    try:
        out.mkdir(parents=True, exist_ok=True)
        # Never through a link, never anything but a regular file: a symlink committed
        # as the lock would otherwise have egressctl truncate whatever it points at.
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
    except OSError as exc:
        raise UsageError(
            f"{path}: cannot open the deploy lock ({exc.strerror or exc}; it must be a "
            "regular file, not a link); nothing was applied"
        ) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UsageError(f"{path}: the deploy lock is not a regular file; nothing was applied")
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
                raise UsageError(
                    f"{path}: cannot take the deploy lock ({exc.strerror}); nothing was applied"
                ) from None
            holder = re.sub(r"\D", "", os.pread(fd, 32, 0).decode("ascii", "replace"))[:12]
            raise UsageError(
                f"another deploy or rollback of environment {environment!r} is running: it "
                f"holds {path} (pid {holder or 'unknown'}); nothing was applied. Wait for it "
                "to finish and run again"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        try:
            yield path
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the lock
