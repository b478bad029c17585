"""What a deploy would change, changing nothing: ``kubectl diff`` of both renders, plus
the plan's classification (objects refused, adopted, and this environment's objects a
deploy would delete)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from egressctl.charts.render import Rendered
from egressctl.cluster.fieldmanager import apply_flags, check_applied, conflict_managers
from egressctl.cluster.kube import Kube, guard_context
from egressctl.cluster.objects import split_by_namespace
from egressctl.cluster.ownership import NO_ADOPT, Adopt, Identity
from egressctl.cluster.plan import survey
from egressctl.errors import ToolError


@dataclass(frozen=True, slots=True)
class DiffReport:
    changed: bool
    lines: tuple[str, ...]  # kubectl diff's own output, then one line per classified object


def diff(
    rendered: Rendered,
    *,
    prune: bool = True,
    kube: Kube | None = None,
    previous: Iterable[str] = (),
    adopt: Adopt = NO_ADOPT,
    previous_kinds: Iterable[str] = (),
) -> DiffReport:
    """``previous``: namespaces earlier deploys wrote to (see
    :func:`~egressctl.cluster.history.previous_namespaces`).  With server-side apply
    (``apply.serverSide``) kubectl diffs the way the deploy applies, and a field another
    manager owns is reported as a conflict."""
    kube = kube or Kube.for_env(rendered.env)
    guard_context(kube, rendered.env)
    found = survey(
        rendered,
        kube,
        prune=prune,
        previous=previous,
        adopt=adopt,
        previous_kinds=previous_kinds,
    )
    out: list[str] = []
    changed = False
    default = kube.namespace or ""
    renders = [("egress objects", rendered.egress, default)]
    renders += [
        (g.chart.describe(), g.manifest, g.chart.namespace)
        for g in (*rendered.gateways, *rendered.dataplane_charts)
    ]
    if rendered.istio is not None:
        renders.append(("Istio chart", rendered.istio, default))
    for title, render, namespace in renders:
        for ns, text in split_by_namespace(render, namespace).items():
            step = f"kubectl diff ({title}, namespace {ns})"
            flags = ["--filename=-", *apply_flags(rendered.env.apply)]
            res = kube.run(["diff"], flags=flags, step=step, stdin=text, namespace=ns, check=False)
            if res.returncode != 0 and conflict_managers(res.stderr):
                check_applied(res, step=step, options=rendered.env.apply)
            if res.returncode > 1:
                raise ToolError(step, res.argv, res.returncode, res.stderr or res.stdout)
            if res.returncode == 1:
                changed = True
                out += res.stdout.splitlines()
    ident = Identity.of(rendered.env)
    for refused in found.refused:
        changed = True
        out.append(f"refused {refused.line()}")
    for ref in found.adopted:
        changed = True
        if ref in found.replaced:
            out.append(
                f"would delete {ref}: adopted, a selector-less Sidecar that egressctl's "
                "Sidecar in its namespace replaces"
            )
        else:
            out.append(f"would adopt {ref}: exists, not owned by this environment")
    for ref in found.prune:
        changed = True
        out.append(
            f"would delete {ref} (owned by environment {ident.environment}, no longer in "
            "the inventory)"
        )
    return DiffReport(changed, tuple(out))
