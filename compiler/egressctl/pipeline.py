"""The flow in one readable page: load → validate → plan → emit → render → check →
deploy.  Each function is one step a command runs; the stages it calls live in the
packages below it (inventory, rules, mesh, crd, charts, cluster), and nothing here prints
or exits: the CLI does that with what these functions return.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Generic, TypeVar

from egressctl import rules
from egressctl.charts.chartinfo import istio_minor
from egressctl.charts.dataplane import local_istio_version
from egressctl.charts.dataplanecharts import DATAPLANE_FILE_GLOBS
from egressctl.charts.gateways import GATEWAY_FILE_GLOBS
from egressctl.charts.helm import helm_template
from egressctl.charts.manifests import parse_manifests
from egressctl.charts.render import (
    EGRESS_RELEASE,
    RENDER_FILES,
    Compiled,
    Rendered,
    chart_folder,
    egress_parts,
    render_started,
    renders_started,
    resolve_api_version,
)
from egressctl.cluster import apply, diff, history, workloads
from egressctl.cluster.accesslogs import read_cluster_logs
from egressctl.cluster.crds import crds_from_cluster, crds_of_environment
from egressctl.cluster.kube import Kube
from egressctl.cluster.lock import deploy_lock
from egressctl.cluster.ownership import Adopt
from egressctl.cluster.progress import Confirm, Progress
from egressctl.cluster.prometheus import instant_query
from egressctl.crd import CrdSet
from egressctl.crd.problems import as_problems
from egressctl.discover import metrics
from egressctl.discover.draft import Draft, draft
from egressctl.discover.merge import merge
from egressctl.discover.observations import Observations
from egressctl.discover.readiness import Readiness, readiness
from egressctl.discover.sources import TrafficSources, read_files
from egressctl.errors import Anchor, Finding, Loc, Problem, ToolError, UsageError, error
from egressctl.files import read_bounded, write_atomic, write_problem
from egressctl.heap import collection_paused
from egressctl.inventory.destination import parse_destination
from egressctl.inventory.load import (
    Loaded,
    has_errors,
    read_environment,
    read_environment_settings,
    read_inventory,
)
from egressctl.inventory.model import (
    DEFAULT_API_VERSION,
    ApplyOptions,
    Dataplane,
    Environment,
    Inventory,
    Part,
)
from egressctl.inventory.safeyaml import MAX_FILE_BYTES
from egressctl.mesh import emit, plan
from egressctl.report import model as report_model
from egressctl.report.model import Report
from egressctl.rules.ambient import ambient_rules
from egressctl.rules.ambientexplain import in_ambient
from egressctl.rules.effective import Answer, EffectivePolicy
from egressctl.rules.istiovalues import overridden_values

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
    """Read inventory files (later ones win) and run the rules on what was read: the
    problems of one entry hide no other finding."""
    with collection_paused():  # tens of thousands of objects, none in a cycle (#12)
        loaded = read_inventory(paths, shown)
        return Validated(loaded, tuple(rules.validate_inventory(loaded.model)))


def validated_environment(env: str, cwd: Path | None = None) -> Validated[Environment]:
    """Read an environment (its file, inventory files, overrides and the team's Istio
    values files) and run the rules on what was read: the inventory's, the
    environment's (the cluster's own ranges stay captured), and the team's Istio values
    that the compiled ones replace."""
    with collection_paused():  # tens of thousands of objects, none in a cycle (#12)
        return _validated_environment(env, cwd)


def _validated_environment(env: str, cwd: Path | None) -> Validated[Environment]:
    loaded = read_environment(env, cwd)
    model = loaded.model
    found = rules.validate_inventory(model.inventory, model.cluster)
    found += rules.validate_environment(model)
    found += ambient_rules(model, local_istio_version(model))  # `dataplane: ambient` (#15)
    inv = model.inventory
    if model.istio is not None and inv.was_read(Part.POLICY, Part.INCLUDE, Part.EXCLUDE):
        include, exclude = plan.capture_values(inv.capture)
        compiled = emit.istio_values(plan.Plan(inv.policy, include, exclude))
        found += overridden_values(model.istio.team_values, compiled)
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


def compile_inventory(
    inv: Inventory,
    api_version: str = DEFAULT_API_VERSION,
    owner: emit.Owner | None = None,
    target: plan.Target | None = None,
    *,
    halves: bool = False,
) -> Compiled:
    """The generated values of an inventory, one document per chart: plan, then emit.
    ``halves``: chart/'s values also as two documents, for a render in two helm
    processes (:func:`~egressctl.charts.render.egress_parts`)."""
    with collection_paused():  # the plan and the values: no cycles either (#12)
        return _compiled(inv, api_version, owner, target, halves)


def _compiled(
    inv: Inventory,
    api_version: str,
    owner: emit.Owner | None,
    target: plan.Target | None,
    halves: bool,
) -> Compiled:
    p = plan.build(inv, target)
    values = emit.chart_values(p, api_version, owner)
    parts: tuple[str, ...] = ()
    if halves:
        text, *split = emit.dump_halves(values, inv.sources)
        parts = tuple(split)
    else:
        text = emit.dump(values, inv.sources)
    return Compiled(
        plan=p,
        values_text=text,
        istio_values_text=emit.dump(emit.istio_values(p), inv.sources, emit.Reader.ISTIO),
        api_version=api_version,
        api_reason="the default (no environment)",
        values_parts=parts,
    )


def compile_environment(env: Environment, *, halves: bool = False) -> Compiled:
    """An environment's generated values, for the networking version its Istio chart
    serves (or the one it sets); ``halves``: see :func:`compile_inventory`."""
    api, reason, info = resolve_api_version(env)
    target = plan.Target(
        namespace=env.namespace,
        istio_version=istio_minor(info),
        dataplane=env.dataplane,
        cluster=env.cluster,
        ambient=env.ambient,
    )
    compiled = compile_inventory(env.inventory, api, emit.Owner.of(env), target, halves=halves)
    return replace(compiled, api_reason=reason, chart_info=info)


def render_environment(env: Environment, chart: Path | None = None) -> Rendered:
    """Compile, then render both charts (checked and verified).  Writes nothing.  helm
    is started first and waits for the compiled values on its stdin: its start-up
    overlaps the compile; a big inventory's chart/ renders in two helm processes side
    by side (#12)."""
    parts = egress_parts(env)
    with renders_started(env, chart, parts=parts) as helm:
        return render_started(env, compile_environment(env, halves=parts > 1), helm)


def write_render(folder: Path, rendered: Rendered) -> list[Path]:
    """The render's files, each atomically; a file of an earlier render that this one
    has not (istio.yaml without an Istio chart) is removed, so the folder never mixes
    two renders."""
    written = []
    files = {**rendered.files(), **rendered.gateway_files()}
    for name, text in files.items():
        target = folder / name
        try:
            write_atomic(target, text)
        except OSError as exc:
            raise UsageError(write_problem(target, exc)) from None
        written.append(target)
    globs = (*GATEWAY_FILE_GLOBS, *DATAPLANE_FILE_GLOBS)  # `istio.charts` too (#15)
    gateway_files = sorted(p.name for g in globs for p in folder.glob(g))
    for name in (*RENDER_FILES, *gateway_files):
        stale = folder / name
        if name in files:
            continue
        try:
            stale.unlink(missing_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot remove {stale}: {exc.strerror or exc}") from None
    return written


CLUSTER_CRDS = "cluster"


def crd_set(source: str, env: Environment | None = None, *, note: Progress) -> CrdSet:
    """The CRDs to check renders against: a file, or (``cluster``) those installed in the
    environment's cluster, read with its context and kubeconfig (without an
    environment: the current context).  ``note`` hears of each CEL rule not checked."""
    if source == CLUSTER_CRDS:
        found = crds_of_environment(env) if env is not None else crds_from_cluster(None)
    else:
        path = Path(source)
        if not path.exists():
            raise UsageError(f"--crds {source}: no such file (or write `cluster`)")
        found = CrdSet.from_file(path)
    for skipped in found.skipped_rules:
        note(f"note: CEL rule not checked: {skipped}")
    return found


def check_inventory(
    paths: Sequence[Path], crds: str | None = None, *, note: Progress
) -> list[Finding]:
    """Every finding of inventory files; with ``crds`` (a CRD file or ``cluster``), also
    of chart/'s render of them.  Raises InventoryError when any finding is an error."""
    crd_found = crd_set(crds, note=note) if crds else None
    v = validated_inventory(paths)
    later: list[Problem] = []
    if crd_found is not None and v.valid:
        manifests = helm_template(
            EGRESS_RELEASE,
            chart_folder(),
            namespace="istio-system",
            values_text=compile_inventory(v.model).values_text,
            step="render chart/ for --crds",
        )
        later = as_problems(crd_found.validate_all(parse_manifests(manifests)), owned=True)
    return v.findings(later)


def check_environment(env: str, crds: str | None = None, *, note: Progress) -> list[Finding]:
    """Every finding of an environment; with ``crds`` (a CRD file, or ``cluster``: the
    environment's own cluster), also of both its renders.  Raises InventoryError when
    any finding is an error."""
    crd_found = crd_set(crds, note=note) if crds and crds != CLUSTER_CRDS else None
    v = validated_environment(env)
    later: list[Problem] = []
    if crds and v.valid:
        environment = v.model
        if crd_found is None:
            crd_found = crd_set(crds, environment, note=note)
        rendered = render_environment(environment)
        later = as_problems(crd_found.validate_all(rendered.egress_objects()), owned=True)
        if rendered.istio is not None:
            istio = crd_found.validate_all(parse_manifests(rendered.istio))
            later += as_problems(istio, owned=False, layer=environment.file)
    return v.findings(later)


# ---------------------------------------------------------------------------
# Explain: the effective policy of a valid model


@dataclass(frozen=True, slots=True)
class Explained:
    """Verdicts of the effective policy, where each deciding entry is written, and the
    model's warnings."""

    answers: tuple[Answer, ...]
    entries: dict[str, Loc]  # entry (service) name → where it is written
    findings: list[Finding]


def explain(
    destination: str | None,
    port: int | None,
    *,
    env: str | None = None,
    paths: Sequence[Path] = (),
    source: str | None = None,
) -> Explained:
    """The verdict for ``destination`` (a host, an IP, ``host:port`` or a URL; an
    explicit ``port`` wins), or with ``destination`` None the table of every entry's
    verdict and everything else; ``source``: as pods of one namespace see it
    (`NAMESPACE[/key=value,…]`).  The model must be valid (InventoryError otherwise)."""
    if env is not None:
        ve = validated_environment(env)
        findings = ve.findings()
        policy = EffectivePolicy.of(ve.model)
        locator = ve.loaded.locator
    else:
        vi = validated_inventory(paths)
        findings = vi.findings()
        policy = EffectivePolicy(vi.model)
        locator = vi.loaded.locator
    if source is not None:  # `explain --from` (#14)
        policy = policy.seen_from(source)
    if destination is None:
        answers = policy.table()
    else:
        dest = parse_destination(destination)
        answers = (policy.explain(dest.host, port if port is not None else dest.port),)
    if env is not None:  # `dataplane: ambient`: the waypoint and its policy on the path (#15)
        answers = in_ambient(ve.model, tuple(answers))
    entries = {
        a.entry: locator.locate(error("entry", a.entry_path, "", anchor=Anchor.KEY)).loc
        for a in answers
        if a.entry is not None and a.entry_path is not None
    }
    return Explained(tuple(answers), entries, findings)


def review(
    *, env: str | None = None, paths: Sequence[Path] = (), today: datetime.date | None = None
) -> Report:
    """The inventory as a reviewer reads it (`report`): every service by owner with its
    path, reach and verdict, the policy and capture, the warnings and acknowledgements.
    The model must be valid (InventoryError otherwise)."""
    if env is not None:
        ve = validated_environment(env)
        findings = ve.findings()
        model = ve.model
        inv, title, dataplane = model.inventory, f"environment {model.name}", model.dataplane
        policy = EffectivePolicy.of(model)
    else:
        vi = validated_inventory(paths)
        findings = vi.findings()
        inv, title, dataplane = vi.model, ", ".join(vi.model.sources), Dataplane.SIDECAR
        policy = EffectivePolicy(inv)
    include, exclude = plan.capture_values(inv.capture)
    return report_model.build(
        inv,
        policy,
        findings,
        title=title,
        today=today or datetime.date.today(),
        include=include,
        exclude=exclude,
        dataplane=dataplane,
    )


# ---------------------------------------------------------------------------
# Deploy, diff, rollback: manifests → cluster


@dataclass(frozen=True, slots=True)
class DeployOutcome:
    """What a deploy or a rollback did."""

    report: apply.DeployReport  # the plan, what was applied and deleted, the record
    stale: tuple[workloads.Workload, ...] = ()  # sidecars still on the old capture ranges
    restarted: tuple[str, ...] = ()  # namespace/kind/name of each workload restarted
    rolled_back_to: str | None = None  # the record a rollback re-applied


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
    latest record's.  Istio goes back the way that deploy changed it: `helm rollback` to
    the release revision it recorded, or kubectl apply of its recorded Istio render."""
    target = history.load_record(out, to, env)
    progress(f"rolling {env.name} back to recorded deploy {target.record.id}")
    return deploy_environment(
        target.rendered,
        out,
        lock=lock,
        dry_run=dry_run,
        prune=prune,
        restart=False,
        adopt=adopt,
        confirm=confirm,
        progress=progress,
        rolled_back_to=target.record,
    )


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
    rolled_back_to: history.Record | None = None,
) -> DeployOutcome:
    """Deploy a render (guard, plan, confirm, record, apply in order, prune), then list
    the workloads whose sidecars still carry the old capture ranges and (``restart``)
    restart them.  The caller holds the environment's deploy lock ``lock``; records go
    under ``out``."""
    env = rendered.env
    kube = Kube.for_env(env)
    previous = history.previous_namespaces(out)
    previous_kinds = history.previous_kinds(out)
    report = apply.deploy(
        rendered,
        dry_run=dry_run,
        confirm=confirm,
        progress=progress,
        prune=prune,
        kube=kube,
        previous=previous,
        previous_kinds=previous_kinds,
        adopt=adopt,
        lock=lock,
        record_to=out,
        source="deploy" if rolled_back_to is None else f"rollback to {rolled_back_to.id}",
        recorded=None if rolled_back_to is None else rolled_back_to.recorded,
    )
    back = None if rolled_back_to is None else rolled_back_to.id
    done = DeployOutcome(report, rolled_back_to=back)
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
    return DeployOutcome(report, tuple(stale), tuple(restarted), back)


def with_apply_options(
    env: Environment, *, server_side: bool = False, force_conflicts: bool = False
) -> Environment:
    """The environment with a run's own apply flags: ``--server-side`` turns server-side
    apply on (the environment file's `apply.serverSide` may already have); ``--force-
    conflicts`` takes fields other managers own, for this run only, and only with
    server-side apply (a UsageError otherwise)."""
    side = server_side or env.apply.server_side
    if force_conflicts and not side:
        raise UsageError(
            "--force-conflicts applies to server-side apply: add --server-side (or "
            f"`apply: {{serverSide: true}}` in {env.file})"
        )
    return replace(env, apply=ApplyOptions(server_side=side, force_conflicts=force_conflicts))


def diff_environment(
    rendered: Rendered, out: Path, *, prune: bool, adopt: Adopt
) -> diff.DiffReport:
    """`kubectl diff` of both renders, and the objects a deploy would refuse, adopt or
    delete (this environment's, found in the namespaces the records under ``out``
    name too).  Changes nothing."""
    previous = history.previous_namespaces(out)
    return diff.diff(
        rendered,
        prune=prune,
        previous=previous,
        adopt=adopt,
        previous_kinds=history.previous_kinds(out),
    )


def render_and_deploy(
    env: Environment,
    out: Path,
    *,
    chart: Path | None,
    dry_run: bool,
    prune: bool,
    restart: bool,
    adopt: Adopt,
    confirm: Confirm,
    progress: Progress,
) -> DeployOutcome:
    """One deploy of an environment, under its lock (``out``/.deploy.lock): render, write
    the render into ``out``, then :func:`deploy_environment`."""
    with deploy_lock(out, env.name) as lock:
        rendered = render_environment(env, chart)
        write_render(out, rendered)
        return deploy_environment(
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


def rollback(
    env: Environment,
    out: Path,
    *,
    to: str | None,
    dry_run: bool,
    prune: bool,
    adopt: Adopt,
    confirm: Confirm,
    progress: Progress,
) -> DeployOutcome:
    """:func:`rollback_environment` under the environment's deploy lock."""
    with deploy_lock(out, env.name) as lock:
        return rollback_environment(
            env,
            out,
            to=to,
            lock=lock,
            dry_run=dry_run,
            prune=prune,
            adopt=adopt,
            confirm=confirm,
            progress=progress,
        )


# ---------------------------------------------------------------------------
# Discover and readiness: traffic → observations → draft entries / verdicts (#16)


def observe_traffic(
    sources: TrafficSources, env: Environment | None, *, progress: Progress
) -> Observations:
    """Everything ``sources`` name, aggregated: files and stdin, the cluster's sidecar
    logs (``env``'s kube context), Prometheus."""
    obs = Observations()
    read_files(obs, sources.files)
    if sources.cluster and env is not None:
        revision = env.istio.revision if env.istio is not None else None
        read_cluster_logs(
            Kube.for_env(env),
            obs,
            since=sources.since,
            max_pods=sources.max_pods,
            revision=revision,
            progress=progress,
        )
    if sources.prometheus is not None:
        for metric, tcp in ((metrics.REQUESTS, False), (metrics.TCP_OPENED, True)):
            progress(f"discover: querying {metric} over the last {sources.since}")
            doc = instant_query(
                sources.prometheus,
                metrics.query(metric, sources.since),
                step=f"query Prometheus for {metric}",
            )
            metrics.read_result(obs, doc, tcp=tcp)
    return obs


@dataclass(frozen=True, slots=True)
class Discovered:
    observations: Observations
    draft: Draft
    inventory: Path | None  # the file merged into
    old_text: str
    new_text: str
    findings: list[Finding]


def discover(
    sources: TrafficSources,
    *,
    env: str | None,
    inventory: Path | None,
    progress: Progress,
) -> Discovered:
    """Traffic → draft entries the inventory does not cover, merged into the inventory
    file's text (the caller writes it, or shows the diff).  The inventory must be valid."""
    model: Environment | None = None
    target = inventory
    if env is not None:
        model, findings = load_environment(env)
        inv: Inventory | None = model.inventory
        own = [s for s in model.inventory.sources if s != model.file]
        if target is None and own:
            target = Path(own[0])
    elif inventory is not None:
        inv, findings = load_inventory([inventory])
    else:
        inv, findings = None, []
    obs = observe_traffic(sources, model, progress=progress)
    drafted = draft(obs.merged(), inv)
    old = new = ""
    if target is not None:
        try:
            old = read_bounded(target, MAX_FILE_BYTES).decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"{target}: cannot read the inventory file: {exc}") from None
        new = merge(old, drafted.proposals, str(target))
    return Discovered(obs, drafted, target, old, new, findings)


def write_discovered(done: Discovered) -> None:
    """Write the merged inventory file (when anything was added)."""
    if done.inventory is not None and done.new_text != done.old_text:
        try:
            write_atomic(done.inventory, done.new_text)
        except OSError as exc:
            raise UsageError(write_problem(done.inventory, exc)) from None


def readiness_check(
    sources: TrafficSources, *, env: str, progress: Progress
) -> tuple[Readiness, Observations, list[Finding]]:
    """Which observed destinations ``env`` would block if it were REGISTRY_ONLY now."""
    model, findings = load_environment(env)
    obs = observe_traffic(sources, model, progress=progress)
    return readiness(model, obs.destinations()), obs, findings
