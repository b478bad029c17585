"""The ordered deploy: guard the context, plan against the live cluster, apply without a
gap, prune what this environment owns and no longer renders, keep a record to roll back to.

Knows no CLI: callers pass ``confirm`` (asked once, with the plan) and ``progress``.
Every kubectl call goes through :class:`Kube`, which always passes the context, the
namespace and (when known) the kubeconfig explicitly, flags in the ``--flag=VALUE`` form
and ``--`` before positional arguments, so no value read from a file becomes a flag.

Ownership is per environment: chart/ labels every object with ``egressctl.io/owned``,
``egressctl.io/environment`` and ``egressctl.io/environment-namespace``; the plan
classifies each rendered object against everything of the egress kinds that lives in
its namespace, prune and diff select on all three labels, and an object this
environment does not own is refused unless adopted (another environment's, never).
"""

from __future__ import annotations

import contextlib
import datetime
import enum
import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from egressctl.charts.configmaps import find_configmaps, names, policy_of, ranges_of
from egressctl.charts.manifests import parse_manifests
from egressctl.charts.render import Rendered
from egressctl.errors import RecordError, ToolError, UsageError, VerificationError
from egressctl.files import write_all_atomic, write_atomic
from egressctl.model import Environment
from egressctl.runners import Result, kubectl, run

OWNED_LABEL = "egressctl.io/owned"
ENV_LABEL = "egressctl.io/environment"
ENV_NAMESPACE_LABEL = "egressctl.io/environment-namespace"
CONTEXT_ANNOTATION = "egressctl.io/context"
LOCK_FILE = ".deploy.lock"
_DOC_SPLIT = re.compile(r"^---[ \t]*$", re.MULTILINE)
_TOP_KIND_LINE = re.compile(r"^kind:", re.MULTILINE)
_META_NAMESPACE = re.compile(
    r"^metadata:\n(?:[ \t]+.*\n)*?[ \t]{2}namespace:[ \t]*(\S+)", re.MULTILINE
)
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
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
        """``args``: the verb, its flags (``--flag=VALUE``), then ``--`` and positionals."""
        extra = [f"--kubeconfig={self.kubeconfig}"] if self.kubeconfig else []
        return kubectl(
            [*extra, *args],
            step=step,
            context=self.context,
            namespace=namespace or self.namespace,
            stdin=stdin,
            check=check,
        )

    def get_json(
        self,
        resources: Sequence[str],
        *,
        step: str,
        flags: Sequence[str] = (),
        namespace: str | None = None,
    ) -> Any:
        """``kubectl get --output=json FLAGS… -- RESOURCES…``."""
        res = self.run(
            ["get", "--output=json", *flags, "--", *resources], step=step, namespace=namespace
        )
        if not res.stdout.strip():
            return None
        try:
            return json.loads(res.stdout)
        except ValueError as exc:
            raise ToolError(
                step, res.argv, res.returncode, problem=f"it printed no JSON ({exc})"
            ) from None

    def items(
        self,
        resources: Sequence[str],
        *,
        step: str,
        flags: Sequence[str] = (),
        namespace: str | None = None,
    ) -> list[dict[str, Any]]:
        doc = self.get_json(resources, step=step, flags=flags, namespace=namespace)
        items = doc.get("items") if isinstance(doc, dict) else None
        return [i for i in items or [] if isinstance(i, dict)]


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
    extra = [f"--kubeconfig={kube.kubeconfig}"] if kube.kubeconfig else []
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
# One deploy at a time per environment


