"""The inventory as frozen data.  No I/O here: `inventory.load` builds these, the rules
and the planner read them."""

from __future__ import annotations

import datetime
import enum
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from egressctl.errors import Loc

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# `acknowledge: {CODE: reason}`: warnings a team accepts for one entry, with the reason.
Acknowledgements = tuple[tuple[str, str], ...]

# Istio's protocol names (pkg/config/protocol/instance.go), keyed by their lowercase
# spelling.  Istio parses them case-insensitively; we emit its canonical spelling.
PROTOCOLS: dict[str, str] = {
    p.lower(): p
    for p in (
        "HTTP",
        "HTTPS",
        "HTTP2",
        "HTTP_PROXY",
        "GRPC",
        "GRPC-Web",
        "TLS",
        "TCP",
        "UDP",
        "Mongo",
        "Redis",
        "MySQL",
    )
}
HTTP_FAMILY = frozenset({"HTTP", "HTTP2", "HTTP_PROXY", "GRPC", "GRPC-Web"})
TLS_FAMILY = frozenset({"HTTPS", "TLS"})
# Protocols Istio can only tell apart by destination address and port, not by host.
OPAQUE = frozenset({"TCP", "UDP", "Mongo", "Redis", "MySQL"})

# A bare port number is only enough for these two.
DEFAULT_PROTOCOL_BY_PORT = {80: "HTTP", 443: "HTTPS"}


class Policy(str, enum.Enum):
    ALLOW_ANY = "ALLOW_ANY"
    REGISTRY_ONLY = "REGISTRY_ONLY"


class Resolution(str, enum.Enum):
    NONE = "NONE"
    STATIC = "STATIC"
    DNS = "DNS"
    DNS_ROUND_ROBIN = "DNS_ROUND_ROBIN"


class Location(str, enum.Enum):
    MESH_EXTERNAL = "MESH_EXTERNAL"
    MESH_INTERNAL = "MESH_INTERNAL"


class Part(str, enum.Enum):
    """A part of the inventory that reading could not read as written (a located error
    says why).  The model holds an empty value in its place (no hosts, no ports, the
    default policy, capture of everything…); the rules that need the part are skipped and
    the others still run, so that one run reports every problem.  A model with an unread
    part never reaches the planner: its reading errors stop every command first."""

    POLICY = "policy"
    INCLUDE = "capture.include"
    EXCLUDE = "capture.exclude"
    SERVICES = "services"  # a service that could not be read at all (not a mapping…)
    HOSTS = "hosts"
    PORTS = "ports"
    RESOLUTION = "resolution"  # as written, or inferred from unread hosts or addresses
    LOCATION = "location"
    ADDRESSES = "addresses"
    ENDPOINTS = "endpoints"
    EXPORT_TO = "exportTo"


class TlsMode(str, enum.Enum):
    SIMPLE = "SIMPLE"
    MUTUAL = "MUTUAL"


# The networking.istio.io versions an environment may render with.  v1 needs Istio
# 1.22+, v1beta1 1.5+, and 1.1-era meshes serve only v1alpha3.
API_VERSIONS = ("v1", "v1beta1", "v1alpha3")
DEFAULT_API_VERSION = "v1"


@dataclass(frozen=True, slots=True)
class Origination:
    """The sidecar opens TLS on the app's behalf (the app speaks plain HTTP)."""

    mode: TlsMode
    sni: str | None = None
    credential_name: str | None = None
    workload_selector: tuple[tuple[str, str], ...] = ()
    namespace: str | None = None  # where the rule lives: a selector works in its namespace


@dataclass(frozen=True, slots=True)
class Port:
    number: int
    protocol: str  # canonical Istio spelling, e.g. "HTTPS", "GRPC-Web"
    name: str
    target_port: int | None = None
    originate: Origination | None = None

    @property
    def is_tls(self) -> bool:
        return self.protocol in TLS_FAMILY


