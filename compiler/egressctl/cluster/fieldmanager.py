"""Server-side apply (`apply: {serverSide: true}`, `deploy --server-side`): the flags
kubectl gets, and a field conflict read from what kubectl prints.

With server-side apply the API server records which manager owns each field; egressctl
applies as field manager ``egressctl`` and never takes a field another manager owns
unless ``--force-conflicts`` is passed for that run: a conflict is reported with the
other manager's name (a ToolError, exit 4)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from egressctl.errors import ToolError
from egressctl.inventory.model import ApplyOptions
from egressctl.runners import Result

FIELD_MANAGER = "egressctl"

# The API server's message (k8s.io/apimachinery …/managedfields/internal/conflict.go):
# `Apply failed with 1 conflict: conflict with "helm" using v1: .data.mesh`, or with N
# conflicts one `conflicts with "MANAGER"…:` line per manager, then `- PATH` lines.
_CONFLICT = re.compile(r"Apply failed with \d+ conflicts?:")
_MANAGER = re.compile(r'conflicts? with ("(?:[^"\\]|\\.)*")')


def apply_flags(options: ApplyOptions) -> list[str]:
    """The flags ``kubectl apply`` (and ``kubectl diff``) get for ``options``."""
    if not options.server_side:
        return []
    flags = ["--server-side", f"--field-manager={FIELD_MANAGER}"]
    if options.force_conflicts:
        flags.append("--force-conflicts")
    return flags


def conflict_managers(stderr: str) -> list[str]:
    """The field managers a refused server-side apply names (sorted, each once); empty
    when ``stderr`` is not a field conflict."""
    if not _CONFLICT.search(stderr):
        return []
    found = set()
    for quoted in _MANAGER.findall(stderr):
        try:
            name = json.loads(quoted)  # Go's %q of a printable name is a JSON string
        except ValueError:
            name = quoted.strip('"')
        found.add(str(name))
    return sorted(found)


def check_applied(res: Result, *, step: str, options: ApplyOptions) -> None:
    """Raise the ToolError of a failed apply: a field conflict names the other managers
    and what to do; anything else is kubectl's own error."""
    if res.returncode == 0:
        return
    managers = conflict_managers(res.stderr)
    if not managers:
        raise ToolError(step, res.argv, res.returncode, res.stderr or res.stdout)
    names = ", ".join(f'"{m}"' for m in managers)
    raise ToolError(
        step,
        res.argv,
        res.returncode,
        res.stderr,
        problem=f"the API server refused to change fields that another field manager owns: "
        f"{names} (server-side apply as {FIELD_MANAGER!r}). egressctl never takes them "
        f"by default: find out why {_first(managers)} changes them, or re-run with "
        "--force-conflicts to take them over",
    )


def _first(managers: Sequence[str]) -> str:
    return f'"{managers[0]}"' if len(managers) == 1 else "they"
