"""CRD problems of rendered objects as inventory problems: a ServiceEntry, route or rule
chart/ rendered for service NAME is reported on `services.NAME`, so `check --crds`
locates it in the file that wrote the service; an object of the team's Istio chart is
reported on the environment file."""

from __future__ import annotations

from collections.abc import Iterable

from egressctl.crd.crdset import CrdProblem
from egressctl.errors import Problem, error


def as_problems(
    found: Iterable[CrdProblem], *, owned: bool, layer: str | None = None
) -> list[Problem]:
    """``owned``: objects of chart/, named after their service; else objects of the Istio
    chart, reported on ``layer`` (the environment file)."""
    out = []
    for p in found:
        where = f"{p.path}: " if p.path else ""
        message = f"rendered {p.kind} {p.name!r}: {where}{p.message}"
        code = "crd-rule" if p.rule else "crd-schema"
        hint = f"CEL rule: {p.rule}" if p.rule else ""
        if "is not served" in p.message:
            hint = "set `networkingApiVersion` in the environment to a version the CRDs serve"
        path = ("services", p.name) if owned else ()
        out.append(error(code, path, message, hint, layer=None if owned else layer))
    return out
