"""Waiting for gateway pods (issues #13, #15): a gateway chart's Deployments, and the
Deployments istiod makes for a Gateway API ``Gateway`` (a waypoint is one), must be
available before a step sends traffic to them.  A chart's Deployment is waited for by
name (``kubectl rollout status``); istiod's is first looked for by the label it puts on
it (``gateway.networking.k8s.io/gateway-name``) until it exists, then the same."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from egressctl.cluster.kube import Kube, KubeObject, as_map
from egressctl.cluster.objects import ObjRef
from egressctl.cluster.progress import Progress
from egressctl.errors import ToolError

#: The label istiod puts on the Deployment it makes for a Gateway API Gateway.
GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name"
#: The Gateway classes whose Deployment istiod makes (automated deployment).
AUTOMATED_CLASSES = ("istio", "istio-waypoint")
WAYPOINT_CLASS = "istio-waypoint"


@dataclass(frozen=True, slots=True)
class RolloutWait:
    """A gateway Deployment to wait for: by ``name``, or by ``selector`` (istiod makes it
    after the Gateway is applied)."""

    namespace: str
    what: str  # how the plan says it
    name: str | None = None
    selector: str | None = None

    def __str__(self) -> str:
        target = f"deployment/{self.name}" if self.name else f"deployments {self.selector}"
        return f"{self.what}: {target} (namespace {self.namespace})"


def chart_waits(release: str, namespace: str, objects: Iterable[KubeObject]) -> list[RolloutWait]:
    """The Deployments of a gateway chart's render."""
    out = []
    for obj in objects:
        if obj.get("kind") != "Deployment":
            continue
        meta = as_map(obj.get("metadata"))
        ns = str(meta.get("namespace") or namespace)
        out.append(RolloutWait(ns, f"gateway chart {release}", name=str(meta.get("name"))))
    return out


def gateway_wait(ref: ObjRef, obj: KubeObject) -> RolloutWait | None:
    """The Deployment istiod makes for a Gateway API Gateway of an automated class."""
    cls = as_map(obj.get("spec")).get("gatewayClassName")
    if cls not in AUTOMATED_CLASSES:
        return None
    what = f"waypoint {ref.name}" if cls == WAYPOINT_CLASS else f"Gateway {ref.name}"
    return RolloutWait(ref.namespace, what, selector=f"{GATEWAY_NAME_LABEL}={ref.name}")


def _names(
    kube: Kube, w: RolloutWait, *, title: str, deadline: float, progress: Progress
) -> list[str]:
    """The Deployment names ``w`` stands for: its name, or (selector) those found once
    istiod made them."""
    if w.name is not None:
        return [w.name]
    while True:
        found = kube.items(
            ["deployments"], flags=[f"--selector={w.selector}"], step=title, namespace=w.namespace
        )
        names = sorted(str(as_map(d.get("metadata")).get("name")) for d in found)
        if names:
            return names
        if time.monotonic() > deadline:
            raise ToolError(
                title,
                ["kubectl", "get", "deployments"],
                None,
                problem=f"no Deployment for {w} appeared within the timeout (istiod makes it "
                "for the Gateway: is istiod running, and does it serve the Gateway API?)",
            )
        progress(f"    waiting for istiod to make the Deployment of {w.what}")
        time.sleep(1.0)


def wait_for_rollouts(
    kube: Kube,
    waits: Sequence[RolloutWait],
    *,
    title: str,
    timeout: float,
    progress: Progress,
) -> list[str]:
    """Until every gateway Deployment is available (``kubectl rollout status``, each
    with what is left of ``timeout``); the ``namespace/deployment/name`` of each."""
    deadline = time.monotonic() + timeout
    done = []
    for w in waits:
        for name in _names(kube, w, title=title, deadline=deadline, progress=progress):
            left = max(1, int(deadline - time.monotonic()))
            kube.run(
                ["rollout", "status"],
                flags=[f"--timeout={left}s"],
                args=[f"deployment/{name}"],
                step=f"{title}: {w.what}, deployment/{name} in namespace {w.namespace}",
                namespace=w.namespace,
            )
            progress(f"    deployment/{name} (namespace {w.namespace}) is available")
            done.append(f"{w.namespace}/deployment/{name}")
    return done
