"""Proof that an Istio render carries the compiled policy and capture ranges (or what it
carries instead).  Pure: objects in, a Verified or a VerificationError out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from egressctl.charts.chartinfo import Generation
from egressctl.charts.configmaps import (
    find_configmaps,
    generation_of_render,
    names,
    policy_of,
    ranges_of,
)
from egressctl.errors import VerificationError


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
