"""An environment file, read as written: where and how one environment is deployed.
Pure: paths stay relative to the file (`inventory.load` resolves them), problems go to the
:class:`Reader` with key paths."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from egressctl.errors import KeyPath
from egressctl.inventory.ambientenv import parse_ambient, parse_dataplane
from egressctl.inventory.arguments import (
    argument_problem,
    context_problem,
    namespace_problem,
    path_problem,
    release_problem,
    repo_problem,
    revision_problem,
    version_problem,
)
from egressctl.inventory.dataplanecharts import DataplaneSpec, parse_dataplane_charts
from egressctl.inventory.gatewaycharts import GatewaySpec, parse_gateway_charts
from egressctl.inventory.keys import APPLY_KEYS, CLUSTER_KEYS, ENV_KEYS, ISTIO_KEYS
from egressctl.inventory.model import (
    API_VERSIONS,
    Ambient,
    ApplyOptions,
    ClusterRanges,
    Dataplane,
    IstioInstall,
)
from egressctl.inventory.reader import Reader

DEFAULT_NAMESPACE = "istio-system"
DEFAULT_ISTIO_RELEASE = "istiod"


@dataclass(frozen=True, slots=True)
class IstioSpec:
    """`istio:` as written: a chart path and values files still relative to the file."""

    chart: str  # a folder or .tgz; the chart's name in `repo`
    release: str = DEFAULT_ISTIO_RELEASE
    values: tuple[str, ...] = ()
    repo: str | None = None
    version: str | None = None
    revision: str | None = None
    install: IstioInstall = IstioInstall.AUTO
    gateways: tuple[GatewaySpec, ...] = ()  # `istio.gateways` (issue #13)
    charts: tuple[DataplaneSpec, ...] = ()  # `istio.charts`: ztunnel, CNI (issue #15)


@dataclass(frozen=True, slots=True)
class EnvSpec:
    """An environment file as written: paths still relative to the file."""

    inventory: tuple[str, ...]
    context: str
    namespace: str = DEFAULT_NAMESPACE
    api_version: str | None = None
    istio: IstioSpec | None = None
    egress: dict[str, Any] | None = None  # overrides of the inventory
    cluster: ClusterRanges = field(default_factory=ClusterRanges)
    kubeconfig: str | None = None
    allow_empty_inventory: bool = False
    apply: ApplyOptions = field(default_factory=ApplyOptions)
    dataplane: Dataplane = Dataplane.SIDECAR  # issue #15
    ambient: Ambient = field(default_factory=Ambient)


def _refuse(r: Reader, code: str, path: KeyPath, problem: str | None, hint: str = "") -> None:
    if problem is not None:
        r.err(code, path, problem, hint)


def parse_environment(data: Any, r: Reader) -> EnvSpec | None:
    """Read an environment file's data; None when it lacks what the rest needs (its
    `context` or `inventory`): the problems in ``r`` say why.  A spec read with problems
    holds no value that is unsafe to use (an invalid kubeconfig path is dropped; cluster
    ranges that do not all read are not declared), so that its inventory can still be
    read and judged in the same run."""
    m = r.mapping(data, (), "the environment file")
    if m is None:
        return None
    r.fields(m, (), ENV_KEYS)
    inventory = r.strings(m, "inventory", (), one_allowed=True)
    if inventory is None and m.get("inventory") is None:
        r.err(
            "key-missing",
            (),
            "`inventory` is required",
            "add `inventory: [egress.yaml]` (paths relative to this file)",
        )
    elif inventory is not None and not inventory:
        r.err("inventory-empty", ("inventory",), "no inventory files listed")
    context = r.string(m, "context", (), required=True)
    if context is not None:
        _refuse(
            r,
            "context-invalid",
            ("context",),
            context_problem(context),
            "write the context's name as `kubectl config get-contexts` shows it",
        )
    namespace_text = r.string(m, "namespace", ())
    namespace = DEFAULT_NAMESPACE if namespace_text is None else namespace_text
    if namespace_text is not None:
        _refuse(
            r,
            "namespace-invalid",
            ("namespace",),
            namespace_problem(namespace_text),
            "the namespace of the Istio control plane, e.g. istio-system",
        )
    api: str | None = None
    api_text = r.string(m, "networkingApiVersion", ())
    if api_text is not None:
        short = api_text.strip().removeprefix("networking.istio.io/")
        if short not in API_VERSIONS:
            r.err(
                "api-version-invalid",
                ("networkingApiVersion",),
                f"{api_text!r} is not one of {', '.join(API_VERSIONS)}",
                "v1 needs Istio 1.22+, v1beta1 Istio 1.5+, v1alpha3 serves every release",
            )
        else:
            api = short
    istio = _istio(m, r)
    egress = r.get(m, "egress", (), dict)
    cluster = ClusterRanges()
    raw_cluster = r.get(m, "cluster", (), dict)
    if raw_cluster is not None:
        r.fields(raw_cluster, ("cluster",), CLUSTER_KEYS)
        mark = r.mark()
        read = ClusterRanges(
            pod_cidrs=tuple(r.cidrs(raw_cluster, "podCIDRs", ("cluster",)) or ()),
            service_cidrs=tuple(r.cidrs(raw_cluster, "serviceCIDRs", ("cluster",)) or ()),
        )
        if not r.erred_since(mark):
            cluster = read
    kubeconfig = r.string(m, "kubeconfig", ())
    if kubeconfig is not None:
        kubeconfig_problem = path_problem(kubeconfig, "path")
        _refuse(r, "kubeconfig-invalid", ("kubeconfig",), kubeconfig_problem)
        if kubeconfig_problem is not None:
            kubeconfig = None
    allow_empty = r.get(m, "allowEmptyInventory", (), bool)
    apply = _apply(m, r)
    dataplane = parse_dataplane(m, r)
    ambient = parse_ambient(m, r, dataplane)
    if context is None or inventory is None:
        return None
    return EnvSpec(
        inventory=tuple(inventory),
        context=context,
        namespace=namespace,
        api_version=api,
        istio=istio,
        egress=egress,
        cluster=cluster,
        kubeconfig=kubeconfig,
        allow_empty_inventory=bool(allow_empty),
        apply=apply,
        dataplane=dataplane,
        ambient=ambient,
    )


def _apply(m: dict[str, Any], r: Reader) -> ApplyOptions:
    """`apply:` (how kubectl applies).  `--force-conflicts` is a flag of one run only:
    taking fields another manager owns is never an environment's default."""
    raw = r.get(m, "apply", (), dict)
    if raw is None:
        return ApplyOptions()
    r.fields(raw, ("apply",), APPLY_KEYS)
    return ApplyOptions(server_side=bool(r.get(raw, "serverSide", ("apply",), bool)))


