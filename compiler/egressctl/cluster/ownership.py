"""Whose an object is, and what a deploy may do with it.  Pure.

Ownership is per environment: chart/ labels every object with ``egressctl.io/owned``,
``egressctl.io/environment`` and ``egressctl.io/environment-namespace``.  The plan
classifies each rendered object against everything of the egress kinds that lives in
its namespace (:func:`classify`); prune, wait and diff select on all three labels
(:attr:`Identity.selector`); an object this environment does not own is refused unless
adopted (``--adopt``), another environment's never.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from egressctl.cluster.kube import KubeObject, as_map
from egressctl.cluster.objects import EGRESS_KINDS, ObjRef
from egressctl.errors import UsageError
from egressctl.inventory.model import Environment
from egressctl.mesh.kinds import GATEWAY_API_GATEWAY, lookup

OWNED_LABEL = "egressctl.io/owned"
ENV_LABEL = "egressctl.io/environment"
ENV_NAMESPACE_LABEL = "egressctl.io/environment-namespace"


@dataclass(frozen=True, slots=True)
class Identity:
    """The environment an object belongs to, as chart/ labels it."""

    environment: str
    namespace: str

    @classmethod
    def of(cls, env: Environment) -> Identity:
        return cls(env.name, env.namespace)

    @property
    def selector(self) -> str:
        return (
            f"{OWNED_LABEL}=true,{ENV_LABEL}={self.environment},"
            f"{ENV_NAMESPACE_LABEL}={self.namespace}"
        )

    def __str__(self) -> str:
        return f"environment {self.environment} (namespace {self.namespace})"


class Ownership(enum.Enum):
    OURS = "ours"
    OTHER = "another environment's"
    LEGACY = "owned=true without an environment (an earlier egressctl)"
    NONE = "not egressctl's"


def _label(labels: Mapping[str, object], key: str) -> str | None:
    """A label's value as text (a label read from YAML may be a number or a boolean);
    None: no such label.  Only string keys can be egressctl's labels."""
    value = labels.get(key)
    return None if value is None else str(value)


def ownership(obj: KubeObject, ident: Identity) -> tuple[Ownership, str]:
    """Whose an object is, and how the plan says it."""
    labels = as_map(as_map(obj.get("metadata")).get("labels"))
    if _label(labels, OWNED_LABEL) != "true":
        return Ownership.NONE, "exists, not owned by this environment"
    env = _label(labels, ENV_LABEL)
    if env is None:
        return Ownership.LEGACY, (
            f"exists, not owned by this environment (labelled {OWNED_LABEL}=true by an "
            "earlier egressctl, with no environment label)"
        )
    env_ns = _label(labels, ENV_NAMESPACE_LABEL)
    if (env, env_ns) == (ident.environment, ident.namespace):
        return Ownership.OURS, "owned by this environment"
    return Ownership.OTHER, (
        f"exists, owned by environment {env} (namespace {env_ns or 'unknown'})"
    )


# ---------------------------------------------------------------------------
# --adopt


@dataclass(frozen=True, slots=True)
class AdoptName:
    """One ``--adopt``: ``Kind/name`` (any namespace of the render) or
    ``namespace/Kind/name``; ``kind`` is the kind key (``Gateway`` is Istio's,
    ``Gateway.gateway.networking.k8s.io`` the Gateway API's: see
    :mod:`egressctl.mesh.kinds`)."""

    text: str
    kind: str
    name: str
    namespace: str | None = None

    def matches(self, ref: ObjRef) -> bool:
        return (ref.kind, ref.name) == (self.kind, self.name) and self.namespace in (
            None,
            ref.namespace,
        )


@dataclass(frozen=True, slots=True)
class Adopt:
    """Which existing objects this environment does not own it may take over."""

    names: tuple[AdoptName, ...] = ()
    all: bool = False

    def covers(self, ref: ObjRef) -> bool:
        return self.all or any(a.matches(ref) for a in self.names)


NO_ADOPT = Adopt()  # adopt nothing (the default)


def parse_adopt(texts: Iterable[str], adopt_all: bool = False) -> Adopt:
    """``--adopt`` values → :class:`Adopt`; a malformed one is a UsageError."""
    out = []
    for text in texts:
        parts = text.split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise UsageError(
                f"--adopt {text}: write Kind/name or namespace/Kind/name "
                "(e.g. --adopt ServiceEntry/google, --adopt payments/DestinationRule/bank)"
            )
        *ns, kind, name = parts
        found = lookup(kind)
        if found is None:
            raise UsageError(
                f"--adopt {text}: {kind} is not one of the kinds egressctl deploys "
                f"({', '.join(EGRESS_KINDS)}; Istio's Gateway is Gateway, the Gateway API's "
                f"is {GATEWAY_API_GATEWAY})"
            )
        out.append(AdoptName(text, found.key, name, ns[0] if ns else None))
    return Adopt(tuple(out), adopt_all)


