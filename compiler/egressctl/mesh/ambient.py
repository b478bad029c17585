"""The ambient data plane (issue #15): what the same inventory renders when the
environment says `dataplane: ambient`.  Pure and deterministic.

In ambient, ztunnel ignores ``outboundTrafficPolicy`` and capture ranges, so the lockdown
is made of other objects (istio.io: "Egress gateways" under ambient usage, and
"ServiceEntry visibility"):

* a **waypoint** in the egress namespace (``ambient.namespace``): a Gateway API
  ``Gateway`` with ``gatewayClassName: istio-waypoint``, label
  ``istio.io/waypoint-for: service`` and one HBONE listener on 15008;
* one **ServiceEntry** per service in that namespace, labelled
  ``istio.io/use-waypoint: <waypoint>`` (ztunnel sends the host's traffic to the
  waypoint); a wildcard host is written ``resolution: DYNAMIC_DNS`` (HTTP and TLS
  ports only, HTTPS as TLS: the rules refuse what a waypoint cannot enforce);
* one **AuthorizationPolicy** per ServiceEntry (``targetRefs`` the entry) that allows
  the namespaces (and, for workload allowlists, the workloads' service accounts) whose
  allowlists name it: :func:`sources`;
* **TLS origination** as a DestinationRule on the host in the egress namespace (the
  ServiceEntry port already has ``targetPort: 443``);
* per enrolled namespace under REGISTRY_ONLY, a **NetworkPolicy** that allows DNS, the
  cluster's ranges, istiod (15012) and TCP 15008 to the waypoint pods only: in ambient
  the pod's own traffic is subject to NetworkPolicy, so this *is* the lockdown.

Which namespaces are enrolled: those `namespaces:` lists plus ``ambient.enrolled``.
The Namespace objects themselves (the egress namespace, labelled
``istio.io/dataplane-mode: ambient``, and the app namespaces) are not rendered: the
platform owns namespaces, and a pruned Namespace would delete all it holds.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from egressctl.inventory.ambientmodel import enrolled, is_wildcard, namespace_policy
from egressctl.inventory.model import (
    Ambient,
    Inventory,
    NamespacePolicy,
    Policy,
    Service,
    WorkloadAllowlist,
)
from egressctl.inventory.tenancy import DEFAULT_ENTRY_NAMESPACE
from egressctl.mesh import namespaces as nsmod

if TYPE_CHECKING:
    from egressctl.mesh.plan import Plan, Target

AUTHORIZATION_POLICIES = "authorizationPolicies"
KINDS = {AUTHORIZATION_POLICIES: "AuthorizationPolicy"}
GATEWAYS_KEY = "gatewayApiGateways"  # the waypoint (template: H3's gateway-api Gateway)

WAYPOINT_CLASS = "istio-waypoint"
WAYPOINT_FOR = "istio.io/waypoint-for"
USE_WAYPOINT = "istio.io/use-waypoint"
WAYPOINT_POD_LABEL = "gateway.networking.k8s.io/gateway-name"
HBONE_PORT = 15008
DYNAMIC_DNS = "DYNAMIC_DNS"
TRUST_DOMAIN = "cluster.local"


def _account(w: WorkloadAllowlist) -> str:
    """The pods' service account (`serviceAccount`; the rules require it in ambient)."""
    return w.service_account or w.name


def principal(namespace: str, service_account: str) -> str:
    return f"{TRUST_DOMAIN}/ns/{namespace}/sa/{service_account}"


def _namespace_sources(ns: NamespacePolicy, service: str) -> list[dict[str, Any]]:
    """Who in a listed namespace may reach ``service``: the namespace (less the
    workloads whose own allowlist leaves it out), or only the workloads that allow it.
    A workload allowlist's name is taken as its pods' service account: a waypoint
    knows a pod by its identity, not by its labels."""
    allowed = ns.policy is Policy.ALLOW_ANY or ns.allow_all or service in ns.allow
    if allowed:
        denied = [principal(ns.name, _account(w)) for w in ns.workloads if service not in w.allow]
        source: dict[str, Any] = {"namespaces": [ns.name]}
        if denied:
            source["notPrincipals"] = sorted(denied)
        return [source]
    granted = [principal(ns.name, _account(w)) for w in ns.workloads if service in w.allow]
    return [{"principals": sorted(granted)}] if granted else []


