"""The team's Istio chart: which generation it is, which networking version it serves,
and proof that a render carries the compiled policy and capture ranges.

Two generations consume the values differently (reference §1-2):

* **legacy** (`install/kubernetes/helm/istio`, 1.1-era, Chart.yaml `name: istio`): reads
  ``global.outboundTrafficPolicy.mode`` into ConfigMap ``istio`` (``data.mesh``); the
  capture ranges are substituted into ConfigMap ``istio-sidecar-injector`` ``data.config``,
  in the istio-init ``-i``/``-x`` arguments;
* **istiod** (`manifests/charts/istio-control/istio-discovery`, ``name: istiod``): reads
  only ``meshConfig.outboundTrafficPolicy.mode`` into ConfigMap ``istio[-REV]``; the
  ranges land as JSON under ``global.proxy`` in ``istio-sidecar-injector[-REV]``
  ``data.values``.

Pure except :func:`chart_info`, which reads Chart.yaml (a regular file of at most 5 MiB,
helm's own limit for a file in a chart).  A Chart.yaml egressctl cannot use — not UTF-8,
not YAML, not a mapping, a `name` or `version` that is not a string — is a
:class:`VerificationError` (exit 3): the environment's chart is wrong for egressctl.
"""

from __future__ import annotations

import enum
import json
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from egressctl.errors import VerificationError
from egressctl.files import read_bounded, utf8_problem, yaml_problem
from egressctl.parse import type_name


class Generation(str, enum.Enum):
    LEGACY = "legacy"
    ISTIOD = "istiod"


@dataclass(frozen=True, slots=True)
class ChartInfo:
    name: str
    version: str
    generation: Generation | None  # None: not an Istio control-plane chart we know


CHART_YAML_MAX_BYTES = 5 * 1024 * 1024
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def chart_info(chart: str | Path) -> ChartInfo:
    """Read Chart.yaml of a chart folder or .tgz."""
    path = Path(chart)
    if path.is_dir():
        meta = path / "Chart.yaml"
        try:
            raw = read_bounded(meta, CHART_YAML_MAX_BYTES)
        except FileNotFoundError:
            raise VerificationError(f"{path}: not a Helm chart (no Chart.yaml)") from None
        except OSError as exc:
            raise VerificationError(f"{meta}: {exc.strerror or exc}") from None
        return info_from_text(raw, str(meta))
    if path.is_file() and path.name.endswith((".tgz", ".tar.gz")):
        raw, where = _archive_chart_yaml(path)
        return info_from_text(raw, where)
    raise VerificationError(f"{path}: not a Helm chart (no Chart.yaml)")


def _archive_chart_yaml(path: Path) -> tuple[bytes, str]:
    try:
        with tarfile.open(path) as tf:
            member = next(
                (
                    m
                    for m in tf.getmembers()
                    if m.name.count("/") == 1 and m.name.endswith("/Chart.yaml")
                ),
                None,
            )
            if member is None or not member.isfile():
                raise VerificationError(f"{path}: not a Helm chart (no Chart.yaml)")
            where = f"{path}: {member.name}"
            if member.size > CHART_YAML_MAX_BYTES:
                raise VerificationError(
                    f"{where}: {member.size:,} bytes; the limit is {CHART_YAML_MAX_BYTES:,}"
                )
            handle = tf.extractfile(member)
            raw = handle.read(CHART_YAML_MAX_BYTES + 1) if handle else b""
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise VerificationError(f"{path}: cannot read the chart archive ({exc})") from None
    return raw, where


def info_from_text(raw: bytes | str, where: str) -> ChartInfo:
    """A Chart.yaml's name, version and generation.  ``where`` names it in errors."""
    if isinstance(raw, bytes):
        problem = utf8_problem(raw)
        if problem is not None:
            raise VerificationError(f"{where}: {problem}")
        raw = raw.decode("utf-8")
    try:
        meta = yaml.load(raw, Loader=_SafeLoader)  # noqa: S506 - the safe loader
    except (yaml.YAMLError, RecursionError) as exc:
        raise VerificationError(f"{where}: does not parse: {yaml_problem(exc)}") from None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise VerificationError(f"{where}: must be a mapping, not {type_name(meta)}")
    return info_from(meta, where)