_INSTALLS = tuple(i.value for i in IstioInstall)


def _install(istio: dict[str, Any], r: Reader, at: KeyPath) -> IstioInstall:
    """`istio.install`: template, helm or auto (any case; default auto)."""
    text = r.string(istio, "install", at)
    if text is None:
        return IstioInstall.AUTO
    for choice in IstioInstall:
        if text.strip().lower() == choice.value:
            return choice
    r.err(
        "istio-install-invalid",
        (*at, "install"),
        f"{text!r} is not one of {', '.join(_INSTALLS)}",
        "auto upgrades the Helm release when the cluster has one, else applies with kubectl",
    )
    return IstioInstall.AUTO


def _istio(m: dict[str, Any], r: Reader) -> IstioSpec | None:
    """`istio:`, or None when there is none (or its chart is missing: an error)."""
    at: KeyPath = ("istio",)
    istio = r.get(m, "istio", (), dict)
    if istio is None:
        return None
    r.fields(istio, at, ISTIO_KEYS)
    chart = r.string(istio, "chart", at, required=True)
    release = r.string(istio, "release", at)
    values = tuple(r.strings(istio, "values", at) or ())
    repo = r.string(istio, "repo", at)
    raw_version = istio.get("version")
    if isinstance(raw_version, (int, float)) and not isinstance(raw_version, bool):
        version: str | None = str(raw_version)  # `version: 1.28` read as a number
    else:
        version = r.string(istio, "version", at)
    revision = r.string(istio, "revision", at)
    install = _install(istio, r, at)
    gateways = parse_gateway_charts(istio, r)
    charts = parse_dataplane_charts(istio, r)
    _istio_arguments(r, chart, release, values, repo, version, revision)
    if version is not None and repo is None:
        r.err(
            "istio-version-without-repo",
            (*at, "version"),
            "`version` applies to a chart from a repository",
            "add `repo: <chart repository URL>`, or drop `version` for a local chart",
        )
    if chart is None:
        return None
    return IstioSpec(
        chart=chart,
        release=DEFAULT_ISTIO_RELEASE if release is None else release,
        values=values,
        repo=repo,
        version=version,
        revision=revision,
        install=install,
        gateways=gateways,
        charts=charts,
    )


def _istio_arguments(
    r: Reader,
    chart: str | None,
    release: str | None,
    values: tuple[str, ...],
    repo: str | None,
    version: str | None,
    revision: str | None,
) -> None:
    """What goes to helm as arguments, or names rendered objects: refused with a position
    when it could be read as a flag or is not what helm and Istio accept."""
    at: KeyPath = ("istio",)
    if chart is not None:
        chart_problem = (
            argument_problem(chart, "chart name", spaces=False)
            if repo is not None
            else argument_problem(chart, "chart path")
        )
        _refuse(r, "istio-chart-invalid", (*at, "chart"), chart_problem)
    if release is not None:
        _refuse(
            r, "istio-release-invalid", (*at, "release"), release_problem(release), "e.g. istiod"
        )
    for i, path in enumerate(values):
        _refuse(
            r,
            "istio-values-invalid",
            (*at, "values", i),
            argument_problem(path, "values file path"),
        )
    if repo is not None:
        _refuse(
            r,
            "istio-repo-invalid",
            (*at, "repo"),
            repo_problem(repo),
            "e.g. https://istio-release.storage.googleapis.com/charts",
        )
    if version is not None:
        _refuse(r, "istio-version-invalid", (*at, "version"), version_problem(version))
    if revision is not None:
        _refuse(
            r,
            "istio-revision-invalid",
            (*at, "revision"),
            revision_problem(revision),
            "e.g. canary",
        )