@contextlib.contextmanager
def deploy_lock(out: Path, environment: str) -> Iterator[Path]:
    """Hold ``out/.deploy.lock`` (flock, exclusive, not waiting) for a deploy or rollback
    of ``environment``; a second one refuses, naming the lock file and the holder's pid.
    The file stays (removing it would let two deploys lock two different files)."""
    path = out / LOCK_FILE
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise UsageError(
            f"{path}: cannot open the deploy lock ({exc.strerror or exc}); nothing was applied"
        ) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
                raise UsageError(
                    f"{path}: cannot take the deploy lock ({exc.strerror}); nothing was applied"
                ) from None
            holder = re.sub(r"\D", "", os.pread(fd, 32, 0).decode("ascii", "replace"))[:12]
            raise UsageError(
                f"another deploy or rollback of environment {environment!r} is running: it "
                f"holds {path} (pid {holder or 'unknown'}); nothing was applied. Wait for it "
                "to finish and run again"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        try:
            yield path
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the lock


# ---------------------------------------------------------------------------
# Ownership


@dataclass(frozen=True, slots=True)
class Identity:
    """The environment an object belongs to, as chart/ labels it."""

    environment: str
    namespace: str

    @classmethod
    def of(cls, env: Environment) -> Identity:
        return cls(env.name, env.namespace)

    @property
    def selector(self) -> str:
        return (
            f"{OWNED_LABEL}=true,{ENV_LABEL}={self.environment},"
            f"{ENV_NAMESPACE_LABEL}={self.namespace}"
        )

    def __str__(self) -> str:
        return f"environment {self.environment} (namespace {self.namespace})"


class Ownership(enum.Enum):
    OURS = "ours"
    OTHER = "another environment's"
    LEGACY = "owned=true without an environment (an earlier egressctl)"
    NONE = "not egressctl's"


def _labels(obj: dict[str, Any]) -> dict[str, str]:
    meta = obj.get("metadata")
    labels = meta.get("labels") if isinstance(meta, dict) else None
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def ownership(obj: dict[str, Any], ident: Identity) -> tuple[Ownership, str]:
    """Whose an object is, and how the plan says it."""
    labels = _labels(obj)
    if labels.get(OWNED_LABEL) != "true":
        return Ownership.NONE, "exists, not owned by this environment"
    env = labels.get(ENV_LABEL)
    if env is None:
        return Ownership.LEGACY, (
            f"exists, not owned by this environment (labelled {OWNED_LABEL}=true by an "
            "earlier egressctl, with no environment label)"
        )
    env_ns = labels.get(ENV_NAMESPACE_LABEL)
    if (env, env_ns) == (ident.environment, ident.namespace):
        return Ownership.OURS, "owned by this environment"
    return Ownership.OTHER, (
        f"exists, owned by environment {env} (namespace {env_ns or 'unknown'})"
    )


@dataclass(frozen=True, slots=True)
class AdoptName:
    """One ``--adopt``: ``Kind/name`` (any namespace of the render) or
    ``namespace/Kind/name``."""

    text: str
    kind: str
    name: str
    namespace: str | None = None

    def matches(self, ref: ObjRef) -> bool:
        return (ref.kind, ref.name) == (self.kind, self.name) and self.namespace in (
            None,
            ref.namespace,
        )


@dataclass(frozen=True, slots=True)
class Adopt:
    """Which existing objects this environment does not own it may take over."""

    names: tuple[AdoptName, ...] = ()
    all: bool = False

    def covers(self, ref: ObjRef) -> bool:
        return self.all or any(a.matches(ref) for a in self.names)


_KINDS_BY_LOWER = {k.lower(): k for k in EGRESS_KINDS}


def parse_adopt(texts: Iterable[str], adopt_all: bool = False) -> Adopt:
    """``--adopt`` values → :class:`Adopt`; a malformed one is a UsageError."""
    out = []
    for text in texts:
        parts = text.split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise UsageError(
                f"--adopt {text}: write Kind/name or namespace/Kind/name "
                "(e.g. --adopt ServiceEntry/google, --adopt payments/DestinationRule/bank)"
            )
        *ns, kind, name = parts
        canonical = _KINDS_BY_LOWER.get(kind.lower())
        if canonical is None:
            raise UsageError(
                f"--adopt {text}: {kind} is not one of the kinds egressctl deploys "
                f"({', '.join(EGRESS_KINDS)})"
            )
        out.append(AdoptName(text, canonical, name, ns[0] if ns else None))
    return Adopt(tuple(out), adopt_all)


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
    adopt: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Refusal:
    """A rendered object whose name is taken by an object this environment does not own."""

    ref: ObjRef
    reason: str
    adoptable: bool

    def line(self) -> str:
        if self.adoptable:
            hint = f"adopt it with --adopt {self.ref.kind}/{self.ref.name} (or --adopt-all)"
        else:
            hint = (
                "another environment's object is never changed: rename the entry, or remove "
                "it from one of the two environments"
            )
        return f"{self.ref}: {self.reason}; {hint}"


@dataclass
class Survey:
    """The rendered egress objects classified against the live cluster."""

    kinds: dict[str, KindChanges]
    wanted: list[ObjRef]
    refused: list[Refusal]
    adopted: list[ObjRef]
    prune: list[ObjRef]


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
    identity: Identity
    refused: list[Refusal] = field(default_factory=list)
    adopted: list[ObjRef] = field(default_factory=list)

    @property
    def capture_changed(self) -> bool:
        return (self.live_include, self.live_exclude) != (self.target_include, self.target_exclude)


def _ref(obj: dict[str, Any], default_ns: str) -> ObjRef:
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
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


def live_objects(kube: Kube, namespaces: Iterable[str]) -> list[dict[str, Any]]:
    """Every object of the egress kinds in ``namespaces``, whoever owns it: one kubectl
    call per namespace."""
    out: list[dict[str, Any]] = []
    for ns in sorted(set(namespaces)):
        out += [
            o
            for o in kube.items(
                [",".join(EGRESS_KINDS.values())],
                step=f"list the egress objects in namespace {ns}",
                namespace=ns,
            )
            if o.get("kind") in EGRESS_KINDS
        ]
    return out


def wanted_objects(rendered: Rendered) -> dict[ObjRef, dict[str, Any]]:
    """The egress render's objects; each must be of an egress kind and carry this
    environment's labels, or nothing is applied (a render or a recorded render that
    would create objects this environment could never prune)."""
    env = rendered.env
    ident = Identity.of(env)
    wanted: dict[ObjRef, dict[str, Any]] = {}
    for obj in parse_manifests(rendered.egress):
        ref = _ref(obj, env.namespace)
        if ref.kind not in EGRESS_KINDS:
            raise VerificationError(
                f"the egress render holds {ref}, which is not a kind "
                f"egressctl deploys ({', '.join(EGRESS_KINDS)}); nothing was applied"
            )
        if ownership(obj, ident)[0] is not Ownership.OURS:
            raise VerificationError(
                f"the egress render holds {ref} without the labels of "
                f"{ident} ({ident.selector}): it was rendered by another chart or recorded "
                "by an earlier egressctl, and this environment could never prune it; "
                "nothing was applied"
            )
        wanted[ref] = obj
    return wanted


def _check_adopt(adopt: Adopt, wanted: Iterable[ObjRef], env: Environment) -> None:
    refs = list(wanted)
    for a in adopt.names:
        if not any(a.matches(r) for r in refs):
            raise UsageError(
                f"--adopt {a.text}: no such object in the render of environment "
                f"{env.name!r}; nothing was applied"
            )


def survey(
    rendered: Rendered,
    kube: Kube,
    *,
    prune: bool = True,
    previous: Iterable[str] = (),
    adopt: Adopt = Adopt(),
) -> Survey:
    """Classify every rendered egress object against all objects of the egress kinds in
    its namespace: create, change, unchanged, adopt, or refused (it exists and this
    environment does not own it); and list this environment's objects to prune.
    ``previous``: namespaces earlier deploys wrote to (see :func:`previous_namespaces`)."""
    env = rendered.env
    ident = Identity.of(env)
    wanted = wanted_objects(rendered)
    _check_adopt(adopt, wanted, env)
    namespaces = {env.namespace, *previous} | {r.namespace for r in wanted}
    live = {_ref(o, env.namespace): o for o in live_objects(kube, namespaces)}
    kinds: dict[str, KindChanges] = {k: KindChanges() for k in EGRESS_KINDS}
    refused: list[Refusal] = []
    adopted: list[ObjRef] = []
    for ref, obj in wanted.items():
        changes = kinds[ref.kind]
        if ref not in live:
            changes.create.append(ref.name)
            continue
        whose, reason = ownership(live[ref], ident)
        if whose is Ownership.OURS:
            if _comparable(live[ref]) != _comparable(obj):
                changes.change.append(ref.name)
            else:
                changes.unchanged.append(ref.name)
        elif whose is Ownership.OTHER:
            refused.append(Refusal(ref, reason, adoptable=False))
        elif adopt.covers(ref):
            changes.adopt.append(ref.name)
            adopted.append(ref)
        else:
            refused.append(Refusal(ref, reason, adoptable=True))
    to_prune = (
        sorted(
            (
                r
                for r, o in live.items()
                if r not in wanted and ownership(o, ident)[0] is Ownership.OURS
            ),
            key=lambda r: (r.kind, r.namespace, r.name),
        )
        if prune
        else []
    )
    for ref in to_prune:
        kinds[ref.kind].delete.append(ref.name)
    return Survey(kinds, list(wanted), refused, adopted, to_prune)


def live_mesh(kube: Kube, revision: str | None) -> tuple[str, str | None, str | None]:
    """Live policy (missing ConfigMap or key: ALLOW_ANY) and capture ranges."""
    mesh_name, inj_name = names(revision)
    step = f"read the live mesh ConfigMap {kube.namespace}/{mesh_name}"
    mesh = kube.get_json(["configmap", mesh_name], flags=["--ignore-not-found"], step=step)
    inj = kube.get_json(
        ["configmap", inj_name],
        flags=["--ignore-not-found"],
        step=f"read the live injector ConfigMap {kube.namespace}/{inj_name}",
    )
    include, exclude = ranges_of(inj)
    return (policy_of(mesh) or "ALLOW_ANY").upper(), include, exclude


def make_plan(
    rendered: Rendered,
    kube: Kube,
    *,
    prune: bool = True,
    previous: Iterable[str] = (),
    adopt: Adopt = Adopt(),
) -> DeployPlan:
    """``previous``: namespaces earlier deploys wrote to, so that an owned object in a
    namespace the inventory no longer uses is still found and pruned."""
    env = rendered.env
    if rendered.verified is not None:
        revision = rendered.verified.revision
    else:
        revision = revision_of_istio(rendered.istio) or (env.istio.revision if env.istio else None)
    found = survey(rendered, kube, prune=prune, previous=previous, adopt=adopt)
    live_policy, live_inc, live_exc = live_mesh(kube, revision)

    target = rendered.policy
    if live_policy == "REGISTRY_ONLY" and target == "ALLOW_ANY":
        order = "loosen"
    elif live_policy != target or (live_inc, live_exc) != (rendered.include, rendered.exclude):
        order = "tighten"
    else:
        order = "same"
    wanted = found.wanted
    egress_step = Step("egress", "apply the egress objects (chart/)", rendered.egress, wanted)
    wait_step = Step("wait", "wait until the egress objects exist", "", wanted)
    steps = [egress_step, wait_step] if wanted else []
    if rendered.istio is not None:
        source = env.istio.describe() if env.istio else "recorded render"
        istio_step = Step("istio", f"apply the Istio chart ({source})", rendered.istio)
        steps = [istio_step, *steps] if order == "loosen" else [*steps, istio_step]
    if found.prune:
        steps.append(
            Step(
                "prune",
                "delete this environment's objects no longer in the inventory",
                refs=found.prune,
            )
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
        found.kinds,
        istio_count,
        found.prune,
        steps,
        revision,
        Identity.of(env),
        found.refused,
        found.adopted,
    )


def refusal(refused: list[Refusal], env: Environment) -> UsageError:
    lines = "\n".join(f"  {r.line()}" for r in refused)
    return UsageError(
        f"refusing to deploy environment {env.name!r}: {len(refused)} object(s) it renders "
        f"exist and are not its own; nothing was applied:\n{lines}"
    )


def describe(
    p: DeployPlan, rendered: Rendered, *, dry_run: bool, lock: Path | None = None
) -> list[str]:
    env = rendered.env
    lines = [f"plan for {env.name}: context {env.context}, namespace {env.namespace}"]
    if lock is not None:
        lines.append(f"  {'lock':<16}held ({lock})")
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
        if not (c.create or c.change or c.adopt or c.delete or c.unchanged):
            continue
        parts = []
        for verb, items in (
            ("create", c.create),
            ("change", c.change),
            ("adopt", c.adopt),
            ("delete", c.delete),
        ):
            if items:
                shown = ", ".join(items[:6]) + (
                    f", … {len(items) - 6} more" if len(items) > 6 else ""
                )
                parts.append(f"{verb} {len(items)} ({shown})")
        if c.unchanged:
            parts.append(f"unchanged {len(c.unchanged)}")
        lines.append(f"  {kind:<16}{'; '.join(parts)}")
    for r in p.refused:
        lines.append(f"  {'refused':<16}{r.ref}: {r.reason}")
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
    args = ["apply", "--filename=-"]
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


def _resource(ref: ObjRef, title: str) -> str:
    """The kubectl resource name of an egress kind; any other kind is an error, never a
    KeyError (the plan refuses such renders before this)."""
    resource = EGRESS_KINDS.get(ref.kind)
    if resource is None:
        raise VerificationError(
            f"{title}: {ref} is not a kind egressctl deploys ({', '.join(EGRESS_KINDS)})"
        )
    return resource


def _wait_exist(
    kube: Kube,
    refs: list[ObjRef],
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
        _resource(r, title)
    while missing:
        by_ns: dict[str, list[ObjRef]] = {}
        for r in missing:
            by_ns.setdefault(r.namespace, []).append(r)
        still: list[ObjRef] = []
        for ns, group in by_ns.items():
            kinds = sorted({_resource(r, title) for r in group})
            live = {
                _ref(o, ns)
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


def _prune(
    kube: Kube,
    refs: list[ObjRef],
    *,
    selector: str,
    title: str,
    dry_run: bool,
    progress: Progress,
) -> list[str]:
    out = []
    by_ns: dict[str, list[ObjRef]] = {}
    for r in refs:
        by_ns.setdefault(r.namespace, []).append(r)
    for ns, group in sorted(by_ns.items()):
        for r in group:
            # By this environment's labels *and* the name: an object that lost them since
            # the plan was made (replaced by someone else's) is not deleted.
            args = [
                "delete",
                f"--selector={selector}",
                f"--field-selector=metadata.name={r.name}",
                "--ignore-not-found",
                "--wait=false",
            ]
            if dry_run:
                args.append("--dry-run=server")
            res = kube.run([*args, "--", _resource(r, title)], step=f"{title}: {r}", namespace=ns)
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
    adopt: Adopt = Adopt(),
    lock: Path | None = None,
    record_to: Path | None = None,
    source: str = "deploy",
) -> DeployReport:
    """Guard, plan, confirm, then (unless ``dry_run``) record the deploy as pending under
    ``record_to``, apply the steps, and complete the record.  A plan with refused objects
    is shown and refused before anything is asked or applied."""
    kube = kube or Kube.for_env(rendered)
    guard_context(kube, rendered)
    p = make_plan(rendered, kube, prune=prune, previous=previous, adopt=adopt)
    lines = describe(p, rendered, dry_run=dry_run, lock=lock)
    if p.refused:
        for line in lines:
            progress(line)
        raise refusal(p.refused, rendered.env)
    if not confirm(lines):
        raise UsageError("deploy not confirmed; nothing was applied")
    report = DeployReport(p, dry_run, started=_now())
    pending = None
    if not dry_run and record_to is not None:
        pending = begin_record(rendered, report, record_to, source=source)
    selector = p.identity.selector
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
            _wait_exist(
                kube,
                s.refs,
                selector=selector,
                title=title,
                timeout=wait_timeout,
                progress=progress,
            )
        elif s.name == "prune":
            report.deleted += _prune(
                kube, s.refs, selector=selector, title=title, dry_run=dry_run, progress=progress
            )
    if pending is not None:
        report.record = complete_record(pending, report, supersede=prune)
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
    adopt: Adopt = Adopt(),
) -> tuple[bool, list[str]]:
    """`kubectl diff` of both renders, plus the plan's classification: objects refused
    (they exist and this environment does not own them), adopted, and this environment's
    objects a deploy would delete."""
    kube = kube or Kube.for_env(rendered)
    guard_context(kube, rendered)
    found = survey(rendered, kube, prune=prune, previous=previous, adopt=adopt)
    out: list[str] = []
    changed = False
    renders = [("egress objects", rendered.egress)]
    if rendered.istio is not None:
        renders.append(("Istio chart", rendered.istio))
    for title, render in renders:
        for ns, text in by_namespace(render, kube.namespace).items():
            step = f"kubectl diff ({title}, namespace {ns})"
            res = kube.run(
                ["diff", "--filename=-"], step=step, stdin=text, namespace=ns, check=False
            )
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
        out.append(f"would adopt {ref}: exists, not owned by this environment")
    for ref in found.prune:
        changed = True
        out.append(
            f"would delete {ref} (owned by environment {ident.environment}, no longer in "
            "the inventory)"
        )
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
            ["namespaces"], flags=[f"--selector={sel}"], step="list injection-enabled namespaces"
        ):
            found.add(str((ns.get("metadata") or {}).get("name")))
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
            [",".join(WORKLOAD_KINDS)],
            step=f"list workloads in namespace {ns}",
            namespace=ns,
        )
        pods = kube.items(["pods"], step=f"list pods in namespace {ns}", namespace=ns)
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
            ["rollout", "restart", "--", *(w.ref() for w in group)],
            step=f"restart workloads in namespace {ns}",
            namespace=ns,
        )
        for w in group:
            kube.run(
                ["rollout", "status", f"--timeout={timeout}", "--", w.ref()],
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


RECORD_FILES = ("values.yaml", "egress.yaml", "istio.yaml")
PENDING = "pending"
COMPLETE = "complete"


@dataclass(frozen=True, slots=True)
class Record:
    """One verified deploy record: ``build/<env>/history/<id>/record.json`` and the
    renders it lists, every one of which matched its digest when the record was read.

    ``state``: ``pending`` from before the first apply until the steps are done (a
    failed or interrupted deploy stays pending), then ``complete``; records written
    before states existed count as complete."""

    folder: Path
    id: str
    time: str
    state: str
    source: str
    environment: str
    context: str
    namespace: str
    policy: str
    include: str
    exclude: str
    revision: str | None
    git_commit: str | None
    digests: dict[str, str]

    @property
    def complete(self) -> bool:
        return self.state == COMPLETE

    def text(self, name: str) -> str:
        """A render of this record, read again and checked against its digest."""
        return _verified_text(self.folder, name, self.digests[name])


def _damaged(folder: Path, name: str, what: str) -> VerificationError:
    return VerificationError(
        f"{folder / name}: {what}; deploy records are verified before any use (prune scope, "
        f"rollback, listing): restore the record, or delete {folder} to drop it"
    )


def _verified_text(folder: Path, name: str, digest: str) -> str:
    path = folder / name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _damaged(folder, name, "missing, but the record lists it") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _damaged(folder, name, f"cannot be read ({exc})") from None
    if _digest(text) != digest:
        raise VerificationError(
            f"{path} does not match its recorded digest {digest}; refusing to use the "
            f"record (restore the file, or delete {folder} to drop the record)"
        )
    return text


def _read_record(folder: Path) -> Record:
    """Parse and verify one record: every key it needs, with its type; every render it
    lists, against its digest."""
    path = folder / "record.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise _damaged(folder, "record.json", f"cannot be read ({exc})") from None
    except ValueError as exc:
        raise _damaged(folder, "record.json", f"not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise _damaged(folder, "record.json", "not a JSON object")

    def string(key: str, *, optional: bool = False) -> str | None:
        value = doc.get(key)
        if value is None and optional:
            return None
        if not isinstance(value, str):
            what = "missing" if value is None else f"must be a string, not {type(value).__name__}"
            raise _damaged(folder, "record.json", f"{key}: {what}")
        return value

    def required(key: str) -> str:
        value = string(key)
        assert value is not None  # noqa: S101 - string() raised otherwise
        return value

    ident = required("id")
    if ident != folder.name:
        raise _damaged(folder, "record.json", f"id: {ident!r} is not the folder's name")
    state = string("state", optional=True) or COMPLETE
    if state not in (PENDING, COMPLETE):
        raise _damaged(folder, "record.json", f"state: {state!r} is not pending or complete")
    digests = doc.get("digests")
    if not isinstance(digests, dict):
        raise _damaged(folder, "record.json", "digests: missing, or not a mapping")
    for name, digest in digests.items():
        if name not in RECORD_FILES or not isinstance(digest, str):
            raise _damaged(folder, "record.json", f"digests: {name!r} is not a render's digest")
    for name in ("values.yaml", "egress.yaml"):
        if name not in digests:
            raise _damaged(folder, "record.json", f"digests: no digest for {name}")
    for name, digest in digests.items():
        _verified_text(folder, name, digest)
    return Record(
        folder=folder,
        id=ident,
        time=required("time"),
        state=state,
        source=required("source"),
        environment=required("environment"),
        context=required("context"),
        namespace=required("namespace"),
        policy=required("policy"),
        include=required("includeIPRanges"),
        exclude=required("excludeIPRanges"),
        revision=string("revision", optional=True),
        git_commit=string("gitCommit", optional=True),
        digests=dict(digests),
    )


def history(out: Path) -> list[Record]:
    """The recorded deploys, oldest first, each verified (a damaged or edited one is a
    VerificationError naming it).  A folder without record.json is a record whose
    writing was interrupted before the first apply: it is skipped."""
    folder = out / "history"
    if not folder.is_dir():
        return []
    return [
        _read_record(p)
        for p in sorted(folder.iterdir())
        if p.is_dir() and (p / "record.json").exists()
    ]


def _scope(records: list[Record]) -> list[Record]:
    """The records whose objects may still be in the cluster: the last complete one, and
    every pending one (a deploy that failed, or could not complete its record, may have
    applied some of its objects; a pending record is dropped once a later deploy that
    pruned completes)."""
    last = max((i for i, r in enumerate(records) if r.complete), default=-1)
    return [r for i, r in enumerate(records) if i == last or not r.complete]


def previous_namespaces(out: Path) -> set[str]:
    """Namespaces that earlier deploys applied egress objects to (see :func:`_scope`), so
    that a later deploy finds and prunes its own objects there."""
    found: set[str] = set()
    for r in _scope(history(out)):
        for ns in by_namespace(r.text("egress.yaml"), r.namespace):
            if not _DNS_LABEL.match(ns):
                raise _damaged(r.folder, "egress.yaml", f"namespace {ns!r} is not a DNS label")
            found.add(ns)
    return found


@dataclass
class PendingRecord:
    folder: Path
    doc: dict[str, Any]


def _record_json(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def begin_record(
    rendered: Rendered, report: DeployReport, out: Path, *, source: str = "deploy"
) -> PendingRecord:
    """Write the renders and ``record.json`` (state pending) before the first apply, so
    that a deploy that fails half-way still counts for the next one's prune scope."""
    history_dir = out / "history"
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    ident = f"{stamp}-{_digest(rendered.values_text)[7:15]}"
    folder = history_dir / ident
    files = rendered.files()
    doc: dict[str, Any] = {
        "id": ident,
        "state": PENDING,
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
    try:
        write_all_atomic(folder, files)
        write_atomic(folder / "record.json", _record_json(doc))
    except OSError as exc:
        raise RecordError(
            f"could not write the deploy record {folder} ({exc.strerror or exc}); nothing "
            f"was applied. Make {history_dir} a writable folder and run again"
        ) from None
    return PendingRecord(folder, doc)


def complete_record(
    pending: PendingRecord, report: DeployReport, *, supersede: bool = True
) -> Path:
    """Mark the record complete once every step is done; keep the last ten complete
    records and (``supersede``: this deploy pruned) drop the pending ones before it."""
    doc = {**pending.doc, "state": COMPLETE, "finished": _now()}
    try:
        write_atomic(pending.folder / "record.json", _record_json(doc))
    except OSError as exc:
        raise RecordError(
            f"the cluster was changed, but the deploy record {pending.folder} could not be "
            f"completed ({exc.strerror or exc}): it stays pending, so rollback does not "
            "offer it (prune still finds its objects). Fix the history folder and run the "
            "deploy again: it converges"
        ) from None
    _retain(pending.folder, supersede=supersede)
    return pending.folder


def _state_of(folder: Path) -> str | None:
    try:
        doc = json.loads((folder / "record.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(doc, dict):
        return None
    state = doc.get("state", COMPLETE)
    return state if state in (PENDING, COMPLETE) else None


def _retain(current: Path, *, supersede: bool) -> None:
    """After ``current`` completed: keep the last HISTORY_KEEP complete records; drop
    pending records older than it when it pruned (its plan covered their namespaces),
    and folders whose writing was interrupted.  Damaged records are left for a person
    to look at."""
    entries = sorted(p for p in current.parent.iterdir() if p.is_dir() and p != current)
    states = {p: _state_of(p) for p in entries}
    complete = [p for p in entries if states[p] == COMPLETE]
    drop = complete[: max(0, len(complete) - (HISTORY_KEEP - 1))]
    if supersede:
        drop += [p for p in entries if states[p] == PENDING and p.name < current.name]
    drop += [p for p in entries if not (p / "record.json").exists()]
    for old in drop:
        shutil.rmtree(old, ignore_errors=True)


def load_record(out: Path, ident: str | None, env: Environment) -> tuple[Rendered, str]:
    """A recorded render, ready for the same ordered deploy.  Without ``ident``: the
    newest complete record whose renders differ from the newest record (what was
    deployed last, or attempted).  Pending records are never rolled back to."""
    records = history(out)
    if not records:
        raise UsageError(f"no deploy history under {out / 'history'}: nothing to roll back to")
    if ident is None:
        latest = records[-1]
        earlier = [r for r in records[:-1] if r.complete and r.digests != latest.digests]
        if not earlier:
            raise UsageError(
                f"no complete deploy recorded under {out / 'history'} has renders other than "
                f"the latest ({latest.id}): there is no earlier state to roll back to"
            )
        chosen = earlier[-1]
    else:
        matches = [r for r in records if r.id.startswith(ident)]
        if len(matches) != 1:
            known = ", ".join(r.id for r in records)
            raise UsageError(f"no single recorded deploy matches {ident!r}; known: {known}")
        chosen = matches[0]
        if not chosen.complete:
            raise UsageError(
                f"recorded deploy {chosen.id} is pending: it never completed, so its renders "
                "are not a state to roll back to; choose a complete one (rollback --list)"
            )
    for key, recorded, live in (
        ("context", chosen.context, env.context),
        ("namespace", chosen.namespace, env.namespace),
    ):
        if recorded != live:
            raise VerificationError(
                f"recorded deploy {chosen.id} went to {key} {recorded!r}, but "
                f"environment {env.name!r} now uses {live!r}; refusing to roll back across"
            )
    texts = {name: chosen.text(name) for name in chosen.digests}
    return Rendered(
        env=env,
        policy=chosen.policy,
        include=chosen.include,
        exclude=chosen.exclude,
        values_text=texts["values.yaml"],
        egress=texts["egress.yaml"],
        istio=texts.get("istio.yaml"),
        api_version="(recorded)",
        api_reason=f"recorded deploy {chosen.id}",
        verified=None,
        istio_chart=None,
    ), chosen.id


def revision_of_istio(text: str | None) -> str | None:
    if not text:
        return None
    _, _, rev = find_configmaps(parse_manifests(text), None)
    return rev
