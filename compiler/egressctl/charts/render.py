"""Render both charts with an environment's compiled values: egressctl's chart/ and the
team's Istio chart; check that chart/ rendered exactly the plan, that the Istio render
stays in its namespace, and prove that it carries the compiled policy and capture ranges.

Compiling (plan, emit) is the pipeline's step before this one: :class:`Compiled` is what
it hands over."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from egressctl import bundled
from egressctl.charts.chartinfo import (
    ChartInfo,
    chart_info,
    info_from_text,
    istio_minor,
    served_api_version,
)
from egressctl.charts.dataplane import check_dataplane
from egressctl.charts.dataplanecharts import check_dataplane_charts, render_dataplane_charts
from egressctl.charts.dataplanecharts import files_of as dataplane_files
from egressctl.charts.gatewaycheck import check_gateways
from egressctl.charts.gateways import GatewayRender, gateway_summary, render_gateways
from egressctl.charts.halves import merge_halves
from egressctl.charts.helm import PendingTemplate, helm_show_chart
from egressctl.charts.limits import check_limits
from egressctl.charts.manifests import kind_counts, parse_manifests, sourced_objects
from egressctl.charts.proof import Verified, verify_render
from egressctl.charts.rendercheck import (
    ObjectKey,
    check_egress_render,
    check_istio_render,
    planned_objects,
)
from egressctl.errors import UsageError
from egressctl.heap import collection_paused, skip_final_collection
from egressctl.inventory.model import DEFAULT_API_VERSION, Environment, IstioChart
from egressctl.mesh import emit, gatewayapi, plan
from egressctl.rules.effective import Answer, EffectivePolicy

EGRESS_RELEASE = "egress"
ISTIO_VALUES_FILE = "istio-values.yaml"
#: Every file a render may hold, in the order :meth:`Rendered.files` gives them.
RENDER_FILES = ("values.yaml", ISTIO_VALUES_FILE, "egress.yaml", "istio.yaml")


def default_chart() -> Path:
    """egressctl's chart when no ``--chart`` is given: ``$EGRESSCTL_CHART``, else the
    chart inside the installed package (a wheel), else the source tree's chart/ (an
    editable install): see :mod:`egressctl.bundled`."""
    explicit = os.environ.get("EGRESSCTL_CHART")
    if explicit:
        return Path(explicit)
    return bundled.folder(bundled.CHART)


@dataclass(frozen=True, slots=True)
class Rendered:
    """Everything deploy needs: what to apply, and what it means."""

    env: Environment
    policy: str
    include: str
    exclude: str
    values_text: str
    egress: str
    istio: str | None
    api_version: str
    api_reason: str
    verified: Verified | None = None
    istio_chart: ChartInfo | None = None
    # The Istio chart's generated values; None in a render recorded before the values
    # were split (its values.yaml then holds both charts' keys).
    istio_values_text: str | None = None
    # chart/'s objects as render read them (read once: 10,000 services are 15,000
    # objects); None in a recorded render.
    egress_parsed: tuple[dict[str, Any], ...] | None = field(
        default=None, repr=False, compare=False
    )
    # The gateway charts (`istio.gateways`, issue #13), rendered and checked; not in
    # :meth:`files` (a deploy record does not hold them yet): :meth:`gateway_files`.
    gateways: tuple[GatewayRender, ...] = ()
    # The data-plane charts (`istio.charts`: ztunnel, istio-cni, #15): :meth:`gateway_files`.
    dataplane_charts: tuple[GatewayRender, ...] = ()

    def egress_objects(self) -> list[dict[str, Any]]:
        """chart/'s objects: as render read them, else read now (a recorded render)."""
        if self.egress_parsed is not None:
            return list(self.egress_parsed)
        return parse_manifests(self.egress)

    def files(self) -> dict[str, str]:
        """The render's files by name: each chart's values, then the manifests."""
        out = {"values.yaml": self.values_text}
        if self.istio_values_text is not None:
            out[ISTIO_VALUES_FILE] = self.istio_values_text
        out["egress.yaml"] = self.egress
        if self.istio is not None:
            out["istio.yaml"] = self.istio
        return out

    def gateway_files(self) -> dict[str, str]:
        """The gateway renders' files by name: each chart's values, then its manifest."""
        out: dict[str, str] = {}
        for g in self.gateways:
            out[g.values_file] = g.values_text
            out[g.manifest_file] = g.manifest
        out.update(dataplane_files(self.dataplane_charts))
        return out


