"""One Helm release per (namespace, name) across the charts an environment runs: the
Istio chart, `istio.gateways` and `istio.charts`.  Two entries with one release would be
one Helm release installed twice, each upgrade replacing the other's objects (a data-plane
chart named `istiod` would take istiod's place).  Pure."""

from __future__ import annotations

from collections.abc import Sequence

from egressctl.errors import Problem, error
from egressctl.inventory.model import DataplaneChart, GatewayChart


def release_clashes(
    istio_release: str | None,
    namespace: str,
    gateways: Sequence[GatewayChart],
    charts: Sequence[DataplaneChart],
    shown: str,
) -> list[Problem]:
    """`istio.charts` entries whose release is the Istio chart's or a gateway chart's in
    the same namespace (gateway charts against the Istio chart and each other, and
    data-plane charts against each other, are checked where they are read)."""
    taken: dict[tuple[str, str], str] = {}
    if istio_release is not None:
        taken[(namespace, istio_release)] = "the Istio chart's (istio.release)"
    for g in gateways:
        taken.setdefault((g.namespace, g.release), f"istio.gateways[{g.index}]'s")
    out = []
    for c in charts:
        owner = taken.get((c.namespace, c.release))
        if owner is not None:
            out.append(
                error(
                    "dataplane-chart-duplicate",
                    ("istio", "charts", c.index),
                    f"release {c.release!r} in {c.namespace!r} is already {owner}",
                    "give the chart its own release name (`release:`)",
                    layer=shown,
                )
            )
    return out
