"""The sidecars' access logs, read from the cluster: ``kubectl logs`` of the
``istio-proxy`` container of each injected pod, namespace by namespace.

Bounded: ``--since`` (how far back), ``--max-pods`` (how many pods in all), and
``--limit-bytes`` per pod (:data:`LIMIT_BYTES`).  Each pod's log goes through the
aggregator line by line and is dropped.  A pod whose log cannot be read is reported
and skipped; a namespace that cannot be listed stops the run (exit 4).
"""

from __future__ import annotations

from collections.abc import Iterator

from egressctl.cluster.kube import Kube, KubeObject, as_list, as_map
from egressctl.cluster.progress import Progress, quiet
from egressctl.cluster.workloads import injected_namespaces
from egressctl.discover.observations import Observations
from egressctl.discover.sources import MAX_LINE
from egressctl.errors import ToolError
from egressctl.inventory.names import is_dns1123_label, is_dns1123_subdomain

PROXY = "istio-proxy"
LIMIT_BYTES = 256 * 1024 * 1024


def log_lines(text: str, obs: Observations) -> Iterator[str]:
    """The lines of a pod's log without their ends, in place (no copy of the log); a line
    over :data:`MAX_LINE` bytes is counted malformed and skipped, as in a file."""
    start, size = 0, len(text)
    while start < size:
        end = text.find("\n", start)
        if end < 0:
            end = size
        if end - start > MAX_LINE // 4 and len(text[start:end].encode()) > MAX_LINE:
            obs.counts.lines += 1
            obs.counts.malformed += 1
        else:
            yield text[start:end].rstrip("\r")
        start = end + 1


def has_proxy(pod: KubeObject) -> bool:
    """A running pod with an ``istio-proxy`` container (a sidecar, or a native sidecar
    among the init containers)."""
    spec = as_map(pod.get("spec"))
    containers = [*as_list(spec.get("containers")), *as_list(spec.get("initContainers"))]
    running = as_map(pod.get("status")).get("phase") in (None, "Running")
    return running and any(as_map(c).get("name") == PROXY for c in containers)


def proxy_pods(kube: Kube, namespace: str) -> list[str]:
    """The names of the pods of ``namespace`` with a sidecar, sorted."""
    pods = kube.items(["pods"], step=f"list pods in namespace {namespace}", namespace=namespace)
    names = [str(as_map(p.get("metadata")).get("name", "")) for p in pods if has_proxy(p)]
    return sorted(n for n in names if is_dns1123_subdomain(n))


def read_cluster_logs(
    kube: Kube,
    obs: Observations,
    *,
    since: str,
    max_pods: int,
    revision: str | None = None,
    namespaces: list[str] | None = None,
    progress: Progress = quiet,
) -> None:
    """The access logs of up to ``max_pods`` injected pods into ``obs``."""
    found = namespaces if namespaces is not None else injected_namespaces(kube, revision)
    chosen = [ns for ns in found if is_dns1123_label(ns)]  # what kubectl says is untrusted
    if not chosen:
        progress("discover: no injection-enabled namespace found")
    left = max_pods
    for n, ns in enumerate(chosen, 1):
        if left <= 0:
            progress(f"discover: --max-pods {max_pods} reached; namespaces left unread")
            break
        pods = proxy_pods(kube, ns)
        taken = pods[:left]
        progress(
            f"discover: namespace {ns} ({n}/{len(chosen)}): reading {len(taken)} of "
            f"{len(pods)} pod(s) with a sidecar, --since={since}"
        )
        for pod in taken:
            try:
                res = kube.run(
                    ["logs"],
                    flags=[
                        f"--container={PROXY}",
                        f"--since={since}",
                        f"--limit-bytes={LIMIT_BYTES}",
                    ],
                    args=[pod],
                    namespace=ns,
                    step=f"read the access log of pod {ns}/{pod}",
                )
            except ToolError as exc:
                obs.counts.unread_pods += 1
                progress(f"discover: skipped pod {ns}/{pod}: {str(exc).splitlines()[0]}")
                continue
            obs.counts.pods += 1
            for line in log_lines(res.stdout, obs):
                obs.feed(line, namespace=ns, pod=pod)
        left -= len(taken)
