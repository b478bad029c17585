"""The flow in one readable page: load → validate → plan → emit → render → check →
deploy.  Each function is one step a command runs; the stages it calls live in the
packages below it (inventory, rules, mesh, crd, charts, cluster), and nothing here prints
or exits: the CLI does that with what these functions return.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from egressctl import rules
from egressctl.charts.render import Rendered
from egressctl.cluster import apply, diff, history, workloads
from egressctl.cluster.kube import Kube
from egressctl.cluster.ownership import Adopt
from egressctl.cluster.progress import Confirm, Progress
from egressctl.errors import Finding, Problem, ToolError
from egressctl.inventory.load import (
    Loaded,
    has_errors,
    read_environment,
    read_environment_settings,
    read_inventory,
)
from egressctl.inventory.model import Environment, Inventory

# ---------------------------------------------------------------------------
# Load and validate: files → model + located findings

M = TypeVar("M")


@dataclass(frozen=True)
class Validated(Generic[M]):
    """A model read and validated, its problems not located yet: a later stage may add
    its own to the same report (`check --crds`: rendered objects against the CRDs)."""

    loaded: Loaded[M]
    problems: tuple[Problem, ...]  # the rules' (the reading problems are ``loaded``'s)

    @property
    def model(self) -> M:
        return self.loaded.model

    @property
    def valid(self) -> bool:
        """No error so far: later stages may work on the model."""
        return not has_errors([*self.loaded.problems, *self.problems])

    def findings(self, later: Sequence[Problem] = ()) -> list[Finding]:
        """Every problem, ``later`` ones too, located and in report order.  Raises
        InventoryError if any is an error."""
        return self.loaded.finish([*self.problems, *later])


def validated_inventory(
    paths: Sequence[Path], shown: Sequence[str] | None = None
) -> Validated[Inventory]:
    """Read inventory files (later ones win) and run the rules on a model read cleanly."""
    loaded = read_inventory(paths, shown)
    found = rules.validate_inventory(loaded.model) if loaded.complete else []
    return Validated(loaded, tuple(found))


def validated_environment(env: str, cwd: Path | None = None) -> Validated[Environment]:
    """Read an environment (its file, inventory files and overrides) and run the rules:
    the inventory's on a model read cleanly, the environment's on a valid inventory."""
    loaded = read_environment(env, cwd)
    found = rules.validate_inventory(loaded.model.inventory) if loaded.complete else []
    if not has_errors([*loaded.problems, *found]):
        found += rules.validate_environment(loaded.model)
    return Validated(loaded, tuple(found))


def load_inventory(
    paths: Sequence[Path], shown: Sequence[str] | None = None
) -> tuple[Inventory, list[Finding]]:
    """Inventory files → the inventory and its warnings.  Raises InventoryError."""
    v = validated_inventory(paths, shown)
    return v.model, v.findings()


def load_environment(env: str, cwd: Path | None = None) -> tuple[Environment, list[Finding]]:
    """An environment → the environment (its inventory within) and its warnings.  Raises
    InventoryError."""
    v = validated_environment(env, cwd)
    return v.model, v.findings()


def load_environment_settings(env: str, cwd: Path | None = None) -> Environment:
    """Only the environment file (context, namespace, kubeconfig…), not its inventory:
    what `rollback` needs, even when today's inventory does not validate."""
    return read_environment_settings(env, cwd)


# ---------------------------------------------------------------------------
# Compile and render: model → generated values → manifests, checked


# ---------------------------------------------------------------------------
# Deploy, diff, rollback: manifests → cluster


@dataclass(frozen=True, slots=True)
class DeployOutcome:
    """What a deploy or a rollback did."""

    report: apply.DeployReport  # the plan, what was applied and deleted, the record
    stale: tuple[workloads.Workload, ...] = ()  # sidecars still on the old capture ranges
    restarted: tuple[str, ...] = ()  # namespace/kind/name of each workload restarted
    rolled_back_to: str | None = None  # the record a rollback re-applied


