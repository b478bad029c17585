"""The kinds of object chart/ renders, told apart by API group.  Pure.

Istio's ``Gateway`` (networking.istio.io) and the Gateway API's ``Gateway``
(gateway.networking.k8s.io) share a kind: everywhere egressctl names a kind of object
(the render check, the deploy plan, ``--adopt``, prune, diff) it uses a *kind key*: the
bare kind when no other kind egressctl renders shares it (``ServiceEntry``, ``Sidecar``,
``HTTPRoute``…), else ``Kind.group``.  Istio's Gateway keeps the bare key ``Gateway``
(the older of the two, and the one an ``--adopt Gateway/egress`` of earlier releases
meant); the Gateway API's is ``Gateway.gateway.networking.k8s.io``.  Versions never
matter (TLSRoute v1alpha2 and v1 are one kind).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

ISTIO_NETWORKING = "networking.istio.io"
ISTIO_SECURITY = "security.istio.io"
GATEWAY_API = "gateway.networking.k8s.io"
K8S_NETWORKING = "networking.k8s.io"


@dataclass(frozen=True, slots=True)
class Kind:
    """One kind egressctl renders: its kind, API group, kubectl resource (plural) and
    key.  ``optional``: listed in a live cluster only when a render or an earlier deploy
    holds one (its CRD may be missing where the environment does not use it: the Gateway
    API's; AuthorizationPolicy before Istio 1.4); the three original kinds always are."""

    kind: str
    group: str
    plural: str
    key: str
    optional: bool = False

    @property
    def resource(self) -> str:
        """The kubectl resource, group-qualified: ``gateways.gateway.networking.k8s.io``."""
        return f"{self.plural}.{self.group}"


def _table() -> tuple[Kind, ...]:
    rows = (
        ("ServiceEntry", ISTIO_NETWORKING, "serviceentries", False),
        ("VirtualService", ISTIO_NETWORKING, "virtualservices", False),
        ("DestinationRule", ISTIO_NETWORKING, "destinationrules", False),
        ("Gateway", ISTIO_NETWORKING, "gateways", True),
        ("Sidecar", ISTIO_NETWORKING, "sidecars", True),
        ("AuthorizationPolicy", ISTIO_SECURITY, "authorizationpolicies", True),
        ("NetworkPolicy", K8S_NETWORKING, "networkpolicies", True),
        ("Gateway", GATEWAY_API, "gateways", True),
        ("HTTPRoute", GATEWAY_API, "httproutes", True),
        ("TLSRoute", GATEWAY_API, "tlsroutes", True),
        ("ReferenceGrant", GATEWAY_API, "referencegrants", True),
    )
    out = []
    seen: set[str] = set()
    for kind, group, plural, optional in rows:
        # The first of a shared kind keeps the bare key (Istio's Gateway).
        key = kind if kind not in seen else f"{kind}.{group}"
        seen.add(kind)
        out.append(Kind(kind, group, plural, key, optional))
    return tuple(out)


KINDS: tuple[Kind, ...] = _table()
BY_KEY: Mapping[str, Kind] = {k.key: k for k in KINDS}
_BY_KIND_GROUP = {(k.kind, k.group): k for k in KINDS}
_BARE = {k.kind: k for k in KINDS if k.key == k.kind}
#: Kinds whose key is qualified: a bare ``Gateway`` in an ``--adopt`` means Istio's.
SHARED_KINDS = frozenset(k.kind for k in KINDS if k.key != k.kind)

#: The Gateway API Gateway's key (the ambient waypoint is one).
GATEWAY_API_GATEWAY = _BY_KIND_GROUP[("Gateway", GATEWAY_API)].key


def group_of(api_version: object) -> str:
    """The API group of an ``apiVersion`` (``""`` for the core group or none)."""
    text = str(api_version) if isinstance(api_version, str) else ""
    return text.split("/", 1)[0] if "/" in text else ""


def kind_key(kind: object, api_version: object) -> str:
    """The kind key of an object of ``kind`` and ``apiVersion``: the table's key for a
    kind egressctl renders; a known kind in another group is ``Kind.group`` (never
    mistaken for egressctl's); anything else its kind (``Kind.group`` with a group)."""
    if type(kind) is str and type(api_version) is str:
        return _string_kind_key(kind, api_version)
    return _kind_key(kind, api_version)


@functools.lru_cache(maxsize=256)
def _string_kind_key(kind: str, api_version: str) -> str:
    """:func:`kind_key` of two strings, remembered: a plan asks for each of 30,000
    objects, and a cluster uses a handful of pairs."""
    return _kind_key(kind, api_version)


def _kind_key(kind: object, api_version: object) -> str:
    name = str(kind)
    group = group_of(api_version)
    found = _BY_KIND_GROUP.get((name, group))
    if found is not None:
        return found.key
    if not group and name in _BARE:
        return name  # no apiVersion at all: the bare kind
    return f"{name}.{group}" if group else name


def lookup(text: str) -> Kind | None:
    """The kind a user wrote (``--adopt``): a key, ``Kind.group``, or a resource
    (``gateways.gateway.networking.k8s.io``, ``sidecars``), any case.  A bare shared kind
    (``Gateway``) is Istio's; None when it names no kind egressctl renders."""
    low = text.lower()
    for k in KINDS:
        names = {k.key, f"{k.kind}.{k.group}", k.resource, f"{k.plural}"}
        if k.key != k.kind:  # the Gateway API's Gateway: only qualified names
            names = {k.key, k.resource}
        if low in {n.lower() for n in names}:
            return k
    return None
