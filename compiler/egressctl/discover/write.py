"""The merged inventory written back: the file itself, whole or not at all.

* a symbolic link is refused (writing through it would change a file elsewhere; writing
  over it would replace the link by a copy): the file it points to must be named;
* the file must still hold what was read (an editor or another run may have changed it
  since): else nothing is written;
* the text goes to a temporary file beside it, which takes the file's permission bits
  (and owner, where allowed), then is renamed over it (atomic).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from egressctl.discover.merge import MergeError
from egressctl.files import read_bounded
from egressctl.inventory.safeyaml import MAX_FILE_BYTES


def write_inventory(path: Path, old_text: str, new_text: str) -> None:
    """Replace ``path`` (which held ``old_text``) by ``new_text``; MergeError when the
    file is a symbolic link, not a regular file, or changed since it was read."""
    try:
        st = path.lstat()
    except OSError as exc:
        raise MergeError(f"{path}: cannot write the inventory file: {exc.strerror}") from None
    if stat.S_ISLNK(st.st_mode):
        raise MergeError(
            f"{path}: is a symbolic link; egressctl writes only the file itself: give the "
            "file it points to with --inventory"
        )
    if not stat.S_ISREG(st.st_mode):
        raise MergeError(f"{path}: not a regular file; nothing was written")
    try:
        now = read_bounded(path, MAX_FILE_BYTES).decode("utf-8", errors="replace")
    except OSError as exc:
        raise MergeError(f"{path}: cannot read the inventory file: {exc.strerror}") from None
    if now != old_text:
        raise MergeError(f"{path}: the file changed while discover ran; nothing was written")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, stat.S_IMODE(st.st_mode))
        if (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
            with contextlib.suppress(PermissionError):  # only root may give files away
                os.fchown(fd, st.st_uid, st.st_gid)
        with os.fdopen(fd, "wb") as fh:
            fh.write(new_text.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        Path(tmp).replace(path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise MergeError(f"{path}: cannot write the inventory file: {exc.strerror}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
