"""Which way the Istio render reaches the cluster, and why: ``kubectl apply`` of the
render (template), or ``helm upgrade`` of the team's Helm release (helm).  `istio.install:
auto` (the default) chooses helm when the release is in the cluster.  Pure: the facts
(the release found, the Helm release that owns the live ConfigMaps, the record a
rollback goes back to) are gathered by the plan.

A kubectl apply beside a Helm release is what the next ``helm upgrade`` silently reverts,
so it is refused (a UsageError, exit 2, before anything is applied) unless the
environment file chose ``install: template`` itself."""

from __future__ import annotations

from dataclasses import dataclass

from egressctl.cluster.helmrelease import Release
from egressctl.cluster.history import Recorded
from egressctl.cluster.live import HelmOwned
from egressctl.errors import UsageError
from egressctl.inventory.model import Environment, IstioInstall


@dataclass(frozen=True, slots=True)
class IstioMode:
    """How this deploy changes Istio, and why (the plan shows both)."""

    install: IstioInstall  # TEMPLATE or HELM, never AUTO
    reason: str
    release: Release | None = None  # helm: the release changed; template: one found beside
    rollback_to: int | None = None  # helm: `helm rollback` to this revision, not an upgrade
    warning: str | None = None  # an explicit template beside a Helm release

    @property
    def helm(self) -> bool:
        return self.install is IstioInstall.HELM

    def line(self) -> str:
        """The plan's line: what will run, then why."""
        if self.release is not None and self.rollback_to is not None:
            what = f"helm rollback of release {self.release.name} to revision {self.rollback_to}"
        elif self.helm and self.release is not None:
            what = f"helm upgrade of release {self.release.name}"
        else:
            what = "kubectl apply of the render"
        return f"{what} ({self.reason})"


def _busy(release: Release, env: Environment) -> UsageError:
    return UsageError(
        f"Helm release {release.name} in namespace {release.namespace} is {release.status} "
        f"(revision {release.revision}): a helm command is running on it, or one was "
        f"interrupted; nothing was applied. Wait for it, or recover the release "
        f"(`helm rollback {release.name} --namespace {release.namespace}`), then deploy "
        f"{env.name} again"
    )


def _helm_owned(owner: HelmOwned, name: str, env: Environment) -> UsageError:
    """An implicit template over Istio that another Helm release (or one kept where
    egressctl does not look) owns."""
    if owner.release == name:
        found = (
            f"is Helm release {name}'s (annotation meta.helm.sh/release-name), but no release "
            f"Secret sh.helm.release.v1.{name}.v<N> is in namespace {env.namespace} (egressctl "
            "finds releases in Helm's default storage, Secrets)"
        )
        hint = (
            f"keep the release in Secrets (HELM_DRIVER=secret) so that auto finds it, or set "
            f"`istio.install: template` in {env.file} to apply the render with kubectl anyway"
        )
    else:
        found = (
            f"belongs to Helm release {owner.release} (annotation meta.helm.sh/release-name), "
            f"not to a release named {name}"
        )
        hint = (
            f"choose in {env.file}: `istio.release: {owner.release}` (auto then upgrades "
            "that release with helm), or `istio.install: template` to apply the render with "
            "kubectl anyway"
        )
    return UsageError(
        f"refusing to apply the Istio render of {env.name} with kubectl: ConfigMap "
        f"{owner.configmap} {found}, and the next `helm upgrade` of that release would "
        f"silently revert the mesh policy and capture ranges; nothing was applied. {hint}"
    )


