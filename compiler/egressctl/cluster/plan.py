"""The deploy plan: the render against the live cluster, and the steps in an order that
never cuts traffic.  When tightening, the entries are applied (and waited for) before
the mesh policy; when loosening, the mesh policy first; prune is always last.  The mesh
policy goes in by kubectl apply of the Istio render, or by `helm upgrade` (`helm
rollback`) of the team's Helm release (:mod:`egressctl.cluster.install` chooses)."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from egressctl.charts.configmaps import find_configmaps
from egressctl.charts.manifests import parse_manifests
from egressctl.charts.render import Rendered
from egressctl.cluster.helmrelease import find_release
from egressctl.cluster.history import Recorded
from egressctl.cluster.install import IstioMode, choose
from egressctl.cluster.kube import Kube, KubeObject
from egressctl.cluster.live import LiveMesh, live_mesh, live_objects
from egressctl.cluster.objects import EGRESS_KINDS, ObjRef, ref_of
from egressctl.cluster.ownership import (
    NO_ADOPT,
    Adopt,
    Identity,
    KindChanges,
    Ownership,
    Refusal,
    Survey,
    check_adopt,
    classify,
    ownership,
)
from egressctl.errors import VerificationError


class Order(str, enum.Enum):
    """Which goes first: the entries (tighten, same) or the mesh policy (loosen)."""

    TIGHTEN = "tighten"
    LOOSEN = "loosen"
    SAME = "same"


class StepName(str, enum.Enum):
    EGRESS = "egress"  # apply the egress render (chart/)
    WAIT = "wait"  # until the API server has every egress object
    ISTIO = "istio"  # apply the Istio render (install: template)
    HELM_UPGRADE = "helm-upgrade"  # helm upgrade of the Istio release (install: helm)
    HELM_ROLLBACK = "helm-rollback"  # helm rollback of it to a recorded revision
    PRUNE = "prune"  # delete this environment's objects no longer rendered


#: The steps that change the mesh policy and capture ranges.
ISTIO_STEPS = (StepName.ISTIO, StepName.HELM_UPGRADE, StepName.HELM_ROLLBACK)


@dataclass(frozen=True, slots=True)
class Step:
    name: StepName
    title: str
    manifests: str = ""
    refs: tuple[ObjRef, ...] = ()
    release: str | None = None  # the helm steps: the release
    revision: int | None = None  # HELM_ROLLBACK: the revision to roll back to


@dataclass(frozen=True, slots=True)
class DeployPlan:
    live_policy: str
    target_policy: str
    live_include: str | None
    live_exclude: str | None
    target_include: str
    target_exclude: str
    order: Order
    kinds: dict[str, KindChanges]
    istio_objects: int
    prune: tuple[ObjRef, ...]
    steps: tuple[Step, ...]
    revision: str | None
    identity: Identity
    refused: tuple[Refusal, ...] = ()
    adopted: tuple[ObjRef, ...] = ()
    istio_mode: IstioMode | None = None  # None: no Istio render

    @property
    def capture_changed(self) -> bool:
        return (self.live_include, self.live_exclude) != (self.target_include, self.target_exclude)


def wanted_objects(rendered: Rendered) -> dict[ObjRef, KubeObject]:
    """The egress render's objects; each must be of an egress kind and carry this
    environment's labels, or nothing is applied (a render or a recorded render that
    would create objects this environment could never prune)."""
    env = rendered.env
    ident = Identity.of(env)
    wanted: dict[ObjRef, KubeObject] = {}
    for obj in rendered.egress_objects():
        ref = ref_of(obj, env.namespace)
        if ref.kind not in EGRESS_KINDS:
            raise VerificationError(
                f"the egress render holds {ref}, which is not a kind "
                f"egressctl deploys ({', '.join(EGRESS_KINDS)}); nothing was applied"
            )
        if ownership(obj, ident)[0] is not Ownership.OURS:
            raise VerificationError(
                f"the egress render holds {ref} without the labels of "
                f"{ident} ({ident.selector}): it was rendered by another chart or recorded "
                "by an earlier egressctl, and this environment could never prune it; "
                "nothing was applied"
            )
        wanted[ref] = obj
    return wanted


def survey(
    rendered: Rendered,
    kube: Kube,
    *,
    prune: bool = True,
    previous: Iterable[str] = (),
    adopt: Adopt = NO_ADOPT,
) -> Survey:
    """Classify every rendered egress object against all objects of the egress kinds in
    its namespace, and list this environment's objects to prune.  ``previous``:
    namespaces earlier deploys wrote to (see :func:`~egressctl.cluster.history.
    previous_namespaces`), so that an owned object in a namespace the inventory no
    longer uses is still found."""
    env = rendered.env
    wanted = wanted_objects(rendered)
    check_adopt(adopt, wanted, env)
    namespaces = {env.namespace, *previous} | {r.namespace for r in wanted}
    live = {ref_of(o, env.namespace): o for o in live_objects(kube, namespaces)}
    return classify(wanted, live, Identity.of(env), prune=prune, adopt=adopt)


def order_of(live: LiveMesh, rendered: Rendered) -> Order:
    if live.policy == "REGISTRY_ONLY" and rendered.policy == "ALLOW_ANY":
        return Order.LOOSEN
    if live.policy != rendered.policy or (live.include, live.exclude) != (
        rendered.include,
        rendered.exclude,
    ):
        return Order.TIGHTEN
    return Order.SAME


def revision_of(rendered: Rendered) -> str | None:
    """The Istio revision the render's ConfigMaps belong to (else the environment's)."""
    if rendered.verified is not None:
        return rendered.verified.revision
    if rendered.istio:
        _, _, rev = find_configmaps(parse_manifests(rendered.istio), None)
        if rev:
            return rev
    env = rendered.env
    return env.istio.revision if env.istio else None


def make_plan(
    rendered: Rendered,
    kube: Kube,
    *,
    prune: bool = True,
    previous: Iterable[str] = (),
    adopt: Adopt = NO_ADOPT,
    recorded: Recorded | None = None,
) -> DeployPlan:
    """``previous``: namespaces earlier deploys wrote to, so that an owned object in a
    namespace the inventory no longer uses is still found and pruned.  ``recorded``: a
    rollback's target record, which decides how Istio is restored."""
    env = rendered.env
    revision = revision_of(rendered)
    found = survey(rendered, kube, prune=prune, previous=previous, adopt=adopt)
    live = live_mesh(kube, revision)
    order = order_of(live, rendered)
    mode = istio_mode(rendered, kube, live, recorded)

    wanted = found.wanted
    steps: list[Step] = []
    if wanted:
        steps += [
            Step(StepName.EGRESS, "apply the egress objects (chart/)", rendered.egress, wanted),
            Step(StepName.WAIT, "wait until the egress objects exist", "", wanted),
        ]
    if rendered.istio is not None and mode is not None:
        istio_step = _istio_step(rendered, mode, recorded)
        steps = [istio_step, *steps] if order is Order.LOOSEN else [*steps, istio_step]
    if found.prune:
        steps.append(
            Step(
                StepName.PRUNE,
                "delete this environment's objects no longer in the inventory",
                refs=found.prune,
            )
        )
    istio_count = len(parse_manifests(rendered.istio)) if rendered.istio else 0
    return DeployPlan(
        live_policy=live.policy,
        target_policy=rendered.policy,
        live_include=live.include,
        live_exclude=live.exclude,
        target_include=rendered.include,
        target_exclude=rendered.exclude,
        order=order,
        kinds=found.kinds,
        istio_objects=istio_count,
        prune=found.prune,
        steps=tuple(steps),
        revision=revision,
        identity=Identity.of(env),
        refused=found.refused,
        adopted=found.adopted,
        istio_mode=mode,
    )


