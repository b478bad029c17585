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
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from egressctl.charts.versions import parse_version
from egressctl.errors import VerificationError
from egressctl.files import read_bounded, utf8_problem, yaml_problem
from egressctl.inventory.reader import type_name
from egressctl.inventory.safeyaml import FastSafeLoader


class Generation(str, enum.Enum):
    LEGACY = "legacy"
    ISTIOD = "istiod"


@dataclass(frozen=True, slots=True)
class ChartInfo:
    name: str
    version: str
    generation: Generation | None  # None: not an Istio control-plane chart we know


CHART_YAML_MAX_BYTES = 5 * 1024 * 1024


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
        meta = yaml.load(raw, Loader=FastSafeLoader)  # noqa: S506 - the safe loader
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


def served_api_version(info: ChartInfo) -> tuple[str, str]:
    """The networking.istio.io version to render for this chart, and why."""
    if info.generation is Generation.LEGACY:
        return "v1alpha3", f"legacy Istio chart {info.version}: only v1alpha3 is served"
    parsed = parse_version(info.version)
    version = parsed[:2] if parsed else None
    if info.generation is Generation.ISTIOD and version is not None and version >= (1, 5):
        if version >= (1, 22):
            return "v1", f"istiod chart {info.version} serves v1"
        return "v1beta1", f"istiod chart {info.version} serves v1beta1, not v1 (Istio < 1.22)"
    return "v1beta1", (
        f"chart {info.name} {info.version or '?'} names no Istio release (a copy from git?): "
        "v1beta1 is served by every istiod release; set networkingApiVersion to choose"
    )


def istio_minor(info: ChartInfo | None) -> tuple[int, int] | None:
    """The Istio (major, minor) an Istio chart installs, when its version names one (a
    copy from git may say 1.0.0 or nothing useful: then None)."""
    if info is None or info.generation is None:
        return None
    parsed = parse_version(info.version)
    return parsed[:2] if parsed else None
