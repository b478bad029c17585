"""Compile an environment and render both charts with the same generated values; prove
that the Istio render carries the compiled policy and capture ranges."""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from egressctl import emit, plan
from egressctl.errors import UsageError
from egressctl.istio import (
    ChartInfo,
    Verified,
    chart_info,
    info_from,
    served_api_version,
    verify_render,
)
from egressctl.model import DEFAULT_API_VERSION, Environment, IstioChart
from egressctl.runners import find_helm, helm_template, run

EGRESS_RELEASE = "egress"


def default_chart() -> Path:
    """``$EGRESSCTL_CHART``, else the chart/ of the source tree this package runs from,
    else ``./chart``."""
    explicit = os.environ.get("EGRESSCTL_CHART")
    if explicit:
        return Path(explicit)
    beside = Path(__file__).resolve().parents[2] / "chart"
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
    argv: list[str | Path] = [find_helm(), "show", "chart", chart.chart, "--repo", chart.repo]
    if chart.version:
        argv += ["--version", chart.version]
    text = run(argv, step=f"read Chart.yaml of {chart.describe()}").stdout
    try:
        return info_from(yaml.safe_load(text) or {})
    except yaml.YAMLError as exc:
        raise UsageError(f"{chart.describe()}: Chart.yaml does not parse ({exc})") from None


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
    return p, emit.dump(emit.values(p, api_version), env.inventory.sources)


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
        verified = verify_render(
            parse_manifests(istio_text),
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


_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TRAILING_WS = re.compile(r"[ \t]+$", re.MULTILINE)


def parse_manifests(text: str) -> list[dict[str, Any]]:
    """Rendered YAML → objects (``List`` objects unwrapped).  Trailing whitespace is
    stripped first: the 1.1-era Istio chart emits trailing tabs that PyYAML rejects."""
    out: list[dict[str, Any]] = []
    for doc in yaml.load_all(_TRAILING_WS.sub("", text), Loader=_SafeLoader):
        if not isinstance(doc, dict):
            continue
        if doc.get("kind") == "List" and isinstance(doc.get("items"), list):
            out.extend(d for d in doc["items"] if isinstance(d, dict))
        else:
            out.append(doc)
    return out


_TOP_KIND = re.compile(r"^kind:[ \t]*['\"]?([A-Za-z0-9]+)", re.MULTILINE)


def kind_counts(text: str) -> dict[str, int]:
    """Objects per kind, from the top-level `kind:` lines (no YAML parse: renders of tens
    of thousands of objects are counted in milliseconds).  A `List` counts its items."""
    counts = Counter(_TOP_KIND.findall(text))
    if "List" in counts:
        counts = Counter(str(obj.get("kind", "?")) for obj in parse_manifests(text))
    return dict(sorted(counts.items()))


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
