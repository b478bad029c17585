"""The effective policy: what happens to traffic that leaves a pod for a destination and
port, computed from the model alone (pure: no cluster, no DNS).

One verdict per question, with the reasons that make it:

* ``allowed``: an inventory entry registers the destination on that port (which entry,
  which objects carry it);
* ``blocked``: the mesh is REGISTRY_ONLY and nothing registers it;
* ``passthrough``: the mesh is ALLOW_ANY and nothing registers it;
* ``bypass``: the destination lies outside the capture ranges (or inside an excluded
  one): the sidecar never sees the connection, whatever the policy says;
* ``catch-all``: an entry owns a port-wide listener on that port (a port that is
  neither HTTP nor TLS, and no `addresses`): Envoy listens on ``0.0.0.0:PORT`` for it,
  so the connection goes where that entry says (DNS, STATIC) or to whatever was
  dialled (NONE), whoever registered the destination.

How Istio decides, as modelled here:

* iptables first: an address outside ``capture.include`` (or inside
  ``capture.exclude``) never reaches Envoy.  A host name's addresses are unknown here:
  an external host lies outside the cluster's ranges, so it is captured only when
  ``include`` covers every IPv4 address (unset, or ``0.0.0.0/0``), unless the entry
  gives ``addresses`` (then those are where it is reached);
* then the listener of the port: HTTP ports route by Host header and TLS ports by SNI,
  so a host registered on that port is allowed, the most specific entry first (the
  exact host, then the longest wildcard); an entry with ``addresses`` gets a listener
  on those addresses; an opaque port (TCP, Mongo, Redis, MySQL, UDP) without
  addresses gets ``0.0.0.0:PORT`` — one per port: when several entries want it, Istio
  keeps the oldest, and among entries created in the same second the first by host
  name (``SortServicesByCreationTime``), which is what a single deploy gives;
* nothing matched: REGISTRY_ONLY sends it to the BlackHole cluster, ALLOW_ANY to the
  Passthrough cluster.

An entry exported to no namespace (``exportTo: [~]``) registers nothing for any pod.
"""

from __future__ import annotations

import difflib
import enum
import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

from egressctl.errors import KeyPath
from egressctl.inventory.model import (
    OPAQUE,
    Capture,
    ClusterRanges,
    Environment,
    Inventory,
    IPNetwork,
    Policy,
    Port,
    Resolution,
    Service,
)
from egressctl.inventory.tenancy import SourceView, parse_source, source_view
from egressctl.rules.gateways import via_objects
from egressctl.rules.hosts import covers

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
EVERYTHING: dict[int, IPNetwork] = {
    4: ipaddress.IPv4Network("0.0.0.0/0"),
    6: ipaddress.IPv6Network("::/0"),
}
DEFAULT_NAMESPACE = "istio-system"
EVERYTHING_ELSE = "(any other destination)"
NO_CLUSTER = ClusterRanges()  # an inventory checked without an environment


class Verdict(str, enum.Enum):
    ALLOWED = "allowed"
    BLOCKED = "blocked"
    PASSTHROUGH = "passthrough"
    BYPASS = "bypass"
    CATCH_ALL = "catch-all"


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """An object chart/ renders for an entry, where it renders it."""

    kind: str  # ServiceEntry, VirtualService (the TLS routes), DestinationRule
    name: str
    namespace: str


