"""The ordered deploy: guard the context, plan against the live cluster, confirm, then
apply the plan's steps (apply, wait until the objects exist, apply or `helm upgrade`,
prune) with a record kept from before the first apply, so that a deploy that stops
half-way converges when run again."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from egressctl.charts.render import Rendered
from egressctl.cluster import helmrelease
from egressctl.cluster.describe import describe
from egressctl.cluster.fieldmanager import apply_flags, check_applied
from egressctl.cluster.history import Recorded, begin_record, complete_record, now
from egressctl.cluster.kube import Kube, guard_context
from egressctl.cluster.objects import (
    ObjRef,
    group_by_namespace,
    ref_of,
    resource_of,
    split_by_namespace,
)
from egressctl.cluster.ownership import NO_ADOPT, Adopt, refusal
from egressctl.cluster.plan import (
    APPLY_STEPS,
    ISTIO_STEPS,
    DeployPlan,
    Step,
    StepName,
    make_plan,
)
from egressctl.cluster.progress import Confirm, Progress, quiet
from egressctl.cluster.rollout import wait_for_rollouts
from egressctl.errors import ToolError, UsageError
from egressctl.inventory.model import ApplyOptions
from egressctl.runners import Result

CLIENT_SIDE = ApplyOptions()  # kubectl apply's default: client-side


@dataclass(frozen=True, slots=True)
class DeployReport:
    plan: DeployPlan
    dry_run: bool
    applied: tuple[str, ...]  # kubectl's own lines, one per object
    deleted: tuple[str, ...]
    started: str
    injector_changed: str  # when the Istio render (and so the injector) was applied; "": not
    record: Path | None  # the complete record (None: a dry run, or no record kept)
    helm_revision: int | None = None  # the revision helm made of the Istio release


def _echo(res: Result, progress: Progress) -> list[str]:
    """kubectl's own lines (one per object), shown as progress and kept for the report."""
    lines = [line for line in res.stdout.splitlines() if line.strip()]
    if lines:  # one call: 15,000 lines at 10,000 services (#12)
        progress("\n".join(f"    {line}" for line in lines))
    return lines


def apply_manifests(
    kube: Kube,
    manifests: str,
    *,
    title: str,
    dry_run: bool,
    progress: Progress,
    options: ApplyOptions = CLIENT_SIDE,
) -> list[str]:
    """``kubectl apply``, one namespace of the render at a time; server-side as field
    manager egressctl when ``options`` say so (a field conflict names the other
    manager)."""
    flags = ["--filename=-", *apply_flags(options)]
    if dry_run:
        flags.append("--dry-run=server")
    lines: list[str] = []
    for ns, text in split_by_namespace(manifests, kube.namespace or "").items():
        res = kube.run(["apply"], flags=flags, step=title, stdin=text, namespace=ns, check=False)
        lines += _echo(res, progress)
        check_applied(res, step=title, options=options)
    return lines


def helm_step(
    kube: Kube,
    rendered: Rendered,
    step: Step,
    *,
    title: str,
    dry_run: bool,
    progress: Progress,
) -> tuple[list[str], int | None]:
    """``helm upgrade`` (or ``helm rollback``) of the Istio release, then (unless a dry
    run) the revision that made, read back: helm's report lines and the revision."""
    release = step.release or ""
    if step.name is StepName.HELM_ROLLBACK and step.revision is not None:
        res = helmrelease.rollback(kube, release, step.revision, dry_run=dry_run, title=title)
    else:
        res = helmrelease.upgrade(kube, rendered, dry_run=dry_run, title=title)
    lines = helmrelease.report_lines(res)
    for line in lines:
        progress(f"    {line}")
    if dry_run:
        return lines, None
    revision = helmrelease.revision_now(kube, release, title=title)
    progress(f"    Helm release {release} is at revision {revision}")
    return lines, revision


def wait_for_objects(
    kube: Kube,
    refs: Sequence[ObjRef],
    *,
    selector: str,
    title: str,
    timeout: float,
    progress: Progress,
) -> None:
    """Poll until every applied object can be read back with this environment's labels
    (the API server has it)."""
    deadline = time.monotonic() + timeout
    missing = list(refs)
    for r in missing:
        resource_of(r, title)
    while missing:
        still: list[ObjRef] = []
        for ns, group in group_by_namespace(missing).items():
            kinds = sorted({resource_of(r, title) for r in group})
            live = {
                ref_of(o, ns)
                for o in kube.items(
                    [",".join(kinds)], flags=[f"--selector={selector}"], step=title, namespace=ns
                )
            }
            still += [r for r in group if r not in live]
        missing = still
        if not missing:
            return
        if time.monotonic() > deadline:
            raise ToolError(
                title,
                ["kubectl", "get"],
                None,
                problem="these objects were still not there "
                f"{timeout:.0f} s after the apply: " + ", ".join(map(str, missing[:5])),
            )
        progress(f"    waiting for {len(missing)} object(s)")
        time.sleep(0.5)


def prune_objects(
    kube: Kube,
    refs: Sequence[ObjRef],
    *,
    selector: str,
    title: str,
    dry_run: bool,
    progress: Progress,
) -> list[str]:
    """Delete each object by this environment's labels *and* its name: an object that
    lost them since the plan was made (replaced by someone else's) is not deleted."""
    out = []
    for ns, group in sorted(group_by_namespace(refs).items()):
        for r in group:
            res = _delete_by_name(kube, r, ns, selector=selector, title=title, dry_run=dry_run)
            out += _echo(res, progress)
    return out


