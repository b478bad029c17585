"""Compile an environment and render both charts with the same generated values; prove
that the Istio render carries the compiled policy and capture ranges."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from egressctl.charts.chartinfo import ChartInfo, chart_info, info_from_text, served_api_version
from egressctl.charts.helm import helm_show_chart, helm_template
from egressctl.charts.manifests import kind_counts, parse_manifests
from egressctl.charts.proof import Verified, verify_render
from egressctl.charts.rendercheck import check_egress_render, check_istio_render, planned_objects
from egressctl.errors import UsageError
from egressctl.inventory.model import DEFAULT_API_VERSION, Environment, IstioChart
from egressctl.mesh import emit, plan

EGRESS_RELEASE = "egress"


def default_chart() -> Path:
    """``$EGRESSCTL_CHART``, else the chart/ of the source tree this package runs from,
    else ``./chart``."""
    explicit = os.environ.get("EGRESSCTL_CHART")
    if explicit:
        return Path(explicit)
    beside = Path(__file__).resolve().parents[3] / "chart"
    if (beside / "Chart.yaml").is_file():
        return beside
    return Path("chart")


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

    def files(self) -> dict[str, str]:
        out = {"values.yaml": self.values_text, "egress.yaml": self.egress}
        if self.istio is not None:
            out["istio.yaml"] = self.istio
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


def compile_environment(env: Environment, api_version: str) -> tuple[plan.Plan, str]:
    p = plan.build(env.inventory)
    return p, emit.dump(emit.values(p, api_version, emit.Owner.of(env)), env.inventory.sources)


def render_environment(env: Environment, chart: Path | None = None) -> Rendered:
    chart_dir = chart or default_chart()
    if not (chart_dir / "Chart.yaml").is_file():
        raise UsageError(
            f"egressctl's chart is not at {chart_dir}: set EGRESSCTL_CHART or pass --chart"
        )
    api, reason, info = resolve_api_version(env)
    p, text = compile_environment(env, api)
    egress = helm_template(
        EGRESS_RELEASE,
        chart_dir,
        namespace=env.namespace,
        values_text=text,
        step="render chart/ (egress objects)",
    )
    planned = planned_objects(
        {
            "serviceEntries": p.service_entries,
            "tlsRoutes": p.tls_routes,
            "destinationRules": p.destination_rules,
        },
        env.namespace,
    )
    check_egress_render(parse_manifests(egress), planned, env.namespace, f"chart {chart_dir}")
    istio_text = None
    verified = None
    if env.istio is not None:
        istio_text = helm_template(
            env.istio.release,
            env.istio.chart,
            namespace=env.namespace,
            values_text=text,
            values_files=env.istio.values,
            repo=env.istio.repo,
            version=env.istio.version,
            step=f"render the Istio chart ({env.istio.describe()})",
        )
        istio_objects = parse_manifests(istio_text)
        check_istio_render(istio_objects, env.namespace, env.istio.describe())
        verified = verify_render(
            istio_objects,
            policy=p.policy.value,
            include=p.include_ip_ranges,
            exclude=p.exclude_ip_ranges,
            revision=env.istio.revision,
            chart=env.istio.describe(),
        )
    return Rendered(
        env=env,
        policy=p.policy.value,
        include=p.include_ip_ranges,
        exclude=p.exclude_ip_ranges,
        values_text=text,
        egress=egress,
        istio=istio_text,
        api_version=api,
        api_reason=reason,
        verified=verified,
        istio_chart=info,
    )


def summary(r: Rendered) -> dict[str, Any]:
    """What a person (or a script, as JSON) wants to know about one render."""
    v = r.verified
    return {
        "environment": r.env.name,
        "context": r.env.context,
        "namespace": r.env.namespace,
        "policy": r.policy,
        "includeIPRanges": r.include,
        "excludeIPRanges": r.exclude,
        "networkingApiVersion": f"{emit.GROUP}/{r.api_version}",
        "networkingApiVersionReason": r.api_reason,
        "egressObjects": kind_counts(r.egress),
        "istioObjects": None if r.istio is None else kind_counts(r.istio),
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
