"""The inventory as frozen data.  No I/O here: the loader builds these, plan reads them."""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass, field

from egressctl.errors import Loc

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

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

# A bare port number is only enough for these two.
DEFAULT_PROTOCOL_BY_PORT = {80: "HTTP", 443: "HTTPS"}


class Policy(str, enum.Enum):
    ALLOW_ANY = "ALLOW_ANY"
    REGISTRY_ONLY = "REGISTRY_ONLY"


class Resolution(str, enum.Enum):
    NONE = "NONE"
    DNS = "DNS"
    DNS_ROUND_ROBIN = "DNS_ROUND_ROBIN"


class Location(str, enum.Enum):
    MESH_EXTERNAL = "MESH_EXTERNAL"
    MESH_INTERNAL = "MESH_INTERNAL"


# The networking.istio.io versions an environment may render with.  v1 needs Istio
# 1.22+, v1beta1 1.5+, and 1.1-era meshes serve only v1alpha3.
API_VERSIONS = ("v1", "v1beta1", "v1alpha3")
DEFAULT_API_VERSION = "v1"


@dataclass(frozen=True, slots=True)
class Port:
    number: int
    protocol: str  # canonical Istio spelling, e.g. "HTTPS", "GRPC-Web"
    name: str
    target_port: int | None = None
    loc: Loc = field(default=Loc(""), compare=False)

    @property
    def is_tls(self) -> bool:
        return self.protocol in TLS_FAMILY


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    hosts: tuple[str, ...]
    ports: tuple[Port, ...]
    resolution: Resolution
    location: Location
    loc: Loc = field(default=Loc(""), compare=False)
    host_locs: tuple[Loc, ...] = field(default=(), compare=False)


@dataclass(frozen=True, slots=True)
class Capture:
    """Which outbound IP ranges the sidecar captures.  ``include=None`` means all ("*")."""

    include: tuple[IPNetwork, ...] | None = None
    exclude: tuple[IPNetwork, ...] = ()


@dataclass(frozen=True, slots=True)
class Inventory:
    policy: Policy
    capture: Capture
    services: tuple[Service, ...]
    sources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class IstioChart:
    chart: str  # absolute path of a chart folder or .tgz
    release: str
    values: tuple[str, ...]  # absolute paths of the team's values files


@dataclass(frozen=True, slots=True)
class Environment:
    name: str
    file: str
    context: str
    namespace: str
    api_version: str
    istio: IstioChart | None
    inventory: Inventory
