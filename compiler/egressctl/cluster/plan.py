"""The deploy plan: the render against the live cluster, and the steps in an order that
never cuts traffic.  When tightening, the entries are applied (and waited for) before
the mesh policy; when loosening, the mesh policy first; prune is always last.  The mesh
policy goes in by kubectl apply of the Istio render, or by `helm upgrade` (`helm
rollback`) of the team's Helm release (:mod:`egressctl.cluster.install` chooses).

Gateways, Sidecars, NetworkPolicies and ambient (issues #13-#15) add steps around the
egress apply (see :func:`_egress_steps` and :mod:`egressctl.cluster.phases`): Sidecars
and NetworkPolicies that loosen first; gateway charts, Gateway API Gateways and a wait until their
Deployments are available before the routes that send traffic to them; Sidecars that
tighten and NetworkPolicies after the entries exist; when the live mesh runs sidecars
and the environment says ambient, the Istio render last whatever the policy change."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from egressctl.charts.configmaps import find_configmaps
from egressctl.charts.manifests import parse_manifests
from egressctl.charts.render import Rendered
from egressctl.cluster.dataplane import live_dataplane
from egressctl.cluster.dataplaneguard import refuse_ambient_without_switch
from egressctl.cluster.helmrelease import find_release
from egressctl.cluster.history import Recorded
from egressctl.cluster.install import IstioMode, choose
from egressctl.cluster.kube import Kube, KubeObject
from egressctl.cluster.live import LiveMesh, listed_kinds, live_mesh, live_objects
from egressctl.cluster.objects import EGRESS_KINDS, ObjRef, ref_of, select_docs
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
from egressctl.cluster.phases import SIDECAR, Phases, foreign_sidecars, phases
from egressctl.cluster.rollout import RolloutWait, chart_waits, gateway_wait
from egressctl.errors import VerificationError
from egressctl.heap import collection_paused
from egressctl.inventory.model import Dataplane
from egressctl.mesh.kinds import GATEWAY_API_GATEWAY


class Order(str, enum.Enum):
    """Which goes first: the entries (tighten, same) or the mesh policy (loosen)."""

    TIGHTEN = "tighten"
    LOOSEN = "loosen"
    SAME = "same"


class StepName(str, enum.Enum):
    LOOSEN_SIDECARS = "loosen-sidecars"  # apply Sidecars/NetworkPolicies that loosen (#14)
    GATEWAY_CHART = "gateway-chart"  # apply one gateway chart's render (#13)
    DATAPLANE_CHART = "dataplane-chart"  # apply one data-plane chart's (ztunnel, CNI: #15)
    GATEWAYS = "gateways"  # apply the Gateway API Gateways / waypoint (#13, #15)
    GATEWAY_WAIT = "gateway-wait"  # until the gateway Deployments are available
    EGRESS = "egress"  # apply the egress render (chart/; its routing part when split)
    WAIT = "wait"  # until the API server has every egress object
    LOCKDOWN = "lockdown"  # apply the Sidecars that tighten and the NetworkPolicies
    REPLACE = "replace"  # delete adopted selector-less Sidecars egressctl's replace
    ISTIO = "istio"  # apply the Istio render (install: template)
    HELM_UPGRADE = "helm-upgrade"  # helm upgrade of the Istio release (install: helm)
    HELM_ROLLBACK = "helm-rollback"  # helm rollback of it to a recorded revision
    PRUNE = "prune"  # delete this environment's objects no longer rendered


#: The steps that change the mesh policy and capture ranges.
ISTIO_STEPS = (StepName.ISTIO, StepName.HELM_UPGRADE, StepName.HELM_ROLLBACK)
#: The steps that kubectl-apply a part of a render in the environment's namespace.
APPLY_STEPS = (
    StepName.LOOSEN_SIDECARS,
    StepName.GATEWAYS,
    StepName.EGRESS,
    StepName.LOCKDOWN,
    StepName.ISTIO,
)


@dataclass(frozen=True, slots=True)
class Step:
    name: StepName
    title: str
    manifests: str = ""
    refs: tuple[ObjRef, ...] = ()
    release: str | None = None  # the helm steps: the release
    revision: int | None = None  # HELM_ROLLBACK: the revision to roll back to
    namespace: str | None = None  # GATEWAY_CHART, DATAPLANE_CHART: the chart's namespace
    waits: tuple[RolloutWait, ...] = ()  # GATEWAY_WAIT: the Deployments


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
    # The live mesh runs sidecars and the environment says ambient (#15): the lockdown
    # moves from outboundTrafficPolicy to waypoint + AuthorizationPolicy + NetworkPolicy.
    migration: bool = False
    replaced: tuple[ObjRef, ...] = ()  # adopted foreign selector-less Sidecars to delete
    waits: tuple[RolloutWait, ...] = ()  # gateway Deployments waited for

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
    previous_kinds: Iterable[str] = (),
) -> Survey:
    """Classify every rendered egress object against all objects of the egress kinds in
    its namespace, and list this environment's objects to prune.  ``previous``:
    namespaces earlier deploys wrote to (see :func:`~egressctl.cluster.history.
    previous_namespaces`), so that an owned object in a namespace the inventory no
    longer uses is still found; ``previous_kinds``: the kind keys they applied (see
    :func:`~egressctl.cluster.history.previous_kinds`): only those and the render's are
    listed beyond the three original kinds."""
    return _survey(rendered, kube, prune, previous, adopt, previous_kinds)[0]


def _survey(
    rendered: Rendered,
    kube: Kube,
    prune: bool,
    previous: Iterable[str],
    adopt: Adopt,
    previous_kinds: Iterable[str],
) -> tuple[Survey, dict[ObjRef, KubeObject], dict[ObjRef, KubeObject]]:
    """:func:`survey`, with the rendered and the live objects."""
    env = rendered.env
    wanted = wanted_objects(rendered)
    # Before any kubectl call: an --adopt that names nothing rendered (a Sidecar may name
    # a live one the render's replaces: checked once the cluster is listed).
    early = Adopt(tuple(a for a in adopt.names if a.kind != SIDECAR), adopt.all)
    check_adopt(early, wanted, env)
    namespaces = {env.namespace, *previous} | {r.namespace for r in wanted}
    kinds = listed_kinds({*previous_kinds, *(r.kind for r in wanted)})
    live = {ref_of(o, env.namespace): o for o in live_objects(kube, namespaces, kinds)}
    ident = Identity.of(env)
    refused, replaced = foreign_sidecars(wanted, live, ident, adopt)
    check_adopt(adopt, [*wanted, *replaced, *(r.ref for r in refused)], env)
    found = classify(wanted, live, ident, prune=prune, adopt=adopt)
    found = replace(
        found,
        refused=(*found.refused, *refused),
        adopted=(*found.adopted, *replaced),
        replaced=tuple(replaced),
    )
    return found, wanted, live


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
    previous_kinds: Iterable[str] = (),
) -> DeployPlan:
    """``previous``: namespaces earlier deploys wrote to, so that an owned object in a
    namespace the inventory no longer uses is still found and pruned (``previous_kinds``:
    the kinds they applied).  ``recorded``: a rollback's target record, which decides
    how Istio is restored."""
    env = rendered.env
    revision = revision_of(rendered)
    with collection_paused():  # 15,000 live objects read and compared, no cycles (#12)
        found, wanted_objs, live_objs = _survey(
            rendered, kube, prune, previous, adopt, previous_kinds
        )
    live = live_mesh(kube, revision)
    live_plane = live_dataplane(kube, revision) if env.dataplane is Dataplane.AMBIENT else None
    if live_plane is not None:  # no Istio render to switch it: the live istiod decides
        refuse_ambient_without_switch(env, rendered.istio is not None, live_plane)
    migration = live_plane is not None and live_plane is not Dataplane.AMBIENT
    order = order_of(live, rendered)
    mode = istio_mode(rendered, kube, live, recorded)
    parts = phases(wanted_objs, live_objs, migration=migration)
    waits = gateway_waits(rendered, wanted_objs)
    steps = _egress_steps(rendered, found, parts, waits, migration)
    # The data-plane charts (ztunnel, istio-cni) go in with the Istio render, just
    # before it: ztunnel serves only once istiod runs ambient.
    istio_steps = [
        Step(
            StepName.DATAPLANE_CHART,
            f"apply the data-plane chart {g.chart.release} (namespace {g.chart.namespace})",
            g.manifest,
            namespace=g.chart.namespace,
        )
        for g in rendered.dataplane_charts
    ]
    if rendered.istio is not None and mode is not None:
        istio_steps.append(_istio_step(rendered, mode, recorded))
    if order is Order.LOOSEN and not migration and rendered.istio is not None:
        n = 1 if steps and steps[0].name is StepName.LOOSEN_SIDECARS else 0
        steps[n:n] = istio_steps
    else:  # tightening, or sidecars → ambient: the Istio render last (before prune)
        steps += istio_steps
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
        migration=migration,
        replaced=found.replaced,
        waits=tuple(waits),
    )


def gateway_waits(rendered: Rendered, wanted: Mapping[ObjRef, KubeObject]) -> list[RolloutWait]:
    """The gateway Deployments to wait for: each gateway chart's, then the ones istiod
    makes for the render's Gateway API Gateways (a waypoint is one)."""
    out: list[RolloutWait] = []
    for g in rendered.gateways:
        out += chart_waits(g.chart.release, g.chart.namespace, g.objects)
    for ref, obj in wanted.items():
        w = gateway_wait(ref, obj) if ref.kind == GATEWAY_API_GATEWAY else None
        if w is not None:
            out.append(w)
    return out