def check_adopt(adopt: Adopt, wanted: Iterable[ObjRef], env: Environment) -> None:
    """Every ``--adopt`` names an object of the render."""
    refs = list(wanted)
    for a in adopt.names:
        if not any(a.matches(r) for r in refs):
            raise UsageError(
                f"--adopt {a.text}: no such object in the render of environment "
                f"{env.name!r}; nothing was applied"
            )


# ---------------------------------------------------------------------------
# Classification: the rendered objects against the live ones


@dataclass(frozen=True, slots=True)
class KindChanges:
    """The names of one kind's objects, by what a deploy does with them."""

    create: tuple[str, ...] = ()
    change: tuple[str, ...] = ()
    adopt: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    delete: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Refusal:
    """A rendered object whose name is taken by an object this environment does not own."""

    ref: ObjRef
    reason: str
    adoptable: bool

    def line(self) -> str:
        if self.adoptable:
            hint = f"adopt it with --adopt {self.ref.kind}/{self.ref.name} (or --adopt-all)"
        else:
            hint = (
                "another environment's object is never changed: rename the entry, or remove "
                "it from one of the two environments"
            )
        return f"{self.ref}: {self.reason}; {hint}"


def refusal(refused: Iterable[Refusal], env: Environment) -> UsageError:
    """The error of a plan with refused objects (nothing was applied)."""
    refused = list(refused)
    lines = "\n".join(f"  {r.line()}" for r in refused)
    return UsageError(
        f"refusing to deploy environment {env.name!r}: {len(refused)} object(s) it renders "
        f"exist and are not its own; nothing was applied:\n{lines}"
    )


@dataclass(frozen=True, slots=True)
class Survey:
    """The rendered egress objects classified against the live cluster."""

    kinds: dict[str, KindChanges]
    wanted: tuple[ObjRef, ...]
    refused: tuple[Refusal, ...]
    adopted: tuple[ObjRef, ...]
    prune: tuple[ObjRef, ...]
    # Adopted selector-less Sidecars of another name that egressctl's own Sidecar in
    # their namespace replaces (Istio allows one per namespace): deleted after it.
    replaced: tuple[ObjRef, ...] = ()


LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _same(live: KubeObject, rendered: KubeObject) -> bool:
    """Whether applying ``rendered`` leaves ``live`` as it is: the same spec, labels and
    annotations (kubectl's own last-applied annotation aside).  Compared in that order,
    so most objects that differ stop at their spec."""
    if live.get("spec") != rendered.get("spec"):
        return False
    live_meta, meta = as_map(live.get("metadata")), as_map(rendered.get("metadata"))
    if as_map(live_meta.get("labels")) != as_map(meta.get("labels")):
        return False
    live_notes = as_map(live_meta.get("annotations"))
    notes = as_map(meta.get("annotations"))
    if LAST_APPLIED in live_notes or LAST_APPLIED in notes:
        live_notes = {k: v for k, v in live_notes.items() if k != LAST_APPLIED}
        notes = {k: v for k, v in notes.items() if k != LAST_APPLIED}
    return live_notes == notes


def prune_set(
    live: Mapping[ObjRef, KubeObject], wanted: Iterable[ObjRef], ident: Identity
) -> tuple[ObjRef, ...]:
    """This environment's live objects that the render no longer holds, sorted by kind,
    namespace and name: what a deploy deletes and a diff reports."""
    keep = set(wanted)
    return tuple(
        sorted(
            (
                r
                for r, o in live.items()
                if r not in keep and ownership(o, ident)[0] is Ownership.OURS
            ),
            key=lambda r: (r.kind, r.namespace, r.name),
        )
    )


def classify(
    wanted: Mapping[ObjRef, KubeObject],
    live: Mapping[ObjRef, KubeObject],
    ident: Identity,
    *,
    prune: bool = True,
    adopt: Adopt = NO_ADOPT,
) -> Survey:
    """Each rendered object: create, change, unchanged, adopt, or refused (it exists and
    this environment does not own it); and (``prune``) this environment's objects to
    delete."""
    names: dict[str, dict[str, list[str]]] = {
        k: {verb: [] for verb in ("create", "change", "adopt", "unchanged", "delete")}
        for k in EGRESS_KINDS
    }
    refused: list[Refusal] = []
    adopted: list[ObjRef] = []
    for ref, obj in wanted.items():
        changes = names[ref.kind]
        if ref not in live:
            changes["create"].append(ref.name)
            continue
        whose, reason = ownership(live[ref], ident)
        if whose is Ownership.OURS:
            changes["unchanged" if _same(live[ref], obj) else "change"].append(ref.name)
        elif whose is Ownership.OTHER:
            refused.append(Refusal(ref, reason, adoptable=False))
        elif adopt.covers(ref):
            changes["adopt"].append(ref.name)
            adopted.append(ref)
        else:
            refused.append(Refusal(ref, reason, adoptable=True))
    to_prune = prune_set(live, wanted, ident) if prune else ()
    for ref in to_prune:
        names[ref.kind]["delete"].append(ref.name)
    kinds = {
        kind: KindChanges(**{verb: tuple(found) for verb, found in verbs.items()})
        for kind, verbs in names.items()
    }
    return Survey(kinds, tuple(wanted), tuple(refused), tuple(adopted), to_prune)