@dataclass(frozen=True, slots=True)
class Answer:
    """The verdict for one destination and port, and why."""

    destination: str  # the host or address asked about (or EVERYTHING_ELSE)
    port: int | None
    verdict: Verdict
    reason: str
    entry: str | None = None  # the inventory entry that decides (its service name)
    objects: tuple[ObjectRef, ...] = ()  # the objects that carry the entry
    capture_range: str | None = None  # bypass: the range that makes it, e.g. `capture.exclude …`
    listener: str | None = None  # catch-all: the port-wide listener, e.g. `0.0.0.0:22`
    closest: tuple[str, ...] = ()  # blocked: registered hosts spelled closest to it
    misrouted: bool = False  # catch-all: the connection goes to another host than dialled
    path: str | None = None  # via an egress gateway: `sidecar → gateway egress → host:443`

    @property
    def reaches(self) -> bool:
        """Whether the connection gets to the destination dialled (through the sidecar
        or around it): not when blocked, nor when a port-wide listener sends it
        elsewhere."""
        return self.verdict is not Verdict.BLOCKED and not self.misrouted

    @property
    def entry_path(self) -> KeyPath | None:
        """Where the entry is written in the inventory (to locate it as file:line)."""
        return None if self.entry is None else ("services", self.entry)

    def as_json(self) -> dict[str, Any]:
        return {
            "destination": self.destination,
            "port": self.port,
            "verdict": self.verdict.value,
            "entry": self.entry,
            "objects": [
                {"kind": o.kind, "name": o.name, "namespace": o.namespace} for o in self.objects
            ],
            "reason": self.reason,
            "captureRange": self.capture_range,
            "listener": self.listener,
            "closest": list(self.closest),
            "path": self.path,
        }


# ---------------------------------------------------------------------------
# Address ranges


def network_of(text: str) -> IPNetwork:
    """An `addresses` entry as a network: a bare IP means its /32 (or /128)."""
    return ipaddress.ip_network(text.strip(), strict=False)


def networks_of(addresses: Iterable[str]) -> list[IPNetwork]:
    """The valid ones among ``addresses`` (an invalid one is `address-invalid`'s)."""
    out = []
    for text in addresses:
        try:
            out.append(network_of(text))
        except ValueError:
            continue
    return out


def _subtract(pieces: Iterable[IPNetwork], holes: Iterable[IPNetwork]) -> list[IPNetwork]:
    """The parts of ``pieces`` outside every one of ``holes``."""
    remaining = list(pieces)
    for hole in holes:
        nxt: list[IPNetwork] = []
        for piece in remaining:
            if piece.version != hole.version or not piece.overlaps(hole):
                nxt.append(piece)
            elif hole.prefixlen > piece.prefixlen:  # the hole lies inside the piece
                nxt.extend(piece.address_exclude(hole))  # type: ignore[arg-type]
            # else the piece lies inside the hole: nothing of it remains
        remaining = nxt
    return remaining


def _intersect(net: IPNetwork, ranges: Iterable[IPNetwork]) -> list[IPNetwork]:
    """The parts of ``net`` inside ``ranges`` (two CIDR ranges nest or are disjoint)."""
    out: list[IPNetwork] = []
    for r in ranges:
        if r.version != net.version or not r.overlaps(net):
            continue
        out.append(net if r.prefixlen <= net.prefixlen else r)
    return out


def covered(net: IPNetwork, ranges: Iterable[IPNetwork]) -> bool:
    """Whether ``ranges`` together cover all of ``net``."""
    return not _subtract([net], ranges)


def uses_ipv6(inv: Inventory, cluster: ClusterRanges = NO_CLUSTER) -> bool:
    """Whether IPv6 appears anywhere: capture ranges, service addresses and endpoints,
    the environment's cluster ranges."""
    ranges = [*(inv.capture.include or ()), *inv.capture.exclude]
    ranges += [*cluster.pod_cidrs, *cluster.service_cidrs]
    if any(n.version == 6 for n in ranges):
        return True
    for svc in inv.services:
        if any(n.version == 6 for n in networks_of(svc.addresses)):
            return True
        if any(n.version == 6 for n in networks_of(e.address for e in svc.endpoints)):
            return True
    return False


def _shown(nets: Iterable[IPNetwork]) -> str:
    return ", ".join(map(str, nets)) or "nothing"


@dataclass(frozen=True, slots=True)
class Bypass:
    """Why the sidecar never sees a connection: the reason, and the range that makes it."""

    reason: str
    capture_range: str


