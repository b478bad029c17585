"""The ordered deploy: guard the context, plan against the live cluster, apply without a
gap, prune what egressctl owns and no longer renders, keep a record to roll back to.

Knows no CLI: callers pass ``confirm`` (asked once, with the plan) and ``progress``.
Every kubectl call goes through :class:`Kube`, which always passes the context, the
namespace and (when known) the kubeconfig explicitly.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from egressctl.errors import ToolError, UsageError, VerificationError
from egressctl.files import write_all_atomic, write_atomic
from egressctl.istio import find_configmaps, names, policy_of, ranges_of
from egressctl.render import Rendered, parse_manifests
from egressctl.runners import Result, kubectl, run

OWNED = "egressctl.io/owned=true"
_DOC_SPLIT = re.compile(r"^---[ \t]*$", re.MULTILINE)
_TOP_KIND_LINE = re.compile(r"^kind:", re.MULTILINE)
_META_NAMESPACE = re.compile(
    r"^metadata:\n(?:[ \t]+.*\n)*?[ \t]{2}namespace:[ \t]*(\S+)", re.MULTILINE
)
EGRESS_KINDS = {
    "ServiceEntry": "serviceentries.networking.istio.io",
    "VirtualService": "virtualservices.networking.istio.io",
    "DestinationRule": "destinationrules.networking.istio.io",
}
WORKLOAD_KINDS = ("deployments", "statefulsets", "daemonsets")
HISTORY_KEEP = 10

Progress = Callable[[str], None]


def _quiet(_line: str) -> None:
    return None


# ---------------------------------------------------------------------------
# kubectl, always with context, namespace and kubeconfig


@dataclass(frozen=True, slots=True)
class Kube:
    context: str
    namespace: str
    kubeconfig: str | None = None

    @classmethod
    def for_env(cls, rendered: Rendered) -> Kube:
        env = rendered.env
        return cls(env.context, env.namespace, env.kubeconfig or _default_kubeconfig())

    def run(
        self,
        args: list[str],
        *,
        step: str,
        namespace: str | None = None,
        stdin: str | None = None,
        check: bool = True,
    ) -> Result:
        extra = ["--kubeconfig", self.kubeconfig] if self.kubeconfig else []
        return kubectl(
            [*extra, *args],
            step=step,
            context=self.context,
            namespace=namespace or self.namespace,
            stdin=stdin,
            check=check,
        )

    def get_json(self, args: list[str], *, step: str, namespace: str | None = None) -> Any:
        res = self.run([*args, "--output", "json"], step=step, namespace=namespace)
        if not res.stdout.strip():
            return None
        try:
            return json.loads(res.stdout)
        except ValueError as exc:
            raise ToolError(
                step, res.argv, res.returncode, f"kubectl printed no JSON: {exc}"
            ) from None

    def items(
        self, args: list[str], *, step: str, namespace: str | None = None
    ) -> list[dict[str, Any]]:
        doc = self.get_json(args, step=step, namespace=namespace) or {}
        return list(doc.get("items") or [])


def _default_kubeconfig() -> str | None:
    """$KUBECONFIG when it names one file; with several (a merged config) kubectl reads
    the variable itself, so no flag is passed; else ~/.kube/config when it exists."""
    paths = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    if len(paths) == 1:
        return paths[0]
    if paths:
        return None
    home = Path.home() / ".kube" / "config"
    return str(home) if home.is_file() else None


def current_context(kube: Kube) -> str:
    extra = ["--kubeconfig", kube.kubeconfig] if kube.kubeconfig else []
    res = kubectl([*extra, "config", "current-context"], step="read the current kube context")
    return res.stdout.strip()


def guard_context(kube: Kube, rendered: Rendered) -> None:
    ctx = current_context(kube)
    env = rendered.env
    if ctx != env.context:
        raise UsageError(
            f"the current kube context is {ctx!r}, but environment {env.name!r} deploys to "
            f"{env.context!r} ({env.file}); nothing was applied. "
            f"Switch with `kubectl config use-context {env.context}`"
        )


# ---------------------------------------------------------------------------
# The plan


@dataclass(frozen=True, slots=True)
class ObjRef:
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}" + (
            f" (namespace {self.namespace})" if self.namespace else ""
        )


@dataclass
class KindChanges:
    create: list[str] = field(default_factory=list)
    change: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)


@dataclass
class Step:
    name: str  # egress | wait | istio | prune
    title: str
    manifests: str = ""
    refs: list[ObjRef] = field(default_factory=list)


@dataclass
class DeployPlan:
    live_policy: str
    target_policy: str
    live_include: str | None
    live_exclude: str | None
    target_include: str
    target_exclude: str
    order: str  # tighten | loosen | same
    kinds: dict[str, KindChanges]
    istio_objects: int
    prune: list[ObjRef]
    steps: list[Step]
    revision: str | None

    @property
    def capture_changed(self) -> bool:
        return (self.live_include, self.live_exclude) != (self.target_include, self.target_exclude)


def _ref(obj: dict[str, Any], default_ns: str) -> ObjRef:
    meta = obj.get("metadata") or {}
    return ObjRef(
        str(obj.get("kind")), str(meta.get("namespace") or default_ns), str(meta.get("name"))
    )


def _comparable(obj: dict[str, Any]) -> Any:
    meta = obj.get("metadata") or {}
    return {
        "spec": obj.get("spec"),
        "labels": meta.get("labels") or {},
        "annotations": {
            k: v
            for k, v in (meta.get("annotations") or {}).items()
            if k != "kubectl.kubernetes.io/last-applied-configuration"
        },
    }


def live_owned(kube: Kube, namespaces: Iterable[str]) -> list[dict[str, Any]]:
    """Objects egressctl owns (label egressctl.io/owned=true) in ``namespaces``."""
    out: list[dict[str, Any]] = []
    for ns in sorted(set(namespaces)):
        out += kube.items(
            ["get", ",".join(EGRESS_KINDS.values()), "--selector", OWNED],
            step=f"list the objects egressctl owns in namespace {ns}",
            namespace=ns,
        )
    return out


def live_mesh(kube: Kube, revision: str | None) -> tuple[str, str | None, str | None]:
    """Live policy (missing ConfigMap or key: ALLOW_ANY) and capture ranges."""
    mesh_name, inj_name = names(revision)
    step = f"read the live mesh ConfigMap {kube.namespace}/{mesh_name}"
    mesh = kube.get_json(["get", "configmap", mesh_name, "--ignore-not-found"], step=step)
    inj = kube.get_json(
        ["get", "configmap", inj_name, "--ignore-not-found"],
        step=f"read the live injector ConfigMap {kube.namespace}/{inj_name}",
    )
    include, exclude = ranges_of(inj)
    return (policy_of(mesh) or "ALLOW_ANY").upper(), include, exclude


def make_plan(
    rendered: Rendered, kube: Kube, *, prune: bool = True, previous: Iterable[str] = ()
) -> DeployPlan:
    """``previous``: namespaces the last recorded deploy wrote to, so that an owned object
    in a namespace the inventory no longer uses is still found and pruned."""
    env = rendered.env
    if rendered.verified is not None:
        revision = rendered.verified.revision
    else:
        revision = revision_of_istio(rendered.istio) or (env.istio.revision if env.istio else None)
    live_policy, live_inc, live_exc = live_mesh(kube, revision)
    egress_objs = parse_manifests(rendered.egress)
    wanted = {_ref(o, env.namespace): o for o in egress_objs}
    namespaces = {env.namespace, *previous} | {r.namespace for r in wanted}
    live = {_ref(o, env.namespace): o for o in live_owned(kube, namespaces)}
    kinds: dict[str, KindChanges] = {k: KindChanges() for k in EGRESS_KINDS}
    for ref, obj in wanted.items():
        changes = kinds.setdefault(ref.kind, KindChanges())
        if ref not in live:
            changes.create.append(ref.name)
        elif _comparable(live[ref]) != _comparable(obj):
            changes.change.append(ref.name)
        else:
            changes.unchanged.append(ref.name)
    to_prune = (
        sorted((r for r in live if r not in wanted), key=lambda r: (r.kind, r.namespace, r.name))
        if prune
        else []
    )
    for ref in to_prune:
        kinds.setdefault(ref.kind, KindChanges()).delete.append(ref.name)

    target = rendered.policy
    if live_policy == "REGISTRY_ONLY" and target == "ALLOW_ANY":
        order = "loosen"
    elif live_policy != target or (live_inc, live_exc) != (rendered.include, rendered.exclude):
        order = "tighten"
    else:
        order = "same"
    egress_step = Step("egress", "apply the egress objects (chart/)", rendered.egress, list(wanted))
    wait_step = Step("wait", "wait until the egress objects exist", "", list(wanted))
    steps = [egress_step, wait_step] if wanted else []
    if rendered.istio is not None:
        source = env.istio.describe() if env.istio else "recorded render"
        istio_step = Step("istio", f"apply the Istio chart ({source})", rendered.istio)
        steps = [istio_step, *steps] if order == "loosen" else [*steps, istio_step]
    if to_prune:
        steps.append(
            Step("prune", "delete owned objects no longer in the inventory", refs=to_prune)
        )
    istio_count = len(parse_manifests(rendered.istio)) if rendered.istio else 0
    return DeployPlan(
        live_policy,
        target,
        live_inc,
        live_exc,
        rendered.include,
        rendered.exclude,
        order,
        kinds,
        istio_count,
        to_prune,
        steps,
        revision,
    )


def describe(p: DeployPlan, rendered: Rendered, *, dry_run: bool) -> list[str]:
    env = rendered.env
    lines = [f"plan for {env.name}: context {env.context}, namespace {env.namespace}"]
    if p.live_policy != p.target_policy:
        lines.append(f"  {'mesh policy':<16}{p.live_policy} → {p.target_policy}")
    else:
        lines.append(f"  {'mesh policy':<16}{p.target_policy} (unchanged)")
    if rendered.istio is None:
        lines.append(f"  {'capture':<16}not applied (no istio.chart in the environment)")
    elif p.capture_changed:
        if p.live_include is None and p.live_exclude is None:
            live = "no live injector ConfigMap"
            lines.append(
                f"  {'capture':<16}({live}) → include {p.target_include}; exclude "
                f"{p.target_exclude or '(none)'}"
            )
        else:
            lines.append(
                f"  {'capture':<16}include {p.live_include} → {p.target_include}; "
                f"exclude {p.live_exclude or '(none)'} → {p.target_exclude or '(none)'}"
            )
    else:
        lines.append(
            f"  {'capture':<16}include {p.target_include}; exclude "
            f"{p.target_exclude or '(none)'} (unchanged)"
        )
    for kind, c in p.kinds.items():
        if not (c.create or c.change or c.delete or c.unchanged):
            continue
        parts = []
        for verb, items in (("create", c.create), ("change", c.change), ("delete", c.delete)):
            if items:
                shown = ", ".join(items[:6]) + (
                    f", … {len(items) - 6} more" if len(items) > 6 else ""
                )
                parts.append(f"{verb} {len(items)} ({shown})")
        if c.unchanged:
            parts.append(f"unchanged {len(c.unchanged)}")
        lines.append(f"  {kind:<16}{'; '.join(parts)}")
    if rendered.istio is not None:
        lines.append(f"  {'Istio chart':<16}apply {p.istio_objects} objects")
    else:
        lines.append(
            f"  {'Istio chart':<16}none: the mesh policy and capture ranges are NOT applied, "
            "only the egress objects"
        )
    order = {
        "tighten": "tightening: entries first, then the mesh policy",
        "loosen": "loosening: the mesh policy first, then the entries",
        "same": "policy unchanged: entries first",
    }[p.order]
    lines.append(f"  {'order':<16}{order}")
    for i, s in enumerate(p.steps, 1):
        lines.append(f"    {i}. {s.title}")
    if dry_run:
        lines.append("  dry run: kubectl --dry-run=server, nothing changes")
    return lines


# ---------------------------------------------------------------------------
# Applying


@dataclass
class DeployReport:
    plan: DeployPlan
    dry_run: bool
    applied: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    started: str = ""
    injector_changed: str = ""  # when the Istio render (and so the injector) was applied
    record: Path | None = None
    stale: list[Workload] = field(default_factory=list)
    restarted: list[str] = field(default_factory=list)


def by_namespace(manifests: str, default: str) -> dict[str, str]:
    """Split a render into one YAML stream per namespace: kubectl refuses an object whose
    namespace differs from --namespace, and a DestinationRule for MUTUAL origination lives
    in its workloads' namespace."""
    docs: dict[str, list[str]] = {}
    for doc in _DOC_SPLIT.split(manifests):
        if not doc.strip() or not _TOP_KIND_LINE.search(doc):
            continue
        m = _META_NAMESPACE.search(doc)
        docs.setdefault(m.group(1).strip("'\"") if m else default, []).append(doc.strip("\n"))
    return {ns: "---\n" + "\n---\n".join(group) + "\n" for ns, group in sorted(docs.items())}