def delete_replaced(
    kube: Kube,
    refs: Sequence[ObjRef],
    *,
    title: str,
    dry_run: bool,
    progress: Progress,
) -> list[str]:
    """Delete adopted selector-less Sidecars that egressctl's own Sidecar in their
    namespace replaces (by name: they never carried this environment's labels)."""
    out = []
    for r in refs:
        res = _delete_by_name(kube, r, r.namespace, selector=None, title=title, dry_run=dry_run)
        out += _echo(res, progress)
    return out


def _delete_by_name(
    kube: Kube,
    r: ObjRef,
    namespace: str,
    *,
    selector: str | None,
    title: str,
    dry_run: bool,
) -> Result:
    """``kubectl delete KIND [--selector=S] --field-selector=metadata.name=NAME`` in
    ``namespace``: gone already is no error, and nothing waits for finalizers."""
    flags = [f"--selector={selector}"] if selector else []
    flags += [f"--field-selector=metadata.name={r.name}", "--ignore-not-found", "--wait=false"]
    if dry_run:
        flags.append("--dry-run=server")
    return kube.run(
        ["delete"],
        flags=flags,
        args=[resource_of(r, title)],
        step=f"{title}: {r}",
        namespace=namespace,
    )


def deploy(
    rendered: Rendered,
    *,
    dry_run: bool,
    confirm: Confirm,
    progress: Progress = quiet,
    prune: bool = True,
    wait_timeout: float = 60.0,
    kube: Kube | None = None,
    previous: Iterable[str] = (),
    adopt: Adopt = NO_ADOPT,
    lock: Path | None = None,
    record_to: Path | None = None,
    source: str = "deploy",
    recorded: Recorded | None = None,
    previous_kinds: Iterable[str] = (),
    rollout_timeout: float = 300.0,
) -> DeployReport:
    """Guard, plan, confirm, then (unless ``dry_run``) record the deploy as pending under
    ``record_to``, apply the steps, and complete the record.  A plan with refused objects
    is shown and refused before anything is asked or applied.  ``previous``: namespaces
    earlier deploys wrote to (:func:`~egressctl.cluster.history.previous_namespaces`);
    ``recorded``: a rollback's target record (it decides how Istio is restored);
    ``previous_kinds``: the kinds earlier deploys applied; ``rollout_timeout``: how
    long the gateway Deployments may take to be available, in all."""
    kube = kube or Kube.for_env(rendered.env)
    guard_context(kube, rendered.env)
    p = make_plan(
        rendered,
        kube,
        prune=prune,
        previous=previous,
        adopt=adopt,
        recorded=recorded,
        previous_kinds=previous_kinds,
    )
    lines = describe(p, rendered, dry_run=dry_run, lock=lock)
    if p.refused:
        for line in lines:
            progress(line)
        raise refusal(p.refused, rendered.env)
    if not confirm(lines):
        raise UsageError("deploy not confirmed; nothing was applied")
    started = now()
    pending = None
    mode = p.istio_mode
    if not dry_run and record_to is not None:
        pending = begin_record(
            rendered,
            record_to,
            started=started,
            revision=p.revision,
            source=source,
            install=mode.install if mode is not None else None,
            helm_release=mode.release.name if mode and mode.helm and mode.release else None,
        )
    applied: list[str] = []
    deleted: list[str] = []
    injector_changed = ""
    helm_revision = None
    selector = p.identity.selector
    options = rendered.env.apply
    for i, s in enumerate(p.steps, 1):
        title = f"step {i}/{len(p.steps)}: {s.title}"
        progress(title)
        if s.name in APPLY_STEPS:
            applied += apply_manifests(
                kube, s.manifests, title=title, dry_run=dry_run, progress=progress, options=options
            )
        elif s.name in (StepName.GATEWAY_CHART, StepName.DATAPLANE_CHART):
            applied += apply_manifests(
                replace(kube, namespace=s.namespace or kube.namespace),
                s.manifests,
                title=title,
                dry_run=dry_run,
                progress=progress,
                options=options,
            )
        elif s.name is StepName.GATEWAY_WAIT and not dry_run:
            wait_for_rollouts(
                kube, s.waits, title=title, timeout=rollout_timeout, progress=progress
            )
        elif s.name is StepName.REPLACE:
            deleted += delete_replaced(
                kube, s.refs, title=title, dry_run=dry_run, progress=progress
            )
        elif s.name in (StepName.HELM_UPGRADE, StepName.HELM_ROLLBACK):
            lines, helm_revision = helm_step(
                kube, rendered, s, title=title, dry_run=dry_run, progress=progress
            )
            applied += lines
        elif s.name is StepName.WAIT and not dry_run:
            wait_for_objects(
                kube,
                s.refs,
                selector=selector,
                title=title,
                timeout=wait_timeout,
                progress=progress,
            )
        elif s.name is StepName.PRUNE:
            deleted += prune_objects(
                kube, s.refs, selector=selector, title=title, dry_run=dry_run, progress=progress
            )
        if s.name in ISTIO_STEPS:
            injector_changed = now()
    record = None
    if pending is not None:
        record = complete_record(pending, supersede=prune, helm_revision=helm_revision)
    return DeployReport(
        plan=p,
        dry_run=dry_run,
        applied=tuple(applied),
        deleted=tuple(deleted),
        started=started,
        injector_changed=injector_changed,
        record=record,
        helm_revision=helm_revision,
    )
