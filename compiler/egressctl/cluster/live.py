"""What the cluster holds now: the objects of the egress kinds, whoever owns them, and
the outbound policy and capture ranges of the live mesh and injector ConfigMaps (and
whether a Helm release owns them)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from egressctl.charts.configmaps import names, policy_of, ranges_of
from egressctl.cluster.kube import Kube, KubeObject, as_map
from egressctl.cluster.objects import EGRESS_KINDS
from egressctl.mesh.kinds import KINDS, kind_key


def listed_kinds(needed: Iterable[str] = ()) -> list[str]:
    """The kind keys a live listing covers: ServiceEntry, VirtualService and
    DestinationRule always, the other kinds only when ``needed`` (the render holds one,
    or an earlier deploy applied one, so prune still finds it): a cluster without the
    Gateway API CRDs serves an environment that does not use them."""
    wanted = set(needed)
    return [k.key for k in KINDS if not k.optional or k.key in wanted]


def live_objects(
    kube: Kube, namespaces: Iterable[str], kinds: Iterable[str] | None = None
) -> list[KubeObject]:
    """Every object of the egress kinds (``kinds``: the kind keys to list, see
    :func:`listed_kinds`; None: those of :func:`listed_kinds` alone) in ``namespaces``,
    whoever owns it: one kubectl call per namespace."""
    keys = listed_kinds() if kinds is None else [k for k in EGRESS_KINDS if k in set(kinds)]
    resources = ",".join(EGRESS_KINDS[k] for k in keys)
    out: list[KubeObject] = []
    for ns in sorted(set(namespaces)):
        out += [
            o
            for o in kube.items(
                [resources],
                step=f"list the egress objects in namespace {ns}",
                namespace=ns,
            )
            if kind_key(o.get("kind"), o.get("apiVersion")) in keys
        ]
    return out


#: The annotation Helm (3.2+) puts on every object of a release: the release's name.
HELM_RELEASE_ANNOTATION = "meta.helm.sh/release-name"


@dataclass(frozen=True, slots=True)
class HelmOwned:
    """A live ConfigMap that a Helm release owns (it carries Helm's annotation)."""

    release: str
    configmap: str  # namespace/name


@dataclass(frozen=True, slots=True)
class LiveMesh:
    """The live outbound policy (a missing ConfigMap or key: ALLOW_ANY) and capture
    ranges (None: no live injector ConfigMap, or no ranges in it); ``helm``: the Helm
    release that owns the mesh or injector ConfigMap, if one does."""

    policy: str
    include: str | None
    exclude: str | None
    helm: HelmOwned | None = None


def helm_owner(obj: object, namespace: str) -> HelmOwned | None:
    """The Helm release ``obj`` (a live object, or None) belongs to, by Helm's annotation."""
    meta = as_map(as_map(obj).get("metadata"))
    release = as_map(meta.get("annotations")).get(HELM_RELEASE_ANNOTATION)
    if not isinstance(release, str) or not release:
        return None
    return HelmOwned(release, f"{meta.get('namespace') or namespace}/{meta.get('name')}")


def live_mesh(kube: Kube, revision: str | None) -> LiveMesh:
    """Read the mesh and injector ConfigMaps of ``revision`` in the Kube's namespace."""
    mesh_name, inj_name = names(revision)
    step = f"read the live mesh ConfigMap {kube.namespace}/{mesh_name}"
    mesh = kube.get_json(["configmap", mesh_name], flags=["--ignore-not-found"], step=step)
    inj = kube.get_json(
        ["configmap", inj_name],
        flags=["--ignore-not-found"],
        step=f"read the live injector ConfigMap {kube.namespace}/{inj_name}",
    )
    include, exclude = ranges_of(inj)
    ns = kube.namespace or ""
    owner = helm_owner(mesh, ns) or helm_owner(inj, ns)
    return LiveMesh((policy_of(mesh) or "ALLOW_ANY").upper(), include, exclude, owner)