@dataclass(frozen=True, slots=True)
class CaptureView:
    """Which outbound addresses the sidecar captures (``include`` unset: all of them, in
    both families; then ``exclude`` is taken out)."""

    capture: Capture

    def includes_everything(self, version: int) -> bool:
        """``include`` covers the whole address family (before ``exclude``)."""
        inc = self.capture.include
        return inc is None or covered(EVERYTHING[version], inc)

    def captured_parts(self, net: IPNetwork) -> list[IPNetwork]:
        """The parts of ``net`` the sidecar captures."""
        inc = self.capture.include
        included = [net] if inc is None else _intersect(net, inc)
        return _subtract(included, self.capture.exclude)

    def network_bypass(self, net: IPNetwork) -> Bypass | None:
        """None when some part of ``net`` is captured; else why none is."""
        if self.captured_parts(net):
            return None
        inc = self.capture.include
        if inc is not None and not _intersect(net, inc):
            if not inc:
                return Bypass(
                    "capture.include is empty: the sidecar captures nothing",
                    "capture.include (empty)",
                )
            return Bypass(
                f"{_address_text(net)} lies outside capture.include ({_shown(inc)}): the "
                "sidecar never sees the connection",
                f"capture.include {_shown(inc)}",
            )
        excl = [e for e in self.capture.exclude if e.version == net.version and e.overlaps(net)]
        return Bypass(
            f"{_address_text(net)} lies inside capture.exclude {_shown(excl)}: the sidecar "
            "never sees the connection",
            f"capture.exclude {_shown(excl)}",
        )

    def host_bypass(self) -> Bypass | None:
        """For a host name whose addresses are unknown (an external host: outside the
        cluster's ranges): None when every IPv4 address is captured."""
        inc = self.capture.include
        if inc is not None and not covered(EVERYTHING[4], inc):
            if not inc:
                return Bypass(
                    "capture.include is empty: the sidecar captures nothing",
                    "capture.include (empty)",
                )
            return Bypass(
                f"capture.include holds only {_shown(inc)}: an external host's addresses lie "
                "outside it, so the sidecar never sees the connection",
                f"capture.include {_shown(inc)}",
            )
        everything = [e for e in self.capture.exclude if e.version == 4 and e.prefixlen == 0]
        if everything:
            return Bypass(
                f"capture.exclude holds {everything[0]}: the sidecar captures nothing",
                f"capture.exclude {everything[0]}",
            )
        return None


def _address_text(net: IPNetwork) -> str:
    return str(net.network_address) if net.num_addresses == 1 else str(net)


# ---------------------------------------------------------------------------
# Entries


def is_opaque(port: Port) -> bool:
    """A port Envoy can only route by destination address and port (no Host, no SNI)."""
    return port.protocol in OPAQUE


def is_port_wide(svc: Service, port: Port) -> bool:
    """Whether ``port`` of ``svc`` gets Envoy's listener on ``0.0.0.0:PORT``: an opaque
    port of an entry without addresses."""
    return is_opaque(port) and not svc.addresses


def is_hidden(svc: Service) -> bool:
    """``exportTo: [~]``: the entry is visible to no namespace."""
    return svc.export_to == ("~",)


def objects_of(svc: Service, port: Port | None, namespace: str) -> tuple[ObjectRef, ...]:
    """The objects chart/ renders that carry ``svc`` (on ``port``; None: on any port),
    with their namespaces: the environment's, or the DestinationRule's own
    (``originate.namespace``), as :mod:`egressctl.mesh.plan` writes them."""
    out = [ObjectRef("ServiceEntry", svc.name, namespace)]
    ports = list(svc.ports) if port is None else [port]
    if any(p.is_tls for p in ports):
        out.append(ObjectRef("VirtualService", svc.name, namespace))
    if any(p.originate is not None for p in ports):
        where = next(
            (p.originate.namespace for p in svc.ports if p.originate and p.originate.namespace),
            None,
        )
        out.append(ObjectRef("DestinationRule", svc.name, where or namespace))
    return tuple(out)


def gateway_path(svc: Service, shown: str, p: Port | None) -> str | None:
    """How a connection to a service via an egress gateway leaves (issue #13)."""
    if svc.via is None:
        return None
    ports = [p] if p is not None else list(svc.ports)
    port = ":" + ",".join(str(q.number) for q in ports) if ports else ""
    return f"sidecar → gateway {svc.via} → {shown}{port}"


