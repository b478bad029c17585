"""Per-namespace allowlists (issue #14) → Sidecars, NetworkPolicies and the entries'
`exportTo`.  Pure and deterministic.

* Per listed namespace a Sidecar named `default` (no selector) in that namespace, and
  one per `workloads` entry (with its selector): `outboundTrafficPolicy.mode` always
  written, `egress.hosts` = `./*` plus `<entry namespace>/<host>` for each allowed
  service's hosts plus the gateway Services those services leave through.  Never a
  wildcard import of the entry namespace.
* `networkPolicy: true`: a NetworkPolicy `egressctl-egress` (all pods of the namespace)
  allowing DNS, the cluster's ranges, istiod (15012), the gateway pods its services use
  and the addresses of its direct services; one per workload allowlist for what that
  allowlist adds (NetworkPolicies add up).
* `defaults.exportTo: listed`: every entry exported only where it is allowed
  (:func:`egressctl.inventory.tenancy.export_to`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from egressctl.inventory.model import (
    Dataplane,
    Inventory,
    NamespacePolicy,
    Service,
)
from egressctl.inventory.tenancy import (
    DEFAULT_ENTRY_NAMESPACE,
    allowing,
    export_to,
    gateway_host,
    gateway_namespace,
    gateway_of,
    gateway_pods,
    service_cidrs,
)

if TYPE_CHECKING:
    from egressctl.mesh.plan import Target

SIDECARS = "sidecars"
NETWORK_POLICIES = "networkPolicies"
KINDS = {SIDECARS: "Sidecar", NETWORK_POLICIES: "NetworkPolicy"}
SIDECAR_NAME = "default"
NETWORK_POLICY_NAME = "egressctl-egress"
NS_LABEL = "kubernetes.io/metadata.name"
DNS_PEER = {
    "namespaceSelector": {"matchLabels": {NS_LABEL: "kube-system"}},
    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
}
DNS_PORTS = [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
ISTIOD_PORT = 15012
ISTIOD_LABELS = {"app": "istiod"}


def entry_namespace(target: Target) -> str:
    """Where the entries are rendered: the environment's namespace; `istio-system` for
    `compile FILE…` (render those values there)."""
    return target.namespace or DEFAULT_ENTRY_NAMESPACE


def values_key(namespace: str, name: str) -> str:
    """A values key unique across namespaces (the entry carries `name` and `namespace`)."""
    return f"{namespace}.{name}"


def with_listed_export(inv: Inventory, target: Target) -> Inventory:
    """The inventory with each entry's `exportTo` as it is written: unchanged unless
    `defaults.exportTo: listed`."""
    if not inv.export_listed:
        return inv
    where = entry_namespace(target)
    by = allowing(inv)
    services = tuple(
        dataclasses.replace(s, export_to=export_to(inv, s, where, by)) for s in inv.services
    )
    return dataclasses.replace(inv, services=services)


def add_objects(
    extra: dict[str, dict[str, dict[str, Any]]], inv: Inventory, target: Target
) -> None:
    """Fill ``extra`` (the plan's values maps) with the namespaces' Sidecars and
    NetworkPolicies; other features' NetworkPolicies are kept."""
    if not inv.namespaces:
        return
    sidecars: dict[str, dict[str, Any]] = {}
    policies: dict[str, dict[str, Any]] = {}
    by_name = {s.name: s for s in inv.services}
    where = entry_namespace(target)
    for ns in inv.namespaces:
        if target.dataplane is Dataplane.SIDECAR:
            sidecars[values_key(ns.name, SIDECAR_NAME)] = _sidecar(
                inv, ns, SIDECAR_NAME, (), _services(by_name, ns.allow), where
            )
            for w in ns.workloads:
                sidecars[values_key(ns.name, w.name)] = _sidecar(
                    inv, ns, w.name, w.selector, _services(by_name, w.allow), where
                )
        if ns.network_policy:
            policies.update(_network_policies(inv, ns, by_name, target))
    if sidecars:
        extra.setdefault(SIDECARS, {}).update(sidecars)
    if policies:
        extra.setdefault(NETWORK_POLICIES, {}).update(policies)


def _services(by_name: dict[str, Service], names: Iterable[str]) -> list[Service]:
    """The services ``names`` names (unknown ones are the rules' error), by name."""
    return sorted((by_name[n] for n in set(names) if n in by_name), key=lambda s: s.name)


def sidecar_hosts(inv: Inventory, services: Iterable[Service], where: str) -> list[str]:
    """`./*`, then `<entry namespace>/<host>` of each service and the gateway Services
    they leave through, sorted."""
    hosts: set[str] = set()
    for svc in services:
        hosts.update(f"{where}/{h}" for h in svc.hosts)
        gw = gateway_of(inv, svc)
        if gw is not None:
            hosts.add(f"{gateway_namespace(gw, where)}/{gateway_host(gw, where)}")
    return ["./*", *sorted(hosts)]


def _sidecar(
    inv: Inventory,
    ns: NamespacePolicy,
    name: str,
    selector: tuple[tuple[str, str], ...],
    services: list[Service],
    where: str,
) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "namespace": ns.name}
    if selector:
        entry["workloadSelector"] = dict(selector)
    entry["outboundTrafficPolicy"] = {"mode": ns.policy.value}
    entry["egress"] = [{"hosts": sidecar_hosts(inv, services, where)}]
    return entry