def istio_chart_info(chart: IstioChart) -> ChartInfo:
    if chart.repo is None:
        return chart_info(chart.chart)
    text = helm_show_chart(
        chart.chart,
        repo=chart.repo,
        version=chart.version,
        step=f"read Chart.yaml of {chart.describe()}",
    )
    return info_from_text(text, f"{chart.describe()}: Chart.yaml")


def resolve_api_version(env: Environment) -> tuple[str, str, ChartInfo | None]:
    """The environment's choice, else what its Istio chart serves, else v1."""
    info = istio_chart_info(env.istio) if env.istio is not None else None
    if env.api_version is not None:
        return env.api_version, f"set in {env.file}", info
    if info is not None:
        api, reason = served_api_version(info)
        return api, reason, info
    return DEFAULT_API_VERSION, "the default (no Istio chart in the environment)", None


@dataclass(frozen=True, slots=True)
class Compiled:
    """An environment compiled: the plan, the generated values of each chart (chart/'s,
    the Istio chart's), the networking version they were written for and why (the
    team's Istio chart, when it has one)."""

    plan: plan.Plan
    values_text: str  # chart/'s
    istio_values_text: str  # the Istio chart's: policy and capture ranges only
    api_version: str
    api_reason: str
    chart_info: ChartInfo | None = None
    # chart/'s values in two halves, for a render in two helm processes (#12);
    # empty: one process renders ``values_text``.
    values_parts: tuple[str, ...] = ()


#: From this many services on, chart/ renders in two helm processes, each given half of
#: the objects (:func:`egress_parts`).
HALVES_FROM = 2000


def egress_parts(env: Environment) -> int:
    """How many helm processes render chart/ for ``env``: two, side by side, for an
    inventory of :data:`HALVES_FROM` services or more on a machine with two processors
    or more (at 10,000 services, one helm takes 1.4 processors and 2.7 s; two take 30 %
    less time between them, #12), else one.  Either way the text is the same, byte for
    byte (:func:`~egressctl.charts.halves.merge_halves`)."""
    processors = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    return 2 if len(env.inventory.services) >= HALVES_FROM and processors >= 2 else 1


def chart_folder(chart: Path | None = None) -> Path:
    """``chart``, else :func:`default_chart`; a folder without Chart.yaml is refused."""
    chart_dir = chart or default_chart()
    if not (chart_dir / "Chart.yaml").is_file():
        raise UsageError(
            f"egressctl's chart is not at {chart_dir}: set EGRESSCTL_CHART or pass --chart"
        )
    return chart_dir


@dataclass(frozen=True, slots=True)
class StartedRenders:
    """chart/'s render and the Istio chart's, started before the values they wait for
    are compiled (#12): :func:`renders_started`."""

    chart_dir: Path
    egress: tuple[PendingTemplate, ...]  # one, or two that render half of it each
    istio: PendingTemplate | None


