"""Which data plane the live mesh runs (issue #15), read like the live policy: from what
the Istio chart installed in the environment's namespace.  istiod runs ambient when its
Deployment sets ``PILOT_ENABLE_AMBIENT=true`` (the chart's ``profile: ambient`` does);
without it, or without a live istiod, the mesh is sidecar-mode."""

from __future__ import annotations

from egressctl.cluster.kube import Kube, KubeObject, as_list, as_map
from egressctl.inventory.model import Dataplane

AMBIENT_ENV = "PILOT_ENABLE_AMBIENT"


def deployment_is_ambient(obj: KubeObject) -> bool:
    """Whether an istiod Deployment runs with ambient enabled."""
    spec = as_map(as_map(as_map(obj.get("spec")).get("template")).get("spec"))
    for c in as_list(spec.get("containers")):
        for e in as_list(as_map(c).get("env")):
            var = as_map(e)
            if var.get("name") == AMBIENT_ENV and str(var.get("value")).lower() == "true":
                return True
    return False


def live_dataplane(kube: Kube, revision: str | None) -> Dataplane:
    """The live mesh's data plane: one kubectl call (istiod's Deployments of
    ``revision``, by the chart's labels, in the Kube's namespace)."""
    selector = "app=istiod" + (f",istio.io/rev={revision}" if revision else "")
    found = kube.items(
        ["deployments"],
        flags=[f"--selector={selector}"],
        step=f"read the live istiod Deployment in {kube.namespace} (its data plane)",
    )
    return Dataplane.AMBIENT if any(map(deployment_is_ambient, found)) else Dataplane.SIDECAR
