"""The ObjectMeta checks the API server makes on the ``metadata`` of every custom resource.

The server checks ``metadata`` itself, whatever the CRD's schema adds: known fields
only, a name (or ``generateName``) that is an RFC 1123 subdomain, a namespace that is a
DNS label, label and annotation keys that are qualified names, string values, and label
values of at most 63 characters.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from typing import Any

from egressctl.crd.jsonkind import kind_of, show
from egressctl.inventory.names import is_dns1123_label, is_dns1123_subdomain

_META_FIELDS = frozenset(
    [
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    ]
)
_QUALIFIED_NAME_RE = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")


def _is_qualified_name(key: str) -> bool:
    prefix, slash, name = key.rpartition("/")
    if slash and not is_dns1123_subdomain(prefix):
        return False
    return len(name) <= 63 and _QUALIFIED_NAME_RE.fullmatch(name) is not None


def metadata_problems(meta: Any) -> list[tuple[str, str]]:
    """(path, message) of every problem the API server finds in an object's ``metadata``."""
    out: list[tuple[str, str]] = []
    if meta is None:
        out.append(("", 'missing required field "metadata"'))
        return out
    if not isinstance(meta, Mapping):
        out.append(("metadata", f"must be of type object, got {kind_of(meta)}"))
        return out
    for key in sorted(set(meta) - _META_FIELDS):
        out.append(("metadata", f'unknown field "{key}"'))
    name = meta.get("name")
    if name is None:
        if meta.get("generateName") is None:
            out.append(("metadata", 'missing required field "name"'))
    elif not isinstance(name, str) or not is_dns1123_subdomain(name):
        out.append(
            (
                "metadata.name",
                f"invalid name {show(name)}: must be a lowercase RFC 1123 subdomain "
                "(lower-case letters, digits, '-' and '.'; at most 253 characters)",
            )
        )
    namespace = meta.get("namespace")
    if namespace is not None and (
        not isinstance(namespace, str) or not is_dns1123_label(namespace)
    ):
        out.append(("metadata.namespace", f"invalid namespace {show(namespace)}: not a DNS label"))
    for field in ("labels", "annotations"):
        entries = meta.get(field)
        if entries is None:
            continue
        if not isinstance(entries, Mapping):
            out.append((f"metadata.{field}", f"must be of type object, got {kind_of(entries)}"))
            continue
        for key, text in entries.items():
            where = f"metadata.{field}[{key}]"
            if not isinstance(key, str) or not _is_qualified_name(key):
                out.append((where, f"invalid key {show(key)}: not a qualified name"))
            if isinstance(text, datetime.date):
                text = text.isoformat()
            if not isinstance(text, str):
                out.append((where, f"must be of type string, got {kind_of(text)}"))
            elif field == "labels" and (
                len(text) > 63 or (text and not _QUALIFIED_NAME_RE.fullmatch(text))
            ):
                out.append((where, f"invalid label value {show(text)}"))
    return out