def deploy_environment(
    rendered: Rendered,
    out: Path,
    *,
    lock: Path,
    dry_run: bool,
    prune: bool,
    restart: bool,
    adopt: Adopt,
    confirm: Confirm,
    progress: Progress,
) -> DeployOutcome:
    """Deploy a render (guard, plan, confirm, record, apply in order, prune), then list
    the workloads whose sidecars still carry the old capture ranges and (``restart``)
    restart them.  The caller holds the environment's deploy lock ``lock``; records go
    under ``out``."""
    return _deploy(
        rendered,
        out,
        lock=lock,
        dry_run=dry_run,
        prune=prune,
        restart=restart,
        adopt=adopt,
        confirm=confirm,
        progress=progress,
    )


def rollback_environment(
    env: Environment,
    out: Path,
    *,
    to: str | None,
    lock: Path,
    dry_run: bool,
    prune: bool,
    adopt: Adopt,
    confirm: Confirm,
    progress: Progress,
) -> DeployOutcome:
    """Re-apply a recorded (complete) render through the same ordered deploy: record
    ``to`` (an id or its prefix), else the newest one whose renders differ from the
    latest record's."""
    target = history.load_record(out, to, env)
    progress(f"rolling {env.name} back to recorded deploy {target.record.id}")
    return _deploy(
        target.rendered,
        out,
        lock=lock,
        dry_run=dry_run,
        prune=prune,
        restart=False,
        adopt=adopt,
        confirm=confirm,
        progress=progress,
        rolled_back_to=target.record.id,
    )


def _deploy(
    rendered: Rendered,
    out: Path,
    *,
    lock: Path,
    dry_run: bool,
    prune: bool,
    restart: bool,
    adopt: Adopt,
    confirm: Confirm,
    progress: Progress,
    rolled_back_to: str | None = None,
) -> DeployOutcome:
    env = rendered.env
    kube = Kube.for_env(env)
    previous = history.previous_namespaces(out)
    report = apply.deploy(
        rendered,
        dry_run=dry_run,
        confirm=confirm,
        progress=progress,
        prune=prune,
        kube=kube,
        previous=previous,
        adopt=adopt,
        lock=lock,
        record_to=out,
        source="deploy" if rolled_back_to is None else f"rollback to {rolled_back_to}",
    )
    done = DeployOutcome(report, rolled_back_to=rolled_back_to)
    p = report.plan
    if dry_run:
        progress(f"dry run done: {env.name} → {env.context}; nothing changed")
        return done
    recorded = report.record.name if report.record else "-"
    progress(f"deployed {env.name} → {env.context} ({p.order.value}); recorded as {recorded}")
    if rendered.istio is None or not p.capture_changed:
        return done
    try:
        stale = workloads.stale_workloads(
            kube, p.revision, report.injector_changed, rendered.include, rendered.exclude
        )
    except ToolError as exc:  # the deploy itself succeeded and is recorded
        progress(f"warning: could not list the workloads to restart: {exc}")
        return done
    if not stale:
        return done
    progress(
        f"{len(stale)} workload(s) still run sidecars with the old capture ranges "
        "(ranges reach only pods created after the injector change):"
    )
    for w in stale:
        progress(f"  {w.namespace}/{w.ref()} (oldest pod {w.oldest_pod})")
    restarted: list[str] = []
    if restart:
        restarted = workloads.restart(kube, stale, progress=progress)
        progress("restarts done")
    else:
        progress(
            "restart them with `egressctl deploy … --restart`, or "
            "`kubectl rollout restart` when it suits you"
        )
    return DeployOutcome(report, tuple(stale), tuple(restarted), rolled_back_to)


def diff_environment(
    rendered: Rendered, out: Path, *, prune: bool, adopt: Adopt
) -> diff.DiffReport:
    """`kubectl diff` of both renders, and the objects a deploy would refuse, adopt or
    delete (this environment's, found in the namespaces the records under ``out``
    name too).  Changes nothing."""
    previous = history.previous_namespaces(out)
    return diff.diff(rendered, prune=prune, previous=previous, adopt=adopt)