def _specificity(pattern: str) -> tuple[int, int]:
    """Exact hosts before wildcards; among wildcards, the longest suffix first."""
    return (1, -len(pattern)) if pattern.startswith("*") else (0, 0)


def _ports_text(svc: Service) -> str:
    return ", ".join(f"{p.number}/{p.protocol}" for p in svc.ports)


# ---------------------------------------------------------------------------
# The engine


class EffectivePolicy:
    """Questions about one model: an inventory, the namespace its objects render in, and
    (from an environment) the cluster's ranges."""

    def __init__(
        self,
        inventory: Inventory,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        cluster: ClusterRanges = NO_CLUSTER,
        source: SourceView | None = None,
    ) -> None:
        self.inventory = inventory
        # `explain --from NAMESPACE` (#14): what pods there see, and their mode.
        self.source = source
        self.cluster = cluster
        self.policy = inventory.policy if source is None else source.policy
        self.mode_holder = "the mesh" if source is None else f"namespace {source.namespace}"
        self.namespace = namespace
        self.capture = CaptureView(inventory.capture)
        self.ipv6 = uses_ipv6(inventory, cluster)
        self._hosts: list[tuple[str, Service]] = []
        self._addressed: list[tuple[IPNetwork, Service]] = []
        self._port_wide: dict[int, list[tuple[str, Service]]] = {}
        for svc in inventory.services:
            if is_hidden(svc) or (source is not None and svc.name not in source.visible):
                continue
            self._hosts.extend((h, svc) for h in svc.hosts)
            self._addressed.extend((n, svc) for n in networks_of(svc.addresses))
            for p in svc.ports:
                if is_port_wide(svc, p):
                    self._port_wide.setdefault(p.number, []).extend((h, svc) for h in svc.hosts)
        # Indexes, so that a question costs the wildcards, not the whole inventory.
        self._exact: dict[str, list[tuple[str, Service]]] = {}
        self._wild: list[tuple[str, Service]] = []
        for host, svc in self._hosts:
            if host.startswith("*"):
                self._wild.append((host, svc))
            else:
                self._exact.setdefault(host, []).append((host, svc))
        # Wildcards by what follows their `*`: a host looks its own suffixes up instead of
        # testing every wildcard (10,000 hosts x 100 wildcards: a million tests), #12.
        self._wild_by_suffix: dict[str, list[tuple[str, Service]]] = {}
        for pattern, svc in self._wild:
            self._wild_by_suffix.setdefault(pattern[1:], []).append((pattern, svc))
        self._holders: dict[int, Service] = {
            port: min(holders, key=lambda hs: (hs[0], hs[1].name))[1]
            for port, holders in self._port_wide.items()
            if holders
        }

    @classmethod
    def of(cls, env: Environment) -> EffectivePolicy:
        return cls(env.inventory, namespace=env.namespace, cluster=env.cluster)

    def seen_from(self, text: str) -> EffectivePolicy:
        """The same model as pods of one namespace see it: `NAMESPACE` or
        `NAMESPACE/key=value,…` (their labels pick a workload allowlist), issue #14."""
        ns, labels = parse_source(text)
        view = source_view(self.inventory, ns, labels, self.namespace)
        return EffectivePolicy(
            self.inventory, namespace=self.namespace, cluster=self.cluster, source=view
        )

    # -- the one question ------------------------------------------------------

    def explain(self, destination: str, port: int | None = None) -> Answer:
        """The verdict for ``destination`` (a host name or an IP address) on ``port``
        (None: on any of the ports that register it)."""
        dest = destination.strip().lower().rstrip(".")
        try:
            addr = ipaddress.ip_address(dest)
        except ValueError:
            return self._explain_host(dest, port)
        return self._explain_address(str(addr), addr, port)

    def port_wide_listener(self, port: int) -> Service | None:
        """The entry that holds ``0.0.0.0:port``, if any (the first by host name)."""
        return self._holders.get(port)

    def hosts(self) -> list[str]:
        return sorted({h for h, _ in self._hosts})

    # -- host names --------------------------------------------------------------

    def _entries_for(self, host: str) -> list[Service]:
        found = [
            (_specificity(pattern), svc.name, svc) for pattern, svc in self._exact.get(host, ())
        ]
        # `pattern == host or covers(pattern, host)`: pattern[1:] is a proper suffix of
        # host (or host itself is that wildcard), i.e. host[i:] for some i >= 1.
        by_suffix = self._wild_by_suffix
        found += [
            (_specificity(pattern), svc.name, svc)
            for i in range(1, len(host) + 1)
            for pattern, svc in by_suffix.get(host[i:], ())
        ]
        out: list[Service] = []
        for *_, svc in sorted(found, key=lambda t: (t[0], t[1])):
            if svc not in out:
                out.append(svc)
        return out

    def _explain_host(self, host: str, port: int | None) -> Answer:
        entries = self._entries_for(host)
        if port is None:
            if entries:
                return self._registered(host, entries[0], None)
            return self._unregistered(host, None, f"no entry registers {host}", by_host=True)
        for svc in entries:
            p = next((p for p in svc.ports if p.number == port), None)
            if p is not None:
                return self._registered(host, svc, p)
        if entries:
            note = (
                f"{host} is registered by entry {entries[0].name!r} on "
                f"{_ports_text(entries[0])}, not on port {port}"
            )
        else:
            note = f"no entry registers {host}" + self._hidden_note(host)
        return self._unregistered(host, port, note, by_host=True)

    def _ipv6_note(self) -> str:
        """For a host name, when IPv6 is used but not all of it captured."""
        if not self.ipv6 or self.capture.includes_everything(6):
            return ""
        return " (over IPv4; over IPv6 it bypasses the sidecar: capture.include leaves out ::/0)"

    def _hidden_note(self, host: str) -> str:
        if self.source is not None:  # an entry pods of this namespace do not see (#14)
            unseen = [
                s.name
                for s in self.inventory.services
                if s.name not in self.source.visible
                and not is_hidden(s)
                and any(h == host or covers(h, host) for h in s.hosts)
            ]
            if unseen:
                return (
                    f" for {self.source.describe()}: entry {unseen[0]!r} is not in its "
                    "allowlist (or not exported there)"
                )
        hidden = [
            s.name
            for s in self.inventory.services
            if is_hidden(s) and any(h == host or covers(h, host) for h in s.hosts)
        ]
        if not hidden:
            return ""
        return f" (entry {hidden[0]!r} does, but it is exported to no namespace: `exportTo: [~]`)"

    def _registered(self, host: str, svc: Service, p: Port | None) -> Answer:
        where = self._match_text(host, svc, p)
        port = None if p is None else p.number
        if svc.addresses:
            nets = networks_of(svc.addresses)
            bypasses = [b for n in nets if (b := self.capture.network_bypass(n)) is not None]
            if nets and len(bypasses) == len(nets):
                first = bypasses[0]
                return Answer(
                    host,
                    port,
                    Verdict.BYPASS,
                    f"{where}, reached at {', '.join(svc.addresses)}; every one of them "
                    f"bypasses the sidecar ({first.reason})",
                    entry=svc.name,
                    objects=objects_of(svc, p, self.namespace),
                    capture_range=first.capture_range,
                )
            return self._allowed(host, svc, p, f"{where}, reached at {', '.join(svc.addresses)}")
        bypass = self.capture.host_bypass()
        if bypass is not None:
            return Answer(
                host,
                port,
                Verdict.BYPASS,
                f"{where}, but {bypass.reason}",
                entry=svc.name,
                objects=objects_of(svc, p, self.namespace),
                capture_range=bypass.capture_range,
            )
        where += self._ipv6_note()
        if p is not None and is_port_wide(svc, p):
            holder = self.port_wide_listener(p.number)
            if holder is not None and holder.name != svc.name:
                return self._caught(host, p.number, holder, f"{where}, but")
            if svc.resolution is Resolution.NONE:
                more = (
                    f"; without `addresses` it lets any other destination on port {p.number} "
                    "through as well"
                )
            else:
                more = (
                    f"; without `addresses` it takes every other connection on port {p.number} "
                    f"too, to {svc.hosts[0]}"
                )
            return self._allowed(host, svc, p, where + more, listener=f"0.0.0.0:{p.number}")
        return self._allowed(host, svc, p, where)

    def _match_text(self, host: str, svc: Service, p: Port | None) -> str:
        pattern = next((h for h in svc.hosts if h == host), None)
        if pattern is None:
            pattern = next(h for h in svc.hosts if covers(h, host))
            text = f"{host} matches {pattern} of entry {svc.name!r}"
        else:
            text = f"{host} is registered by entry {svc.name!r}"
        return text + (
            f" on {_ports_text(svc)}" if p is None else f" on port {p.number}/{p.protocol}"
        )

    def _allowed(
        self, shown: str, svc: Service, p: Port | None, why: str, listener: str | None = None
    ) -> Answer:
        visible = self._visibility(svc)
        return Answer(
            shown,
            None if p is None else p.number,
            Verdict.ALLOWED,
            why + visible,
            entry=svc.name,
            objects=self._objects(svc, p),
            listener=listener,
            path=gateway_path(svc, shown, p),
        )

    def _objects(self, svc: Service, p: Port | None) -> tuple[ObjectRef, ...]:
        """The objects that carry ``svc``; via an egress gateway, its two hops' (#13)."""
        gw = next((g for g in self.inventory.gateways if g.name == svc.via), None)
        if gw is None:
            return objects_of(svc, p, self.namespace)
        return tuple(ObjectRef(k, n, ns) for k, ns, n in via_objects(svc, gw, self.namespace))

    def _visibility(self, svc: Service) -> str:
        if not svc.export_to or "*" in svc.export_to:
            return ""
        names = sorted({self.namespace if e == "." else e for e in svc.export_to})
        plural = "s" if len(names) > 1 else ""
        return f"; only for pods in namespace{plural} {', '.join(names)} (exportTo)"

    # -- addresses -----------------------------------------------------------------

    def _explain_address(self, shown: str, addr: IPAddress, port: int | None) -> Answer:
        net = ipaddress.ip_network(addr)
        bypass = self.capture.network_bypass(net)
        if bypass is not None:
            return Answer(
                shown, port, Verdict.BYPASS, bypass.reason, capture_range=bypass.capture_range
            )
        inside = sorted(
            ((n, svc) for n, svc in self._addressed if n.version == addr.version and addr in n),
            key=lambda ns: (-ns[0].prefixlen, ns[1].name),
        )
        for n, svc in inside:
            p = None if port is None else next((p for p in svc.ports if p.number == port), None)
            if port is None or p is not None:
                return self._allowed(
                    shown,
                    svc,
                    p,
                    f"{shown} lies inside {n}, an address of entry {svc.name!r}"
                    + (f" on port {p.number}/{p.protocol}" if p is not None else ""),
                )
        if inside:
            n, svc = inside[0]
            note = (
                f"{shown} lies inside {n}, an address of entry {svc.name!r}, but it registers "
                f"{_ports_text(svc)}, not port {port}"
            )
        else:
            note = f"{shown} lies in no entry's addresses"
        return self._unregistered(shown, port, note, by_host=False)

    # -- nothing registers it ------------------------------------------------------

    def _unregistered(self, shown: str, port: int | None, note: str, *, by_host: bool) -> Answer:
        if by_host:
            note += self._ipv6_note()
            bypass = self.capture.host_bypass()
            if bypass is not None:
                return Answer(
                    shown,
                    port,
                    Verdict.BYPASS,
                    f"{note}; and {bypass.reason}",
                    capture_range=bypass.capture_range,
                )
        if port is not None:
            holder = self.port_wide_listener(port)
            if holder is not None:
                return self._caught(shown, port, holder, f"{note};")
        if self.policy is Policy.ALLOW_ANY:
            return Answer(
                shown,
                port,
                Verdict.PASSTHROUGH,
                f"{note}; {self.mode_holder} is ALLOW_ANY: it passes",
            )
        others = [h for h in self.hosts() if h != shown]
        closest = tuple(difflib.get_close_matches(shown, others, n=3, cutoff=0.6))
        return Answer(
            shown,
            port,
            Verdict.BLOCKED,
            f"{note}; {self.mode_holder} is REGISTRY_ONLY: it is blocked",
            closest=closest,
        )

    def _caught(self, shown: str, port: int, holder: Service, lead: str) -> Answer:
        p = next(p for p in holder.ports if p.number == port)
        if holder.resolution is Resolution.NONE:
            goes = "it passes to the address dialled, whatever it is"
        else:
            goes = f"it goes to {holder.hosts[0]} (resolution {holder.resolution.value})"
            if shown != EVERYTHING_ELSE:
                goes += f", not to {shown}"
        return Answer(
            shown,
            port,
            Verdict.CATCH_ALL,
            f"{lead} entry {holder.name!r} owns Envoy's listener on 0.0.0.0:{port} "
            f"({p.protocol}, no `addresses`): {goes}",
            entry=holder.name,
            objects=objects_of(holder, p, self.namespace),
            listener=f"0.0.0.0:{port}",
            misrouted=holder.resolution is not Resolution.NONE,
        )

    # -- every entry at once -------------------------------------------------------

    def table(self) -> tuple[Answer, ...]:
        """Each entry's hosts on each of its ports (by entry name); then, for each port
        with a port-wide listener, any other destination on it; then everything else."""
        return tuple(self._rows())

    def head(self, n: int) -> tuple[tuple[Answer, ...], Answer, int]:
        """The first ``n`` rows of :meth:`table`, its last row (everything else) and how
        many rows it has, without working out the rows in between (a render summary's
        line, at 10,000 services: 12 of 12,400 rows)."""
        count = sum(len(s.ports) * len(s.hosts) for s in self.inventory.services)
        count += len(self._port_wide) + 1
        return tuple(islice(self._rows(), n)), self.explain_everything_else(), count

    def _rows(self) -> Iterator[Answer]:
        for svc in sorted(self.inventory.services, key=lambda s: s.name):
            for p in svc.ports:
                for host in svc.hosts:
                    if is_hidden(svc):
                        yield (
                            Answer(
                                host,
                                p.number,
                                self._nobody(),
                                f"entry {svc.name!r} is exported to no namespace "
                                "(`exportTo: [~]`): it registers nothing for any pod",
                                entry=svc.name,
                                objects=objects_of(svc, p, self.namespace),
                            )
                        )
                    else:
                        yield self.explain(host, p.number)
        for port in sorted(self._port_wide):
            yield self.explain_everything_else(port)
        yield self.explain_everything_else()

    def _nobody(self) -> Verdict:
        if self.capture.host_bypass() is not None:
            return Verdict.BYPASS
        return Verdict.PASSTHROUGH if self.policy is Policy.ALLOW_ANY else Verdict.BLOCKED

    def explain_everything_else(self, port: int | None = None) -> Answer:
        """Any external destination no entry registers (on ``port``, or on a port no
        entry holds a port-wide listener on)."""
        bypass = self.capture.host_bypass()
        if bypass is not None:
            return Answer(
                EVERYTHING_ELSE,
                port,
                Verdict.BYPASS,
                bypass.reason,
                capture_range=bypass.capture_range,
            )
        if port is not None:
            holder = self.port_wide_listener(port)
            if holder is not None:
                return self._caught(EVERYTHING_ELSE, port, holder, f"on port {port},")
        if self.policy is Policy.ALLOW_ANY:
            return Answer(
                EVERYTHING_ELSE, port, Verdict.PASSTHROUGH, f"{self.mode_holder} is ALLOW_ANY"
            )
        return Answer(
            EVERYTHING_ELSE, port, Verdict.BLOCKED, f"{self.mode_holder} is REGISTRY_ONLY"
        )
