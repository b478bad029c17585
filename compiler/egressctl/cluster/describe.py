"""A deploy plan in words: the lines shown (and confirmed) before anything is applied."""

from __future__ import annotations

from pathlib import Path

from egressctl.charts.render import Rendered
from egressctl.cluster.plan import DeployPlan, Order

_ORDER = {
    Order.TIGHTEN: "tightening: entries first, then the mesh policy",
    Order.LOOSEN: "loosening: the mesh policy first, then the entries",
    Order.SAME: "policy unchanged: entries first",
}
MIGRATION_ORDER = (
    "waypoint, ServiceEntries and AuthorizationPolicies first, then the waypoint "
    "Deployment available, NetworkPolicies next, the Istio render last"
)


def describe(
    p: DeployPlan, rendered: Rendered, *, dry_run: bool, lock: Path | None = None
) -> list[str]:
    env = rendered.env
    lines = [f"plan for {env.name}: context {env.context}, namespace {env.namespace}"]
    if lock is not None:
        lines.append(f"  {'lock':<16}held ({lock})")
    if rendered.istio is None:
        # Without the Istio chart nothing changes the mesh policy: say what it stays.
        lines.append(
            f"  {'mesh policy':<16}{p.live_policy}, not changed (no istio.chart in the "
            f"environment; the inventory asks for {p.target_policy})"
        )
    elif p.live_policy != p.target_policy:
        lines.append(f"  {'mesh policy':<16}{p.live_policy} → {p.target_policy}")
    else:
        lines.append(f"  {'mesh policy':<16}{p.target_policy} (unchanged)")
    if rendered.istio is None:
        lines.append(f"  {'capture':<16}not applied (no istio.chart in the environment)")
    elif p.capture_changed:
        if p.live_include is None and p.live_exclude is None:
            live = "no live injector ConfigMap"
            lines.append(
                f"  {'capture':<16}({live}) → include {p.target_include}; exclude "
                f"{p.target_exclude or '(none)'}"
            )
        else:
            lines.append(
                f"  {'capture':<16}include {p.live_include} → {p.target_include}; "
                f"exclude {p.live_exclude or '(none)'} → {p.target_exclude or '(none)'}"
            )
    else:
        lines.append(
            f"  {'capture':<16}include {p.target_include}; exclude "
            f"{p.target_exclude or '(none)'} (unchanged)"
        )
    for kind, c in p.kinds.items():
        if not (c.create or c.change or c.adopt or c.delete or c.unchanged):
            continue
        parts = []
        for verb, items in (
            ("create", c.create),
            ("change", c.change),
            ("adopt", c.adopt),
            ("delete", c.delete),
        ):
            if items:
                shown = ", ".join(items[:6]) + (
                    f", … {len(items) - 6} more" if len(items) > 6 else ""
                )
                parts.append(f"{verb} {len(items)} ({shown})")
        if c.unchanged:
            parts.append(f"unchanged {len(c.unchanged)}")
        lines.append(f"  {kind:<15} {'; '.join(parts)}")
    for r in p.refused:
        lines.append(f"  {'refused':<16}{r.ref}: {r.reason}")
    mode = p.istio_mode
    if rendered.istio is not None and mode is not None and mode.helm and mode.rollback_to:
        lines.append(f"  {'Istio chart':<16}helm rollback (the recorded revision's objects)")
    elif rendered.istio is not None and mode is not None and mode.helm:
        lines.append(f"  {'Istio chart':<16}helm upgrade ({p.istio_objects} objects rendered)")
    elif rendered.istio is not None:
        lines.append(f"  {'Istio chart':<16}apply {p.istio_objects} objects")
    else:
        lines.append(
            f"  {'Istio chart':<16}none: the mesh policy and capture ranges are NOT applied, "
            "only the egress objects"
        )
    if mode is not None:
        lines.append(f"  {'Istio install':<16}{mode.line()}")
        if mode.warning:
            lines.append(f"  {'warning':<16}{mode.warning}")
    if rendered.env.apply.server_side:
        force = ", --force-conflicts" if rendered.env.apply.force_conflicts else ""
        lines.append(f"  {'kubectl apply':<16}server-side, field manager egressctl{force}")
    if p.migration:
        lines.append(
            f"  {'data plane':<16}sidecar → ambient: the lockdown moves from "
            "outboundTrafficPolicy to waypoint + AuthorizationPolicy + NetworkPolicy"
        )
        lines.append(f"  {'order':<16}{MIGRATION_ORDER}")
    else:
        lines.append(f"  {'order':<16}{_ORDER[p.order]}")
    for w in p.waits:
        lines.append(f"  {'wait for':<16}{w}")
    for ref in p.replaced:
        lines.append(
            f"  {'replace':<16}{ref}: adopted; deleted once egressctl's Sidecar in "
            f"{ref.namespace} is applied"
        )
    for i, s in enumerate(p.steps, 1):
        lines.append(f"    {i}. {s.title}")
    if dry_run and mode is not None and mode.helm:
        lines.append("  dry run: kubectl --dry-run=server and helm --dry-run, nothing changes")
    elif dry_run:
        lines.append("  dry run: kubectl --dry-run=server, nothing changes")
    return lines
