"""The CRDs installed in a cluster, as a :class:`~egressctl.crd.CrdSet`."""

from __future__ import annotations

import json

from egressctl.cluster.kube import Kube
from egressctl.crd import CrdSet
from egressctl.errors import ToolError
from egressctl.inventory.model import Environment


def crds_from_cluster(context: str | None, kubeconfig: str | None = None) -> CrdSet:
    """The CRDs installed in the cluster of ``context`` (the current one if None), read
    with ``kubectl get customresourcedefinitions``."""
    return crds_of(Kube(context=context, kubeconfig=kubeconfig))


def crds_of_environment(env: Environment) -> CrdSet:
    """The CRDs of the environment's cluster: its context and kubeconfig, never the
    current context."""
    return crds_of(Kube.for_env(env))


def crds_of(kube: Kube) -> CrdSet:
    step = "read CRDs from the cluster"
    context = kube.context
    res = kube.run(["get"], flags=["--output=json"], args=["customresourcedefinitions"], step=step)
    try:
        items = json.loads(res.stdout)["items"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ToolError(
            step, res.argv, res.returncode, problem=f"it printed no list of CRDs ({exc})"
        ) from exc
    where = f"the cluster (context {context})" if context else "the cluster (current context)"
    return CrdSet.from_documents(items, where)
