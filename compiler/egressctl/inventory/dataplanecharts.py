"""`istio.charts`: the data-plane charts an ambient environment runs beside istiod
(issue #15: Istio's `ztunnel` and `cni` charts), read like `istio.gateways`
(:mod:`egressctl.inventory.gatewaycharts`): a local folder or .tgz relative to the
environment file, or a chart's name in `repo`; the team's values files relative to the
file, each a regular, bounded, safe-YAML mapping; release and namespace refused unless
Helm and Kubernetes accept them (no value can be read as a flag).  egressctl adds no
values of its own.

:func:`parse_dataplane_charts` reads the entries as written (pure, problems to a
:class:`Reader`); :func:`resolve_dataplane_charts` resolves their paths and reads the
values files with the loader's own checks handed in, noting where each entry is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from egressctl.errors import Anchor, KeyPath, Problem
from egressctl.inventory.arguments import (
    argument_problem,
    namespace_problem,
    release_problem,
    repo_problem,
    version_problem,
)
from egressctl.inventory.chartfiles import NamedFile, ReadValues, resolve_chart, team_values
from egressctl.inventory.keys import GATEWAY_CHART_KEYS
from egressctl.inventory.model import DataplaneChart
from egressctl.inventory.positions import Positions
from egressctl.inventory.reader import Reader

AT: KeyPath = ("istio", "charts")
CODE = "dataplane-chart-invalid"


@dataclass(frozen=True, slots=True)
class DataplaneSpec:
    """One `istio.charts` entry as written: paths still relative to the file."""

    chart: str
    release: str
    index: int
    namespace: str | None = None  # None: the environment's namespace
    values: tuple[str, ...] = ()
    repo: str | None = None
    version: str | None = None


def _default_release(chart: str) -> str:
    """`ztunnel` for …/ztunnel or ztunnel-1.30.3.tgz: the chart's folder or file name."""
    name = Path(chart).name.removesuffix(".tgz").removesuffix(".tar.gz")
    return re.sub(r"-[0-9].*$", "", name) or name


def _entry(item: Any, i: int, r: Reader) -> DataplaneSpec | None:
    at: KeyPath = (*AT, i)
    m = r.mapping(item, at, "a data-plane chart entry")
    if m is None:
        return None
    mark = r.mark()
    r.fields(m, at, GATEWAY_CHART_KEYS)
    chart = r.string(m, "chart", at, required=True)
    release = r.string(m, "release", at)
    namespace = r.string(m, "namespace", at)
    values = tuple(r.strings(m, "values", at) or ())
    repo = r.string(m, "repo", at)
    raw_version = m.get("version")
    if isinstance(raw_version, (int, float)) and not isinstance(raw_version, bool):
        version: str | None = str(raw_version)
    else:
        version = r.string(m, "version", at)
    checks: list[tuple[KeyPath, str | None]] = []
    if chart is not None:
        what = "chart name" if repo is not None else "chart path"
        checks.append(((*at, "chart"), argument_problem(chart, what, spaces=repo is None)))
    if release is not None:
        checks.append(((*at, "release"), release_problem(release)))
    if namespace is not None:
        checks.append(((*at, "namespace"), namespace_problem(namespace)))
    for j, rel in enumerate(values):
        checks.append(((*at, "values", j), argument_problem(rel, "values file path")))
    if repo is not None:
        checks.append(((*at, "repo"), repo_problem(repo)))
    if version is not None:
        checks.append(((*at, "version"), version_problem(version)))
        if repo is None:
            checks.append(((*at, "version"), "`version` applies to a chart from a repository"))
    for key, problem in checks:
        if problem is not None:
            r.err(CODE, key, problem, "e.g. {chart: charts/ztunnel, namespace: istio-system}")
    if chart is not None and release is None and not r.erred_since(mark):
        derived = _default_release(chart)
        why = release_problem(derived)
        if why is not None:  # the chart's file name is no release name: say so here
            r.err(
                CODE,
                (*at, "chart"),
                f"the release named after the chart: {why}",
                "write `release:`",
            )
    if chart is None or r.erred_since(mark):
        return None
    return DataplaneSpec(
        chart=chart,
        release=release or _default_release(chart),
        index=i,
        namespace=namespace,
        values=values,
        repo=repo,
        version=version,
    )


def parse_dataplane_charts(istio: dict[str, Any], r: Reader) -> tuple[DataplaneSpec, ...]:
    """`istio.charts` of an `istio:` mapping; an entry that cannot be used is left out,
    its problems in ``r``; two entries with one release are refused."""
    raw = r.get(istio, "charts", ("istio",), list)
    if raw is None:
        return ()
    out: list[DataplaneSpec] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(raw):
        spec = _entry(item, i, r)
        if spec is None:
            continue
        if spec.release in seen:
            r.err(
                "dataplane-chart-duplicate",
                (*AT, i),
                f"release {spec.release!r} is already istio.charts[{seen[spec.release]}]'s",
                "give each chart its own release name (`release:`)",
            )
            continue
        seen[spec.release] = i
        out.append(spec)
    return tuple(out)


def resolve_dataplane_charts(
    specs: tuple[DataplaneSpec, ...],
    *,
    folder: Path,
    shown: str,
    env_text: str,
    namespace: str,
    problems: list[Problem],
    named_file: NamedFile,
    read_values: ReadValues,
) -> tuple[DataplaneChart, ...]:
    """The entries with paths resolved against ``folder`` (the environment file's), the
    values files checked and read, the namespace defaulted to ``namespace`` and each
    entry's position noted; files that cannot be used are ``problems``."""
    if not specs:
        return ()
    positions = Positions(env_text, shown)
    out = []
    for s in specs:
        at: KeyPath = (*AT, s.index)
        chart = resolve_chart(
            s.chart,
            s.repo,
            folder=folder,
            at=at,
            what="data-plane chart",
            hint="Istio's are manifests/charts/ztunnel and manifests/charts/istio-cni",
            shown=shown,
            problems=problems,
        )
        values, team = team_values(
            s.values,
            folder=folder,
            at=at,
            shown=shown,
            problems=problems,
            named_file=named_file,
            read_values=read_values,
        )
        out.append(
            DataplaneChart(
                chart=chart,
                release=s.release,
                namespace=s.namespace or namespace,
                values=values,
                repo=s.repo,
                version=s.version,
                team_values=team,
                index=s.index,
                loc=positions.find(at, Anchor.VALUE),
            )
        )
    return tuple(out)
