"""Rules over the parsed inventory: Istio's own, and conflicts across entries.

Pure: takes the model, returns findings.  The loader has already checked types and
spellings; what is here needs the whole service (or the whole inventory) to decide.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from egressctl.errors import Finding, Loc, Severity
from egressctl.model import HTTP_FAMILY, TLS_FAMILY, Inventory, Policy, Resolution, Service

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def is_dns1123_label(value: str) -> bool:
    return len(value) <= 63 and bool(_DNS1123_LABEL.match(value))


def host_problem(host: str) -> str | None:
    """Why ``host`` is not a valid ServiceEntry host (Istio's ValidateWildcardDomain), or
    None.  Only the first label may carry ``*`` (``*``, ``*foo``, ``*-foo``)."""
    if not host:
        return "host is empty"
    if host == "*":
        return "`*` alone is not a valid host"
    if len(host) > 255:
        return f"host is {len(host)} characters long; the limit is 255"
    labels = host.split(".")
    first, rest = labels[0], labels[1:]
    if "*" in first:
        first = first[1:]
        if "*" in first:
            return "`*` may only start the first label"
        first = "a" + first  # `*`, `*foo` and `*-foo` are all allowed first labels
    for label in [first, *rest]:
        if "*" in label:
            return "a wildcard `*` is only allowed in the first label"
        if not label:
            return "host has an empty label (two dots, or a leading or trailing dot)"
        if not is_dns1123_label(label):
            return f"label {label!r} is not a DNS label (a-z, 0-9 and '-', at most 63)"
    if len(labels) > 1 and labels[-1].isdigit():
        return "the last label cannot be all digits (an IP is not a host name)"
    return None


def validate_inventory(inv: Inventory) -> list[Finding]:
    findings: list[Finding] = []
    for svc in inv.services:
        findings.extend(_service_rules(svc))
    findings.extend(_cross_rules(inv))
    if inv.policy is Policy.REGISTRY_ONLY and not inv.services:
        findings.append(
            Finding(
                "registry-only-empty",
                Severity.WARNING,
                Loc(inv.sources[-1] if inv.sources else ""),
                "policy",
                "REGISTRY_ONLY with no services blocks all egress from the mesh",
                "add the external services pods need, or use ALLOW_ANY",
            )
        )
    return findings


def _err(code: str, loc: Loc, path: str, message: str, hint: str = "") -> Finding:
    return Finding(code, Severity.ERROR, loc, path, message, hint)


def _warn(code: str, loc: Loc, path: str, message: str, hint: str = "") -> Finding:
    return Finding(code, Severity.WARNING, loc, path, message, hint)


def _service_rules(svc: Service) -> Iterator[Finding]:
    path = f"services.{svc.name}"
    if not is_dns1123_label(svc.name):
        yield _err(
            "name-invalid",
            svc.loc,
            path,
            f"service name {svc.name!r} is not a DNS-1123 label",
            "use lowercase letters, digits and '-', at most 63, e.g. "
            + (re.sub(r"[^a-z0-9-]+", "-", svc.name.lower()).strip("-")[:63] or "api-example"),
        )
    locs = svc.host_locs or tuple(svc.loc for _ in svc.hosts)
    for i, (host, loc) in enumerate(zip(svc.hosts, locs, strict=False)):
        problem = host_problem(host)
        if problem:
            yield _err("host-invalid", loc, f"{path}.hosts[{i}]", f"{host!r}: {problem}")
        elif "*" in host and svc.resolution in (Resolution.DNS, Resolution.DNS_ROUND_ROBIN):
            yield _err(
                "wildcard-with-dns",
                loc,
                f"{path}.hosts[{i}]",
                f"wildcard host {host!r} cannot use resolution {svc.resolution.value}",
                "use `resolution: NONE` (the default for wildcard hosts)",
            )
    seen_hosts: set[str] = set()
    for i, (host, loc) in enumerate(zip(svc.hosts, locs, strict=False)):
        if host in seen_hosts:
            yield _err("host-repeated", loc, f"{path}.hosts[{i}]", f"host {host!r} is listed twice")
        seen_hosts.add(host)
    numbers: dict[int, int] = {}
    names: dict[str, int] = {}
    for i, port in enumerate(svc.ports):
        ppath = f"{path}.ports[{i}]"
        if port.number in numbers:
            yield _err("port-duplicate", port.loc, ppath, f"port {port.number} already defined")
        numbers.setdefault(port.number, i)
        if not is_dns1123_label(port.name):
            yield _err(
                "port-name-invalid",
                port.loc,
                ppath,
                f"port name {port.name!r} is not a DNS-1123 label",
            )
        elif port.name in names:
            yield _err(
                "port-name-duplicate",
                port.loc,
                ppath,
                f"port name {port.name!r} already defined",
            )
        names.setdefault(port.name, i)
    if len(svc.hosts) > 1 and svc.resolution is not Resolution.NONE:
        for i, port in enumerate(svc.ports):
            if port.protocol not in HTTP_FAMILY | TLS_FAMILY:
                yield _err(
                    "multi-host-non-http",
                    port.loc,
                    f"{path}.ports[{i}]",
                    f"{port.protocol} port {port.number} with several hosts and resolution "
                    f"{svc.resolution.value}: Istio cannot tell the hosts apart",
                    "split the service into one service per host",
                )
    for i, port in enumerate(svc.ports):
        if port.number == 443 and port.protocol in HTTP_FAMILY:
            yield _warn(
                "port-443-plaintext",
                port.loc,
                f"{path}.ports[{i}]",
                f"port 443 declared {port.protocol}: TLS traffic will fail (404/502)",
                "write 443/https, or use TLS origination if the app speaks plain HTTP",
            )
        if port.number == 80 and port.protocol in TLS_FAMILY:
            yield _warn(
                "port-80-tls",
                port.loc,
                f"{path}.ports[{i}]",
                f"port 80 declared {port.protocol}: plain HTTP will be reset",
                "write 80/http",
            )


def _cross_rules(inv: Inventory) -> Iterator[Finding]:
    owners: dict[str, Service] = {}
    for svc in inv.services:
        locs = svc.host_locs or tuple(svc.loc for _ in svc.hosts)
        for i, (host, loc) in enumerate(zip(svc.hosts, locs, strict=False)):
            first = owners.get(host)
            if first is not None and first.name != svc.name:
                yield _err(
                    "host-duplicate",
                    loc,
                    f"services.{svc.name}.hosts[{i}]",
                    f"host {host!r} is also registered by service {first.name!r} "
                    f"({first.loc}); Istio merges or shadows such entries unpredictably",
                    "keep each host in one service and list all its ports there",
                )
            owners.setdefault(host, svc)