def _apply(
    kube: Kube, manifests: str, *, title: str, dry_run: bool, progress: Progress
) -> list[str]:
    args = ["apply", "--filename", "-"]
    if dry_run:
        args.append("--dry-run=server")
    lines: list[str] = []
    for ns, text in by_namespace(manifests, kube.namespace).items():
        res = kube.run(args, step=title, stdin=text, namespace=ns)
        lines += _echo(res, progress)
    return lines


def _echo(res: Result, progress: Progress) -> list[str]:
    """kubectl's own lines (one per object), shown as progress and kept for the report."""
    lines = [line for line in res.stdout.splitlines() if line.strip()]
    for line in lines:
        progress(f"    {line}")
    return lines


def _wait_exist(
    kube: Kube, refs: list[ObjRef], *, title: str, timeout: float, progress: Progress
) -> None:
    """Poll until every applied object can be read back (the API server has it)."""
    deadline = time.monotonic() + timeout
    missing = list(refs)
    while missing:
        by_ns: dict[str, list[ObjRef]] = {}
        for r in missing:
            by_ns.setdefault(r.namespace, []).append(r)
        still: list[ObjRef] = []
        for ns, group in by_ns.items():
            kinds = sorted({EGRESS_KINDS[r.kind] for r in group})
            live = {
                _ref(o, ns)
                for o in kube.items(
                    ["get", ",".join(kinds), "--selector", OWNED], step=title, namespace=ns
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
                "not there after the apply: " + ", ".join(map(str, missing[:5])),
            )
        progress(f"    waiting for {len(missing)} object(s)")
        time.sleep(0.5)


def _prune(
    kube: Kube, refs: list[ObjRef], *, title: str, dry_run: bool, progress: Progress
) -> list[str]:
    out = []
    by_ns: dict[str, list[ObjRef]] = {}
    for r in refs:
        by_ns.setdefault(r.namespace, []).append(r)
    for ns, group in sorted(by_ns.items()):
        for r in group:
            # By label *and* name: an object that lost the label since the plan was made
            # (replaced by someone else's) is not deleted.
            args = [
                "delete",
                EGRESS_KINDS[r.kind],
                "--selector",
                OWNED,
                "--field-selector",
                f"metadata.name={r.name}",
                "--ignore-not-found",
                "--wait=false",
            ]
            if dry_run:
                args.append("--dry-run=server")
            res = kube.run(args, step=f"{title}: {r}", namespace=ns)
            out += _echo(res, progress)
    return out


def deploy(
    rendered: Rendered,
    *,
    dry_run: bool,
    confirm: Callable[[list[str]], bool],
    progress: Progress = _quiet,
    prune: bool = True,
    wait_timeout: float = 60.0,
    kube: Kube | None = None,
    previous: Iterable[str] = (),
) -> DeployReport:
    kube = kube or Kube.for_env(rendered)
    guard_context(kube, rendered)
    p = make_plan(rendered, kube, prune=prune, previous=previous)
    if not confirm(describe(p, rendered, dry_run=dry_run)):
        raise UsageError("deploy not confirmed; nothing was applied")
    report = DeployReport(p, dry_run, started=_now())
    for i, s in enumerate(p.steps, 1):
        title = f"step {i}/{len(p.steps)}: {s.title}"
        progress(title)
        if s.name in ("egress", "istio"):
            report.applied += _apply(
                kube, s.manifests, title=title, dry_run=dry_run, progress=progress
            )
            if s.name == "istio":
                report.injector_changed = _now()
        elif s.name == "wait" and not dry_run:
            _wait_exist(kube, s.refs, title=title, timeout=wait_timeout, progress=progress)
        elif s.name == "prune":
            report.deleted += _prune(kube, s.refs, title=title, dry_run=dry_run, progress=progress)
    return report


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------
# diff


def diff(
    rendered: Rendered,
    *,
    prune: bool = True,
    kube: Kube | None = None,
    previous: Iterable[str] = (),
) -> tuple[bool, list[str]]:
    """`kubectl diff` of both renders, plus the owned objects a deploy would delete."""
    kube = kube or Kube.for_env(rendered)
    guard_context(kube, rendered)
    out: list[str] = []
    changed = False
    renders = [("egress objects", rendered.egress)]
    if rendered.istio is not None:
        renders.append(("Istio chart", rendered.istio))
    for title, render in renders:
        for ns, text in by_namespace(render, kube.namespace).items():
            step = f"kubectl diff ({title}, namespace {ns})"
            res = kube.run(
                ["diff", "--filename", "-"], step=step, stdin=text, namespace=ns, check=False
            )
            if res.returncode > 1:
                raise ToolError(step, res.argv, res.returncode, res.stderr or res.stdout)
            if res.returncode == 1:
                changed = True
                out += res.stdout.splitlines()
    if prune:
        egress_objs = parse_manifests(rendered.egress)
        wanted = {_ref(o, kube.namespace) for o in egress_objs}
        namespaces = {kube.namespace, *previous} | {r.namespace for r in wanted}
        gone = sorted(
            {_ref(o, kube.namespace) for o in live_owned(kube, namespaces)} - wanted,
            key=lambda r: (r.kind, r.namespace, r.name),
        )
        for r in gone:
            changed = True
            out.append(f"would delete {r} (owned by egressctl, no longer in the inventory)")
    return changed, out


# ---------------------------------------------------------------------------
# Workloads whose sidecars still carry the old capture ranges


@dataclass(frozen=True, slots=True)
class Workload:
    kind: str
    namespace: str
    name: str
    oldest_pod: str

    def ref(self) -> str:
        return f"{self.kind.lower()}/{self.name}"


def injected_namespaces(kube: Kube, revision: str | None) -> list[str]:
    selectors = (
        [f"istio.io/rev={revision}"]
        if revision
        else ["istio-injection=enabled", "istio.io/rev=default"]
    )
    found: set[str] = set()
    for sel in selectors:
        for ns in kube.items(
            ["get", "namespaces", "--selector", sel], step="list injection-enabled namespaces"
        ):
            found.add(ns["metadata"]["name"])
    return sorted(found)


_RANGE_ANNOTATIONS = (
    "traffic.sidecar.istio.io/includeOutboundIPRanges",
    "traffic.sidecar.istio.io/excludeOutboundIPRanges",
)


def pod_is_stale(pod: dict[str, Any], include: str, exclude: str, since: str) -> bool:
    """Whether an injected pod still captures with other ranges than ``include`` and
    ``exclude``.  The istio-init arguments (`-i`, `-x`) say what the pod got at
    injection; a pod that overrides the ranges by annotation is not affected by the
    injector's defaults; without istio-init (CNI), the pod's age decides."""
    meta = pod.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    if any(a in annotations for a in _RANGE_ANNOTATIONS):
        return False  # its own ranges, whatever the injector says
    spec = pod.get("spec") or {}
    for c in spec.get("initContainers") or []:
        if not isinstance(c, dict) or c.get("name") != "istio-init":
            continue
        args = [str(a) for a in c.get("args") or []]
        got = {flag: args[i + 1] for i, flag in enumerate(args[:-1]) if flag in ("-i", "-x")}
        return (got.get("-i", "*"), got.get("-x", "")) != (include, exclude)
    if "sidecar.istio.io/status" in annotations:
        return str(meta.get("creationTimestamp", "")) < since
    return False  # not injected: capture ranges do not concern it


def stale_workloads(
    kube: Kube, revision: str | None, since: str, include: str = "*", exclude: str = ""
) -> list[Workload]:
    """Deployments, StatefulSets and DaemonSets in injection-enabled namespaces with a
    pod whose sidecar captures with other ranges than the new ones (see pod_is_stale;
    ``since`` is when the injector ConfigMap changed)."""
    out: list[Workload] = []
    for ns in injected_namespaces(kube, revision):
        workloads = kube.items(
            ["get", ",".join(WORKLOAD_KINDS)],
            step=f"list workloads in namespace {ns}",
            namespace=ns,
        )
        pods = kube.items(["get", "pods"], step=f"list pods in namespace {ns}", namespace=ns)
        for w in workloads:
            selector = ((w.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
            if not selector:
                continue
            stale = [
                str(p["metadata"].get("creationTimestamp", ""))
                for p in pods
                if all((p["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items())
                and pod_is_stale(p, include, exclude, since)
            ]
            if stale:
                out.append(Workload(w["kind"], ns, w["metadata"]["name"], min(stale)))
    return out


def restart(
    kube: Kube, workloads: list[Workload], *, progress: Progress = _quiet, timeout: str = "300s"
) -> list[str]:
    """`kubectl rollout restart`, namespace by namespace, then `rollout status` each."""
    done: list[str] = []
    by_ns: dict[str, list[Workload]] = {}
    for w in workloads:
        by_ns.setdefault(w.namespace, []).append(w)
    for n, (ns, group) in enumerate(sorted(by_ns.items()), 1):
        progress(f"restart {n}/{len(by_ns)}: namespace {ns} ({len(group)} workload(s))")
        kube.run(
            ["rollout", "restart", *(w.ref() for w in group)],
            step=f"restart workloads in namespace {ns}",
            namespace=ns,
        )
        for w in group:
            kube.run(
                ["rollout", "status", w.ref(), f"--timeout={timeout}"],
                step=f"wait for {w.ref()} in namespace {ns}",
                namespace=ns,
            )
            progress(f"    {w.ref()} rolled out")
            done.append(f"{ns}/{w.ref()}")
    return done


# ---------------------------------------------------------------------------
# History and rollback


def _digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _git_commit(folder: Path) -> str | None:
    if shutil.which("git") is None:
        return None
    try:
        res = run(
            ["git", "-C", str(folder), "rev-parse", "HEAD"], step="read the git commit", check=False
        )
    except ToolError:
        return None
    return res.stdout.strip() or None if res.returncode == 0 else None


def record(rendered: Rendered, report: DeployReport, out: Path, *, source: str = "deploy") -> Path:
    """Keep the renders and a record of a successful deploy; the last ten are kept."""
    history = out / "history"
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    ident = f"{stamp}-{_digest(rendered.values_text)[7:15]}"
    folder = history / ident
    files = rendered.files()
    doc = {
        "id": ident,
        "time": report.started,
        "source": source,
        "environment": rendered.env.name,
        "context": rendered.env.context,
        "namespace": rendered.env.namespace,
        "gitCommit": _git_commit(Path(rendered.env.file).resolve().parent),
        "policy": rendered.policy,
        "includeIPRanges": rendered.include,
        "excludeIPRanges": rendered.exclude,
        "revision": report.plan.revision,
        "digests": {name: _digest(text) for name, text in files.items()},
    }
    write_all_atomic(folder, files)
    write_atomic(folder / "record.json", json.dumps(doc, indent=2, sort_keys=True) + "\n")
    entries = sorted(p for p in history.iterdir() if (p / "record.json").is_file())
    for old in entries[:-HISTORY_KEEP]:
        shutil.rmtree(old, ignore_errors=True)
    for broken in history.iterdir():  # an interrupted record() left no record.json
        if broken.is_dir() and broken != folder and not (broken / "record.json").is_file():
            shutil.rmtree(broken, ignore_errors=True)
    return folder


def history(out: Path) -> list[dict[str, Any]]:
    """The recorded deploys, oldest first; unreadable entries are skipped."""
    folder = out / "history"
    if not folder.is_dir():
        return []
    records = []
    for p in sorted(folder.iterdir()):
        try:
            doc = json.loads((p / "record.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(doc, dict) and isinstance(doc.get("digests"), dict):
            doc["folder"] = str(p)
            records.append(doc)
    return records


def previous_namespaces(out: Path) -> set[str]:
    """Namespaces the last recorded deploy applied egress objects to."""
    records = history(out)
    if not records:
        return set()
    try:
        text = (Path(records[-1]["folder"]) / "egress.yaml").read_text(encoding="utf-8")
    except OSError:
        return set()
    return set(by_namespace(text, str(records[-1].get("namespace", ""))))


def load_record(out: Path, ident: str | None, rendered_env: Any) -> tuple[Rendered, str]:
    """A recorded render, ready for the same ordered deploy.  Without ``ident``: the
    newest record whose renders differ from the newest one (what is deployed now)."""
    records = history(out)
    if not records:
        raise UsageError(f"no deploy history under {out / 'history'}: nothing to roll back to")
    if ident is None:
        latest = records[-1]["digests"]
        earlier = [r for r in records[:-1] if r["digests"] != latest]
        if not earlier:
            raise UsageError(
                f"every deploy recorded under {out / 'history'} has the renders deployed now "
                f"({records[-1].get('id')}): there is no earlier state to roll back to"
            )
        chosen = earlier[-1]
    else:
        matches = [r for r in records if str(r.get("id", "")).startswith(ident)]
        if len(matches) != 1:
            known = ", ".join(str(r.get("id")) for r in records)
            raise UsageError(f"no single recorded deploy matches {ident!r}; known: {known}")
        chosen = matches[0]
    env = rendered_env
    for key, live in (("context", env.context), ("namespace", env.namespace)):
        if chosen.get(key) != live:
            raise VerificationError(
                f"recorded deploy {chosen.get('id')} went to {key} {chosen.get(key)!r}, but "
                f"environment {env.name!r} now uses {live!r}; refusing to roll back across"
            )
    folder = Path(chosen["folder"])
    texts: dict[str, str] = {}
    for name in ("values.yaml", "egress.yaml", "istio.yaml"):
        digest = chosen["digests"].get(name)
        if digest is None:
            if name == "istio.yaml":
                continue
            raise VerificationError(f"{folder / 'record.json'} lists no digest for {name}")
        try:
            text = (folder / name).read_text(encoding="utf-8")
        except OSError as exc:
            raise VerificationError(f"{folder / name}: cannot read it ({exc})") from None
        if _digest(text) != digest:
            raise VerificationError(f"{folder / name} does not match its recorded digest; refusing")
        texts[name] = text
    try:
        policy = str(chosen["policy"])
        include = str(chosen["includeIPRanges"])
        exclude = str(chosen["excludeIPRanges"])
    except KeyError as exc:
        raise VerificationError(f"{folder / 'record.json'} has no {exc.args[0]}") from None
    return Rendered(
        env=env,
        policy=policy,
        include=include,
        exclude=exclude,
        values_text=texts["values.yaml"],
        egress=texts["egress.yaml"],
        istio=texts.get("istio.yaml"),
        api_version="(recorded)",
        api_reason=f"recorded deploy {chosen.get('id')}",
        verified=None,
        istio_chart=None,
    ), str(chosen.get("id"))


def revision_of_istio(text: str | None) -> str | None:
    if not text:
        return None
    _, _, rev = find_configmaps(parse_manifests(text), None)
    return rev
