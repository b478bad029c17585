"""Workloads whose sidecars still carry the old capture ranges, and restarting them.

Capture ranges reach a pod when it is injected: after the injector ConfigMap changes,
pods created before keep the ranges they got.  Restarts go namespace by namespace."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from egressctl.cluster.kube import Kube, KubeObject, as_list, as_map
from egressctl.cluster.objects import group_by_namespace
from egressctl.cluster.progress import Progress, quiet

WORKLOAD_KINDS = ("deployments", "statefulsets", "daemonsets")
_RANGE_ANNOTATIONS = (
    "traffic.sidecar.istio.io/includeOutboundIPRanges",
    "traffic.sidecar.istio.io/excludeOutboundIPRanges",
)


@dataclass(frozen=True, slots=True)
class Workload:
    kind: str
    namespace: str
    name: str
    oldest_pod: str

    def ref(self) -> str:
        return f"{self.kind.lower()}/{self.name}"


def injected_namespaces(kube: Kube, revision: str | None) -> list[str]:
    selectors = (
        [f"istio.io/rev={revision}"]
        if revision
        else ["istio-injection=enabled", "istio.io/rev=default"]
    )
    found: set[str] = set()
    for sel in selectors:
        for ns in kube.items(
            ["namespaces"], flags=[f"--selector={sel}"], step="list injection-enabled namespaces"
        ):
            found.add(str(as_map(ns.get("metadata")).get("name")))
    return sorted(found)


def pod_is_stale(pod: KubeObject, include: str, exclude: str, since: str) -> bool:
    """Whether an injected pod still captures with other ranges than ``include`` and
    ``exclude``.  The istio-init arguments (`-i`, `-x`) say what the pod got at
    injection; a pod that overrides the ranges by annotation is not affected by the
    injector's defaults; without istio-init (CNI), the pod's age decides."""
    meta = as_map(pod.get("metadata"))
    annotations = as_map(meta.get("annotations"))
    if any(a in annotations for a in _RANGE_ANNOTATIONS):
        return False  # its own ranges, whatever the injector says
    for c in as_list(as_map(pod.get("spec")).get("initContainers")):
        container = as_map(c)
        if container.get("name") != "istio-init":
            continue
        args = [str(a) for a in as_list(container.get("args"))]
        got = {flag: args[i + 1] for i, flag in enumerate(args[:-1]) if flag in ("-i", "-x")}
        return (got.get("-i", "*"), got.get("-x", "")) != (include, exclude)
    if "sidecar.istio.io/status" in annotations:
        return str(meta.get("creationTimestamp", "")) < since
    return False  # not injected: capture ranges do not concern it


def _matches(pod: KubeObject, selector: dict[str, object]) -> bool:
    labels = as_map(as_map(pod.get("metadata")).get("labels"))
    return all(labels.get(k) == v for k, v in selector.items())


def stale_workloads(
    kube: Kube, revision: str | None, since: str, include: str = "*", exclude: str = ""
) -> list[Workload]:
    """Deployments, StatefulSets and DaemonSets in injection-enabled namespaces with a
    pod whose sidecar captures with other ranges than the new ones (see pod_is_stale;
    ``since`` is when the injector ConfigMap changed)."""
    out: list[Workload] = []
    for ns in injected_namespaces(kube, revision):
        workloads = kube.items(
            [",".join(WORKLOAD_KINDS)],
            step=f"list workloads in namespace {ns}",
            namespace=ns,
        )
        pods = kube.items(["pods"], step=f"list pods in namespace {ns}", namespace=ns)
        for w in workloads:
            selector = dict(
                as_map(as_map(as_map(w.get("spec")).get("selector")).get("matchLabels"))
            )
            if not selector:
                continue
            stale = [
                str(as_map(p.get("metadata")).get("creationTimestamp", ""))
                for p in pods
                if _matches(p, selector) and pod_is_stale(p, include, exclude, since)
            ]
            if stale:
                name = str(as_map(w.get("metadata")).get("name"))
                out.append(Workload(str(w.get("kind")), ns, name, min(stale)))
    return out


def restart(
    kube: Kube,
    workloads: Sequence[Workload],
    *,
    progress: Progress = quiet,
    timeout: str = "300s",
) -> list[str]:
    """`kubectl rollout restart`, namespace by namespace, then `rollout status` each."""
    done: list[str] = []
    by_ns = sorted(group_by_namespace(workloads).items())
    for n, (ns, group) in enumerate(by_ns, 1):
        progress(f"restart {n}/{len(by_ns)}: namespace {ns} ({len(group)} workload(s))")
        kube.run(
            ["rollout", "restart"],
            args=[w.ref() for w in group],
            step=f"restart workloads in namespace {ns}",
            namespace=ns,
        )
        for w in group:
            kube.run(
                ["rollout", "status"],
                flags=[f"--timeout={timeout}"],
                args=[w.ref()],
                step=f"wait for {w.ref()} in namespace {ns}",
                namespace=ns,
            )
            progress(f"    {w.ref()} rolled out")
            done.append(f"{ns}/{w.ref()}")
    return done