def info_from(meta: dict[str, Any], where: str = "Chart.yaml") -> ChartInfo:
    name = meta.get("name", "")
    version = meta.get("version", "")
    if isinstance(version, (int, float)) and not isinstance(version, bool):
        version = str(version)  # `version: 1.28`
    for key, value in (("name", name), ("version", version)):
        if not isinstance(value, str):  # never str() it: an alias bomb would expand
            raise VerificationError(f"{where}: `{key}` must be a string, not {type_name(value)}")
    generation = {"istio": Generation.LEGACY, "istiod": Generation.ISTIOD}.get(name)
    return ChartInfo(name, version, generation)


def _version_tuple(text: str) -> tuple[int, int] | None:
    m = re.match(r"^v?(\d+)\.(\d+)", text)
    return (int(m.group(1)), int(m.group(2))) if m else None


def served_api_version(info: ChartInfo) -> tuple[str, str]:
    """The networking.istio.io version to render for this chart, and why."""
    if info.generation is Generation.LEGACY:
        return "v1alpha3", f"legacy Istio chart {info.version}: only v1alpha3 is served"
    version = _version_tuple(info.version)
    if info.generation is Generation.ISTIOD and version is not None and version >= (1, 5):
        if version >= (1, 22):
            return "v1", f"istiod chart {info.version} serves v1"
        return "v1beta1", f"istiod chart {info.version} serves v1beta1, not v1 (Istio < 1.22)"
    return "v1beta1", (
        f"chart {info.name} {info.version or '?'} names no Istio release (a copy from git?): "
        "v1beta1 is served by every istiod release; set networkingApiVersion to choose"
    )


# ---------------------------------------------------------------------------
# Reading the two ConfigMaps (rendered or live)


@dataclass(frozen=True, slots=True)
class MeshState:
    """What a mesh ConfigMap and an injector ConfigMap say."""

    policy: str | None  # None: the mesh ConfigMap has no outboundTrafficPolicy
    include: str | None  # None: not found in the injector ConfigMap
    exclude: str | None


_LEGACY_RANGE = re.compile(
    r"traffic\.sidecar\.istio\.io/(include|exclude)OutboundIPRanges`\s+\"([^\"]*)\""
)


def policy_of(mesh_cm: Any) -> str | None:
    """outboundTrafficPolicy.mode of a mesh ConfigMap; None when absent or unreadable."""
    data = mesh_cm.get("data") if isinstance(mesh_cm, dict) else None
    text = data.get("mesh") if isinstance(data, dict) else None
    if not isinstance(text, str):
        return None
    try:
        mesh = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    policy = mesh.get("outboundTrafficPolicy") if isinstance(mesh, dict) else None
    mode = policy.get("mode") if isinstance(policy, dict) else None
    return str(mode) if mode is not None else None


def ranges_of(injector_cm: Any) -> tuple[str | None, str | None]:
    """Capture ranges from an injector ConfigMap of either generation (None: not found)."""
    data = injector_cm.get("data") if isinstance(injector_cm, dict) else None
    if not isinstance(data, dict):
        return None, None
    if isinstance(data.get("values"), str) and data["values"]:
        try:
            values = json.loads(data["values"])
        except ValueError:
            return None, None
        glob = values.get("global") if isinstance(values, dict) else None
        proxy = glob.get("proxy") if isinstance(glob, dict) else None
        if not isinstance(proxy, dict):
            return None, None
        inc, exc = proxy.get("includeIPRanges"), proxy.get("excludeIPRanges")
        return (None if inc is None else str(inc)), (None if exc is None else str(exc))
    config = data.get("config")
    found = dict(_LEGACY_RANGE.findall(config)) if isinstance(config, str) else {}
    return found.get("include"), found.get("exclude")


