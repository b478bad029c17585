"""Rules across services: what Istio merges, shadows or mixes up when two entries
meet.  Pure.  They run over what reading could read: a service whose ports could not
be read still has its hosts compared, and so on."""

from __future__ import annotations

from collections.abc import Iterator

from egressctl.errors import KeyPath, Problem, error, warning
from egressctl.inventory.model import OPAQUE, Inventory, Part, Resolution, Service
from egressctl.rules.entries import host_path
from egressctl.rules.hosts import covers


class _Wildcards:
    """Wildcard hosts indexed by suffix, so finding the wildcards that cover a host costs
    one dictionary look-up per label instead of a scan of every wildcard."""

    def __init__(self, services: tuple[Service, ...]) -> None:
        self.by_suffix: dict[str, list[tuple[str, Service]]] = {}
        self.partial: list[tuple[str, Service]] = []  # `*foo.com`: rare, scanned
        for svc in services:
            for host in svc.hosts:  # unread hosts are none
                if host.startswith("*."):
                    self.by_suffix.setdefault(host[2:], []).append((host, svc))
                elif host.startswith("*"):
                    self.partial.append((host, svc))

    def covering(self, host: str) -> Iterator[tuple[str, Service]]:
        rest = host
        while "." in rest:
            rest = rest.split(".", 1)[1]
            for pattern, svc in self.by_suffix.get(rest, ()):
                if pattern != host:
                    yield pattern, svc
        for pattern, svc in self.partial:
            if covers(pattern, host):
                yield pattern, svc


def cross_rules(inv: Inventory) -> Iterator[Problem]:
    """Conflicts between services: the same host twice, one host and port with two
    protocols, wildcards covering other hosts, opaque ports shared without addresses."""
    owners: dict[str, Service] = {}
    by_host_port: dict[tuple[str, int], tuple[Service, str]] = {}
    wildcards = _Wildcards(inv.services)
    shared: dict[int, Service] = {}
    for svc in inv.services:
        base: KeyPath = ("services", svc.name)
        ports_read = svc.was_read(Part.PORTS)
        for i, host in enumerate(svc.hosts):  # unread hosts are none
            hpath = host_path(base, svc, i)
            first = owners.setdefault(host, svc)
            if first.name != svc.name and not _listed_apart(inv, first, svc):
                yield error(
                    "host-duplicate",
                    hpath,
                    f"host {host!r} is also registered by service {first.name!r}; "
                    "Istio merges or shadows such entries unpredictably",
                    "keep each host in one service and list all its ports there",
                )
            for j, port in enumerate(svc.ports):  # unread ports are none
                other = by_host_port.setdefault((host, port.number), (svc, port.protocol))
                if other[0].name != svc.name and other[1] != port.protocol:
                    yield error(
                        "protocol-conflict",
                        (*base, "ports", j),
                        f"{host}:{port.number} is {port.protocol} here but "
                        f"{other[1]} in service {other[0].name!r}",
                        "one host and port can carry only one protocol",
                    )
            for pattern, wsvc in wildcards.covering(host):
                if wsvc.name == svc.name:
                    continue
                yield warning(
                    "wildcard-covers",
                    hpath,
                    f"host {host!r} is also matched by wildcard {pattern!r} of "
                    f"service {wsvc.name!r}; Istio uses the more specific entry",
                    "make sure both entries agree on ports and protocols",
                )
                if not (ports_read and wsvc.was_read(Part.PORTS)):
                    continue
                wild_ports = {wp.number: wp.protocol for wp in wsvc.ports}
                for j, port in enumerate(svc.ports):
                    theirs = wild_ports.get(port.number)
                    if theirs is not None and theirs != port.protocol:
                        yield error(
                            "protocol-conflict",
                            (*base, "ports", j),
                            f"{host}:{port.number} is {port.protocol} here but "
                            f"{theirs} under wildcard {pattern!r} of service "
                            f"{wsvc.name!r}",
                            "one host and port can carry only one protocol",
                        )
        if not svc.was_read(Part.PORTS, Part.ADDRESSES, Part.RESOLUTION):
            continue
        if svc.addresses or svc.resolution not in (Resolution.DNS, Resolution.DNS_ROUND_ROBIN):
            continue
        for j, port in enumerate(svc.ports):
            if port.protocol not in OPAQUE:
                continue
            first_svc = shared.setdefault(port.number, svc)
            if first_svc.name != svc.name:
                yield error(
                    "tcp-port-shared",
                    (*base, "ports", j),
                    f"{port.protocol} port {port.number} is also used by service "
                    f"{first_svc.name!r}; without addresses Istio sends both to "
                    "whichever entry comes first (istio/istio#24937)",
                    "give each service `addresses:`, or use distinct port numbers",
                )


def _listed_apart(inv: Inventory, a: Service, b: Service) -> bool:
    """With `defaults: {exportTo: listed}` (#14), two entries of one host that write no
    exportTo are each visible only where allowed: `namespace-host-conflict` judges them
    namespace by namespace."""
    return inv.export_listed and not a.export_to and not b.export_to
