"""What a report says, built from the model alone: per owner, every service with its
hosts, ports, path out of the mesh, who may reach it, why, its ticket and expiry, and
its verdict; then the mesh policy, capture ranges, and the findings (warnings and the
acknowledgements the team gave)."""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from egressctl.errors import Finding, Severity
from egressctl.inventory.model import Dataplane, Inventory, Service
from egressctl.rules.effective import EffectivePolicy, Verdict
from egressctl.rules.expiry import expired

NO_OWNER = "(no owner)"


@dataclass(frozen=True, slots=True)
class Row:
    """One service as the report lists it."""

    name: str
    owner: str
    hosts: tuple[str, ...]
    ports: tuple[str, ...]  # "443/HTTPS"
    path: str  # "direct", "gateway egress", "waypoint egress-waypoint"
    reach: str  # who may reach it
    reason: str
    ticket: str
    expires: datetime.date | None
    expired: bool
    verdict: str  # "allowed", or the verdicts of its hosts and ports, e.g. "allowed: 2, bypass: 1"

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "owner": self.owner,
            "hosts": list(self.hosts),
            "ports": list(self.ports),
            "path": self.path,
            "reach": self.reach,
            "reason": self.reason,
            "ticket": self.ticket,
            "expires": self.expires.isoformat() if self.expires else None,
            "expired": self.expired,
            "verdict": self.verdict,
        }


@dataclass(frozen=True, slots=True)
class Note:
    """A finding as the report shows it."""

    severity: str  # "error", "warning"
    code: str
    where: str  # file:line:col and key
    message: str
    acknowledged: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "code": self.code,
            "where": self.where,
            "message": self.message,
            "acknowledged": self.acknowledged,
        }


@dataclass(frozen=True, slots=True)
class Report:
    title: str  # "environment prod" or the inventory files
    generated: datetime.date
    policy: str
    everything_else: str  # the verdict for any destination no entry registers
    include: str
    exclude: str
    dataplane: str
    expired: tuple[Row, ...]  # listed first
    owners: tuple[tuple[str, tuple[Row, ...]], ...]  # by owner, then by service name
    notes: tuple[Note, ...]  # warnings then acknowledgements (errors stop a report)

    @property
    def services(self) -> int:
        return sum(len(rows) for _, rows in self.owners)

    def as_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "generated": self.generated.isoformat(),
            "policy": self.policy,
            "everythingElse": self.everything_else,
            "capture": {"include": self.include, "exclude": self.exclude},
            "dataplane": self.dataplane,
            "expired": [r.name for r in self.expired],
            "owners": [
                {"owner": owner, "services": [r.as_json() for r in rows]}
                for owner, rows in self.owners
            ],
            "findings": [n.as_json() for n in self.notes],
        }


def build(
    inv: Inventory,
    policy: EffectivePolicy,
    findings: Sequence[Finding],
    *,
    title: str,
    today: datetime.date,
    include: str,
    exclude: str,
    dataplane: Dataplane = Dataplane.SIDECAR,
) -> Report:
    verdicts = _verdicts(policy)
    past = {s.name for s in expired(inv, today)}
    rows = [
        _row(svc, inv, verdicts.get(svc.name, ()), svc.name in past, dataplane)
        for svc in inv.services
    ]
    by_owner: dict[str, list[Row]] = {}
    for row in sorted(rows, key=lambda r: (r.owner == NO_OWNER, r.owner, r.name)):
        by_owner.setdefault(row.owner, []).append(row)
    first = sorted((r for r in rows if r.expired), key=lambda r: (r.expires, r.name))
    rest = policy.explain_everything_else()
    return Report(
        title=title,
        generated=today,
        policy=inv.policy.value,
        everything_else=f"{rest.verdict.value}: {rest.reason}",
        include=include,
        exclude=exclude,
        dataplane=dataplane.value,
        expired=tuple(first),
        owners=tuple((owner, tuple(rs)) for owner, rs in by_owner.items()),
        notes=tuple(_notes(findings)),
    )


def _verdicts(policy: EffectivePolicy) -> dict[str, tuple[Verdict, ...]]:
    out: dict[str, list[Verdict]] = {}
    for answer in policy.table():
        if answer.entry is not None and answer.destination != "(any other destination)":
            out.setdefault(answer.entry, []).append(answer.verdict)
    return {name: tuple(vs) for name, vs in out.items()}


def _verdict_text(verdicts: Sequence[Verdict]) -> str:
    if not verdicts:
        return "registers nothing"
    counts = Counter(v.value for v in verdicts)
    if len(counts) == 1:
        return next(iter(counts))
    return ", ".join(f"{v}: {n}" for v, n in sorted(counts.items()))


def _path(svc: Service, inv: Inventory, dataplane: Dataplane) -> str:
    if dataplane is Dataplane.AMBIENT:
        return "waypoint"
    if svc.via is not None:
        return f"gateway {svc.via}"
    return "direct"


def _reach(svc: Service, inv: Inventory) -> str:
    if svc.export_to == ("~",):
        return "no namespace (exportTo: [~])"
    listed = []
    for ns in inv.namespaces:
        if svc.name in ns.allow:
            listed.append(ns.name)
        listed.extend(f"{ns.name}/{w.name}" for w in ns.workloads if svc.name in w.allow)
    if not inv.namespaces:
        return "namespaces " + ", ".join(svc.export_to) if svc.export_to else "every namespace"
    unlisted = "" if inv.export_listed else "namespaces not listed under `namespaces`"
    who = ", ".join(sorted(set(listed)))
    if who and unlisted:
        return f"{who}; {unlisted}"
    return who or unlisted or "no namespace"


def _row(
    svc: Service, inv: Inventory, verdicts: Sequence[Verdict], past: bool, dataplane: Dataplane
) -> Row:
    return Row(
        name=svc.name,
        owner=svc.owner or NO_OWNER,
        hosts=svc.hosts,
        ports=tuple(f"{p.number}/{p.protocol}" for p in svc.ports),
        path=_path(svc, inv, dataplane),
        reach=_reach(svc, inv),
        reason=svc.reason or "",
        ticket=svc.ticket or "",
        expires=svc.expires,
        expired=past,
        verdict=_verdict_text(verdicts),
    )


def _notes(findings: Sequence[Finding]) -> list[Note]:
    notes = [
        Note(
            severity="error" if f.severity is Severity.ERROR else "warning",
            code=f.code,
            where=f"{f.loc}" + (f" {f.path}" if f.path else ""),
            message=f.message,
            acknowledged=f.acknowledged,
        )
        for f in findings
    ]
    return sorted(notes, key=lambda n: (n.acknowledged is not None, n.where))
