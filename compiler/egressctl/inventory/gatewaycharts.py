"""`istio.gateways`: the gateway charts an environment runs (issue #13).

Each entry is a Helm chart (Istio's `gateway` chart, or the team's own) rendered with the
same discipline as the Istio chart: a local folder or .tgz relative to the environment
file, or a chart's name in `repo`; the team's values files relative to the file, each a
regular, bounded, safe-YAML mapping; the release and namespace refused unless they are
what Helm and Kubernetes accept (so no value can be read as a flag).

:func:`parse_gateway_charts` reads the entries as written (pure, problems to a
:class:`Reader`); :func:`resolve_gateway_charts` resolves their paths against the
environment file's folder and reads the values files, with the loader's own checks
handed in (``named_file``, ``read_values``), and notes where each entry is written so
that the render checks point at it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from egressctl.errors import Anchor, KeyPath, Problem, error
from egressctl.inventory.arguments import (
    argument_problem,
    namespace_problem,
    release_problem,
    repo_problem,
    version_problem,
)
from egressctl.inventory.chartfiles import NamedFile, ReadValues, resolve_chart, team_values
from egressctl.inventory.keys import GATEWAY_CHART_KEYS
from egressctl.inventory.model import GatewayChart
from egressctl.inventory.positions import Positions
from egressctl.inventory.reader import Reader
from egressctl.inventory.reserved import CODE as RESERVED
from egressctl.inventory.reserved import HINT as RESERVED_HINT
from egressctl.inventory.reserved import reserved_problem

#: The release name whose labels match the inventory's default selector
#: `{istio: egressgateway}` (Istio's gateway chart drops the `istio-` prefix).
DEFAULT_GATEWAY_RELEASE = "istio-egressgateway"
AT: KeyPath = ("istio", "gateways")


@dataclass(frozen=True, slots=True)
class GatewaySpec:
    """One `istio.gateways` entry as written: paths still relative to the file."""

    chart: str
    index: int
    release: str = DEFAULT_GATEWAY_RELEASE
    namespace: str | None = None  # None: the environment's namespace
    values: tuple[str, ...] = ()
    repo: str | None = None
    version: str | None = None


def parse_gateway_charts(istio: dict[str, Any], r: Reader) -> tuple[GatewaySpec, ...]:
    """`istio.gateways` of an `istio:` mapping; an entry that cannot be used (no chart,
    an argument refused) is left out, its problems in ``r``."""
    raw = r.get(istio, "gateways", ("istio",), list)
    if raw is None:
        return ()
    out: list[GatewaySpec] = []
    for i, item in enumerate(raw):
        spec = _entry(item, i, r)
        if spec is not None:
            out.append(spec)
    _duplicates(out, r)
    return tuple(out)


def _version(m: dict[str, Any], r: Reader, at: KeyPath) -> str | None:
    raw = m.get("version")
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return str(raw)  # `version: 1.28` read as a number
    return r.string(m, "version", at)


def _entry(item: Any, i: int, r: Reader) -> GatewaySpec | None:
    at: KeyPath = (*AT, i)
    m = r.mapping(item, at, "a gateway chart entry")
    if m is None:
        return None
    mark = r.mark()
    r.fields(m, at, GATEWAY_CHART_KEYS)
    chart = r.string(m, "chart", at, required=True)
    release = r.string(m, "release", at)
    namespace = r.string(m, "namespace", at)
    values = tuple(r.strings(m, "values", at) or ())
    repo = r.string(m, "repo", at)
    version = _version(m, r, at)
    checks: list[tuple[str, KeyPath, str | None, str]] = []
    if chart is not None:
        what = "chart name" if repo is not None else "chart path"
        problem = argument_problem(chart, what, spaces=repo is None)
        checks.append(("gateway-chart-invalid", (*at, "chart"), problem, ""))
    if release is not None:
        checks.append(
            (
                "gateway-release-invalid",
                (*at, "release"),
                release_problem(release),
                "e.g. istio-egressgateway (Istio's gateway chart labels its pods "
                "`istio: egressgateway` from it)",
            )
        )
    if namespace is not None:
        checks.append(
            (
                "gateway-namespace-invalid",
                (*at, "namespace"),
                namespace_problem(namespace),
                "where the gateway runs, e.g. istio-egress",
            )
        )
        why = reserved_problem(namespace, "a gateway's namespace")
        checks.append((RESERVED, (*at, "namespace"), why, RESERVED_HINT))
    for j, rel in enumerate(values):
        problem = argument_problem(rel, "values file path")
        checks.append(("gateway-values-invalid", (*at, "values", j), problem, ""))
    if repo is not None:
        checks.append(
            (
                "gateway-repo-invalid",
                (*at, "repo"),
                repo_problem(repo),
                "e.g. https://istio-release.storage.googleapis.com/charts",
            )
        )
    if version is not None:
        checks.append(("gateway-version-invalid", (*at, "version"), version_problem(version), ""))
        if repo is None:
            checks.append(
                (
                    "gateway-version-without-repo",
                    (*at, "version"),
                    "`version` applies to a chart from a repository",
                    "add `repo: <chart repository URL>`, or drop `version` for a local chart",
                )
            )
    for code, key, problem, hint in checks:
        if problem is not None:
            r.err(code, key, problem, hint)
    if chart is None or r.erred_since(mark):
        return None
    return GatewaySpec(
        chart=chart,
        index=i,
        release=DEFAULT_GATEWAY_RELEASE if release is None else release,
        namespace=namespace,
        values=values,
        repo=repo,
        version=version,
    )


def _duplicates(specs: list[GatewaySpec], r: Reader) -> None:
    """Two entries with one release: in one namespace they would be one Helm release
    rendered twice; in two, their renders would share a file (build/ENV/gateway-RELEASE
    .yaml) and an operator could not tell them apart."""
    seen: dict[str, int] = {}
    for s in specs:
        if s.release in seen:
            r.err(
                "gateway-chart-duplicate",
                (*AT, s.index, "release"),
                f"release {s.release!r} is already istio.gateways[{seen[s.release]}]'s",
                "give each gateway chart its own release name",
            )
        else:
            seen[s.release] = s.index


def resolve_gateway_charts(
    specs: tuple[GatewaySpec, ...],
    *,
    folder: Path,
    shown: str,
    env_text: str,
    namespace: str,
    istio_release: str | None,
    problems: list[Problem],
    named_file: NamedFile,
    read_values: ReadValues,
) -> tuple[GatewayChart, ...]:
    """The entries with their paths resolved against ``folder`` (the environment file's),
    the values files checked and read, the namespace defaulted to ``namespace`` (the
    environment's) and each entry's position in the environment file (``env_text``,
    shown as ``shown``).  Files that cannot be used, and a release that is the Istio
    chart's own in the same namespace, are ``problems``."""
    if not specs:
        return ()
    positions = Positions(env_text, shown)
    out = []
    for s in specs:
        at: KeyPath = (*AT, s.index)
        ns = s.namespace or namespace
        chart = resolve_chart(
            s.chart,
            s.repo,
            folder=folder,
            at=at,
            what="gateway chart",
            hint="Istio's is manifests/charts/gateway",
            shown=shown,
            problems=problems,
        )
        if istio_release is not None and s.release == istio_release and ns == namespace:
            problems.append(
                error(
                    "gateway-chart-duplicate",
                    (*at, "release"),
                    f"release {s.release!r} in {ns!r} is the Istio chart's own release",
                    "give the gateway chart its own release name, e.g. istio-egressgateway",
                    layer=shown,
                )
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
            GatewayChart(
                chart=chart,
                release=s.release,
                namespace=ns,
                values=values,
                repo=s.repo,
                version=s.version,
                team_values=team,
                index=s.index,
                loc=positions.find(at, Anchor.VALUE),
            )
        )
    return tuple(out)
