"""Label selectors read from a file (`namespaces.*.workloads.*.selector`): every key a
Kubernetes label key, every value a label value, before they reach a Sidecar's
`workloadSelector` or a NetworkPolicy's `podSelector`.  Pure: problems go to the
:class:`Reader` with key paths."""

from __future__ import annotations

from collections.abc import Mapping

from egressctl.errors import Anchor, KeyPath
from egressctl.inventory.names import LABEL_KEY_HINT, is_label_key, is_label_value
from egressctl.inventory.reader import Reader

VALUE_HINT = "a label value: at most 63 alphanumerics with '-', '_' and '.' inside, or empty"


def check_selector(selector: Mapping[str, str], path: KeyPath, r: Reader, code: str) -> bool:
    """Whether every key and value of ``selector`` (written at ``path``) is a label's;
    each that is not is reported under ``code``."""
    ok = True
    for key, value in selector.items():
        if not is_label_key(key):
            r.err(code, (*path, key), f"{key!r} is not a label key", LABEL_KEY_HINT, Anchor.KEY)
            ok = False
        elif not is_label_value(value):
            r.err(code, (*path, key), f"{value!r} is not a label value", VALUE_HINT)
            ok = False
    return ok