@contextmanager
def renders_started(
    env: Environment, chart: Path | None = None, *, parts: int = 1
) -> Iterator[StartedRenders]:
    """Start helm for chart/ (``parts`` processes: :func:`egress_parts`) and for the
    team's Istio chart (when the environment has one), each waiting on its stdin for
    its generated values: helm's start-up, the team's values files, the chart (a
    download, for a chart from a repository) and the version check are done while
    egressctl compiles.  Whatever has not been waited for when the block ends (an
    error, Ctrl-C) is stopped."""
    chart_dir = chart_folder(chart)
    egress: list[PendingTemplate] = []
    istio = None
    try:
        for n in range(parts):
            half = "" if parts == 1 else f", half {n + 1} of {parts}"
            egress.append(
                PendingTemplate(
                    EGRESS_RELEASE,
                    chart_dir,
                    namespace=env.namespace,
                    step=f"render chart/ (egress objects{half})",
                    version_beside=n == 0,  # one `helm version` for all
                )
            )
        if env.istio is not None:
            istio = PendingTemplate(
                env.istio.release,
                env.istio.chart,
                namespace=env.namespace,
                values_files=env.istio.values,
                repo=env.istio.repo,
                version=env.istio.version,
                step=f"render the Istio chart ({env.istio.describe()})",
                version_beside=False,  # chart/'s render checks it
            )
        yield StartedRenders(chart_dir, tuple(egress), istio)
    finally:
        for pending in egress:
            pending.stop()
        if istio is not None:
            istio.stop()


def render(env: Environment, compiled: Compiled, chart: Path | None = None) -> Rendered:
    """Both renders of ``env``, each with its own values: checked (chart/'s holds exactly
    the plan, the Istio one stays in its namespace, every object within the API
    server's limits) and verified; nothing is written or applied."""
    with renders_started(env, chart, parts=max(1, len(compiled.values_parts))) as helm:
        return render_started(env, compiled, helm)


def render_started(env: Environment, compiled: Compiled, helm: StartedRenders) -> Rendered:
    """:func:`render`, with the renders :func:`renders_started` started: both charts
    get their values at once and render side by side."""
    skip_final_collection()  # the objects read below live until the process ends (#12)
    texts = compiled.values_parts or (compiled.values_text,)
    if len(texts) != len(helm.egress):
        raise ValueError(f"{len(texts)} values documents for {len(helm.egress)} helm processes")
    for pending, text in zip(helm.egress, texts, strict=True):
        pending.send(text)
    if helm.istio is not None:
        helm.istio.send(compiled.istio_values_text)
    # Nothing else runs while helm renders but this (it is needed either way): on two
    # cores helm can use both, and egressctl's own work beside it (the summary's
    # effective table, say) slowed helm down by more than it took (#12).
    p = compiled.plan
    planned = planned_objects(
        {
            "serviceEntries": p.service_entries,
            "tlsRoutes": p.tls_routes,
            "destinationRules": p.destination_rules,
            **p.extra,  # the features' maps (EXTRA_KINDS): Sidecars, NetworkPolicies…
        },
        env.namespace,
    )
    outputs = [pending.output() for pending in helm.egress]
    egress = outputs[0] if len(outputs) == 1 else merge_halves(*outputs)
    with collection_paused():  # 15,000 objects read and checked on a big heap (#12)
        return _checked(env, compiled, helm, egress, planned)


