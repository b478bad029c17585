"""Holes in the lockdown, found on the effective policy (:mod:`.effective`): a capture
that lets external traffic bypass the sidecar, entries the sidecar never sees, and
opaque ports whose port-wide listener takes (or opens) a whole port.  Pure."""

from __future__ import annotations

from collections.abc import Iterator

from egressctl.errors import Problem, error, warning
from egressctl.inventory.model import ClusterRanges, Inventory, Policy, Resolution, Service
from egressctl.rules.effective import (
    EVERYTHING,
    NO_CLUSTER,
    CaptureView,
    covered,
    is_hidden,
    is_port_wide,
    networks_of,
    uses_ipv6,
)


def lockdown_rules(inv: Inventory, cluster: ClusterRanges = NO_CLUSTER) -> Iterator[Problem]:
    """Every hole: the capture's, then each entry's (bypassed, then its ports)."""
    yield from _capture_rules(inv, cluster)
    view = CaptureView(inv.capture)
    for svc in inv.services:
        if is_hidden(svc):
            continue  # visible to no pod: it opens nothing and takes nothing
        yield from _bypassed(svc, view)
        yield from _port_wide(svc, inv.policy)


def _capture_rules(inv: Inventory, cluster: ClusterRanges) -> Iterator[Problem]:
    """`policy-bypassed-by-capture`: ``capture.include`` leaves out external addresses
    (all of IPv4, and of IPv6 when IPv6 is used), so their traffic never meets the
    policy."""
    include = inv.capture.include
    if include is None:
        return
    v6 = uses_ipv6(inv, cluster)
    missing = [
        EVERYTHING[v] for v in ((4, 6) if v6 else (4,)) if not covered(EVERYTHING[v], include)
    ]
    if not missing:
        return
    parts = []
    for everything in missing:
        some = [n for n in include if n.version == everything.version]
        parts.append(f"the rest of {everything}" if some else f"any of {everything}")
    why_v6 = " (IPv6 is in use here)" if v6 and any(m.version == 6 for m in missing) else ""
    shown = ", ".join(map(str, include)) or "nothing"
    strict = inv.policy is Policy.REGISTRY_ONLY
    if strict:
        effect = "every external host bypasses the sidecar, so REGISTRY_ONLY blocks none of them"
    else:
        effect = (
            "external traffic bypasses the sidecar (harmless while the mesh is ALLOW_ANY; "
            "REGISTRY_ONLY would not apply to it either)"
        )
    make = error if strict else warning
    yield make(
        "policy-bypassed-by-capture",
        ("capture", "include"),
        f"capture.include covers {shown}, not {' nor '.join(parts)}{why_v6}: {effect}",
        "remove `include` to capture everything, and list under `exclude` only the ranges "
        "meant to bypass the sidecar (e.g. `exclude: [169.254.169.254/32]`); if the narrow "
        "capture is deliberate, say why under `capture.acknowledge`",
    )


def _bypassed(svc: Service, view: CaptureView) -> Iterator[Problem]:
    """`entry-bypassed`: every address of the entry lies outside the capture."""
    nets = networks_of(svc.addresses)
    if not nets or len(nets) != len(svc.addresses):
        return  # no addresses, or an invalid one (`address-invalid`)
    reasons = [view.network_bypass(n) for n in nets]
    if any(r is None for r in reasons):
        return
    ranges = sorted({r.capture_range for r in reasons if r is not None})
    yield warning(
        "entry-bypassed",
        ("services", svc.name, "addresses"),
        f"every address of this entry bypasses the sidecar ({'; '.join(ranges)}): "
        "the entry can never take effect",
        "capture those addresses (add them to capture.include, or take them out of "
        "capture.exclude), or drop the entry if pods are meant to reach them directly",
    )


def _port_wide(svc: Service, policy: Policy) -> Iterator[Problem]:
    """`tcp-port-catch-all` and `tcp-port-open`: an opaque port without addresses gets
    Envoy's listener on 0.0.0.0:PORT."""
    for j, p in enumerate(svc.ports):
        if not is_port_wide(svc, p):
            continue
        path = ("services", svc.name, "ports", j)
        head = f"{p.protocol} port {p.number} with resolution {svc.resolution.value} and no "
        if svc.resolution is Resolution.NONE:
            strict = policy is Policy.REGISTRY_ONLY
            make = error if strict else warning
            tail = (
                ""
                if strict
                else " (harmless while the mesh is ALLOW_ANY; a hole under REGISTRY_ONLY)"
            )
            yield make(
                "tcp-port-open",
                path,
                head + f"`addresses`: Envoy listens on 0.0.0.0:{p.number} and forwards each "
                f"connection to the address dialled, so any destination on port {p.number} "
                f"passes{tail}",
                "list the addresses this entry may reach under `addresses:` (an IP, or the "
                "provider's published CIDRs)",
            )
        else:
            target = ", ".join(e.address for e in svc.endpoints) or svc.hosts[0]
            yield warning(
                "tcp-port-catch-all",
                path,
                head + f"`addresses`: Envoy listens on 0.0.0.0:{p.number} for this entry, so "
                f"every connection on port {p.number}, whatever address was dialled, goes to "
                f"{target}",
                "give the entry `addresses:` (the IPs it is reached at), so that its listener "
                f"takes only those; or acknowledge it if nothing else uses port {p.number}",
            )