def sources(inv: Inventory, ambient: Ambient, svc: Service) -> list[dict[str, Any]] | None:
    """The AuthorizationPolicy's `from` sources for ``svc``; None: every source (no
    namespace is known to restrict); []: none (the policy denies every request).

    * A listed namespace: as its allowlist (and workload allowlists) say.
    * A namespace only in ``ambient.enrolled``: as under the mesh policy with sidecars,
      every entry, unless `defaults.exportTo: listed` keeps entries to the namespaces
      that allow them.
    * A service that no listed namespace allows: from every enrolled namespace that is
      not listed only when the mesh policy is ALLOW_ANY (a listed namespace keeps its
      own policy, REGISTRY_ONLY unless it says otherwise, as its Sidecar would).
    * Nothing listed and nothing enrolled: every source.
    """
    if not inv.namespaces and not ambient.enrolled:
        return None
    out: list[dict[str, Any]] = []
    for ns in inv.namespaces:
        out += _namespace_sources(ns, svc.name)
    every = enrolled(inv, ambient)
    listed = {n.name for n in inv.namespaces}
    extra = [] if inv.export_listed else [n for n in every if n not in listed]
    if inv.namespaces and not out and inv.policy is Policy.ALLOW_ANY:
        # Every enrolled namespace the mesh's ALLOW_ANY governs: a listed one either
        # allows it (then it is in `out`) or keeps its own REGISTRY_ONLY lockdown.
        extra = [n for n in every if n not in listed]
    if extra:
        out.insert(0, {"namespaces": sorted(extra)})
    return out


def waypoint(ambient: Ambient) -> dict[str, Any]:
    """The egress waypoint: a Gateway API Gateway Istio deploys (a Deployment and a
    Service named after it)."""
    return {
        "name": ambient.waypoint,
        "namespace": ambient.namespace,
        "gatewayClassName": WAYPOINT_CLASS,
        "labels": {WAYPOINT_FOR: "service"},
        "listeners": [{"name": "mesh", "port": HBONE_PORT, "protocol": "HBONE"}],
    }


def service_entry(svc: Service, ambient: Ambient, base: dict[str, Any]) -> dict[str, Any]:
    """``base`` (the entry as the sidecar plan writes it) in the egress namespace,
    labelled to use the waypoint; a wildcard entry resolved per request (DYNAMIC_DNS),
    HTTPS written TLS (DYNAMIC_DNS takes HTTP, HTTP2, GRPC and TLS)."""
    entry = dict(base)
    entry["namespace"] = ambient.namespace
    _export_to_waypoint(entry)
    meta = {k: dict(v) for k, v in (entry.get("metadata") or {}).items()}
    meta.setdefault("labels", {})[USE_WAYPOINT] = ambient.waypoint
    entry["metadata"] = meta
    if is_wildcard(svc):
        entry["resolution"] = DYNAMIC_DNS
        entry["ports"] = [
            {**p, "protocol": "TLS"} if p["protocol"] == "HTTPS" else p for p in entry["ports"]
        ]
        entry.pop("addresses", None)
        entry.pop("endpoints", None)
    return entry


def authorization_policy(
    svc: Service, ambient: Ambient, found: list[dict[str, Any]] | None
) -> dict[str, Any]:
    """ALLOW on the ServiceEntry for ``found`` sources (None: all; []: none, so the
    policy denies every request to it)."""
    out: dict[str, Any] = {
        "namespace": ambient.namespace,
        "targetRefs": [{"group": "networking.istio.io", "kind": "ServiceEntry", "name": svc.name}],
        "action": "ALLOW",
    }
    if found is None:
        out["rules"] = [{}]
    elif found:
        out["rules"] = [{"from": [{"source": s} for s in found]}]
    else:
        out["rules"] = []
    return out


