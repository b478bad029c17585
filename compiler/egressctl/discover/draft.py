"""Observed destinations the inventory does not cover → draft inventory entries.

A destination is covered when, with the mesh REGISTRY_ONLY, the effective policy lets
it through on its port (an exact host or a wildcard registers it): it is not proposed
again.  A host some entry registers on other ports is reported, not proposed (a second
entry for the same host is a conflict the team resolves by adding the port).  IP-only
destinations are listed, never turned into host names.

Each proposal is one entry per host, its ports with protocols from what was seen: HTTP
with an authority → ``PORT/http``; an SNI → ``443/https`` on 443, ``PORT/tls``
elsewhere.  A host seen only as plain TCP (metrics may say so) is not proposed: an
opaque port without addresses is a port-wide listener.  Names are DNS labels made from
the host, unique among the inventory's and each other.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from egressctl.discover.accesslog import Kind
from egressctl.discover.observations import Destination
from egressctl.inventory.model import Inventory, Policy
from egressctl.inventory.names import DNS_LABEL_MAX, is_dns1123_label
from egressctl.rules.effective import EffectivePolicy, Verdict

DEFAULT_PORT = {Kind.HTTP: 80, Kind.TLS: 443}
SHOWN_WORKLOADS = 2


@dataclass(frozen=True, slots=True)
class Proposal:
    """A draft entry: ``name: {host: HOST, ports: [...]}`` and the comment above it."""

    name: str
    host: str
    ports: tuple[str, ...]  # "443/https", "80/http", "8443/tls"
    requests: int
    comment: str
    destinations: tuple[Destination, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "host": self.host,
            "ports": list(self.ports),
            "requests": self.requests,
            "comment": self.comment,
        }


@dataclass(frozen=True, slots=True)
class Known:
    """A destination some entry registers: on its port (``covered``), or on others."""

    destination: Destination
    entry: str
    covered: bool
    reason: str


@dataclass(frozen=True, slots=True)
class Draft:
    proposals: tuple[Proposal, ...]
    known: tuple[Known, ...]
    ip_only: tuple[Destination, ...]
    not_proposed: tuple[tuple[Destination, str], ...]  # (destination, why)


def registry_only(inv: Inventory) -> EffectivePolicy:
    """The effective policy of ``inv`` as if the mesh were REGISTRY_ONLY now."""
    return EffectivePolicy(dataclasses.replace(inv, policy=Policy.REGISTRY_ONLY))


def port_of(d: Destination) -> int | None:
    """The destination's port, or the usual one for what was seen (metrics carry none)."""
    return d.port if d.port is not None else DEFAULT_PORT.get(d.kind)


def port_text(kind: Kind, port: int) -> str | None:
    if kind is Kind.HTTP:
        return f"{port}/http"
    if kind is Kind.TLS:
        return "443/https" if port == 443 else f"{port}/tls"
    return None


IN_CLUSTER_SUFFIXES = (".cluster.local", ".svc", ".localhost")


def in_cluster(host: str) -> str | None:
    """Why ``host`` names no external service (then an entry for it is not proposed:
    a ServiceEntry for it would shadow a Service of the cluster), or None.  Anyone can
    send any ``Host`` header, so a log line alone never makes such an entry."""
    if "." not in host:
        return (
            "a name without a dot resolves through the pod's search domains (an in-cluster "
            "Service); write an entry by hand if it really is external"
        )
    if host.endswith(IN_CLUSTER_SUFFIXES):
        return "an in-cluster name: an entry for it would shadow the cluster's own Service"
    return None


def name_for(host: str, taken: set[str]) -> str:
    """A DNS label made from ``host`` (dots become dashes), not in ``taken``."""
    base = host.replace(".", "-").replace("_", "-")
    base = "".join(ch for ch in base if ch.isascii() and (ch.isalnum() or ch == "-")).lower()
    base = base[:DNS_LABEL_MAX].strip("-") or "discovered"
    if not is_dns1123_label(base):
        base = "discovered"
    name, n = base, 1
    while name in taken:
        n += 1
        tail = f"-{n}"
        name = base[: DNS_LABEL_MAX - len(tail)].rstrip("-") + tail
    return name


def _dates(first: str | None, last: str | None) -> str:
    if first is None or last is None:
        return ""
    a, b = first[:10], last[:10]
    return a if a == b else f"{a}..{b}"


def comment_for(ds: Sequence[Destination]) -> str:
    """``discovered: 1,234 requests from shop/checkout, 2026-11-30..2026-12-01``."""
    total = sum(d.requests for d in ds)
    http = sum(n for d in ds for k, n in d.kinds if k == Kind.HTTP.value)
    word = "request" if http * 2 >= total else "connection"
    word += "" if total == 1 else "s"
    counts: dict[str, int] = {}
    more = False
    for d in ds:
        more |= d.more_workloads
        for w, n in d.workloads:
            counts[w] = counts.get(w, 0) + n
    names = [w for w, _ in sorted(counts.items(), key=lambda wn: (-wn[1], wn[0]))]
    parts = [f"discovered: {total:,} {word}"]
    if names:
        shown = ", ".join(names[:SHOWN_WORKLOADS])
        rest = len(names) - SHOWN_WORKLOADS
        if rest > 0:
            shown += f" and {rest} more"
        elif more:
            shown += " and others"
        parts[0] += f" from {shown}"
    firsts = [d.first for d in ds if d.first]
    lasts = [d.last for d in ds if d.last]
    dates = _dates(min(firsts, default=None), max(lasts, default=None))
    return ", ".join([*parts, *([dates] if dates else [])])


def draft(destinations: Iterable[Destination], inv: Inventory | None) -> Draft:
    """Proposals for ``destinations`` (merged across namespaces) that ``inv`` does not
    cover (``inv`` None: nothing is covered)."""
    policy = registry_only(inv) if inv is not None else None
    taken = {s.name for s in inv.services} if inv is not None else set()
    by_host: dict[str, list[tuple[Destination, str]]] = {}
    known: list[Known] = []
    ip_only: list[Destination] = []
    not_proposed: list[tuple[Destination, str]] = []
    for d in destinations:
        if d.host is None:
            ip_only.append(d)
            continue
        internal = in_cluster(d.host)
        if internal is not None:
            not_proposed.append((d, internal))
            continue
        port = port_of(d)
        text = None if port is None else port_text(d.kind, port)
        if port is None or text is None:
            not_proposed.append(
                (d, "only plain TCP was seen: an entry needs `addresses` (write it by hand)")
            )
            continue
        if policy is not None:
            a = policy.explain(d.host, port)
            if a.entry is not None and a.verdict is not Verdict.BLOCKED and a.reaches:
                known.append(Known(d, a.entry, True, a.reason))
                continue
            other = policy.explain(d.host)
            if other.entry is not None:
                known.append(Known(d, other.entry, False, a.reason))
                continue
        by_host.setdefault(d.host, []).append((d, text))
    proposals = []
    for host in sorted(by_host):
        seen = by_host[host]
        ports = sorted({t for _, t in seen}, key=lambda t: (int(t.split("/")[0]), t))
        name = name_for(host, taken)
        taken.add(name)
        ds = tuple(d for d, _ in seen)
        proposals.append(
            Proposal(name, host, tuple(ports), sum(d.requests for d in ds), comment_for(ds), ds)
        )
    return Draft(tuple(proposals), tuple(known), tuple(ip_only), tuple(not_proposed))
