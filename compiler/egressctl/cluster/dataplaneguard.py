"""An ambient environment without an Istio chart (issue #15): nothing in the deploy
switches istiod to ambient, and there is no render to check `dataplane` against, so the
live istiod decides.  Deploying the ambient objects onto a mesh whose istiod does not run
ambient would apply the lockdown NetworkPolicies to sidecar pods (their proxies dial the
external hosts themselves, which those policies forbid) while nothing makes ztunnel and
the waypoint carry the traffic: refused, located at `dataplane`, before any apply."""

from __future__ import annotations

from egressctl.errors import Finding, InventoryError, Loc, Severity
from egressctl.inventory.model import Dataplane, Environment

AMBIENT_FLAG = "PILOT_ENABLE_AMBIENT"


def refuse_ambient_without_switch(
    env: Environment, has_istio_render: bool, live: Dataplane
) -> None:
    """Raise a located `dataplane-mismatch` when ``env`` is ambient, has no Istio render
    (no `istio.chart`) and the live istiod does not run ambient (``live``)."""
    if env.dataplane is not Dataplane.AMBIENT or has_istio_render or live is Dataplane.AMBIENT:
        return
    loc = env.ambient.loc if env.ambient.loc.file else Loc(env.file)
    message = (
        f"`dataplane: ambient`, but the live istiod in {env.namespace} does not run ambient "
        f"({AMBIENT_FLAG}=true) and {env.name} names no Istio chart to switch it: the "
        "lockdown NetworkPolicies would cut the sidecars' own connections"
    )
    hint = (
        "install istiod with `profile: ambient` first (or name it in `istio.chart` with "
        "`profile: ambient` in its values), or write `dataplane: sidecar`"
    )
    raise InventoryError(
        [Finding("dataplane-mismatch", Severity.ERROR, loc, "dataplane", message, hint)]
    )