def _network_policies(
    inv: Inventory, ns: NamespacePolicy, by_name: dict[str, Service], target: Target
) -> dict[str, dict[str, Any]]:
    where = entry_namespace(target)
    ranges = [
        {"ipBlock": {"cidr": str(n)}}
        for n in (*target.cluster.pod_cidrs, *target.cluster.service_cidrs)
    ]
    base: list[dict[str, Any]] = [
        {"to": [DNS_PEER], "ports": DNS_PORTS},
        *([{"to": ranges}] if ranges else []),  # none: the rules refuse it before a render
        {
            "to": [
                {
                    "namespaceSelector": {"matchLabels": {NS_LABEL: where}},
                    "podSelector": {"matchLabels": dict(ISTIOD_LABELS)},
                }
            ],
            "ports": [{"protocol": "TCP", "port": ISTIOD_PORT}],
        },
    ]
    own = _reach(inv, _services(by_name, ns.allow), where)
    out = {
        values_key(ns.name, NETWORK_POLICY_NAME): {
            "name": NETWORK_POLICY_NAME,
            "namespace": ns.name,
            "podSelector": {},
            "egress": base + own,
        }
    }
    for w in ns.workloads:
        more = [r for r in _reach(inv, _services(by_name, w.allow), where) if r not in own]
        if more:
            out[values_key(ns.name, w.name)] = {
                "name": w.name,
                "namespace": ns.name,
                "podSelector": {"matchLabels": dict(w.selector)},
                "egress": more,
            }
    return out


def _reach(inv: Inventory, services: list[Service], where: str) -> list[dict[str, Any]]:
    """The egress rules ``services`` need: the pods of each gateway they use (any
    port), the addresses (and IP endpoints) of each direct one on its ports."""
    gateways: dict[tuple[str, tuple[tuple[str, str], ...]], None] = {}
    rules: list[dict[str, Any]] = []
    for svc in services:
        gw = gateway_of(inv, svc)
        if gw is not None:
            pods = tuple(sorted(gateway_pods(gw).items()))
            gateways[(gateway_namespace(gw, where), pods)] = None
            continue
        cidrs = service_cidrs(svc)
        if not cidrs:
            continue  # `network-policy-direct` refuses it
        ports: list[dict[str, Any]] = []
        for p in svc.ports:
            proto = "UDP" if p.protocol == "UDP" else "TCP"
            for number in (p.number, p.target_port):
                item = {"protocol": proto, "port": number}
                if number is not None and item not in ports:
                    ports.append(item)
        rules.append({"to": [{"ipBlock": {"cidr": c}} for c in cidrs], "ports": ports})
    for gw_ns, selector in sorted(gateways):
        rules.insert(
            0,
            {
                "to": [
                    {
                        "namespaceSelector": {"matchLabels": {NS_LABEL: gw_ns}},
                        "podSelector": {"matchLabels": dict(selector)},
                    }
                ]
            },
        )
    return rules
