"""Rules of the ambient data plane (`dataplane: ambient`, issue #15).  Pure.

What a sidecar reads and ztunnel does not (capture ranges, a per-workload TLS rule, an
egress gateway hop) is refused with its position; a wildcard host the waypoint cannot
enforce is refused with the reason; a lockdown that could not be rendered (no enrolled
namespace known, no cluster ranges) is refused at the environment file."""

from __future__ import annotations

from collections.abc import Iterator

from egressctl.errors import Problem, error, warning
from egressctl.inventory import ambientmodel as ambient
from egressctl.inventory.model import Dataplane, Environment, Location, Part, Policy, Service


def _version(v: tuple[int, int]) -> str:
    return f"{v[0]}.{v[1]}"


def _wildcard(svc: Service, istio: tuple[int, int] | None) -> Iterator[Problem]:
    """A wildcard host in ambient: a waypoint resolves it per request (DYNAMIC_DNS) on
    HTTP, HTTP2 and GRPC ports from Istio 1.28, on TLS (HTTPS) ports from 1.29; ztunnel
    alone matches by address, so nothing else can be enforced."""
    at = ("services", svc.name, "hosts")
    why = (
        "in ambient ztunnel matches traffic by address, and a wildcard host has none: only "
        "the waypoint can match it, per request (resolution DYNAMIC_DNS)"
    )
    if not svc.was_read(Part.HOSTS, Part.PORTS, Part.ADDRESSES, Part.ENDPOINTS, Part.LOCATION):
        return
    opaque = [p for p in svc.ports if p.protocol not in ambient.DYNAMIC_HTTP | ambient.DYNAMIC_TLS]
    if opaque:
        shown = ", ".join(f"{p.number}/{p.protocol}" for p in opaque)
        yield error(
            "ambient-wildcard",
            at,
            f"a wildcard host cannot be enforced on {shown}: {why}, and only on HTTP, "
            "HTTP2, GRPC and TLS ports",
            "list the hosts one by one, or use an HTTP or TLS port",
        )
        return
    if svc.addresses or svc.endpoints:
        yield error(
            "ambient-wildcard",
            at,
            f"a wildcard host with addresses or endpoints cannot be enforced: {why}, which "
            "takes neither",
            "drop `addresses`/`endpoints`, or list the hosts one by one",
        )
    if svc.location is Location.MESH_INTERNAL:
        yield error(
            "ambient-wildcard",
            at,
            f"a MESH_INTERNAL wildcard host cannot go through the waypoint: {why}, which "
            "Istio allows only MESH_EXTERNAL with a waypoint",
            "use `location: MESH_EXTERNAL`",
        )
    if istio is None:
        return
    tls = any(p.protocol in ambient.DYNAMIC_TLS for p in svc.ports)
    http = any(p.protocol in ambient.DYNAMIC_HTTP for p in svc.ports)
    for needed, since, what in (
        (http, ambient.DYNAMIC_HTTP_FROM, "HTTP"),
        (tls, ambient.DYNAMIC_TLS_FROM, "TLS"),
    ):
        if needed and istio < since:
            yield error(
                "ambient-wildcard",
                at,
                f"a wildcard host on {what} ports cannot be enforced with Istio "
                f"{_version(istio)}: {why}, which waypoints support for {what} from Istio "
                f"{_version(since)}",
                f"upgrade Istio to {_version(since)}+, or list the hosts one by one",
            )


def ambient_rules(env: Environment, istio: tuple[int, int] | None = None) -> list[Problem]:
    """The rules `dataplane: ambient` adds (``istio``: the Istio version of the
    environment's chart, when known; the version checks are skipped without it)."""
    if env.dataplane is not Dataplane.AMBIENT:
        return []
    inv = env.inventory
    out: list[Problem] = []
    capture = inv.capture
    if inv.was_read(Part.INCLUDE, Part.EXCLUDE) and (
        capture.include is not None or capture.exclude
    ):
        out.append(
            error(
                "ambient-capture",
                ("capture",),
                "capture ranges have no effect in ambient: ztunnel reads neither "
                "includeIPRanges nor excludeIPRanges (only sidecars do)",
                "remove `capture`; in ambient the NetworkPolicies egressctl renders per "
                "enrolled namespace are the lockdown",
            )
        )
    for svc in inv.services:
        if ambient.is_wildcard(svc):
            out.extend(_wildcard(svc, istio))
        for i, p in enumerate(svc.ports if svc.was_read(Part.PORTS) else ()):
            o = p.originate
            if o is not None and (o.workload_selector or o.namespace):
                key = "workloadSelector" if o.workload_selector else "namespace"
                out.append(
                    error(
                        "ambient-originate-selector",
                        ("services", svc.name, "ports", i, "originate", key),
                        "in ambient the waypoint opens TLS for every client: a rule for "
                        "some workloads, or in their namespace, has no effect",
                        f"remove `{key}`; a `credentialName` secret must then be in the "
                        f"egress namespace {env.ambient.namespace!r}",
                    )
                )
        if svc.via is not None:
            out.append(
                warning(
                    "ambient-via",
                    ("services", svc.name, "via"),
                    f"in ambient every service leaves through the waypoint "
                    f"{env.ambient.namespace}/{env.ambient.waypoint}: `via: {svc.via}` is "
                    "not used",
                    "drop `via` for this environment (an `egress:` override), or run it with "
                    "`dataplane: sidecar`",
                )
            )
    out.extend(_lockdown(env))
    out.extend(_service_accounts(env))
    return out


def _service_accounts(env: Environment) -> Iterator[Problem]:
    """A waypoint knows pods by identity: a workload allowlist without its service
    account would name the wrong pods in the AuthorizationPolicies — and the pods it
    should keep out of a service would get in (fail open)."""
    for ns in env.inventory.namespaces:
        for w in ns.workloads:
            if w.service_account is None:
                yield error(
                    "ambient-service-account-missing",
                    ("namespaces", ns.name, "workloads", w.name),
                    f"in ambient the waypoint tells workload {w.name!r} from the rest of "
                    f"{ns.name!r} by its service account, not by its labels",
                    "write `serviceAccount: NAME` (the ServiceAccount its pods run as)",
                )


def _lockdown(env: Environment) -> Iterator[Problem]:
    """Under REGISTRY_ONLY the NetworkPolicies are the lockdown: they need the namespaces
    they go in, and the cluster's ranges (else they cut in-cluster traffic)."""
    inv = env.inventory
    if not inv.was_read(Part.POLICY):
        return
    known = ambient.enrolled(inv, env.ambient)
    locked = [n for n in known if ambient.namespace_policy(inv, n) is Policy.REGISTRY_ONLY]
    if inv.policy is Policy.REGISTRY_ONLY and not known:
        yield error(
            "ambient-lockdown-unknown",
            ("dataplane",),
            "REGISTRY_ONLY in ambient is enforced by a NetworkPolicy in each enrolled "
            "namespace, and no enrolled namespace is known: nothing would stop direct egress "
            "(ztunnel ignores outboundTrafficPolicy)",
            "list them under `ambient.enrolled` here, or under `namespaces:` in the inventory",
            layer=env.file,
        )
    cluster = env.cluster
    if locked and not (cluster.pod_cidrs or cluster.service_cidrs):
        yield error(
            "ambient-cluster-ranges",
            ("dataplane",),
            f"the lockdown NetworkPolicies of {', '.join(locked)} need the cluster's ranges: "
            "without them they cut every in-cluster connection but DNS, istiod and the "
            "waypoint",
            "add `cluster: {podCIDRs: [...], serviceCIDRs: [...]}` to this file",
            layer=env.file,
        )
