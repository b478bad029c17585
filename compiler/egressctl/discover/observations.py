"""Counted records aggregated per destination, in bounded memory.

A destination is (source namespace, host, port); an IP-only one (no valid host seen) is
(source namespace, port) with the addresses seen on it.  Per destination: requests (or
connections), first and last seen, the outcomes and kinds seen, the source workloads.
Lines are never kept; the sets kept per destination are capped (:data:`MAX_WORKLOADS`,
:data:`MAX_ADDRESSES`), and so is the number of destinations (:data:`MAX_DESTINATIONS`;
records past it are counted as ``dropped``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from egressctl.discover.accesslog import Kind, Line, Outcome, Record, parse_line
from egressctl.discover.pods import workload_of

MAX_WORKLOADS = 32
MAX_ADDRESSES = 16
MAX_DESTINATIONS = 100_000


@dataclass(frozen=True, slots=True, order=True)
class Key:
    namespace: str  # the source namespace; "" when unknown (a file without it)
    host: str  # "" when IP-only
    port: int  # 0 when unknown


@dataclass(slots=True)
class _Seen:
    count: int = 0
    first: str | None = None
    last: str | None = None
    outcomes: dict[Outcome, int] = field(default_factory=dict)
    kinds: dict[Kind, int] = field(default_factory=dict)
    addresses: set[str] = field(default_factory=set)
    more_addresses: bool = False
    workloads: dict[str, int] = field(default_factory=dict)
    more_workloads: bool = False

    def add(
        self,
        outcome: Outcome,
        kind: Kind,
        time: str | None,
        address: str | None,
        workload: str | None,
        weight: int,
    ) -> None:
        self.count += weight
        if time is not None:
            if self.first is None or time < self.first:
                self.first = time
            if self.last is None or time > self.last:
                self.last = time
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + weight
        self.kinds[kind] = self.kinds.get(kind, 0) + weight
        if address is not None and address not in self.addresses:
            if len(self.addresses) < MAX_ADDRESSES:
                self.addresses.add(address)
            else:
                self.more_addresses = True
        if workload is not None:
            if workload in self.workloads or len(self.workloads) < MAX_WORKLOADS:
                self.workloads[workload] = self.workloads.get(workload, 0) + weight
            else:
                self.more_workloads = True


def _ranked(counts: dict[Any, int]) -> tuple[tuple[str, int], ...]:
    """Most first, then by name."""
    return tuple(sorted(((str(getattr(k, "value", k)), n) for k, n in counts.items()), key=_rank))


def _rank(item: tuple[str, int]) -> tuple[int, str]:
    return (-item[1], item[0])


@dataclass(frozen=True, slots=True)
class Destination:
    """What was seen of one destination."""

    namespace: str | None
    host: str | None  # None: IP-only
    port: int | None
    requests: int  # requests (HTTP) or connections (TCP, TLS)
    first: str | None
    last: str | None
    outcomes: tuple[tuple[str, int], ...]
    kinds: tuple[tuple[str, int], ...]
    addresses: tuple[str, ...]
    more_addresses: bool
    workloads: tuple[tuple[str, int], ...]  # "namespace/workload" (or "workload"), count
    more_workloads: bool

    @property
    def kind(self) -> Kind:
        """The kind seen most (HTTP before TLS before TCP on a tie)."""
        order = {k.value: i for i, k in enumerate(Kind)}
        name = min(self.kinds, key=lambda kn: (-kn[1], order[kn[0]]))[0]
        return Kind(name)

    @property
    def shown(self) -> str:
        where = self.host or "(IP-only)"
        return f"{where}:{self.port}" if self.port else where

    def as_json(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "host": self.host,
            "port": self.port,
            "ipOnly": self.host is None,
            "requests": self.requests,
            "firstSeen": self.first,
            "lastSeen": self.last,
            "outcomes": dict(self.outcomes),
            "kinds": dict(self.kinds),
            "addresses": list(self.addresses),
            "moreAddresses": self.more_addresses,
            "workloads": [{"name": w, "requests": n} for w, n in self.workloads],
            "moreWorkloads": self.more_workloads,
        }


@dataclass(slots=True)
class Counts:
    """What was read."""

    lines: int = 0
    counted: int = 0
    ignored: int = 0
    other: int = 0
    malformed: int = 0
    junk_hosts: int = 0
    dropped: int = 0  # counted, but past MAX_DESTINATIONS
    pods: int = 0  # pods read (--cluster)
    unread_pods: int = 0  # pods whose log could not be read (--cluster)
    series: int = 0  # metric series read (--prometheus)

    def as_json(self) -> dict[str, int]:
        return {
            "lines": self.lines,
            "counted": self.counted,
            "ignored": self.ignored,
            "other": self.other,
            "malformed": self.malformed,
            "junkHosts": self.junk_hosts,
            "dropped": self.dropped,
            "pods": self.pods,
            "unreadPods": self.unread_pods,
            "series": self.series,
        }


class Observations:
    """The aggregate of everything read so far."""

    def __init__(self) -> None:
        self.counts = Counts()
        self._seen: dict[Key, _Seen] = {}

    # -- feeding -----------------------------------------------------------------

    def feed(self, line: str, *, namespace: str | None = None, pod: str | None = None) -> None:
        """One access-log line (``pod``: the pod it came from, when the line's own
        prefix does not say)."""
        c = self.counts
        c.lines += 1
        parsed = parse_line(line)
        if parsed.line is Line.COUNTED and parsed.record is not None:
            self.add(parsed.record, namespace=namespace, pod=pod)
        elif parsed.line is Line.IGNORED:
            c.ignored += 1
        elif parsed.line is Line.OTHER:
            c.other += 1
        else:
            c.malformed += 1

    def feed_lines(
        self, lines: Iterable[str], *, namespace: str | None = None, pod: str | None = None
    ) -> None:
        for line in lines:
            self.feed(line, namespace=namespace, pod=pod)

    def add(
        self,
        record: Record,
        *,
        namespace: str | None = None,
        pod: str | None = None,
        workload: str | None = None,
        weight: int = 1,
    ) -> None:
        """One counted record (``weight``: how many requests it stands for)."""
        c = self.counts
        c.counted += 1
        if record.junk_host:
            c.junk_hosts += 1
        key = Key(namespace or "", record.host or "", record.port or 0)
        seen = self._seen.get(key)
        if seen is None:
            if len(self._seen) >= MAX_DESTINATIONS:
                c.dropped += 1
                return
            seen = self._seen[key] = _Seen()
        if workload is None:
            name = record.pod or pod
            workload = workload_of(name) if name else None
        if workload is not None and namespace:
            workload = f"{namespace}/{workload}"
        seen.add(record.outcome, record.kind, record.time, record.address, workload, weight)

    # -- reading -------------------------------------------------------------------

    def destinations(self) -> list[Destination]:
        """Per (namespace, host, port), hosts first, by host, port, namespace."""
        return [_summary(k, s) for k, s in sorted(self._seen.items(), key=_order)]

    def merged(self) -> list[Destination]:
        """Per (host, port), every namespace together (namespace None)."""
        out: dict[Key, _Seen] = {}
        for key, s in self._seen.items():
            k = Key("", key.host, key.port)
            m = out.setdefault(k, _Seen())
            for outcome, n in s.outcomes.items():
                m.outcomes[outcome] = m.outcomes.get(outcome, 0) + n
            for kind, n in s.kinds.items():
                m.kinds[kind] = m.kinds.get(kind, 0) + n
            m.count += s.count
            for t in (s.first, s.last):
                if t is not None:
                    m.first = t if m.first is None or t < m.first else m.first
                    m.last = t if m.last is None or t > m.last else m.last
            for a in s.addresses:
                if len(m.addresses) < MAX_ADDRESSES:
                    m.addresses.add(a)
                else:
                    m.more_addresses = True
            m.more_addresses |= s.more_addresses
            for w, n in s.workloads.items():
                if w in m.workloads or len(m.workloads) < MAX_WORKLOADS:
                    m.workloads[w] = m.workloads.get(w, 0) + n
                else:
                    m.more_workloads = True
            m.more_workloads |= s.more_workloads
        return [_summary(k, s) for k, s in sorted(out.items(), key=_order)]


def _order(item: tuple[Key, _Seen]) -> tuple[bool, str, int, str]:
    k = item[0]
    return (not k.host, k.host, k.port, k.namespace)


def _summary(k: Key, s: _Seen) -> Destination:
    return Destination(
        namespace=k.namespace or None,
        host=k.host or None,
        port=k.port or None,
        requests=s.count,
        first=s.first,
        last=s.last,
        outcomes=_ranked(s.outcomes),
        kinds=_ranked(s.kinds),
        addresses=tuple(sorted(s.addresses)),
        more_addresses=s.more_addresses,
        workloads=_ranked(s.workloads),
        more_workloads=s.more_workloads,
    )
