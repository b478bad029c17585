"""Who sees which entry (issue #14): questions on the model that the planner, the rules and
`explain --from` ask alike.  Pure.

An entry is visible to a pod when it is exported to the pod's namespace (`exportTo`) and,
in a listed namespace, imported by the pod's Sidecar (the allowlist of the namespace, or
of the workload whose selector the pod's labels match)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from egressctl.errors import DestinationError
from egressctl.inventory.gatewayapinames import gateway_service
from egressctl.inventory.model import (
    EgressGateway,
    GatewayApi,
    Inventory,
    NamespacePolicy,
    Policy,
    Resolution,
    Service,
    WorkloadAllowlist,
)
from egressctl.inventory.names import is_dns1123_label

#: Where the entries live when no environment says (`compile FILE…`, `explain FILE…`):
#: the environments' default namespace.
DEFAULT_ENTRY_NAMESPACE = "istio-system"


def gateway_of(inv: Inventory, svc: Service) -> EgressGateway | None:
    """The egress gateway ``svc`` leaves through (None: direct, or an unknown key)."""
    if svc.via is None:
        return None
    return next((g for g in inv.gateways if g.name == svc.via), None)


def gateway_namespace(gw: EgressGateway, entry_namespace: str) -> str:
    return gw.namespace or entry_namespace


def gateway_host(gw: EgressGateway, entry_namespace: str) -> str:
    """The gateway Service's host name, as a Sidecar imports it (with ``api:
    gateway-api``, the Service Istio deploys for the Gateway)."""
    ns = gateway_namespace(gw, entry_namespace)
    service = gateway_service(gw) if gw.api is GatewayApi.GATEWAY_API else gw.service
    return f"{service}.{ns}.svc.cluster.local"


def gateway_pods(gw: EgressGateway) -> dict[str, str]:
    """The labels of the gateway's pods (with ``api: gateway-api``, the label Istio's
    automated deployment puts on the Gateway's pods)."""
    if gw.api is GatewayApi.GATEWAY_API:
        return {"gateway.networking.k8s.io/gateway-name": gw.name}
    return dict(gw.selector)


def allowing(inv: Inventory) -> dict[str, list[str]]:
    """Service name → the listed namespaces that allow it (the namespace, or one of its
    workloads), sorted."""
    out: dict[str, set[str]] = {}
    for ns in inv.namespaces:
        names = set(ns.allow)
        for w in ns.workloads:
            names.update(w.allow)
        for name in names:
            out.setdefault(name, set()).add(ns.name)
    return {k: sorted(v) for k, v in out.items()}


def export_to(
    inv: Inventory, svc: Service, entry_namespace: str, allowed_by: Mapping[str, list[str]]
) -> tuple[str, ...]:
    """The `exportTo` the entry is written with: its own; with `defaults.exportTo: listed`
    (and none of its own) the namespaces that allow it, plus its gateway's namespace;
    `~` (no namespace) when none does."""
    if not inv.export_listed or svc.export_to:
        return svc.export_to
    names = set(allowed_by.get(svc.name, ()))
    gw = gateway_of(inv, svc)
    if gw is not None:
        names.add(gateway_namespace(gw, entry_namespace))
    return tuple(sorted(names)) or ("~",)


def exported(export: tuple[str, ...], namespace: str, entry_namespace: str) -> bool:
    """Whether an object written with ``export`` (in ``entry_namespace``) is visible in
    ``namespace``: Istio's exportTo (none: everywhere)."""
    if not export:
        return True
    for e in export:
        if e == "*" or e == namespace or (e == "." and namespace == entry_namespace):
            return True
    return False


def listed(inv: Inventory, namespace: str) -> NamespacePolicy | None:
    return next((n for n in inv.namespaces if n.name == namespace), None)


def workload_for(ns: NamespacePolicy, labels: Mapping[str, str]) -> WorkloadAllowlist | None:
    """The workload allowlist whose selector ``labels`` match (the first by name)."""
    for w in ns.workloads:
        if all(labels.get(k) == v for k, v in w.selector):
            return w
    return None


@dataclass(frozen=True, slots=True)
class SourceView:
    """What pods of one namespace (with some labels) see."""

    namespace: str
    listed: bool
    policy: Policy  # the namespace's mode (the Sidecar's), else the mesh's
    visible: frozenset[str]  # service names
    workload: str | None = None  # the workload allowlist that applies

    def describe(self) -> str:
        who = f"namespace {self.namespace}"
        if self.workload is not None:
            who += f" (workload allowlist {self.workload!r})"
        return who


def source_view(
    inv: Inventory, namespace: str, labels: Mapping[str, str], entry_namespace: str
) -> SourceView:
    """What pods in ``namespace`` with ``labels`` see: the entries exported to them, and in
    a listed namespace only those their allowlist names."""
    allowed_by = allowing(inv)
    ns = listed(inv, namespace)
    workload = None if ns is None else workload_for(ns, labels)
    allow: set[str] | None = None
    if workload is not None:
        allow = set(workload.allow)
    elif ns is not None:
        allow = set(ns.allow)
    visible = frozenset(
        s.name
        for s in inv.services
        if (allow is None or s.name in allow)
        and exported(export_to(inv, s, entry_namespace, allowed_by), namespace, entry_namespace)
    )
    return SourceView(
        namespace=namespace,
        listed=ns is not None,
        policy=inv.policy if ns is None else ns.policy,
        visible=visible,
        workload=None if workload is None else workload.name,
    )


def service_cidrs(svc: Service) -> list[str]:
    """Where a sidecar connects for the service directly, as CIDRs: with resolution NONE
    the address dialled (its `addresses`); else the endpoints Envoy connects to, its IP
    endpoints (DNS with no endpoints resolves the host: no address to allow; `addresses`
    is then only the VIP the app dials, which the sidecar captures)."""
    out: list[str] = []
    if svc.resolution is Resolution.NONE:
        texts = tuple(svc.addresses)
    else:
        texts = tuple(e.address for e in svc.endpoints)
    for text in texts:
        try:
            net = ipaddress.ip_network(text.strip(), strict=False)
        except ValueError:
            continue  # a host name endpoint (DNS), or `address-invalid`'s
        if str(net) not in out:
            out.append(str(net))
    return out


def direct_without_addresses(svc: Service) -> bool:
    """A service a `networkPolicy: true` namespace cannot reach: direct, no IP to allow."""
    return svc.via is None and not service_cidrs(svc)


def parse_source(text: str) -> tuple[str, dict[str, str]]:
    """`--from NAMESPACE` or `--from NAMESPACE/key=value,…` (a pod's labels)."""
    ns, _, rest = text.strip().partition("/")
    if not is_dns1123_label(ns):
        raise DestinationError(f"--from {text!r}: {ns!r} is not a namespace name")
    labels: dict[str, str] = {}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise DestinationError(
                f"--from {text!r}: {item!r} is not key=value (write NAMESPACE/app=x,tier=y)"
            )
        labels[key.strip()] = value.strip()
    return ns, labels
