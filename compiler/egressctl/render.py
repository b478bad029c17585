"""Compile an environment and render both charts with the same generated values."""

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
from egressctl.model import Environment
from egressctl.runners import helm_template

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
    env: Environment
    plan: plan.Plan
    values: dict[str, Any]
    values_text: str
    egress: str
    istio: str | None

    def files(self) -> dict[str, str]:
        out = {"values.yaml": self.values_text, "egress.yaml": self.egress}
        if self.istio is not None:
            out["istio.yaml"] = self.istio
        return out


def compile_environment(env: Environment) -> tuple[plan.Plan, dict[str, Any], str]:
    p = plan.build(env.inventory)
    doc = emit.values(p, env.api_version)
    return p, doc, emit.dump(doc, env.inventory.sources)


def render_environment(env: Environment, chart: Path | None = None) -> Rendered:
    chart_dir = chart or default_chart()
    if not (chart_dir / "Chart.yaml").is_file():
        raise UsageError(
            f"egressctl's chart is not at {chart_dir}: set EGRESSCTL_CHART or pass --chart"
        )
    p, doc, text = compile_environment(env)
    egress = helm_template(
        EGRESS_RELEASE,
        chart_dir,
        namespace=env.namespace,
        values_text=text,
        step="render chart/ (egress objects)",
    )
    istio = None
    if env.istio is not None:
        istio = helm_template(
            env.istio.release,
            env.istio.chart,
            namespace=env.namespace,
            values_text=text,
            values_files=env.istio.values,
            step=f"render the Istio chart ({env.istio.chart})",
        )
    return Rendered(env, p, doc, text, egress, istio)


_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TRAILING_WS = re.compile(r"[ \t]+$", re.MULTILINE)


def parse_manifests(text: str) -> list[dict[str, Any]]:
    """Rendered YAML → objects.  Trailing whitespace is stripped first: the 1.1-era
    Istio chart emits trailing tabs that PyYAML rejects."""
    docs = yaml.load_all(_TRAILING_WS.sub("", text), Loader=_SafeLoader)
    return [d for d in docs if isinstance(d, dict)]


def kind_counts(text: str) -> dict[str, int]:
    counts = Counter(str(obj.get("kind", "?")) for obj in parse_manifests(text))
    return dict(sorted(counts.items()))


def summary(r: Rendered) -> dict[str, Any]:
    """What a person (or a script, as JSON) wants to know about one render."""
    g = r.values["global"]
    return {
        "environment": r.env.name,
        "context": r.env.context,
        "namespace": r.env.namespace,
        "policy": r.plan.policy.value,
        "includeIPRanges": g["proxy"]["includeIPRanges"],
        "excludeIPRanges": g["proxy"]["excludeIPRanges"],
        "networkingApiVersion": r.values["networkingApiVersion"],
        "egressObjects": kind_counts(r.egress),
        "istioObjects": None if r.istio is None else kind_counts(r.istio),
    }
