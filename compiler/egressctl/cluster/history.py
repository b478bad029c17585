"""Deploy records: ``build/<env>/history/<id>/`` holds the renders a deploy applied and
``record.json`` (digests, context, policy, Istio revision, how the Istio render was
installed and the Helm release revision it made, git commit), so that a later deploy
finds the objects it must prune and ``rollback`` can re-apply a render (or roll the Helm
release back to that revision).

A record is written *pending* before the first apply and marked *complete* when every
step is done; every record is verified (each key with its type, each render against its
digest) before any use: prune scope, rollback, listing.
"""

from __future__ import annotations

import datetime
import enum
import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from egressctl.charts.limits import check_limits
from egressctl.charts.manifests import sourced_objects
from egressctl.charts.render import ISTIO_VALUES_FILE, RENDER_FILES, Rendered
from egressctl.cluster.objects import kinds_in, split_by_namespace
from egressctl.errors import RecordError, ToolError, UsageError, VerificationError
from egressctl.files import write_all_atomic, write_atomic
from egressctl.inventory.arguments import release_problem
from egressctl.inventory.model import Environment, IstioInstall
from egressctl.inventory.names import is_dns1123_label
from egressctl.runners import run

HISTORY_KEEP = 10
# A record made before the values were split has no istio-values.yaml (its values.yaml
# holds both charts' keys): it still loads, and rolls back the renders it holds.
RECORD_FILES = RENDER_FILES


class RecordState(str, enum.Enum):
    """``pending`` from before the first apply until the steps are done (a failed or
    interrupted deploy stays pending), then ``complete``."""

    PENDING = "pending"
    COMPLETE = "complete"


