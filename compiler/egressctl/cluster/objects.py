"""The objects egressctl deploys: their kinds, how one is named, and how they are grouped
by namespace (kubectl refuses an object whose namespace differs from ``--namespace``, so
every apply, wait, prune and restart goes one namespace at a time)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from egressctl.cluster.kube import KubeObject, as_map
from egressctl.errors import VerificationError

#: The kinds chart/ renders, and their kubectl resource names.
EGRESS_KINDS = {
    "ServiceEntry": "serviceentries.networking.istio.io",
    "VirtualService": "virtualservices.networking.istio.io",
    "DestinationRule": "destinationrules.networking.istio.io",
}


@dataclass(frozen=True, slots=True)
class ObjRef:
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}" + (
            f" (namespace {self.namespace})" if self.namespace else ""
        )


def ref_of(obj: KubeObject, default_ns: str) -> ObjRef:
    """An object's kind, namespace (``default_ns`` when it names none) and name."""
    meta = as_map(obj.get("metadata"))
    return ObjRef(
        str(obj.get("kind")), str(meta.get("namespace") or default_ns), str(meta.get("name"))
    )


def resource_of(ref: ObjRef, title: str) -> str:
    """The kubectl resource name of an egress kind; any other kind is an error, never a
    KeyError (the plan refuses such renders before this)."""
    resource = EGRESS_KINDS.get(ref.kind)
    if resource is None:
        raise VerificationError(
            f"{title}: {ref} is not a kind egressctl deploys ({', '.join(EGRESS_KINDS)})"
        )
    return resource


class _Namespaced(Protocol):
    @property
    def namespace(self) -> str: ...


_T = TypeVar("_T", bound=_Namespaced)


def group_by_namespace(items: Iterable[_T]) -> dict[str, list[_T]]:
    """``items`` by namespace, in the order each namespace first appears, each group in
    the order given."""
    groups: dict[str, list[_T]] = {}
    for item in items:
        groups.setdefault(item.namespace, []).append(item)
    return groups


_DOC_SPLIT = re.compile(r"^---[ \t]*$", re.MULTILINE)
_TOP_KIND_LINE = re.compile(r"^kind:", re.MULTILINE)
_META_NAMESPACE = re.compile(
    r"^metadata:\n(?:[ \t]+.*\n)*?[ \t]{2}namespace:[ \t]*(\S+)", re.MULTILINE
)


def split_by_namespace(manifests: str, default: str) -> dict[str, str]:
    """Split a render into one YAML stream per namespace (sorted): a DestinationRule for
    MUTUAL origination lives in its workloads' namespace, not the environment's."""
    docs: dict[str, list[str]] = {}
    for doc in _DOC_SPLIT.split(manifests):
        if not doc.strip() or not _TOP_KIND_LINE.search(doc):
            continue
        m = _META_NAMESPACE.search(doc)
        docs.setdefault(m.group(1).strip("'\"") if m else default, []).append(doc.strip("\n"))
    return {ns: "---\n" + "\n---\n".join(group) + "\n" for ns, group in sorted(docs.items())}
