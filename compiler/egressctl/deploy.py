"""The ordered deploy: guard the context, read the live policy, apply without a gap.

Knows no CLI: the caller passes ``confirm`` (asked once, with the plan) and gets back a
:class:`DeployReport`.  Every kubectl call goes through :mod:`egressctl.runners`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from egressctl.errors import ToolError, UsageError
from egressctl.model import Policy
from egressctl.render import Rendered
from egressctl.runners import kubectl

MESH_CONFIGMAP = "istio"


@dataclass(frozen=True, slots=True)
class Step:
    name: str  # "egress" or "istio"
    title: str
    manifests: str


@dataclass
class DeployReport:
    context: str
    live_policy: Policy
    target_policy: Policy
    order: str  # "tighten", "loosen" or "same"
    steps: list[Step]
    dry_run: bool
    applied: list[str] = field(default_factory=list)  # kubectl's own lines
    skipped: list[str] = field(default_factory=list)


def current_context() -> str:
    res = kubectl(["config", "current-context"], step="read the current kube context")
    return res.stdout.strip()


def live_policy(context: str, namespace: str) -> Policy:
    """The mode in the live mesh ConfigMap; a missing ConfigMap or key is ALLOW_ANY
    (Istio's default since 1.1)."""
    res = kubectl(
        ["get", "configmap", MESH_CONFIGMAP, "--ignore-not-found", "--output", "json"],
        step=f"read the live mesh ConfigMap {namespace}/{MESH_CONFIGMAP}",
        context=context,
        namespace=namespace,
    )
    if not res.stdout.strip():
        return Policy.ALLOW_ANY
    try:
        obj = json.loads(res.stdout)
        mesh: Any = yaml.safe_load(obj.get("data", {}).get("mesh", "") or "") or {}
        mode = (mesh.get("outboundTrafficPolicy") or {}).get("mode", "ALLOW_ANY")
        return Policy(str(mode).upper())
    except (ValueError, AttributeError, yaml.YAMLError) as exc:
        raise ToolError(
            f"read the live mesh ConfigMap {namespace}/{MESH_CONFIGMAP}",
            res.argv,
            res.returncode,
            f"cannot read outboundTrafficPolicy.mode from it: {exc}",
        ) from None


def order_steps(r: Rendered, live: Policy) -> tuple[str, list[Step]]:
    """Tightening (to REGISTRY_ONLY): entries first, so nothing registered is ever
    blocked; loosening: the mesh policy first.  Unchanged: entries first."""
    target = r.plan.policy
    steps = [Step("egress", "egress objects (chart/)", r.egress)]
    if r.istio is not None and r.env.istio is not None:
        steps.append(Step("istio", f"Istio chart ({r.env.istio.chart})", r.istio))
    if live is Policy.ALLOW_ANY and target is Policy.REGISTRY_ONLY:
        return "tighten", steps
    if live is Policy.REGISTRY_ONLY and target is Policy.ALLOW_ANY:
        return "loosen", steps[::-1]
    return "same", steps


def describe(report: DeployReport, r: Rendered) -> list[str]:
    policy = (
        f"{report.live_policy.value} → {report.target_policy.value}"
        if report.live_policy is not report.target_policy
        else f"{report.target_policy.value} (unchanged)"
    )
    lines = [
        f"environment {r.env.name}: context {r.env.context}, namespace {r.env.namespace}",
        f"mesh policy: {policy}",
        f"capture: include {r.plan.include_ip_ranges or '(none)'}, "
        f"exclude {r.plan.exclude_ip_ranges or '(none)'}",
    ]
    for i, step in enumerate(report.steps, 1):
        lines.append(f"step {i}/{len(report.steps)}: apply {step.title}")
    if r.istio is None:
        lines.append(
            "no istio.chart in the environment: the mesh policy and capture ranges are "
            "NOT applied, only the egress objects"
        )
    if report.dry_run:
        lines.append("dry run: kubectl --dry-run=server, nothing changes")
    return lines


def deploy(
    r: Rendered,
    *,
    dry_run: bool,
    confirm: Callable[[list[str]], bool],
    progress: Callable[[str], None] = lambda _line: None,
) -> DeployReport:
    env = r.env
    ctx = current_context()
    if ctx != env.context:
        raise UsageError(
            f"the current kube context is {ctx!r}, but environment {env.name!r} deploys to "
            f"{env.context!r} ({env.file}); nothing was applied. "
            f"Switch with `kubectl config use-context {env.context}`"
        )
    live = live_policy(env.context, env.namespace)
    order, steps = order_steps(r, live)
    report = DeployReport(env.context, live, r.plan.policy, order, steps, dry_run)
    if not confirm(describe(report, r)):
        raise UsageError("deploy not confirmed; nothing was applied")
    for i, step in enumerate(steps, 1):
        title = f"apply {step.title} (step {i}/{len(steps)})"
        if not step.manifests.strip():
            report.skipped.append(step.name)
            progress(f"{title}: nothing to apply")
            continue
        progress(title)
        args = ["apply", "--filename", "-"]
        if dry_run:
            args.append("--dry-run=server")
        res = kubectl(
            args, step=title, context=env.context, namespace=env.namespace, stdin=step.manifests
        )
        for line in res.stdout.splitlines():
            if line.strip():
                report.applied.append(line)
                progress(f"  {line}")
    return report