def _checked(
    env: Environment,
    compiled: Compiled,
    helm: StartedRenders,
    egress: str,
    planned: set[ObjectKey],
) -> Rendered:
    """chart/'s render read and checked against the plan, the Istio one awaited, read,
    checked and verified, the extra charts rendered: :func:`render_started`'s second
    half."""
    chart_dir = helm.chart_dir
    p = compiled.plan
    egress_objects = sourced_objects(egress)
    check_egress_render(
        [s.obj for s in egress_objects], planned, env.namespace, f"chart {chart_dir}"
    )
    check_limits(egress_objects, render=f"chart {chart_dir}")
    istio_text = None
    verified = None
    if env.istio is not None and helm.istio is not None:
        istio_text = helm.istio.output()
        sourced = sourced_objects(istio_text)
        istio_objects = [s.obj for s in sourced]
        check_istio_render(istio_objects, env.namespace, env.istio.describe())
        check_limits(sourced, render=f"the Istio chart {env.istio.describe()}")
        verified = verify_render(
            istio_objects,
            policy=p.policy.value,
            include=p.include_ip_ranges,
            exclude=p.exclude_ip_ranges,
            revision=env.istio.revision,
            chart=env.istio.describe(),
        )
        check_dataplane(env, istio_objects)  # `dataplane` against istiod's (#15)
    gateways = render_gateways(env)
    check_gateways(env, gateways)
    dataplane_renders = render_dataplane_charts(env)  # `istio.charts` (#15)
    check_dataplane_charts(env, dataplane_renders)
    return Rendered(
        env=env,
        policy=p.policy.value,
        include=p.include_ip_ranges,
        exclude=p.exclude_ip_ranges,
        values_text=compiled.values_text,
        egress=egress,
        istio=istio_text,
        api_version=compiled.api_version,
        api_reason=compiled.api_reason,
        verified=verified,
        istio_chart=compiled.chart_info,
        istio_values_text=compiled.istio_values_text,
        egress_parsed=tuple(s.obj for s in egress_objects),
        gateways=gateways,
        dataplane_charts=dataplane_renders,
    )


def _egress_kinds(r: Rendered) -> dict[str, int]:
    """Objects per kind of chart/'s render: from the objects render read, when it did."""
    if r.egress_parsed is None:
        return kind_counts(r.egress)
    return dict(sorted(Counter(str(o.get("kind")) for o in r.egress_parsed).items()))


def _verdict(a: Answer) -> dict[str, Any]:
    return {"destination": a.destination, "port": a.port, "verdict": a.verdict.value}


def effective_head(env: Environment, n: int) -> dict[str, Any]:
    """The first ``n`` rows of the effective policy's table (``rows``), its last row
    (``last``: everything else) and its length (``count``): what a person's summary
    shows, without the table's other rows (:meth:`EffectivePolicy.head`)."""
    rows, last, count = EffectivePolicy.of(env).head(n)
    return {"rows": [_verdict(a) for a in rows], "last": _verdict(last), "count": count}


def summary(r: Rendered, *, table: bool = True) -> dict[str, Any]:
    """What a person (or a script, as JSON) wants to know about one render; without
    ``table``, no ``effectivePolicy`` (a person's summary shows :func:`effective_head`:
    the whole table is 12,400 rows at 10,000 services)."""
    v = r.verified
    out: dict[str, Any] = {
        "environment": r.env.name,
        "context": r.env.context,
        "namespace": r.env.namespace,
        "policy": r.policy,
        "includeIPRanges": r.include,
        "excludeIPRanges": r.exclude,
        "networkingApiVersion": f"{emit.GROUP}/{r.api_version}",
        "networkingApiVersionReason": r.api_reason,
    }
    if table:
        out["effectivePolicy"] = [_verdict(a) for a in EffectivePolicy.of(r.env).table()]
    out |= {
        "egressObjects": _egress_kinds(r),
        # The TLSRoutes' apiVersion and why (None: no TLSRoute), issue #13.
        "tlsRouteApiVersion": gatewayapi.tls_route_summary(
            r.egress_objects(), istio_minor(r.istio_chart)
        ),
        # Listed namespaces (#14) that get an egress NetworkPolicy.
        "networkPolicyNamespaces": sorted(
            ns.name for ns in r.env.inventory.namespaces if ns.network_policy
        ),
        "istioObjects": None if r.istio is None else kind_counts(r.istio),
        # The gateway charts (`istio.gateways`, issue #13), rendered and checked.
        "gatewayCharts": gateway_summary(r.gateways),
        "istioChart": None
        if r.istio_chart is None
        else {
            "name": r.istio_chart.name,
            "version": r.istio_chart.version,
            "generation": v.generation.value if v else None,
            "revision": v.revision if v else None,
            "verified": [v.mesh_configmap, v.injector_configmap] if v else [],
        },
    }
    return out