def istio_mode(
    rendered: Rendered, kube: Kube, live: LiveMesh, recorded: Recorded | None = None
) -> IstioMode | None:
    """How the Istio render goes in (None: there is none): the environment's release is
    looked for (one kubectl call), then :func:`~egressctl.cluster.install.choose`."""
    if rendered.istio is None:
        return None
    istio = rendered.env.istio
    release = istio.release if istio is not None else None
    if release is None and recorded is not None:
        release = recorded.helm_release
    found = find_release(kube, release) if release is not None else None
    return choose(rendered.env, found, live.helm, recorded)


def _istio_step(rendered: Rendered, mode: IstioMode, recorded: Recorded | None) -> Step:
    istio, manifests = rendered.env.istio, rendered.istio or ""
    if recorded is not None:
        source = f"recorded render of {recorded.record_id}"
    else:
        source = istio.describe() if istio is not None else "recorded render"
    release = mode.release.name if mode.release is not None else None
    if mode.helm and mode.rollback_to is not None:
        return Step(
            StepName.HELM_ROLLBACK,
            f"roll Helm release {release} back to revision {mode.rollback_to} (helm rollback)",
            manifests,
            release=release,
            revision=mode.rollback_to,
        )
    if mode.helm:
        return Step(
            StepName.HELM_UPGRADE,
            f"upgrade Helm release {release} with the Istio chart ({source}; helm upgrade)",
            manifests,
            release=release,
        )
    return Step(StepName.ISTIO, f"apply the Istio chart ({source})", manifests)
