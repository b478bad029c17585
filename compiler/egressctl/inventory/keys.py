"""The keys each mapping of an inventory or environment file may hold.  The reader
refuses every other key; the published JSON Schemas (:mod:`egressctl.rules.schema`) are
built from the same lists, and a test keeps the two equal."""

from __future__ import annotations

INVENTORY_KEYS = ("capture", "policy", "services")
CAPTURE_KEYS = ("acknowledge", "exclude", "include")
SERVICE_KEYS = (
    "acknowledge",
    "addresses",
    "endpoints",
    "exportTo",
    "host",
    "hosts",
    "location",
    "owner",
    "ports",
    "reason",
    "resolution",
    "ticket",
)
PORT_KEYS = ("name", "number", "originate", "protocol", "targetPort")
ORIGINATE_KEYS = ("credentialName", "mode", "namespace", "sni", "workloadSelector")
ENDPOINT_KEYS = ("address", "labels", "locality", "network", "ports", "weight")
ENV_KEYS = (
    "allowEmptyInventory",
    "apply",
    "cluster",
    "context",
    "egress",
    "inventory",
    "istio",
    "kubeconfig",
    "namespace",
    "networkingApiVersion",
)
ISTIO_KEYS = ("chart", "install", "release", "repo", "revision", "values", "version")
CLUSTER_KEYS = ("podCIDRs", "serviceCIDRs")
APPLY_KEYS = ("serverSide",)