def now() -> str:
    """The current UTC time, as records and reports write it."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def digest(text: str) -> str:
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


# ---------------------------------------------------------------------------
# Reading records


@dataclass(frozen=True, slots=True)
class Recorded:
    """How a recorded deploy changed Istio: by kubectl (``install`` template, or None for
    records older than `istio.install`), or by Helm (the release and the revision it
    made), which is how a rollback to it restores Istio."""

    record_id: str
    install: IstioInstall | None
    helm_release: str | None
    helm_revision: int | None


@dataclass(frozen=True, slots=True)
class Record:
    """One verified deploy record: ``build/<env>/history/<id>/record.json`` and the
    renders it lists, every one of which matched its digest when the record was read.
    Records written before states existed count as complete."""

    folder: Path
    id: str
    time: str
    state: RecordState
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
    install: IstioInstall | None = None  # how the Istio render went in (None: no render)
    helm_release: str | None = None  # install helm: the release upgraded or rolled back
    helm_revision: int | None = None  # … and the revision that made (once complete)

    @property
    def complete(self) -> bool:
        return self.state is RecordState.COMPLETE

    @property
    def recorded(self) -> Recorded:
        return Recorded(self.id, self.install, self.helm_release, self.helm_revision)

    def text(self, name: str) -> str:
        """A render of this record, read again and checked against its digest."""
        return _verified_text(self.folder, name, self.digests[name])


def _damaged(folder: Path, name: str, what: str) -> VerificationError:
    return VerificationError(
        f"{folder / name}: {what}; deploy records are verified before any use (prune scope, "
        f"rollback, listing): restore the record, or delete {folder} to drop it"
    )


def _verified_text(folder: Path, name: str, expected: str) -> str:
    path = folder / name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _damaged(folder, name, "missing, but the record lists it") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _damaged(folder, name, f"cannot be read ({exc})") from None
    if digest(text) != expected:
        raise VerificationError(
            f"{path} does not match its recorded digest {expected}; refusing to use the "
            f"record (restore the file, or delete {folder} to drop the record)"
        )
    return text


def _state(value: object) -> RecordState | None:
    """The state ``value`` names; None when it names none."""
    for state in RecordState:
        if value == state.value:
            return state
    return None


def _read_record(folder: Path) -> Record:
    """Parse and verify one record: every key it needs, with its type; every render it
    lists, against its digest."""
    path = folder / "record.json"
    try:
        doc: object = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise _damaged(folder, "record.json", f"cannot be read ({exc})") from None
    except ValueError as exc:
        raise _damaged(folder, "record.json", f"not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise _damaged(folder, "record.json", "not a JSON object")

    def optional(key: str) -> str | None:
        value = doc.get(key)
        if value is None or isinstance(value, str):
            return value
        raise _damaged(
            folder, "record.json", f"{key}: must be a string, not {type(value).__name__}"
        )

    def required(key: str) -> str:
        value = optional(key)
        if value is None:
            raise _damaged(folder, "record.json", f"{key}: missing")
        return value

    ident = required("id")
    if ident != folder.name:
        raise _damaged(folder, "record.json", f"id: {ident!r} is not the folder's name")
    state = _state(optional("state") or RecordState.COMPLETE.value)  # absent: complete
    if state is None:
        raise _damaged(
            folder, "record.json", f"state: {doc.get('state')!r} is not pending or complete"
        )
    digests = doc.get("digests")
    if not isinstance(digests, dict):
        raise _damaged(folder, "record.json", "digests: missing, or not a mapping")
    for name, value in digests.items():
        if name not in RECORD_FILES or not isinstance(value, str):
            raise _damaged(folder, "record.json", f"digests: {name!r} is not a render's digest")
    for name in ("values.yaml", "egress.yaml"):
        if name not in digests:
            raise _damaged(folder, "record.json", f"digests: no digest for {name}")
    for name, value in digests.items():
        _verified_text(folder, name, value)
    install, helm_release, helm_revision = _helm_fields(folder, doc)
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
        revision=optional("revision"),
        git_commit=optional("gitCommit"),
        digests=dict(digests),
        install=install,
        helm_release=helm_release,
        helm_revision=helm_revision,
    )


def _helm_fields(
    folder: Path, doc: dict[str, object]
) -> tuple[IstioInstall | None, str | None, int | None]:
    """``istioInstall``, ``helmRelease`` and ``helmRevision`` of a record, each checked: a
    rollback hands the release and revision to helm."""
    raw_install = doc.get("istioInstall")
    install = next((i for i in IstioInstall if i.value == raw_install), None)
    if raw_install is not None and install in (None, IstioInstall.AUTO):
        raise _damaged(folder, "record.json", f"istioInstall: {raw_install!r} is not an install")
    release = doc.get("helmRelease")
    if release is not None and (not isinstance(release, str) or release_problem(release)):
        raise _damaged(folder, "record.json", f"helmRelease: {release!r} is not a release name")
    revision = doc.get("helmRevision")
    if revision is not None and (type(revision) is not int or revision < 1):
        raise _damaged(folder, "record.json", f"helmRevision: {revision!r} is not a revision")
    return install, release, revision


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
        for ns in split_by_namespace(r.text("egress.yaml"), r.namespace):
            if not is_dns1123_label(ns):
                raise _damaged(r.folder, "egress.yaml", f"namespace {ns!r} is not a DNS label")
            found.add(ns)
    return found


def previous_kinds(out: Path) -> set[str]:
    """The kind keys (see :mod:`egressctl.mesh.kinds`) of the objects earlier deploys
    applied (see :func:`_scope`), so that a later deploy lists them in the cluster and
    prunes them even when its render holds none; a record of any age is read the same
    way (its renders carry their apiVersion)."""
    found: set[str] = set()
    for r in _scope(history(out)):
        found |= kinds_in(r.text("egress.yaml"))
    return found


# ---------------------------------------------------------------------------
# Writing records


@dataclass(frozen=True, slots=True)
class PendingRecord:
    folder: Path
    doc: dict[str, object]


def _record_json(doc: dict[str, object]) -> str:
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def begin_record(
    rendered: Rendered,
    out: Path,
    *,
    started: str,
    revision: str | None,
    source: str = "deploy",
    install: IstioInstall | None = None,
    helm_release: str | None = None,
) -> PendingRecord:
    """Write the renders and ``record.json`` (state pending) before the first apply, so
    that a deploy that fails half-way still counts for the next one's prune scope.
    ``install``: how the Istio render goes in; ``helm_release``: the release helm
    changes (its revision is added when the record completes)."""
    history_dir = out / "history"
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    ident = f"{stamp}-{digest(rendered.values_text)[7:15]}"
    folder = history_dir / ident
    files = rendered.files()
    doc: dict[str, object] = {
        "id": ident,
        "state": RecordState.PENDING.value,
        "time": started,
        "source": source,
        "environment": rendered.env.name,
        "context": rendered.env.context,
        "namespace": rendered.env.namespace,
        "gitCommit": _git_commit(Path(rendered.env.file).resolve().parent),
        "policy": rendered.policy,
        "includeIPRanges": rendered.include,
        "excludeIPRanges": rendered.exclude,
        "revision": revision,
        "digests": {name: digest(text) for name, text in files.items()},
    }
    if install is not None:
        doc["istioInstall"] = install.value
    if helm_release is not None:
        doc["helmRelease"] = helm_release
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
    pending: PendingRecord, *, supersede: bool = True, helm_revision: int | None = None
) -> Path:
    """Mark the record complete once every step is done (with the revision helm made,
    if it changed a release); keep the last ten complete records and (``supersede``:
    this deploy pruned) drop the pending ones before it."""
    doc = {**pending.doc, "state": RecordState.COMPLETE.value, "finished": now()}
    if helm_revision is not None:
        doc["helmRevision"] = helm_revision
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


def _state_of(folder: Path) -> RecordState | None:
    try:
        doc: object = json.loads((folder / "record.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(doc, dict):
        return None
    return _state(doc.get("state", RecordState.COMPLETE.value))


def _retain(current: Path, *, supersede: bool) -> None:
    """After ``current`` completed: keep the last HISTORY_KEEP complete records; drop
    pending records older than it when it pruned (its plan covered their namespaces),
    and folders whose writing was interrupted.  Damaged records are left for a person
    to look at."""
    entries = sorted(p for p in current.parent.iterdir() if p.is_dir() and p != current)
    states = {p: _state_of(p) for p in entries}
    complete = [p for p in entries if states[p] is RecordState.COMPLETE]
    drop = complete[: max(0, len(complete) - (HISTORY_KEEP - 1))]
    if supersede:
        drop += [p for p in entries if states[p] is RecordState.PENDING and p.name < current.name]
    drop += [p for p in entries if not (p / "record.json").exists()]
    for old in drop:
        shutil.rmtree(old, ignore_errors=True)


# ---------------------------------------------------------------------------
# Rolling back


@dataclass(frozen=True, slots=True)
class RollbackTarget:
    """A recorded render, ready for the same ordered deploy."""

    record: Record
    rendered: Rendered


def load_record(out: Path, ident: str | None, env: Environment) -> RollbackTarget:
    """The record to roll back to.  Without ``ident``: the newest complete record whose
    renders differ from the newest record (what was deployed last, or attempted).
    Pending records are never rolled back to, nor is a record made for another context
    or namespace than the environment's now (a UsageError, like the context guard)."""
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
            raise UsageError(
                f"recorded deploy {chosen.id} went to {key} {recorded!r}, but "
                f"environment {env.name!r} now uses {live!r}; refusing to roll back across"
            )
    texts = {name: chosen.text(name) for name in chosen.digests}
    for name in ("egress.yaml", "istio.yaml"):  # a record older than the limits check
        if name in texts:
            check_limits(sourced_objects(texts[name]), render=f"{chosen.folder / name}")
    rendered = Rendered(
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
        istio_values_text=texts.get(ISTIO_VALUES_FILE),
    )
    return RollbackTarget(chosen, rendered)
