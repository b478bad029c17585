"""A pod's name → the workload that owns it, by the names Kubernetes gives pods.

* Deployment: ``NAME-HASH-XXXXX`` (the ReplicaSet's pod-template hash, then a suffix);
* StatefulSet: ``NAME-N``;
* DaemonSet, Job, a bare ReplicaSet: ``NAME-XXXXX``.

Both the hash and the suffix are drawn from Kubernetes' safe alphabet (no vowels, no
0/1/3), which keeps ``checkout-v2`` or ``api-gateway`` whole.  A name that fits none of
these is its own workload."""

from __future__ import annotations

import functools
import re

from egressctl.inventory.names import is_dns1123_subdomain

_SAFE = "[bcdfghjklmnpqrstvwxz2456789]"
_DEPLOYMENT = re.compile(rf"(?P<name>.+)-{_SAFE}{{6,10}}-{_SAFE}{{5}}")
_STATEFULSET = re.compile(r"(?P<name>.+)-[0-9]{1,5}")
_SUFFIXED = re.compile(rf"(?P<name>.+)-{_SAFE}{{5}}")


@functools.lru_cache(maxsize=8192)
def workload_of(pod: str) -> str | None:
    """The workload name of pod ``pod``; None when ``pod`` is no valid pod name."""
    if not is_dns1123_subdomain(pod):
        return None
    for pattern in (_DEPLOYMENT, _STATEFULSET, _SUFFIXED):
        m = pattern.fullmatch(pod)
        if m is not None:
            return m.group("name")
    return pod