@dataclass(frozen=True, slots=True)
class Endpoint:
    address: str
    ports: tuple[tuple[str, int], ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    network: str | None = None
    locality: str | None = None
    weight: int | None = None


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    hosts: tuple[str, ...]
    ports: tuple[Port, ...]
    resolution: Resolution
    location: Location = Location.MESH_EXTERNAL
    addresses: tuple[str, ...] = ()
    endpoints: tuple[Endpoint, ...] = ()
    export_to: tuple[str, ...] = ()
    owner: str | None = None
    reason: str | None = None
    ticket: str | None = None
    single_host: bool = False  # written as `host:` rather than `hosts:`
    acknowledge: Acknowledgements = ()
    unread: frozenset[Part] = frozenset()  # parts reading could not read
    # The egress gateway (a key of `gateways:`) this service leaves through; None: direct
    # (`via: direct`, or no `via` and no `defaults.via`).  Issue #13.
    via: str | None = None
    # `expires: 2026-12-31`: past dates are a warning in `check`, first in the report (#16).
    expires: datetime.date | None = None

    def was_read(self, *parts: Part) -> bool:
        """Whether every one of ``parts`` was read as written (rules that need them may
        judge them)."""
        return self.unread.isdisjoint(parts)


@dataclass(frozen=True, slots=True)
class Capture:
    """Which outbound IP ranges the sidecar captures.  ``include=None`` means all ("*")."""

    include: tuple[IPNetwork, ...] | None = None
    exclude: tuple[IPNetwork, ...] = ()
    acknowledge: Acknowledgements = ()


@dataclass(frozen=True, slots=True)
class ClusterRanges:
    """The cluster's own ranges, declared by an environment, that capture must keep."""

    pod_cidrs: tuple[IPNetwork, ...] = ()
    service_cidrs: tuple[IPNetwork, ...] = ()


class GatewayApi(str, enum.Enum):
    """Which API an egress gateway's routing is written in (`gateways.*.api`)."""

    ISTIO = "istio"  # networking.istio.io Gateway + VirtualService + DestinationRule
    GATEWAY_API = "gateway-api"  # gateway.networking.k8s.io Gateway + HTTPRoute/TLSRoute


@dataclass(frozen=True, slots=True)
class EgressGateway:
    """An egress gateway (`gateways.<name>`, issue #13): the Gateway object's name, where
    its pods run, their labels, and its Service."""

    name: str
    namespace: str | None = None  # None: the environment's namespace
    selector: tuple[tuple[str, str], ...] = (("istio", "egressgateway"),)
    service: str = "istio-egressgateway"
    api: GatewayApi = GatewayApi.ISTIO
    mtls: bool = True


@dataclass(frozen=True, slots=True)
class WorkloadAllowlist:
    """`namespaces.<ns>.workloads.<name>`: an allowlist that replaces the namespace's for
    the workloads its selector matches (issue #14)."""

    name: str
    selector: tuple[tuple[str, str], ...]
    allow: tuple[str, ...]  # service names, `*` already expanded to every service
    # `serviceAccount`: the pods' service account, which an ambient waypoint knows them
    # by (it sees identities, not labels).  Required in ambient; unused with sidecars.
    service_account: str | None = None


@dataclass(frozen=True, slots=True)
class NamespacePolicy:
    """`namespaces.<ns>` (issue #14): what one namespace may reach."""

    name: str
    allow: tuple[str, ...]  # service names, `*` already expanded to every service
    policy: Policy = Policy.REGISTRY_ONLY
    network_policy: bool = False
    workloads: tuple[WorkloadAllowlist, ...] = ()
    allow_all: bool = False  # written as `allow: ["*"]`


@dataclass(frozen=True, slots=True)
class Inventory:
    policy: Policy
    capture: Capture
    services: tuple[Service, ...]
    sources: tuple[str, ...] = ()
    unread: frozenset[Part] = frozenset()  # of the inventory's own parts (policy, capture)
    gateways: tuple[EgressGateway, ...] = ()  # issue #13
    default_via: str | None = None  # `defaults.via` as written (None: direct)
    namespaces: tuple[NamespacePolicy, ...] = ()  # issue #14
    # `defaults: {exportTo: listed}`: every entry exported only to the namespaces that
    # allow it (strict tenancy, issue #14).
    export_listed: bool = False

    def was_read(self, *parts: Part) -> bool:
        """Whether every one of ``parts`` of the inventory itself was read as written."""
        return self.unread.isdisjoint(parts)

    @property
    def whole(self) -> bool:
        """Whether reading read everything: the inventory's own parts and every service."""
        return not self.unread and not any(s.unread for s in self.services)


@dataclass(frozen=True, slots=True)
class TeamValues:
    """One of the team's Istio values files as read (safely, like an inventory file): the
    rules look for the keys that the compiled values replace."""

    shown: str  # the name findings use (their positions come from this file)
    data: Mapping[str, Any] = field(compare=False, repr=False)


class IstioInstall(str, enum.Enum):
    """How the Istio render reaches the cluster (`istio.install`)."""

    TEMPLATE = "template"  # kubectl apply of `helm template`'s output (the seed's recipe)
    HELM = "helm"  # `helm upgrade` of the team's Helm release
    AUTO = "auto"  # helm when the release is in the cluster, else template (the default)


@dataclass(frozen=True, slots=True)
class IstioChart:
    chart: str  # absolute path of a chart folder or .tgz; the chart's name with `repo`
    release: str
    values: tuple[str, ...]  # absolute paths of the team's values files
    repo: str | None = None  # a chart repository URL (helm template --repo)
    version: str | None = None  # the chart version in that repository
    revision: str | None = None  # an Istio revision (ConfigMaps istio-REV, …); None: detect
    team_values: tuple[TeamValues, ...] = ()  # ``values``, read (those that are mappings)
    install: IstioInstall = IstioInstall.AUTO  # as the environment file says it

    def describe(self) -> str:
        if self.repo:
            return f"{self.chart} {self.version or '(latest)'} from {self.repo}"
        return self.chart


@dataclass(frozen=True, slots=True)
class ApplyOptions:
    """How kubectl applies (`apply:` in the environment file, `deploy --server-side`)."""

    server_side: bool = False  # kubectl apply --server-side --field-manager=egressctl
    force_conflicts: bool = False  # take fields other managers own: only `--force-conflicts`


class Dataplane(str, enum.Enum):
    """`dataplane:` in the environment file (issue #15)."""

    SIDECAR = "sidecar"
    AMBIENT = "ambient"


@dataclass(frozen=True, slots=True)
class Ambient:
    """`ambient:` in the environment file (issue #15): the egress namespace and its
    waypoint, and the namespaces enrolled in ambient beyond those `namespaces:` lists
    (`enrolled`).  ``loc``: where `dataplane` is written (the render check points there)."""

    namespace: str = "istio-egress"
    waypoint: str = "egress-waypoint"
    enrolled: tuple[str, ...] = ()
    loc: Loc = field(default_factory=lambda: Loc(""))


@dataclass(frozen=True, slots=True)
class GatewayChart:
    """`istio.gateways[i]` (issue #13): a gateway chart the environment runs, its paths
    resolved like the Istio chart's; ``loc`` is where the entry is written (render
    checks point there)."""

    chart: str  # absolute path of a chart folder or .tgz; the chart's name with `repo`
    release: str
    namespace: str
    values: tuple[str, ...] = ()  # absolute paths of the team's values files
    repo: str | None = None
    version: str | None = None
    team_values: tuple[TeamValues, ...] = ()  # ``values``, read (those that are mappings)
    index: int = 0  # its place in `istio.gateways`
    loc: Loc = field(default_factory=lambda: Loc(""))

    def describe(self) -> str:
        where = self.chart
        if self.repo:
            where = f"{self.chart} {self.version or '(latest)'} from {self.repo}"
        return f"gateway chart {where} (release {self.release} in {self.namespace})"


@dataclass(frozen=True, slots=True)
class DataplaneChart(GatewayChart):
    """`istio.charts[i]` (issue #15): a data-plane chart (ztunnel, istio-cni) rendered
    with the Istio chart's discipline, like a gateway chart; ``index`` and ``loc`` name
    its place in `istio.charts`."""

    def describe(self) -> str:
        where = self.chart
        if self.repo:
            where = f"{self.chart} {self.version or '(latest)'} from {self.repo}"
        return f"data-plane chart {where} (release {self.release} in {self.namespace})"


@dataclass(frozen=True, slots=True)
class Environment:
    name: str
    file: str
    context: str
    namespace: str
    api_version: str | None  # None: what the Istio chart serves (v1 without one)
    istio: IstioChart | None
    inventory: Inventory
    cluster: ClusterRanges = ClusterRanges()
    kubeconfig: str | None = None
    apply: ApplyOptions = ApplyOptions()
    dataplane: Dataplane = Dataplane.SIDECAR  # issue #15
    ambient: Ambient = Ambient()  # `ambient:` (issue #15)
    dataplane_charts: tuple[DataplaneChart, ...] = ()  # `istio.charts` (issue #15)
    gateway_charts: tuple[GatewayChart, ...] = ()  # `istio.gateways` (issue #13)
