"""Rules for the capture ranges: what the sidecar captures, and, given an environment's
declared cluster ranges, that the cluster's own traffic stays captured.  Pure.  A list
reading could not read (:class:`~egressctl.inventory.model.Part`) is not judged."""

from __future__ import annotations

from collections.abc import Iterator

from egressctl.errors import Problem, error, warning
from egressctl.inventory.model import ClusterRanges, Inventory, IPNetwork, Part


def capture_rules(inv: Inventory) -> Iterator[Problem]:
    """Capture ranges that defeat the lockdown: none captured, everything excluded,
    exclusions that overlap inclusions."""
    capture = inv.capture
    include_read, exclude_read = inv.was_read(Part.INCLUDE), inv.was_read(Part.EXCLUDE)
    if include_read and capture.include is not None and not capture.include:
        yield warning(
            "capture-none",
            ("capture", "include"),
            "an empty include list captures no outbound traffic: sidecars are "
            "bypassed and the egress policy does not apply",
            "list the ranges to capture, or remove `include` to capture all",
        )
    for i, net in enumerate(capture.exclude if exclude_read else ()):
        if net.prefixlen == 0:
            yield error(
                "exclude-everything",
                ("capture", "exclude", i),
                f"excluding {net} takes every pod's outbound traffic out of the mesh",
                "exclude only the ranges that must bypass the sidecar",
            )
    if not (include_read and exclude_read):
        return
    for i, inc in enumerate(capture.include or ()):
        for j, exc in enumerate(capture.exclude):
            if exc.prefixlen and inc.version == exc.version and inc.overlaps(exc):
                yield warning(
                    "capture-overlap",
                    ("capture", "exclude", j),
                    f"{exc} overlaps included range {inc} (include[{i}]); the "
                    "exclusion wins for the overlap",
                    "remove one of them if that is not intended",
                )


def cluster_rules(inv: Inventory, cluster: ClusterRanges, env_file: str) -> list[Problem]:
    """The cluster's own pod and service ranges must stay captured."""
    out: list[Problem] = []
    if not inv.was_read(Part.INCLUDE, Part.EXCLUDE):
        return out
    capture = inv.capture
    for key, nets in (("podCIDRs", cluster.pod_cidrs), ("serviceCIDRs", cluster.service_cidrs)):
        for i, net in enumerate(nets):
            if capture.include is not None and not _covered(net, capture.include):
                out.append(
                    error(
                        "capture-misses-cluster",
                        ("capture", "include"),
                        f"cluster range {net} (cluster.{key}[{i}] in {env_file}) is not fully "
                        "included: traffic to those pods or services bypasses the sidecar",
                        f"add {net} to capture.include",
                    )
                )
            for j, exc in enumerate(capture.exclude):
                if exc.version == net.version and exc.overlaps(net) and exc.prefixlen:
                    out.append(
                        error(
                            "capture-cuts-cluster",
                            ("capture", "exclude", j),
                            f"{exc} cuts into cluster range {net} (cluster.{key}[{i}] in "
                            f"{env_file}): that traffic bypasses the sidecar",
                            "exclude only ranges outside the cluster",
                        )
                    )
    return out


def _covered(net: IPNetwork, ranges: tuple[IPNetwork, ...]) -> bool:
    same = [r for r in ranges if r.version == net.version]
    remaining = [net]
    for r in same:
        nxt: list[IPNetwork] = []
        for piece in remaining:
            if piece.subnet_of(r):  # type: ignore[arg-type]
                continue
            if r.subnet_of(piece):  # type: ignore[arg-type]
                nxt.extend(piece.address_exclude(r))  # type: ignore[arg-type]
            else:
                nxt.append(piece)
        remaining = nxt
    return not remaining
