"""Kubernetes' own namespaces, which egressctl never locks down nor runs an egress gateway
or waypoint in: a REGISTRY_ONLY Sidecar or an egress NetworkPolicy in kube-system cuts
CoreDNS off from its upstream resolvers (the whole cluster loses DNS), and objects
egressctl owns there would be pruned next to the cluster's own.  `default` is not
reserved: many clusters run applications there.  (Istio's data-plane charts, `istio.charts`,
may run in kube-system: some platforms require it for istio-cni.)"""

from __future__ import annotations

SYSTEM_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease")
CODE = "namespace-reserved"
HINT = "use a namespace of your own (kube-system, kube-public and kube-node-lease are Kubernetes')"


def reserved_problem(name: str, what: str) -> str | None:
    """Why ``name`` cannot be ``what`` (e.g. "a gateway's namespace"), or None."""
    if name in SYSTEM_NAMESPACES:
        return f"{name!r} is Kubernetes' own namespace: it cannot be {what}"
    return None
