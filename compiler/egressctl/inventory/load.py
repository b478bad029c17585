"""Inventory and environment files → the model, and a way to say where each problem is
written.  The one module here that reads files.

Two paths, one result:

* **fast** — every file is parsed with PyYAML's C loader into plain data
  (:mod:`~egressctl.inventory.safeyaml`); layering (Helm's rules: maps merge, lists
  replace, ``null`` removes) and typed reading work on that data and report problems by
  key path;
* **slow** — only when there is something to report, :meth:`Loaded.finish` parses the
  files concerned again for positions (:mod:`~egressctl.inventory.positions`) and turns
  each problem's key path into ``file:line:col``.

Reading never validates: the rules run on :attr:`Loaded.model` elsewhere
(:mod:`egressctl.pipeline`), and their problems are located with the reading problems by
:meth:`Loaded.finish`.  Reading goes on past the problems of an entry: the model holds
every entry it could read, each marked with the parts it could not
(:class:`~egressctl.inventory.model.Part`), so that the rules judge the rest in the same
run.  Only what leaves nothing to read stops it at once: a file that cannot be read or
parsed, a file an environment names that is not there.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Generic, NoReturn, TypeVar

from egressctl.errors import (
    Finding,
    InventoryError,
    KeyPath,
    Loc,
    Problem,
    Severity,
    error,
)
from egressctl.files import FileTooLarge, NotRegularFile, check_regular
from egressctl.inventory.ambientenv import located_ambient
from egressctl.inventory.arguments import env_name_problem
from egressctl.inventory.dataplanecharts import resolve_dataplane_charts
from egressctl.inventory.environment import EnvSpec, IstioSpec, parse_environment
from egressctl.inventory.gatewaycharts import resolve_gateway_charts
from egressctl.inventory.inventory import parse_inventory, unknown_keys
from egressctl.inventory.layers import Layer, merge, merged
from egressctl.inventory.model import (
    Capture,
    DataplaneChart,
    Environment,
    GatewayChart,
    Inventory,
    IstioChart,
    Policy,
    TeamValues,
)
from egressctl.inventory.overrides import defined_services, unknown_overrides
from egressctl.inventory.pathcheck import looked_up
from egressctl.inventory.positions import Locator, report_order
from egressctl.inventory.reader import Reader, type_name
from egressctl.inventory.releases import release_clashes
from egressctl.inventory.safeyaml import (
    MAX_FILE_BYTES,
    YamlFile,
    YamlFiles,
    foreign_values,
)

M = TypeVar("M")


def has_errors(problems: Iterable[Problem]) -> bool:
    return any(p.severity is Severity.ERROR for p in problems)


@dataclass(frozen=True)
class Loaded(Generic[M]):
    """What the files say: the model (with the parts reading could not read marked), the
    problems met reading it, and where every key path is written, so that problems found
    later (the rules, rendered objects) point at the line that caused them."""

    model: M
    problems: tuple[Problem, ...]
    locator: Locator

    def finish(self, later: Sequence[Problem] = ()) -> list[Finding]:
        """This load's problems and ``later`` ones, located and in report order.
        Raises InventoryError if any is an error."""
        return _located(self.locator, [*self.problems, *later])


def _located(locator: Locator, problems: Sequence[Problem]) -> list[Finding]:
    findings = sorted((locator.locate(p) for p in problems), key=report_order)
    if any(f.severity is Severity.ERROR for f in findings):
        raise InventoryError(findings)
    return findings


def _refuse(files: YamlFiles, layers: Sequence[Layer], problems: Sequence[Problem]) -> NoReturn:
    """Raise the file-level findings and ``problems`` (there is an error among them)."""
    located = [Locator(files.files, layers).locate(p) for p in problems]
    raise InventoryError(sorted([*files.findings, *located], key=report_order))


# ---------------------------------------------------------------------------
# Inventory files


def read_inventory(paths: Sequence[Path], shown: Sequence[str] | None = None) -> Loaded[Inventory]:
    """Read and layer inventory files (later ones win); ``shown``: the names findings
    use (default: the paths).  Raises InventoryError when a file cannot be read."""
    files = YamlFiles()
    names = list(shown or [str(p) for p in paths])
    layers = []
    for path, name in zip(paths, names, strict=True):
        f = files.read(path, name)
        layer = _as_layer(f, files, "the inventory file") if f else None
        if layer is not None:
            layers.append(layer)
    if files.findings:
        _refuse(files, layers, [])
    return _read_layers(files, layers, (), tuple(names))


def _as_layer(f: YamlFile, files: YamlFiles, what: str) -> Layer | None:
    if f.data is None:
        files.fail("empty-file", Loc(f.shown, 1, 1), f"{what} is empty")
        return None
    if not isinstance(f.data, dict):
        files.fail(
            "wrong-type", Loc(f.shown, 1, 1), f"{what} must be a mapping, not {type_name(f.data)}"
        )
        return None
    return Layer(f.shown, f.data)


def _read_layers(
    files: YamlFiles,
    layers: list[Layer],
    problems: tuple[Problem, ...],
    sources: tuple[str, ...],
    allow_blank: bool = False,
    data: dict[str, Any] | None = None,
) -> Loaded[Inventory]:
    """The merged layers read into an inventory.  ``problems``: those met before (in the
    environment file); ``data``: what to read, when not the layers merged as written.
    Values YAML may build but an inventory never holds (dates…) are refused at once."""
    foreign = _foreign(layers)
    if foreign:
        _refuse(files, layers, [*problems, *foreign])
    r = Reader()
    inventory = parse_inventory(merged(layers) if data is None else data, r, sources)
    blank = () if allow_blank else _blank(layers)
    return Loaded(
        model=inventory,
        problems=(*problems, *_layer_keys(layers), *r.problems, *blank),
        locator=Locator(files.files, tuple(layers)),
    )


def _foreign(layers: Iterable[Layer]) -> list[Problem]:
    return [
        error(
            "yaml-type",
            (*layer.prefix, *path),
            f"{type_name(value)} is not allowed here (dates, binary and sets are not part "
            "of an inventory; quote the value to make it a string)",
            layer=layer.shown,
        )
        for layer in layers
        for path, value in foreign_values(layer.data)
        if not _is_expiry_date(path, value)
    ]


def _is_expiry_date(path: KeyPath, value: Any) -> bool:
    """`services.NAME.expires: 2026-12-31`: the one place an inventory holds a date."""
    return (
        len(path) == 3
        and path[0] == "services"
        and path[2] == "expires"
        and isinstance(value, datetime.date)
        and not isinstance(value, datetime.datetime)
    )


def _layer_keys(layers: Iterable[Layer]) -> list[Problem]:
    """Unknown keys, layer by layer: merging drops null values (`polcy:`), and with them
    the unknown keys that hold them."""
    out: list[Problem] = []
    for layer in layers:
        r = Reader(layer=layer.shown)
        unknown_keys(layer.data, r, layer.prefix)
        out += r.problems
    return out


def _blank(layers: Iterable[Layer]) -> tuple[Problem, ...]:
    """Inventory files with none of the inventory's own parts (`services`, `policy`,
    `gateways`, `namespaces`, `defaults`): not an inventory (a config file named by
    mistake, every key unknown) — compiled, it would be an empty ALLOW_ANY policy that
    loosens the mesh and prunes every entry.  A layer that holds only `gateways:` or
    `namespaces:` (a platform team's file beside the services) is one."""
    return tuple(
        error(
            "inventory-blank",
            (),
            "the file has none of `services`, `policy`, `gateways`, `namespaces`: "
            "it is not an inventory",
            "list the external services under `services:` (`services: {}` for none), or "
            "set `allowEmptyInventory: true` in the environment file",
            layer=layer.shown,
        )
        for layer in layers
        if not layer.prefix and not _INVENTORY_PARTS & set(layer.data)
    )


_INVENTORY_PARTS = frozenset({"services", "policy", "gateways", "namespaces", "defaults"})


# ---------------------------------------------------------------------------
# Environment files


def resolve_env_path(env: str, cwd: Path) -> Path:
    """``--env NAME`` → ``values/NAME.yaml`` under ``cwd``; ``--env PATH`` → that file."""
    candidate = Path(env)
    if candidate.suffix in (".yaml", ".yml") or "/" in env or candidate.is_file():
        return candidate if candidate.is_absolute() else cwd / candidate
    return cwd / "values" / f"{env}.yaml"


@dataclass(frozen=True, slots=True)
class _EnvFile:
    """One environment file, read and parsed (``spec`` None: it lacks what the rest
    needs, and ``problems`` say why)."""

    path: Path
    shown: str
    files: YamlFiles  # every file read for this environment, this one first
    layer: Layer
    spec: EnvSpec | None
    problems: tuple[Problem, ...]


def _read_env_file(env: str, base: Path) -> _EnvFile:
    """Read and parse one environment file; a file that cannot be read raises."""
    path = resolve_env_path(env, base)
    shown = _shown(path, base)
    files = YamlFiles()
    f = files.read(path, shown)
    layer = _as_layer(f, files, "the environment file") if f else None
    if layer is None:
        _refuse(files, [], [])
    name_problem = env_name_problem(path.stem)
    if name_problem is not None:
        files.fail(
            "env-name-invalid",
            Loc(shown),
            name_problem,
            "rename the file, e.g. values/prod-eu.yaml for `--env prod-eu`",
        )
    r = Reader(layer=shown)
    spec = parse_environment(layer.data, r)
    return _EnvFile(path, shown, files, layer, spec, tuple(r.problems))


def read_environment(env: str, cwd: Path | None = None) -> Loaded[Environment]:
    """Read an environment file, its inventory files, its overrides and the team's Istio
    values files.  Raises InventoryError when a file cannot be read (or is not there),
    or the environment file lacks what the rest needs; its other problems are reported
    with those of the inventory, which is read and judged all the same."""
    base = cwd or Path.cwd()
    e = _read_env_file(env, base)
    files, shown, spec, folder = e.files, e.shown, e.spec, e.path.parent
    named: list[Problem] = []  # files the environment file names that cannot be used
    layers: list[Layer] = []
    inv_shown: list[str] = []
    istio = None
    gateway_charts: tuple[GatewayChart, ...] = ()
    dataplane_charts: tuple[DataplaneChart, ...] = ()
    if spec is not None:
        for i, rel in enumerate(spec.inventory):
            p = folder / rel
            refused = _named_file(p, ("inventory", i), f"inventory file {rel!r}", shown)
            if refused is not None:
                named.append(refused)
                continue
            name = _shown(p, base)
            fi = files.read(p, name)
            layer = _as_layer(fi, files, "the inventory file") if fi else None
            if layer is not None:
                layers.append(layer)
                inv_shown.append(name)
        if spec.istio is not None:
            istio = _istio_chart(spec.istio, folder, shown, named, files, base)
            gateway_charts = resolve_gateway_charts(
                spec.istio.gateways,
                folder=folder,
                shown=shown,
                env_text=files.files[shown].text,
                namespace=spec.namespace,
                istio_release=spec.istio.release,
                problems=named,
                named_file=_named_file,
                read_values=lambda p: _team_values(p, _shown(p, base), files),
            )
            dataplane_charts = resolve_dataplane_charts(
                spec.istio.charts,
                folder=folder,
                shown=shown,
                env_text=files.files[shown].text,
                namespace=spec.namespace,
                problems=named,
                named_file=_named_file,
                read_values=lambda p: _team_values(p, _shown(p, base), files),
            )
            named.extend(
                release_clashes(
                    spec.istio.release, spec.namespace, gateway_charts, dataplane_charts, shown
                )
            )
    problems = [*e.problems, *named]
    # Every inventory file read, or nothing to judge overrides against: stop here.
    inventory_unread = any(
        p.path[:1] == ("inventory",) for p in e.problems if p.severity is Severity.ERROR
    )
    if spec is None or files.findings or has_errors(named) or inventory_unread:
        _refuse(files, [*layers, e.layer], problems)
    data = merged(layers)
    if spec.egress is not None:
        egress, unknown = unknown_overrides(spec.egress, defined_services(data))
        problems += unknown
        layers.append(Layer(shown, spec.egress, ("egress",)))  # as written: for positions
        data = merge(data, egress)
    inv = _read_layers(
        files, layers, tuple(problems), (*inv_shown, shown), spec.allow_empty_inventory, data
    )
    return Loaded(
        model=replace(
            _environment(e.path, shown, spec, istio, inv.model),
            gateway_charts=gateway_charts,
            ambient=located_ambient(spec, files.files[shown].text, shown),
            dataplane_charts=dataplane_charts,
        ),
        problems=inv.problems,
        locator=inv.locator,
    )


def read_environment_settings(env: str, cwd: Path | None = None) -> Environment:
    """Only the environment file (context, namespace, kubeconfig…), not its inventory:
    what `rollback` needs, even when today's inventory does not validate."""
    e = _read_env_file(env, cwd or Path.cwd())
    if e.spec is None or e.files.findings or has_errors(e.problems):
        _refuse(e.files, [e.layer], e.problems)
    empty = Inventory(policy=Policy.ALLOW_ANY, capture=Capture(), services=())
    return _environment(e.path, e.shown, e.spec, _istio_settings(e.spec.istio), empty)


def _istio_settings(spec: IstioSpec | None) -> IstioChart | None:
    """`istio:` as `rollback` needs it: the release, how it is installed, the revision.
    The files it names are not read: a rollback applies recorded renders."""
    if spec is None:
        return None
    return IstioChart(
        chart=spec.chart,
        release=spec.release,
        values=(),
        repo=spec.repo,
        version=spec.version,
        revision=spec.revision,
        install=spec.install,
    )


def _environment(
    path: Path, shown: str, spec: EnvSpec, istio: IstioChart | None, inventory: Inventory
) -> Environment:
    return Environment(
        name=path.stem,
        file=shown,
        context=spec.context,
        namespace=spec.namespace,
        api_version=spec.api_version,
        istio=istio,
        inventory=inventory,
        cluster=spec.cluster,
        kubeconfig=(
            str((path.parent / Path(spec.kubeconfig).expanduser()).resolve())
            if spec.kubeconfig
            else None
        ),
        apply=spec.apply,
        dataplane=spec.dataplane,
        ambient=spec.ambient,
    )


def _missing(key: KeyPath, what: str, path: Path, shown: str, hint: str = "") -> Problem:
    """A file an environment file names that is not there."""
    return error(
        "file-missing", key, f"{what} not found (looked for {path.resolve()})", hint, layer=shown
    )


def _named_file(path: Path, key: KeyPath, what: str, shown: str) -> Problem | None:
    """Why a file an environment file names cannot be used: missing, a folder, a device
    or FIFO (reading it would never end, or block), too large.  None when it can."""
    try:
        check_regular(path, MAX_FILE_BYTES)
    except FileNotFoundError:
        return _missing(key, what, path, shown)
    except IsADirectoryError:
        return error("file-missing", key, f"{what} is a folder ({path.resolve()})", layer=shown)
    except NotRegularFile as exc:
        return error("file-not-regular", key, f"{what}: {exc.strerror}", layer=shown)
    except FileTooLarge as exc:
        return error("file-too-large", key, f"{what}: {exc.strerror}", layer=shown)
    except OSError as exc:
        return error("file-unreadable", key, f"{what}: {exc.strerror or exc}", layer=shown)
    return None


def _istio_chart(
    spec: IstioSpec,
    folder: Path,
    shown: str,
    problems: list[Problem],
    files: YamlFiles,
    base: Path,
) -> IstioChart:
    """`istio:` with its paths resolved against the environment file's folder, and the
    team's values files read (like inventory files: bounded, regular, safe YAML) for the
    rules; a file that is not there is a problem, one that is no YAML mapping a finding
    of ``files``."""
    chart = spec.chart
    if spec.repo is None:
        local = folder / spec.chart
        why = looked_up(local)
        if why:
            problems.append(
                error("file-unreadable", ("istio", "chart"), f"Istio chart: {why}", layer=shown)
            )
        elif why == "":
            problems.append(
                _missing(
                    ("istio", "chart"),
                    f"Istio chart {spec.chart!r}",
                    local,
                    shown,
                    "a local chart folder or .tgz, relative to this file; or add `repo:` for a "
                    "chart from a repository",
                )
            )
        chart = str(local.resolve())
    values = []
    team: list[TeamValues] = []
    for i, rel in enumerate(spec.values):
        p = folder / rel
        refused = _named_file(p, ("istio", "values", i), f"values file {rel!r}", shown)
        if refused is not None:
            problems.append(refused)
        else:
            read = _team_values(p, _shown(p, base), files)
            if read is not None:
                team.append(read)
        values.append(str(p.resolve()))
    return IstioChart(
        chart=chart,
        release=spec.release,
        values=tuple(values),
        repo=spec.repo,
        version=spec.version,
        revision=spec.revision,
        team_values=tuple(team),
        install=spec.install,
    )


def _team_values(path: Path, shown: str, files: YamlFiles) -> TeamValues | None:
    """One of the team's Istio values files, read; None when it holds nothing (helm
    reads an empty file as no values) or cannot be read (a finding of ``files``)."""
    f = files.read(path, shown)
    if f is None or f.data is None:
        return None
    if not isinstance(f.data, dict):
        files.fail(
            "wrong-type",
            Loc(shown, 1, 1),
            f"an Istio values file must be a mapping, not {type_name(f.data)}",
        )
        return None
    return TeamValues(shown, f.data)


def _shown(path: Path, base: Path) -> str:
    """A path as the user would write it: relative to the working folder when inside it."""
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path)