def destination_rule(base: dict[str, Any], ambient: Ambient) -> dict[str, Any]:
    """The sidecar plan's origination rule, moved to the egress namespace: the waypoint
    opens TLS (a workload selector selects nothing there: the rules refuse one)."""
    out = {k: v for k, v in base.items() if k != "workloadSelector"}
    out["namespace"] = ambient.namespace
    _export_to_waypoint(out)
    return out


def _export_to_waypoint(obj: dict[str, Any]) -> None:
    """An `exportTo` that leaves out the egress namespace would hide the object from the
    waypoint that enforces it: `.` is added (`~` becomes `.`).  ztunnel ignores
    `exportTo` anyway (istio#55163)."""
    export = obj.get("exportTo")
    if not export or "*" in export or "." in export:
        return
    obj["exportTo"] = ["."] + [e for e in export if e != "~"]


def _key(namespace: str, name: str) -> str:
    """The NetworkPolicy's values key: the one the per-namespace feature uses, so that an
    ambient render never holds two lockdown policies for one namespace."""
    key = nsmod.values_key(namespace, name)
    if len(key) <= 253:
        return key
    return f"{namespace[:40]}.{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def network_policy(namespace: str, target: Target) -> dict[str, Any]:
    """The lockdown of one enrolled namespace: DNS, the cluster's ranges, istiod and the
    waypoint's HBONE port, nothing else."""
    ambient = target.ambient
    ranges = [
        {"ipBlock": {"cidr": str(n)}}
        for n in (*target.cluster.pod_cidrs, *target.cluster.service_cidrs)
    ]
    control = target.namespace or DEFAULT_ENTRY_NAMESPACE
    egress: list[dict[str, Any]] = [
        {"to": [copy.deepcopy(nsmod.DNS_PEER)], "ports": copy.deepcopy(nsmod.DNS_PORTS)},
        *([{"to": ranges}] if ranges else []),
        {
            "to": [
                {
                    "namespaceSelector": {"matchLabels": {nsmod.NS_LABEL: control}},
                    "podSelector": {"matchLabels": dict(nsmod.ISTIOD_LABELS)},
                }
            ],
            "ports": [{"protocol": "TCP", "port": nsmod.ISTIOD_PORT}],
        },
        {
            "to": [
                {
                    "namespaceSelector": {"matchLabels": {nsmod.NS_LABEL: ambient.namespace}},
                    "podSelector": {"matchLabels": {WAYPOINT_POD_LABEL: ambient.waypoint}},
                }
            ],
            "ports": [{"protocol": "TCP", "port": HBONE_PORT}],
        },
    ]
    return {
        "name": nsmod.NETWORK_POLICY_NAME,
        "namespace": namespace,
        "podSelector": {},
        "egress": egress,
    }


def build(inv: Inventory, target: Target, sidecar: Plan) -> Plan:
    """The ambient plan of ``inv``, from the sidecar plan's entries and rules
    (``sidecar``: the same inventory planned for sidecars, without its sidecar-only
    objects)."""
    ambient = target.ambient
    by_name = {s.name: s for s in inv.services}
    entries: dict[str, dict[str, Any]] = {}
    policies: dict[str, dict[str, Any]] = {}
    for name, base in sidecar.service_entries.items():
        svc = by_name[name]
        entries[name] = service_entry(svc, ambient, base)
        policies[name] = authorization_policy(svc, ambient, sources(inv, ambient, svc))
    rules = {
        name: destination_rule(base, ambient) for name, base in sidecar.destination_rules.items()
    }
    lockdown = {
        _key(ns, nsmod.NETWORK_POLICY_NAME): network_policy(ns, target)
        for ns in enrolled(inv, ambient)
        if namespace_policy(inv, ns) is Policy.REGISTRY_ONLY
    }
    extra: dict[str, dict[str, dict[str, Any]]] = {
        GATEWAYS_KEY: {ambient.waypoint: waypoint(ambient)},
        AUTHORIZATION_POLICIES: policies,
    }
    if lockdown:
        extra[nsmod.NETWORK_POLICIES] = lockdown
    return replace(
        sidecar,
        service_entries=entries,
        tls_routes={},
        destination_rules=rules,
        extra=extra,
    )