def choose(
    env: Environment,
    found: Release | None,
    live_owner: HelmOwned | None,
    recorded: Recorded | None = None,
) -> IstioMode:
    """The mode of a deploy (``recorded`` None) or of a rollback to ``recorded``.

    ``found``: the environment's release as its Secrets say (None: no Secret);
    ``live_owner``: the Helm release whose annotation the live mesh or injector ConfigMap
    carries.  A rollback restores Istio the way the record changed it: `helm rollback`
    to the recorded revision, or kubectl apply of the recorded render."""
    istio = env.istio
    declared = istio.install if istio is not None else IstioInstall.AUTO
    name = istio.release if istio is not None else None
    present = found if found is not None and found.installed else None

    if recorded is not None and recorded.install is IstioInstall.HELM:
        return _helm_rollback(env, present, recorded)
    if recorded is not None:
        reason = f"rollback: recorded deploy {recorded.record_id} applied it with kubectl"
        if declared is IstioInstall.TEMPLATE:
            return IstioMode(IstioInstall.TEMPLATE, f"{reason}; install: template in {env.file}")
        if present is not None:
            raise UsageError(
                f"refusing to roll {env.name} back: recorded deploy {recorded.record_id} "
                "applied the Istio render with kubectl, but Istio in namespace "
                f"{env.namespace} is now Helm release {present}, and a kubectl apply would "
                "be reverted by its next `helm upgrade`; nothing was applied. Roll the "
                f"release back with helm yourself (`helm history {present.name}`), or "
                f"set `istio.install: template` in {env.file} to apply the recorded render "
                "with kubectl anyway"
            )
        if live_owner is not None:
            raise _helm_owned(live_owner, name or live_owner.release, env)
        return IstioMode(IstioInstall.TEMPLATE, reason)

    if declared is IstioInstall.TEMPLATE:
        beside = present.name if present is not None else None
        if beside is None and live_owner is not None:
            beside = live_owner.release
        warning = (
            f"Helm release {beside} also manages Istio here: its next `helm upgrade` "
            "reverts the mesh policy and capture ranges applied now"
            if beside
            else None
        )
        return IstioMode(
            IstioInstall.TEMPLATE, f"install: template in {env.file}", present, warning=warning
        )
    if name is None:  # no istio in the environment: nothing to choose between
        return IstioMode(IstioInstall.TEMPLATE, "the recorded render")
    if present is not None:
        if present.busy:
            raise _busy(present, env)
        if declared is IstioInstall.HELM:
            reason = f"install: helm in {env.file}; release {name} at revision {present.revision}"
        else:
            reason = f"auto: release {name} found (revision {present.revision})"
        return IstioMode(IstioInstall.HELM, reason, present)
    if declared is IstioInstall.HELM:
        raise UsageError(
            f"{env.file} sets `istio.install: helm`, but namespace {env.namespace} holds no "
            f"Helm release {name} (no Secret sh.helm.release.v1.{name}.v<N> labelled "
            "owner=helm); nothing was applied. Install the release with helm first, set "
            "`istio.release` to its name, or set `istio.install: template` (or auto) to "
            "apply the render with kubectl"
        )
    if live_owner is not None:
        raise _helm_owned(live_owner, name, env)
    return IstioMode(
        IstioInstall.TEMPLATE, f"auto: no Helm release {name} in namespace {env.namespace}"
    )


def _helm_rollback(env: Environment, present: Release | None, recorded: Recorded) -> IstioMode:
    """A rollback to a record whose deploy upgraded a Helm release."""
    release, revision = recorded.helm_release, recorded.helm_revision
    istio = env.istio
    if release is None or revision is None:
        raise UsageError(
            f"recorded deploy {recorded.record_id} changed Istio with helm but recorded no "
            "release revision to roll back to; nothing was applied. Choose another record "
            "(rollback --list), or roll the release back with helm yourself"
        )
    if istio is None or istio.release != release:
        now = f"release {istio.release}" if istio is not None else "no Istio chart"
        raise UsageError(
            f"recorded deploy {recorded.record_id} upgraded Helm release {release}, but "
            f"{env.file} now names {now}; refusing to roll back across; nothing was applied"
        )
    if present is None or present.name != release:
        raise UsageError(
            f"recorded deploy {recorded.record_id} upgraded Helm release {release} to "
            f"revision {revision}, but namespace {env.namespace} holds no such release now; "
            "nothing was applied"
        )
    if present.busy:
        raise _busy(present, env)
    reason = (
        f"rollback: recorded deploy {recorded.record_id} upgraded release {release} "
        f"to revision {revision}"
    )
    return IstioMode(IstioInstall.HELM, reason, present, rollback_to=revision)