def _egress_steps(
    rendered: Rendered,
    found: Survey,
    parts: Phases,
    waits: list[RolloutWait],
    migration: bool,
) -> list[Step]:
    """The steps of the gateway charts and chart/'s render, in order: Sidecars that
    loosen; gateway charts; Gateway API Gateways (with the ServiceEntries and
    AuthorizationPolicies when moving to ambient); the wait for the gateway Deployments;
    the routing; the wait until every object exists; the lockdown (tightening Sidecars,
    NetworkPolicies); the adopted foreign Sidecars' deletion."""
    env = rendered.env
    text = rendered.egress
    steps: list[Step] = []

    def docs(refs: tuple[ObjRef, ...]) -> str:
        return select_docs(text, env.namespace, refs)

    if parts.loosen:
        steps.append(
            Step(
                StepName.LOOSEN_SIDECARS,
                "apply the Sidecars and NetworkPolicies that loosen a namespace",
                docs(parts.loosen),
                parts.loosen,
            )
        )
    for g in rendered.gateways:
        steps.append(
            Step(
                StepName.GATEWAY_CHART,
                f"apply the {g.chart.describe()}",
                g.manifest,
                namespace=g.chart.namespace,
            )
        )
    if parts.gateways:
        title = (
            "apply the waypoint, ServiceEntries and AuthorizationPolicies"
            if migration
            else "apply the Gateway API Gateways"
        )
        steps.append(Step(StepName.GATEWAYS, title, docs(parts.gateways), parts.gateways))
    if waits:
        steps.append(
            Step(
                StepName.GATEWAY_WAIT,
                "wait until the gateway Deployments are available",
                waits=tuple(waits),
            )
        )
    if parts.routing:
        routing = text if not parts.split else docs(parts.routing)
        title = (
            "apply the egress objects (chart/)"
            if not parts.split
            else ("apply the entries and routes (chart/)")
        )
        steps.append(Step(StepName.EGRESS, title, routing, parts.routing))
    applied = (*parts.loosen, *parts.gateways, *parts.routing)
    if applied:
        steps.append(Step(StepName.WAIT, "wait until the egress objects exist", "", applied))
    if parts.lockdown:
        steps.append(
            Step(
                StepName.LOCKDOWN,
                "apply the lockdown: Sidecars that tighten, NetworkPolicies",
                docs(parts.lockdown),
                parts.lockdown,
            )
        )
    if found.replaced:
        steps.append(
            Step(
                StepName.REPLACE,
                "delete the adopted selector-less Sidecars egressctl's Sidecars replace",
                refs=found.replaced,
            )
        )
    return steps


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
