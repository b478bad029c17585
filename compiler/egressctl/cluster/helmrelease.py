"""The team's Helm release of the Istio chart, on the cluster side: finding it (one
kubectl call: the release Secrets Helm's default storage keeps), upgrading it with the
render's values, rolling it back to a recorded revision, and reading back the revision
a change made.

The release is found by the Secrets' names and labels only (``--output=custom-columns``):
their payload, which holds the team's values, is never read."""

from __future__ import annotations

import re
from dataclasses import dataclass

from egressctl.charts.helm import HelmTarget, helm_history, helm_rollback, helm_upgrade
from egressctl.charts.render import Rendered
from egressctl.cluster.kube import Kube
from egressctl.errors import VerificationError
from egressctl.runners import Result

#: The labels Helm puts on the Secrets of a release (`sh.helm.release.v1.<release>.v<N>`).
HELM_OWNER_LABEL = "owner=helm"
_COLUMNS = "--output=custom-columns=NAME:.metadata.name,STATUS:.metadata.labels.status"
#: Where `helm upgrade`'s own report ends and the rendered manifest or notes begin.
_REPORT_END = ("HOOKS:", "MANIFEST:", "NOTES:")


@dataclass(frozen=True, slots=True)
class Release:
    """A Helm release as its newest release Secret says."""

    name: str
    namespace: str
    revision: int
    status: str  # deployed, failed, superseded, pending-upgrade, uninstalled, …

    @property
    def installed(self) -> bool:
        """Not uninstalled (`helm uninstall --keep-history` leaves its Secrets)."""
        return self.status != "uninstalled"

    @property
    def busy(self) -> bool:
        """A helm command runs on it now, or one was interrupted (`pending-…`)."""
        return self.status.startswith("pending")

    def __str__(self) -> str:
        return f"{self.name} (revision {self.revision}, {self.status})"


def target(kube: Kube) -> HelmTarget:
    """helm's view of the Kube: the same namespace, context and kubeconfig."""
    return HelmTarget(kube.namespace or "default", kube.context, kube.kubeconfig)


def find_release(kube: Kube, name: str) -> Release | None:
    """The release ``name`` in the Kube's namespace (None: no release Secret): one
    ``kubectl get --selector=owner=helm,name=NAME --output=custom-columns=… -- secrets``."""
    res = kube.run(
        ["get"],
        flags=[f"--selector={HELM_OWNER_LABEL},name={name}", _COLUMNS, "--no-headers=true"],
        args=["secrets"],
        step=f"look for Helm release {name} in namespace {kube.namespace}",
    )
    pattern = re.compile(rf"sh\.helm\.release\.v1\.{re.escape(name)}\.v([1-9][0-9]{{0,8}})")
    found: list[tuple[int, str]] = []
    for line in res.stdout.splitlines():
        words = line.split()
        m = pattern.fullmatch(words[0]) if words else None
        if m is not None:
            status = words[1] if len(words) > 1 and words[1] != "<none>" else "unknown"
            found.append((int(m.group(1)), status))
    if not found:
        return None
    revision, status = max(found)
    return Release(name, kube.namespace or "default", revision, status)


def istio_values(rendered: Rendered) -> str:
    """The generated values the Istio chart was rendered with (and is upgraded with): its
    own, or in a render recorded before the values were split, the one file both read."""
    if rendered.istio_values_text is None:
        return rendered.values_text
    return rendered.istio_values_text


def report_lines(res: Result) -> list[str]:
    """helm's own report of an upgrade or rollback (NAME, STATUS, REVISION…), without the
    manifest a dry run prints or the chart's notes."""
    lines: list[str] = []
    for line in res.stdout.splitlines():
        if line.strip() in _REPORT_END:
            break
        if line.strip():
            lines.append(line)
    return lines


def upgrade(kube: Kube, rendered: Rendered, *, dry_run: bool, title: str) -> Result:
    """``helm upgrade`` of the environment's release with the team's values files and the
    generated values: the render that was checked, applied by Helm."""
    istio = rendered.env.istio
    if istio is None:  # the plan makes this step only for an environment with a chart
        raise VerificationError(f"{title}: the environment names no Istio chart to upgrade")
    return helm_upgrade(
        istio.release,
        istio.chart,
        target=target(kube),
        values_text=istio_values(rendered),
        values_files=istio.values,
        repo=istio.repo,
        version=istio.version,
        dry_run=dry_run,
        step=title,
    )


def rollback(kube: Kube, release: str, revision: int, *, dry_run: bool, title: str) -> Result:
    """``helm rollback RELEASE REVISION``: the release gets a new revision holding
    REVISION's manifest and values."""
    return helm_rollback(release, revision, target=target(kube), dry_run=dry_run, step=title)


def revision_now(kube: Kube, release: str, *, title: str) -> int:
    """The release's newest revision, read back with ``helm history --max 1``."""
    return helm_history(release, target=target(kube), step=f"{title}: read the revision")[
        -1
    ].revision
