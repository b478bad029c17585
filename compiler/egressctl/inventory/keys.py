"""The keys each mapping of an inventory or environment file may hold.  The reader
refuses every other key; the published JSON Schemas (:mod:`egressctl.rules.schema`) are
built from the same lists, and a test keeps the two equal."""

from __future__ import annotations

INVENTORY_KEYS = ("capture", "defaults", "gateways", "namespaces", "policy", "services")
CAPTURE_KEYS = ("acknowledge", "exclude", "include")
SERVICE_KEYS = (
    "acknowledge",
    "addresses",
    "endpoints",
    "expires",
    "exportTo",
    "host",
    "hosts",
    "location",
    "owner",
    "ports",
    "reason",
    "resolution",
    "ticket",
    "via",
)
PORT_KEYS = ("name", "number", "originate", "protocol", "targetPort")
ORIGINATE_KEYS = ("credentialName", "mode", "namespace", "sni", "workloadSelector")
ENDPOINT_KEYS = ("address", "labels", "locality", "network", "ports", "weight")
ENV_KEYS = (
    "allowEmptyInventory",
    "ambient",
    "apply",
    "cluster",
    "context",
    "dataplane",
    "egress",
    "inventory",
    "istio",
    "kubeconfig",
    "namespace",
    "networkingApiVersion",
)
ISTIO_KEYS = (
    "chart",
    "charts",
    "gateways",
    "install",
    "release",
    "repo",
    "revision",
    "values",
    "version",
)
GATEWAY_CHART_KEYS = ("chart", "namespace", "release", "repo", "values", "version")
CLUSTER_KEYS = ("podCIDRs", "serviceCIDRs")
APPLY_KEYS = ("serverSide",)
AMBIENT_KEYS = ("enrolled", "namespace", "waypoint")  # ambient (issue #15)
NAMESPACE_KEYS = ("allow", "networkPolicy", "policy", "workloads")  # namespaces.<ns>
WORKLOAD_KEYS = ("allow", "selector", "serviceAccount")  # namespaces.<ns>.workloads.<name>
GATEWAY_KEYS = ("api", "mtls", "namespace", "selector", "service")  # gateways.<name>
DEFAULTS_KEYS = ("exportTo", "via")  # defaults
