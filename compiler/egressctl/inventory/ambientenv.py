"""`dataplane:` and `ambient:` of an environment file, read as written (issue #15).  Pure:
problems go to the :class:`Reader` with key paths."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Protocol

from egressctl.errors import Anchor, KeyPath
from egressctl.inventory.arguments import namespace_problem
from egressctl.inventory.keys import AMBIENT_KEYS
from egressctl.inventory.model import Ambient, Dataplane
from egressctl.inventory.names import DNS_LABEL_HINT, DNS_LABEL_MAX, is_dns1123_label
from egressctl.inventory.positions import Positions
from egressctl.inventory.reader import Reader
from egressctl.inventory.reserved import CODE as RESERVED
from egressctl.inventory.reserved import HINT as RESERVED_HINT
from egressctl.inventory.reserved import SYSTEM_NAMESPACES, reserved_problem

_CHOICES = tuple(d.value for d in Dataplane)


class EnvSpecLike(Protocol):
    """What :func:`located_ambient` reads of an environment file as written."""

    @property
    def istio(self) -> object | None: ...

    @property
    def ambient(self) -> Ambient: ...

    @property
    def dataplane(self) -> Dataplane: ...


def parse_dataplane(m: dict[str, Any], r: Reader) -> Dataplane:
    """`dataplane: sidecar | ambient` (any case; default sidecar)."""
    text = r.string(m, "dataplane", ())
    if text is None:
        return Dataplane.SIDECAR
    for choice in Dataplane:
        if text.strip().lower() == choice.value:
            return choice
    r.err(
        "dataplane-invalid",
        ("dataplane",),
        f"{text!r} is not one of {', '.join(_CHOICES)}",
        "sidecar: Envoy sidecars in the app pods; ambient: ztunnel and waypoints",
    )
    return Dataplane.SIDECAR


def parse_ambient(m: dict[str, Any], r: Reader, dataplane: Dataplane) -> Ambient:
    """`ambient: {namespace, waypoint, enrolled}`: where the egress waypoint and the
    ServiceEntries live, and the namespaces enrolled in ambient that `namespaces:` does
    not list.  Written with `dataplane: sidecar` it is a warning (nothing reads it)."""
    at: KeyPath = ("ambient",)
    raw = r.get(m, "ambient", (), dict)
    if raw is None:
        return Ambient()
    r.fields(raw, at, AMBIENT_KEYS)
    if dataplane is not Dataplane.AMBIENT:
        r.warn(
            "ambient-unused",
            at,
            "`ambient` is read only with `dataplane: ambient`",
            "add `dataplane: ambient`, or remove `ambient`",
        )
    default = Ambient()
    namespace = _label(raw, "namespace", r, at) or default.namespace
    reserved = reserved_problem(namespace, "the egress waypoint's namespace")
    if reserved is not None:
        r.err(RESERVED, (*at, "namespace"), reserved, RESERVED_HINT)
    waypoint = _label(raw, "waypoint", r, at, what="waypoint name") or default.waypoint
    enrolled: list[str] = []
    for i, name in enumerate(r.strings(raw, "enrolled", at) or ()):
        problem = namespace_problem(name) or reserved_problem(name, "enrolled by egressctl")
        if problem is not None and name in SYSTEM_NAMESPACES:
            r.err(RESERVED, (*at, "enrolled", i), problem, RESERVED_HINT)
        elif problem is not None:
            r.err("namespace-invalid", (*at, "enrolled", i), problem)
        elif name in enrolled:
            r.err("ambient-enrolled-duplicate", (*at, "enrolled", i), f"{name!r} is listed twice")
        elif name == namespace:
            r.err(
                "ambient-enrolled-egress",
                (*at, "enrolled", i),
                f"{name!r} is the egress namespace (`ambient.namespace`) itself",
                "list only the application namespaces whose egress is locked down",
            )
        else:
            enrolled.append(name)
    return Ambient(namespace=namespace, waypoint=waypoint, enrolled=tuple(enrolled))


def _label(
    raw: dict[str, Any], key: str, r: Reader, at: KeyPath, what: str = "namespace name"
) -> str | None:
    text = r.string(raw, key, at)
    if text is None:
        return None
    if not is_dns1123_label(text):
        r.err(
            f"ambient-{key}-invalid",
            (*at, key),
            f"{text!r} is not a {what} ({DNS_LABEL_HINT}, at most {DNS_LABEL_MAX})",
        )
        return None
    return text


def located_ambient(spec: EnvSpecLike, env_text: str, shown: str) -> Ambient:
    """``spec.ambient`` with where `dataplane` is written in the environment file (the
    file's top when it is not): the render check that compares the data plane with the
    Istio render points there, and so does deploy's check of an ambient environment
    without an Istio chart against the live istiod.  Parsed for positions only when one
    of them can use it."""
    if spec.istio is None and spec.dataplane is not Dataplane.AMBIENT:
        return spec.ambient
    loc = Positions(env_text, shown).find(("dataplane",), Anchor.VALUE)
    return replace(spec.ambient, loc=loc)
