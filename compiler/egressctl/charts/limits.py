"""The API server's limits on single objects, checked on every rendered object (both
renders) before anything is applied: a render the API server would refuse half-way
through an ordered deploy is refused here, whole, naming each object, its template and
the limit.  Pure: objects in, violations (or a VerificationError) out.

The limits, as Kubernetes validates them (``pkg/apis/core/validation``,
``apimachinery/pkg/api/validation``) and as etcd stores objects:

* a ConfigMap's ``data`` + ``binaryData`` (decoded), a Secret's ``data`` (decoded) +
  ``stringData``: at most 1 MiB, counted in bytes, values only;
* the whole object, serialized (compact JSON, what kubectl sends): at most 1.5 MiB,
  etcd's default request limit;
* ``metadata.name``: at most 253 characters (a DNS-1123 subdomain), or fewer where the
  kind needs a DNS label (:data:`NAME_MAX_BY_KIND`); ``metadata.namespace``: 63;
* label values: 63; label keys: name part 63, prefix 253;
* all annotations together (keys and values): 256 KiB.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from egressctl.charts.manifests import Sourced
from egressctl.errors import VerificationError

DATA_MAX = 1024 * 1024  # core/v1 MaxSecretSize, for ConfigMaps too
OBJECT_MAX = 3 * 512 * 1024  # etcd --max-request-bytes default: 1.5 MiB
NAME_MAX = 253  # a DNS-1123 subdomain
DNS_LABEL_MAX = 63
LABEL_VALUE_MAX = 63
LABEL_PREFIX_MAX = 253
ANNOTATIONS_MAX = 256 * 1024  # TotalAnnotationSizeLimitB

#: Kinds whose names are DNS labels (or shorter): Namespace and Service (core
#: validation), StatefulSet (its name goes into each pod's name and a label), CronJob
#: (its Jobs append an 11-character suffix to a 63-character name).
NAME_MAX_BY_KIND = {"Namespace": 63, "Service": 63, "StatefulSet": 63, "CronJob": 52}
_NAME_WHY = {
    "Namespace": "a Namespace's name is a DNS label",
    "Service": "a Service's name is a DNS label",
    "StatefulSet": "a StatefulSet's name is a DNS label",
    "CronJob": "a CronJob's name leaves room for its Jobs' suffix",
}


class Limit(enum.Enum):
    """One limit; its value is the code printed with each violation."""

    DATA = "data-size"
    OBJECT = "object-size"
    NAME = "name-length"
    NAMESPACE = "namespace-length"
    LABEL_VALUE = "label-value-length"
    LABEL_KEY = "label-key-length"
    ANNOTATIONS = "annotations-size"

    @property
    def unit(self) -> str:
        sizes = (Limit.DATA, Limit.OBJECT, Limit.ANNOTATIONS)
        return "bytes" if self in sizes else "characters"


@dataclass(frozen=True, slots=True)
class Violation:
    """One rendered object over one limit."""

    limit: Limit
    source: str  # the template (helm's `# Source:` line)
    kind: str
    namespace: str | None
    name: str
    field: str  # what was measured: "metadata.name", "data + binaryData"…
    found: int
    maximum: int
    why: str  # the limit, in words

    def format(self) -> str:
        name = self.name if len(self.name) <= 63 else self.name[:60] + "…"
        where = f"{self.namespace}/{name}" if self.namespace else name
        return (
            f"{self.source}: {self.kind} {where}: {self.field}: {self.found:,} "
            f"{self.limit.unit}, over the API server's limit of {self.maximum:,} "
            f"({self.why}) [{self.limit.value}]"
        )


def violations(objects: Iterable[Sourced]) -> list[Violation]:
    """Every limit every object breaks, in render order (per object: data, object size,
    name, namespace, labels, annotations)."""
    out: list[Violation] = []
    fine: set[tuple[object, object]] = set()  # labels already found within the limits
    for item in objects:
        if not _clearly_within(item, fine):
            out += _object_violations(item, fine)
    return out


def _clearly_within(item: Sourced, fine: set[tuple[object, object]]) -> bool:
    """True when ``item`` cannot break any limit, told cheaply: what chart/ renders
    (15,000 objects at 10,000 services, #12): no data, a known small size, a short
    plain name and namespace, labels already found fine, few annotations.  False
    means "look closely" (:func:`_object_violations`), not "over a limit"."""
    obj = item.obj
    kind = obj.get("kind")
    if kind in ("ConfigMap", "Secret") or item.size_bound is None:
        return False
    if item.size_bound > OBJECT_MAX:
        return False
    meta = obj.get("metadata")
    if type(meta) is not dict:
        return False
    name, namespace = meta.get("name"), meta.get("namespace")
    if type(name) is not str or not name.isascii():
        return False
    if len(name) > NAME_MAX_BY_KIND.get(str(kind), NAME_MAX):
        return False
    if namespace is not None and (
        type(namespace) is not str or not namespace.isascii() or len(namespace) > DNS_LABEL_MAX
    ):
        return False
    labels = meta.get("labels")
    if labels is not None:
        if type(labels) is not dict:
            return False
        try:
            if not fine.issuperset(labels.items()):
                return False
        except TypeError:  # a value that is not hashable (a list): look closely
            return False
    annotations = meta.get("annotations")
    if annotations is None:
        return True
    if type(annotations) is not dict:
        return False
    # At most 4 bytes a character: well under the limit whatever they hold.
    total = sum(len(str(k)) + len(str(v)) for k, v in annotations.items())
    return total * 4 <= ANNOTATIONS_MAX


def check_limits(objects: Iterable[Sourced], *, render: str) -> None:
    """Raise VerificationError (exit 3) listing every violation in ``render`` (a chart's
    description, for the message); return when there is none."""
    found = violations(objects)
    if found:
        raise VerificationError(
            f"the render of {render} breaks the API server's limits; nothing was applied:\n"
            + "\n".join(f"  - {v.format()}" for v in found)
        )


def _object_violations(item: Sourced, fine: set[tuple[object, object]]) -> list[Violation]:
    obj = item.obj
    meta = _map(obj.get("metadata"))
    kind = str(obj.get("kind"))
    name = _text(meta.get("name"))
    namespace = meta.get("namespace")
    ns = None if namespace is None else _text(namespace)
    out: list[Violation] = []

    def over(limit: Limit, field: str, found: int, maximum: int, why: str) -> None:
        if found > maximum:
            out.append(Violation(limit, item.source, kind, ns, name, field, found, maximum, why))

    if kind == "ConfigMap":
        size = _sum_bytes(obj.get("data")) + _sum_decoded(obj.get("binaryData"))
        over(Limit.DATA, "data + binaryData", size, DATA_MAX, "1 MiB")
    elif kind == "Secret":
        over(Limit.DATA, "data + stringData", _secret_size(obj), DATA_MAX, "1 MiB")
    if item.size_bound is None or item.size_bound > OBJECT_MAX:
        over(Limit.OBJECT, "the object", _serialized_size(obj), OBJECT_MAX, "1.5 MiB, etcd's")
    name_max = NAME_MAX_BY_KIND.get(kind, NAME_MAX)
    name_why = _NAME_WHY.get(kind, "a DNS-1123 subdomain")
    over(Limit.NAME, "metadata.name", _size(name), name_max, name_why)
    if ns is not None:
        over(Limit.NAMESPACE, "metadata.namespace", _size(ns), DNS_LABEL_MAX, "a DNS label")
    for key, value in _map(meta.get("labels")).items():
        plain = isinstance(value, str | int | bool | None)  # hashable
        if plain and (key, value) in fine:  # a chart's objects carry the same few labels
            continue
        before = len(out)
        field = f"metadata.labels[{key}]"
        prefix, _, label = str(key).rpartition("/")
        over(Limit.LABEL_KEY, field, _size(prefix), LABEL_PREFIX_MAX, "a label key's prefix")
        over(Limit.LABEL_KEY, field, _size(label), DNS_LABEL_MAX, "a label key's name")
        over(Limit.LABEL_VALUE, field, _size(_text(value)), LABEL_VALUE_MAX, "a label value")
        if plain and len(out) == before:
            fine.add((key, value))
    annotations = _map(meta.get("annotations"))
    total = sum(_size(str(k)) + _size(_text(v)) for k, v in annotations.items())
    over(Limit.ANNOTATIONS, "metadata.annotations", total, ANNOTATIONS_MAX, "256 KiB in all")
    return out


def _map(value: object) -> Mapping[Any, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _size(text: str) -> int:
    """Bytes, as the API server's Go code counts a string's length."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def _decoded_size(value: object) -> int:
    """The length of base64 data once decoded (what the API server counts for
    binaryData and a Secret's data)."""
    text = "".join(_text(value).split())
    return max(0, len(text) * 3 // 4 - (len(text) - len(text.rstrip("="))))


def _sum_bytes(data: object) -> int:
    return sum(_size(_text(v)) for v in _map(data).values())


def _sum_decoded(data: object) -> int:
    return sum(_decoded_size(v) for v in _map(data).values())


def _secret_size(obj: Mapping[str, Any]) -> int:
    """The API server merges ``stringData`` into ``data`` (its keys win) before it
    validates the size."""
    sizes = {str(k): _decoded_size(v) for k, v in _map(obj.get("data")).items()}
    sizes |= {str(k): _size(_text(v)) for k, v in _map(obj.get("stringData")).items()}
    return sum(sizes.values())


def _serialized_size(obj: Mapping[str, Any]) -> int:
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, default=str)
    return _size(text)
