"""Read inventory and environment files into the model; the one module that knows
where things are written.

Two paths, one result:

* **fast** — every file is parsed with PyYAML's C loader into plain data; layering
  (Helm's rules: maps merge, lists replace, ``null`` removes), typed reading
  (:mod:`egressctl.parse`) and the rules (:mod:`egressctl.validate`) work on that data and
  report problems by key path;
* **slow** — only when there is something to report, the files concerned are parsed
  again with ruamel.yaml (round-trip, so every key and item has a line and column), and
  each problem's key path is turned into ``file:line:col``.  The file that "wrote" a path
  is the last layer that holds it, so an error in an override points at the override.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import yaml

from egressctl.errors import (
    Anchor,
    Finding,
    InventoryError,
    KeyPath,
    Loc,
    Problem,
    Severity,
    error,
    format_path,
)
from egressctl.files import FileTooLarge, NotRegularFile, check_regular, read_bounded
from egressctl.model import Capture, Environment, Inventory, IstioChart, Policy
from egressctl.parse import (
    EnvSpec,
    Reader,
    inventory_keys,
    parse_environment,
    parse_inventory,
    type_name,
)
from egressctl.validate import env_name_problem

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_ALIAS_EXPANSION = 10_000  # values that aliases may add to a document
_ANCHOR_RE = re.compile(r"(?:^|[\s\[{,:-])&[^\s\[\]{},]+")
_PLAIN_TYPES = (str, int, float, bool, type(None), dict, list)


# ---------------------------------------------------------------------------
# Fast parse: PyYAML's C loader, plain data


class _DuplicateKey(Exception):
    def __init__(self, found: list[tuple[str, Any]]) -> None:
        super().__init__("duplicate keys")
        self.found = found


_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _FastLoader(_BaseLoader):  # type: ignore[misc]
    """The C safe loader, refusing duplicate keys (PyYAML keeps the last silently).

    A merge key (``<<: *base``) brings in keys that the mapping may override: those are
    not duplicates.  Only the mapping's own keys are compared, recorded before PyYAML
    flattens the merged ones into the node — which it does in place, also to a merged
    anchor that is built later than the mapping that merges it."""

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        if node not in self._own_keys and any(k.tag == _MERGE_TAG for k, _ in node.value):
            self._own_keys[node] = [k for k, _ in node.value if k.tag != _MERGE_TAG]
        super().flatten_mapping(node)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        own = self._own_keys.get(node)
        merges = own is not None or any(k.tag == _MERGE_TAG for k, _ in node.value)
        if own is None:
            own = [k for k, _ in node.value if k.tag != _MERGE_TAG]
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        if merges or len(mapping) < len(own):
            seen: set[Any] = set()
            for key_node in own:
                key = self.construct_object(key_node, deep=deep)
                if key in seen:
                    self._duplicates.append((str(key), key_node.start_mark))
                seen.add(key)
        return mapping


def _fast_load(text: str) -> tuple[Any, list[tuple[str, Any]]]:
    loader = _FastLoader(text)
    loader._duplicates = []
    loader._own_keys = {}
    try:
        return loader.get_single_data(), loader._duplicates
    finally:
        loader.dispose()


@dataclass
class _File:
    shown: str
    path: Path
    text: str
    data: Any


@dataclass
class _Sources:
    """Everything read so far, and the findings that already have a position."""

    files: dict[str, _File] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def fail(self, code: str, loc: Loc, message: str, hint: str = "") -> None:
        self.findings.append(Finding(code, Severity.ERROR, loc, "", message, hint))

    def read(self, path: Path, shown: str) -> _File | None:
        top = Loc(shown)
        try:
            raw = read_bounded(path, MAX_FILE_BYTES)
        except FileNotFoundError:
            self.fail("file-missing", top, f"file not found (looked for {path.resolve()})")
            return None
        except IsADirectoryError:
            self.fail("file-missing", top, "is a folder, not a YAML file")
            return None
        except NotRegularFile as exc:
            self.fail("file-not-regular", top, str(exc.strerror))
            return None
        except FileTooLarge as exc:
            self.fail("file-too-large", top, str(exc.strerror))
            return None
        except OSError as exc:
            self.fail("file-unreadable", top, f"cannot read file: {exc.strerror}")
            return None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
            self.fail("not-utf8", Loc(shown, line, col), "file is not UTF-8 text")
            return None
        return self.parse(text, shown, path)

    def parse(self, text: str, shown: str, path: Path | None = None) -> _File | None:
        if text.startswith("\ufeff"):
            text = text[1:]
        try:
            data, duplicates = _fast_load(text)
        except yaml.MarkedYAMLError as exc:
            self._yaml_error(exc, shown, text)
            return None
        except yaml.YAMLError as exc:
            self.fail("yaml-syntax", Loc(shown), f"YAML does not parse: {_one_line(exc)}")
            return None
        except RecursionError:
            self.fail("yaml-syntax", Loc(shown), "YAML is nested too deeply")
            return None
        for key, mark in duplicates:
            self.fail(
                "duplicate-key",
                Loc(shown, mark.line + 1, mark.column + 1),
                f"key {key!r} appears twice in the same mapping",
                "YAML keeps only one of them; remove or merge the other",
            )
        if duplicates:
            return None
        if _ANCHOR_RE.search(text):
            try:
                too_big = _expanded_size(data) > MAX_ALIAS_EXPANSION + len(text)
                message = f"aliases expand the document by more than {MAX_ALIAS_EXPANSION:,} values"
            except (_Cycle, RecursionError):
                too_big, message = True, "an alias refers to a value that contains it"
            if too_big:
                match = re.search(r"\*[^\s\[\]{},]+", text)
                line = text.count("\n", 0, match.start()) + 1 if match else 0
                col = match.start() - text.rfind("\n", 0, match.start()) if match else 0
                self.fail("yaml-alias-bomb", Loc(shown, line, col), message)
                return None
        f = _File(shown, path or Path(shown), text, data)
        self.files[shown] = f
        return f

    def _yaml_error(self, exc: yaml.MarkedYAMLError, shown: str, text: str) -> None:
        mark = exc.problem_mark or exc.context_mark
        loc = Loc(shown, mark.line + 1, mark.column + 1) if mark else Loc(shown)
        problem = _one_line(exc.problem or exc.context or "invalid YAML")
        lines = text.splitlines()
        at = (
            lines[mark.line][mark.column : mark.column + 1]
            if mark and mark.line < len(lines)
            else ""
        )
        if at == "\t" or "\\t" in problem:
            self.fail(
                "yaml-tab",
                loc,
                "tab character: YAML indentation must use spaces",
                "replace the tab with spaces",
            )
        elif "constructor for the tag" in problem:
            tag = problem.split("tag", 1)[-1].strip().strip("'")
            self.fail(
                "yaml-tag",
                loc,
                f"YAML tag {tag} is not allowed: only plain maps, "
                "lists, strings, numbers and booleans",
            )
        else:
            self.fail("yaml-syntax", loc, f"YAML does not parse: {problem}")


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


class _Cycle(Exception):
    pass


def _expanded_size(data: Any) -> int:
    """How many values the document holds once aliases are expanded (memoised).
    Raises _Cycle for a document that contains itself (`a: &a [*a]`)."""
    memo: dict[int, int] = {}
    visiting: set[int] = set()

    def size(obj: Any) -> int:
        if not isinstance(obj, (dict, list)):
            return 1
        key = id(obj)
        if key in memo:
            return memo[key]
        if key in visiting:
            raise _Cycle
        visiting.add(key)
        children = obj.values() if isinstance(obj, dict) else obj
        memo[key] = 1 + sum(size(v) for v in children)
        visiting.discard(key)
        return memo[key]

    return size(data)


def _foreign_values(data: Any, path: KeyPath = ()) -> Iterable[tuple[KeyPath, Any]]:
    """Values YAML can build that an inventory never holds (dates, binary, sets…)."""
    stack: list[tuple[KeyPath, Any]] = [(path, data)]
    while stack:
        here, obj = stack.pop()
        if isinstance(obj, dict):
            stack.extend(((*here, k if isinstance(k, str) else str(k)), v) for k, v in obj.items())
        elif isinstance(obj, list):
            stack.extend(((*here, i), v) for i, v in enumerate(obj))
        elif not isinstance(obj, _PLAIN_TYPES):
            yield here, obj


# ---------------------------------------------------------------------------
# Layering


@dataclass(frozen=True, slots=True)
class Layer:
    """One input of the merged inventory: a file, or a part of one (env `egress:`)."""

    shown: str
    data: dict[str, Any]
    prefix: KeyPath = ()


def merge(base: Any, over: Any) -> Any:
    """Layer ``over`` onto ``base`` the way Helm layers ``-f`` files."""
    if not (isinstance(base, dict) and isinstance(over, dict)):
        return _drop_nulls(over)
    out = dict(base)
    for key, value in over.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge(out.get(key), value)
    return out


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    return value


def _walk(data: Any, path: KeyPath) -> bool:
    node = data
    for part in path:
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                return False
            node = node[part]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return False
    return True


# ---------------------------------------------------------------------------
# Slow path: positions


class _Positions:
    """Key path → (key position, value position) of one file, from ruamel.yaml."""

    def __init__(self, text: str, shown: str) -> None:
        self.shown = shown
        self.index: dict[KeyPath, tuple[Loc, Loc]] = {}
        from ruamel.yaml import YAML
        from ruamel.yaml.error import YAMLError

        try:
            yaml_rt = YAML(typ="rt", pure=True)
            yaml_rt.allow_duplicate_keys = True
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                doc = yaml_rt.load(text)
        except (YAMLError, ValueError, TypeError, RecursionError):
            return  # positions are best effort: PyYAML, which decides, read the file fine
        top = Loc(shown, 1, 1)
        self._visit(doc, (), top, top, set())

    def _loc(self, pair: Any, near: Loc) -> Loc:
        if not pair or pair[0] is None:
            return near
        return Loc(self.shown, pair[0] + 1, pair[1] + 1)

    def _visit(self, node: Any, path: KeyPath, key: Loc, value: Loc, seen: set[int]) -> None:
        from ruamel.yaml.comments import CommentedMap, CommentedSeq

        if isinstance(node, (CommentedMap, CommentedSeq)):
            value = self._loc((node.lc.line, node.lc.col), value)
            if id(node) in seen:  # an alias: positions are those of the anchor
                self.index.setdefault(path, (key, value))
                return
            seen = seen | {id(node)}
        self.index[path] = (key, value)
        if isinstance(node, CommentedMap):
            for k in node:
                pos = _key_position(node, k)
                kl = self._loc(pos[:2] if pos else None, value)
                vl = self._loc(pos[2:4] if pos else None, kl)
                self._visit(node[k], (*path, k if isinstance(k, str) else str(k)), kl, vl, seen)
        elif isinstance(node, CommentedSeq):
            for i, item in enumerate(node):
                il = self._loc(node.lc.item(i), value)
                self._visit(item, (*path, i), il, il, seen)

    def find(self, path: KeyPath, anchor: Anchor) -> Loc:
        for cut in range(len(path), -1, -1):
            hit = self.index.get(path[:cut])
            if hit is not None:
                if cut == len(path) and anchor is Anchor.KEY:
                    return hit[0]
                return hit[1]
        return Loc(self.shown)


def _key_position(node: Any, key: Any, depth: int = 0) -> Any:
    """[key line, key column, value line, value column] of ``key`` in a ruamel mapping;
    a key that a merge (``<<: *base``) brought in has the position it has in the mapping
    it came from.  None when unknown."""
    from ruamel.yaml.comments import CommentedMap

    found = node.lc.data.get(key)
    if found is not None or depth > 20:
        return found
    for merged in getattr(node, "merge", None) or ():
        source = merged[1] if isinstance(merged, tuple) else merged
        if isinstance(source, CommentedMap) and key in source:
            return _key_position(source, key, depth + 1)
    return None


class _Locator:
    def __init__(self, sources: _Sources, layers: Sequence[Layer]) -> None:
        self.sources = sources
        self.layers = layers
        self.cache: dict[str, _Positions] = {}

    def positions(self, shown: str) -> _Positions | None:
        f = self.sources.files.get(shown)
        if f is None:
            return None
        if shown not in self.cache:
            self.cache[shown] = _Positions(f.text, shown)
        return self.cache[shown]

    def locate(self, p: Problem) -> Finding:
        if p.layer is not None:
            shown, full = p.layer, p.path
        else:
            shown, full = self._provider(p.path)
        pos = self.positions(shown)
        loc = pos.find(full, p.anchor) if pos else Loc(shown)
        return Finding(p.code, p.severity, loc, format_path(p.path), p.message, p.hint)

    def _provider(self, path: KeyPath) -> tuple[str, KeyPath]:
        for layer in reversed(self.layers):
            if _walk(layer.data, path):
                return layer.shown, (*layer.prefix, *path)
        for cut in range(len(path) - 1, -1, -1):
            for layer in reversed(self.layers):
                if _walk(layer.data, path[:cut]):
                    return layer.shown, (*layer.prefix, *path[:cut])
        last = self.layers[-1] if self.layers else Layer("", {})
        return last.shown, last.prefix


def _order(f: Finding) -> tuple[str, int, int, str]:
    return (f.loc.file, f.loc.line, f.loc.col, f.code)


# ---------------------------------------------------------------------------
# Files → model


def _as_layer(f: _File, sources: _Sources, what: str) -> Layer | None:
    if f.data is None:
        sources.fail("empty-file", Loc(f.shown, 1, 1), f"{what} is empty")
        return None
    if not isinstance(f.data, dict):
        sources.fail(
            "wrong-type", Loc(f.shown, 1, 1), f"{what} must be a mapping, not {type_name(f.data)}"
        )
        return None
    return Layer(f.shown, f.data)


def _finish(
    sources: _Sources,
    layers: list[Layer],
    problems: list[Problem],
) -> list[Finding]:
    """Locate problems; raise InventoryError if any is an error."""
    locator = _Locator(sources, layers)
    findings = list(sources.findings) + [locator.locate(p) for p in problems]
    findings.sort(key=_order)
    if any(f.severity is Severity.ERROR for f in findings):
        raise InventoryError(findings)
    return findings


def _fail(sources: _Sources) -> NoReturn:
    """Raise the file-level findings already collected (there is at least one)."""
    raise InventoryError(sorted(sources.findings, key=_order))


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
        for path, value in _foreign_values(layer.data)
    ]


ExtraRules = Callable[[Inventory], list[Problem]]


def _layer_keys(layers: Iterable[Layer]) -> list[Problem]:
    """Unknown keys, layer by layer: merging drops null values (`polcy:`), and with them
    the unknown keys that hold them."""
    out: list[Problem] = []
    for layer in layers:
        r = Reader(layer=layer.shown)
        inventory_keys(layer.data, r, layer.prefix)
        out += r.problems
    return out


def _blank(layers: Iterable[Layer]) -> list[Problem]:
    """Inventory files with neither `services` nor `policy`: not an inventory (a config
    file named by mistake, every key unknown) — compiled, it would be an empty ALLOW_ANY
    policy that loosens the mesh and prunes every entry."""
    return [
        error(
            "inventory-blank",
            (),
            "the file has neither `services` nor `policy`: it is not an inventory",
            "list the external services under `services:` (`services: {}` for none), or "
            "set `allowEmptyInventory: true` in the environment file",
            layer=layer.shown,
        )
        for layer in layers
        if not layer.prefix and "services" not in layer.data and "policy" not in layer.data
    ]


def _compile_layers(
    sources: _Sources,
    layers: list[Layer],
    problems: list[Problem],
    sources_shown: tuple[str, ...],
    extra_rules: Sequence[ExtraRules] = (),
    allow_blank: bool = False,
) -> tuple[Inventory, list[Finding]]:
    from egressctl.validate import validate_inventory

    foreign = _foreign(layers)
    if foreign:
        _finish(sources, layers, problems + foreign)
    r = Reader()
    merged: dict[str, Any] = {}
    for layer in layers:
        merged = merge(merged, layer.data)
    inventory = parse_inventory(merged, r, sources_shown)
    problems = problems + _layer_keys(layers) + r.problems
    if not any(p.severity is Severity.ERROR for p in problems):
        problems += validate_inventory(inventory)
    if not allow_blank:
        problems += _blank(layers)
    for rules in extra_rules:
        if any(p.severity is Severity.ERROR for p in problems):
            break
        problems += rules(inventory)
    if not problems and not sources.findings:
        return inventory, []
    return inventory, _finish(sources, layers, problems)


def load_inventory(
    paths: Sequence[Path],
    shown: Sequence[str] | None = None,
    extra_rules: Sequence[ExtraRules] = (),
) -> tuple[Inventory, list[Finding]]:
    """Load and layer inventory files (later ones win).  Raises InventoryError.

    ``extra_rules`` run last, on a valid inventory (e.g. checks of rendered objects);
    their problems are located like any other."""
    sources = _Sources()
    names = list(shown or [str(p) for p in paths])
    layers = []
    for path, name in zip(paths, names, strict=True):
        f = sources.read(path, name)
        layer = _as_layer(f, sources, "the inventory file") if f else None
        if layer is not None:
            layers.append(layer)
    if sources.findings:
        _finish(sources, layers, [])
    return _compile_layers(sources, layers, [], tuple(names), extra_rules)


def load_inventory_text(text: str, shown: str = "<stdin>") -> tuple[Inventory, list[Finding]]:
    sources = _Sources()
    f = sources.parse(text, shown)
    layer = _as_layer(f, sources, "the inventory") if f else None
    if layer is None:
        _fail(sources)
    return _compile_layers(sources, [layer], [], (shown,))


def resolve_env_path(env: str, cwd: Path) -> Path:
    """``--env NAME`` → ``values/NAME.yaml`` under ``cwd``; ``--env PATH`` → that file."""
    candidate = Path(env)
    if candidate.suffix in (".yaml", ".yml") or "/" in env or candidate.is_file():
        return candidate if candidate.is_absolute() else cwd / candidate
    return cwd / "values" / f"{env}.yaml"


def load_environment(
    env: str,
    cwd: Path | None = None,
    extra_rules: Callable[[Environment], list[Problem]] | None = None,
) -> tuple[Environment, list[Finding]]:
    """Load an environment file, its inventory files and its overrides."""
    from egressctl.validate import validate_capture_against_cluster

    base = cwd or Path.cwd()
    path, shown, sources, env_layer, spec, problems = _read_env_file(env, base)
    folder = path.parent
    layers: list[Layer] = []
    inv_shown: list[str] = []
    istio = None
    if spec is not None:
        for i, rel in enumerate(spec.inventory):
            p = folder / rel
            refused = _named_file(p, ("inventory", i), f"inventory file {rel!r}", shown)
            if refused is not None:
                problems.append(refused)
                continue
            name = _shown(p, base)
            fi = sources.read(p, name)
            layer = _as_layer(fi, sources, "the inventory file") if fi else None
            if layer is not None:
                layers.append(layer)
                inv_shown.append(name)
        istio = _istio(spec, folder, shown, problems)
    if sources.findings or any(p.severity is Severity.ERROR for p in problems):
        _finish(sources, [*layers, env_layer], problems)
    assert spec is not None  # noqa: S101 - an error was raised above otherwise
    if spec.egress is not None:
        layers.append(Layer(shown, spec.egress, ("egress",)))

    def environment_of(inv: Inventory) -> Environment:
        assert spec is not None  # noqa: S101 - checked above
        return _environment(path, shown, spec, istio, inv)

    def cluster_rules(inv: Inventory) -> list[Problem]:
        return validate_capture_against_cluster(inv.capture, spec.cluster, shown)

    rules: list[ExtraRules] = [cluster_rules]
    if extra_rules is not None:
        rules.append(lambda inv: extra_rules(environment_of(inv)))
    inventory, findings = _compile_layers(
        sources, layers, problems, (*inv_shown, shown), rules, spec.allow_empty_inventory
    )
    return environment_of(inventory), findings


def _read_env_file(
    env: str, base: Path
) -> tuple[Path, str, _Sources, Layer, EnvSpec | None, list[Problem]]:
    """Read and parse one environment file; a file that cannot be read raises."""
    path = resolve_env_path(env, base)
    shown = _shown(path, base)
    sources = _Sources()
    f = sources.read(path, shown)
    env_layer = _as_layer(f, sources, "the environment file") if f else None
    if env_layer is None:
        _fail(sources)
    name_problem = env_name_problem(path.stem)
    if name_problem is not None:
        sources.fail(
            "env-name-invalid",
            Loc(shown),
            name_problem,
            "rename the file, e.g. values/prod-eu.yaml for `--env prod-eu`",
        )
    r = Reader(layer=shown)
    spec = parse_environment(env_layer.data, r)
    return path, shown, sources, env_layer, spec, list(r.problems)


def load_environment_settings(env: str, cwd: Path | None = None) -> Environment:
    """Only the environment file (context, namespace, kubeconfig…), not its inventory:
    what `rollback` needs, even when today's inventory does not validate."""
    path, shown, sources, env_layer, spec, problems = _read_env_file(env, cwd or Path.cwd())
    if spec is None or sources.findings or any(p.severity is Severity.ERROR for p in problems):
        _finish(sources, [env_layer], problems)
    assert spec is not None  # noqa: S101 - _finish raised otherwise
    return _environment(path, shown, spec, None, Inventory(Policy.ALLOW_ANY, Capture(), ()))


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


def _istio(spec: EnvSpec, folder: Path, shown: str, problems: list[Problem]) -> IstioChart | None:
    if spec.istio_chart is None:
        return None
    chart = spec.istio_chart
    if spec.istio_repo is None:
        local = folder / spec.istio_chart
        if not local.exists():
            problems.append(
                _missing(
                    ("istio", "chart"),
                    f"Istio chart {spec.istio_chart!r}",
                    local,
                    shown,
                    "a local chart folder or .tgz, relative to this file; or add `repo:` for a "
                    "chart from a repository",
                )
            )
        chart = str(local.resolve())
    values = []
    for i, rel in enumerate(spec.istio_values):
        p = folder / rel
        refused = _named_file(p, ("istio", "values", i), f"values file {rel!r}", shown)
        if refused is not None:
            problems.append(refused)
        values.append(str(p.resolve()))
    return IstioChart(
        chart=chart,
        release=spec.istio_release,
        values=tuple(values),
        repo=spec.istio_repo,
        version=spec.istio_version,
        revision=spec.istio_revision,
    )


def _shown(path: Path, base: Path) -> str:
    """A path as the user would write it: relative to the working folder when inside it."""
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path)