def names(revision: str | None) -> tuple[str, str]:
    suffix = f"-{revision}" if revision else ""
    return f"istio{suffix}", f"istio-sidecar-injector{suffix}"


def find_configmaps(
    objects: list[dict[str, Any]], revision: str | None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None, str | None]:
    """The mesh and injector ConfigMaps of a render, and the revision they belong to.

    With ``revision`` given, only those names; otherwise ``istio``/``istio-sidecar-
    injector`` or, when the render has exactly one revisioned pair, that pair."""
    cms = {
        o["metadata"]["name"]: o
        for o in objects
        if o.get("kind") == "ConfigMap" and isinstance(o.get("metadata"), dict)
    }
    if revision is not None:
        mesh, inj = names(revision)
        return cms.get(mesh), cms.get(inj), revision
    if "istio" in cms or "istio-sidecar-injector" in cms:
        return cms.get("istio"), cms.get("istio-sidecar-injector"), None
    revs = sorted(
        n.removeprefix("istio-sidecar-injector-")
        for n in cms
        if n.startswith("istio-sidecar-injector-")
    )
    if len(revs) == 1:
        mesh, inj = names(revs[0])
        return cms.get(mesh), cms.get(inj), revs[0]
    return None, None, None


def generation_of_render(injector_cm: dict[str, Any] | None) -> Generation | None:
    data = (injector_cm or {}).get("data") or {}
    if "values" in data:
        return Generation.ISTIOD
    if "[[" in data.get("config", ""):
        return Generation.LEGACY
    return None


@dataclass(frozen=True, slots=True)
class Verified:
    generation: Generation
    revision: str | None
    mesh_configmap: str
    injector_configmap: str


def verify_render(
    objects: list[dict[str, Any]],
    *,
    policy: str,
    include: str,
    exclude: str,
    revision: str | None,
    chart: str,
) -> Verified:
    """Prove the Istio render carries the compiled policy and ranges, or say what it has."""
    mesh_cm, inj_cm, rev = find_configmaps(objects, revision)
    mesh_name, inj_name = names(rev)
    problems = []
    if mesh_cm is None:
        problems.append(
            f"the render has no mesh ConfigMap {mesh_name!r} (is {chart} an Istio control-plane "
            "chart, with pilot/istiod enabled?)"
        )
    if inj_cm is None:
        problems.append(
            f"the render has no injector ConfigMap {inj_name!r} (is the sidecar injector "
            "disabled, or `global.omitSidecarInjectorConfigMap` set?)"
        )
    if mesh_cm is not None:
        found = policy_of(mesh_cm)
        if found != policy:
            problems.append(
                f"ConfigMap {mesh_name!r} data.mesh outboundTrafficPolicy.mode is "
                f"{found or '(not set, so ALLOW_ANY)'}, not {policy}: the chart ignores the key "
                "egressctl sets, or a values file of yours overrides it"
            )
    generation = generation_of_render(inj_cm)
    if inj_cm is not None:
        got_inc, got_exc = ranges_of(inj_cm)
        where = (
            "data.values global.proxy"
            if generation is Generation.ISTIOD
            else ("data.config istio-init arguments")
        )
        for key, want, got in (
            ("includeIPRanges", include, got_inc),
            ("excludeIPRanges", exclude, got_exc),
        ):
            if got != want:
                problems.append(
                    f"ConfigMap {inj_name!r} {where} {key} is "
                    f"{'(missing)' if got is None else repr(got)}, not {want!r}"
                )
        if generation is None:
            problems.append(f"ConfigMap {inj_name!r} is neither a legacy nor an istiod injector")
    if problems:
        raise VerificationError(
            "the Istio render does not carry the compiled egress settings; nothing was "
            "applied:\n" + "\n".join(f"  - {p}" for p in problems)
        )
    assert generation is not None  # noqa: S101 - a problem was raised otherwise
    return Verified(generation, rev, mesh_name, inj_name)
