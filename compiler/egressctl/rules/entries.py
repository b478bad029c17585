"""Rules for one service at a time: Istio's own (hosts, ports, addresses, endpoints,
exportTo, TLS origination) and the API server's (annotation size).  Pure: model in,
problems with key paths out.

A service may be read in part (:class:`~egressctl.inventory.model.Part`): each rule runs
when the parts it needs were read, so one run reports every problem."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

from egressctl.errors import Anchor, KeyPath, Problem, error, warning
from egressctl.inventory.arguments import namespace_problem
from egressctl.inventory.model import (
    HTTP_FAMILY,
    TLS_FAMILY,
    Part,
    Port,
    Resolution,
    Service,
    TlsMode,
)
from egressctl.inventory.names import is_dns1123_label, is_ip
from egressctl.rules.hosts import UrlAsHost, host_problem, public_suffix_wildcard, url_as_host


def service_rules(svc: Service) -> Iterator[Problem]:
    """Every problem of one service, in the order its keys are usually written."""
    base: KeyPath = ("services", svc.name)
    if not is_dns1123_label(svc.name):
        suggestion = re.sub(r"[^a-z0-9-]+", "-", svc.name.lower()).strip("-")[:63]
        yield error(
            "name-invalid",
            base,
            f"service name {svc.name!r} is not a DNS-1123 label",
            f"use lowercase letters, digits and '-', at most 63, e.g. "
            f"{suggestion or 'api-example'}",
            anchor=Anchor.KEY,
        )
    if svc.was_read(Part.HOSTS):
        yield from _host_rules(svc, base)
    if svc.was_read(Part.PORTS):
        yield from _port_rules(svc, base)
    if svc.was_read(Part.ADDRESSES):
        yield from _address_rules(svc, base)
    if svc.was_read(Part.ENDPOINTS, Part.RESOLUTION):
        yield from _endpoint_rules(svc, base)
    if svc.was_read(Part.EXPORT_TO):
        yield from _export_rules(svc.export_to, (*base, "exportTo"), allow_tilde=True)
    yield from _annotation_rules(svc, base)


# The API server's limit on all annotations of one object, keys included
# (apimachinery ValidateAnnotationsSize: TotalAnnotationSizeLimitB).
ANNOTATIONS_MAX_BYTES = 256 * 1024


def _annotation_rules(svc: Service, base: KeyPath) -> Iterator[Problem]:
    """owner, reason and ticket become annotations ``egressctl.io/KEY`` of every object
    made for the service; the API server refuses more than 256 KiB of annotations."""
    sizes = {
        key: len(f"egressctl.io/{key}".encode()) + len(value.encode())
        for key, value in (("owner", svc.owner), ("reason", svc.reason), ("ticket", svc.ticket))
        if value
    }
    total = sum(sizes.values())
    if total > ANNOTATIONS_MAX_BYTES:
        largest = max(sizes, key=lambda k: sizes[k])
        yield error(
            "annotations-too-large",
            (*base, largest),
            f"owner, reason and ticket make annotations of {total:,} bytes (keys included); "
            f"the API server accepts at most {ANNOTATIONS_MAX_BYTES:,} per object",
            "keep audit metadata short: link to the ticket instead of pasting it",
        )


def _host_rules(svc: Service, base: KeyPath) -> Iterator[Problem]:
    seen: set[str] = set()
    for i, host in enumerate(svc.hosts):
        path = host_path(base, svc, i)
        problem = host_problem(host)
        url = url_as_host(host) if problem else None
        if url is not None:
            yield _url_as_host(svc, path, host, url)
        elif host == "*":
            yield error(
                "host-star",
                path,
                "`*` is not a valid ServiceEntry host",
                "list the hosts, or use `policy: ALLOW_ANY` to let everything out",
            )
        elif problem:
            yield error("host-invalid", path, f"{host!r}: {problem}")
        elif "*" in host:
            if (
                svc.was_read(Part.RESOLUTION, Part.ENDPOINTS)
                and svc.resolution in (Resolution.DNS, Resolution.DNS_ROUND_ROBIN)
                and not svc.endpoints
            ):
                yield error(
                    "wildcard-with-dns",
                    path,
                    f"wildcard host {host!r} cannot use resolution {svc.resolution.value}",
                    "use `resolution: NONE` (the default for wildcard hosts)",
                )
            if not host.startswith("*.") and host != "*":
                yield warning(
                    "host-partial-wildcard",
                    path,
                    f"{host!r} is a partial wildcard: it also matches hosts that "
                    "merely end the same way",
                    f"write *.{host.lstrip('*').lstrip('.-')} if that is meant",
                )
            suffix = public_suffix_wildcard(host)
            if suffix is not None:
                yield warning(
                    "wildcard-public-suffix",
                    path,
                    f"{host!r} covers every site under the public suffix {suffix!r}",
                    "name the organisation's domain, e.g. *.example.com",
                )
        if host in seen:
            yield error("host-repeated", path, f"host {host!r} is listed twice")
        seen.add(host)


def _url_as_host(svc: Service, path: KeyPath, host: str, url: UrlAsHost) -> Problem:
    """`host-has-scheme` / `host-has-port`, with the spelling that was meant as hint."""
    name = f"'{url.host}'" if url.host.startswith("*") else url.host
    hint = f"write `host: {name}`" if svc.single_host else f"write `{name}` in `hosts`"
    listed = svc.was_read(Part.PORTS) and any(p.number == url.port for p in svc.ports)
    if url.port is not None and listed:
        hint += f" (port {url.port} is already listed under `ports:`)"
    elif url.port is not None and url.protocol is not None:
        hint += f" and `ports: [{url.port}/{url.protocol}]`"
    elif url.port is not None:
        hint += f" and `ports: [{url.port}/tcp]` (or the protocol it speaks: tls, http …)"
    if url.scheme is not None:
        return error(
            "host-has-scheme",
            path,
            f"{host!r} is a URL, not a host: a host is the name alone, without "
            f"`{url.scheme}://`, port or path",
            hint,
        )
    return error(
        "host-has-port",
        path,
        f"{host!r} holds a port: a host is the name alone, and ports go under `ports:`",
        hint,
    )


def host_path(base: KeyPath, svc: Service, i: int) -> KeyPath:
    """Where host ``i`` of ``svc`` is written: `host:`, or an item of `hosts:`."""
    return (*base, "host") if svc.single_host else (*base, "hosts", i)


def _port_rules(svc: Service, base: KeyPath) -> Iterator[Problem]:
    numbers: set[int] = set()
    names: set[str] = set()
    for i, port in enumerate(svc.ports):
        path = (*base, "ports", i)
        if port.number in numbers:
            yield error(
                "port-duplicate",
                path,
                f"port {port.number} already defined",
                "list each port number once",
            )
        numbers.add(port.number)
        if not is_dns1123_label(port.name):
            yield error(
                "port-name-invalid", path, f"port name {port.name!r} is not a DNS-1123 label"
            )
        elif port.name in names:
            yield error("port-name-duplicate", path, f"port name {port.name!r} already defined")
        names.add(port.name)
        if port.number == 443 and port.protocol in HTTP_FAMILY:
            yield warning(
                "port-443-plaintext",
                path,
                f"port 443 declared {port.protocol}: TLS traffic will fail (404/502)",
                "write 443/https, or use TLS origination if the app speaks plain HTTP",
            )
        if port.number == 80 and port.protocol in TLS_FAMILY:
            yield warning(
                "port-80-tls",
                path,
                f"port 80 declared {port.protocol}: plain HTTP will be reset",
                "write 80/http",
            )
        if port.originate is not None:
            yield from _origination_rules(svc, port, path)
    if (
        svc.was_read(Part.HOSTS, Part.RESOLUTION)
        and len(svc.hosts) > 1
        and svc.resolution is not Resolution.NONE
    ):
        for i, port in enumerate(svc.ports):
            if port.protocol not in HTTP_FAMILY | TLS_FAMILY:
                yield error(
                    "multi-host-non-http",
                    (*base, "ports", i),
                    f"{port.protocol} port {port.number} with several hosts and "
                    f"resolution {svc.resolution.value}: Istio cannot tell the hosts "
                    "apart",
                    "split the service into one service per host",
                )


def _origination_rules(svc: Service, port: Port, path: KeyPath) -> Iterator[Problem]:
    o = port.originate
    if o is None:
        return
    opath = (*path, "originate")
    if port.protocol in TLS_FAMILY:
        yield error(
            "originate-on-tls",
            opath,
            f"port {port.number} is already {port.protocol}: the app speaks TLS itself",
            "originate TLS on the plain HTTP port the app uses, e.g. 80/http",
        )
    if svc.was_read(Part.HOSTS) and (len(svc.hosts) != 1 or "*" in svc.hosts[0]):
        yield error(
            "originate-host",
            opath,
            "TLS origination needs exactly one concrete host (the DestinationRule is per host)",
            "split the service, one host each",
        )
    needs = (
        ("credentialName", o.credential_name),
        ("workloadSelector", o.workload_selector),
        ("namespace", o.namespace),
    )
    missing = [f"`{key}`" for key, value in needs if not value]
    if o.mode is TlsMode.MUTUAL and missing:
        yield error(
            "originate-mutual",
            opath,
            f"MUTUAL origination needs {', '.join(missing)}",
            "the sidecars that workloadSelector picks in `namespace` read the client "
            "certificate from the secret credentialName in that namespace",
        )
    if o.namespace is not None:
        problem = namespace_problem(o.namespace)
        if problem:
            yield error("namespace-invalid", (*opath, "namespace"), problem)


def _address_rules(svc: Service, base: KeyPath) -> Iterator[Problem]:
    for i, addr in enumerate(svc.addresses):
        path = (*base, "addresses", i)
        try:
            net = ipaddress.ip_network(addr, strict=False)
        except ValueError:
            yield error("address-invalid", path, f"{addr!r} is not an IP address or CIDR")
            continue
        is_range = "/" in addr and net.num_addresses > 1
        if (
            is_range
            and svc.was_read(Part.RESOLUTION)
            and svc.resolution not in (Resolution.NONE, Resolution.STATIC)
        ):
            yield error(
                "address-cidr-resolution",
                path,
                f"CIDR {addr!r} needs resolution NONE or STATIC, not {svc.resolution.value}",
                "set `resolution: NONE`",
            )


def _endpoint_rules(svc: Service, base: KeyPath) -> Iterator[Problem]:
    eps = svc.endpoints
    if svc.resolution is Resolution.NONE and eps:
        yield error(
            "endpoints-with-none",
            (*base, "endpoints"),
            "resolution NONE cannot have endpoints",
            "use `resolution: STATIC` for IP endpoints, DNS for host names",
        )
    if svc.resolution is Resolution.STATIC and not eps:
        yield error(
            "static-needs-endpoints",
            (*base, "resolution"),
            "resolution STATIC needs at least one endpoint",
            "add `endpoints: [192.0.2.10]`, or use DNS resolution",
        )
    if svc.resolution is Resolution.DNS_ROUND_ROBIN and len(eps) > 1:
        yield error(
            "dns-rr-endpoints",
            (*base, "endpoints"),
            f"DNS_ROUND_ROBIN allows at most one endpoint, not {len(eps)}",
            "use resolution DNS for several endpoints",
        )
    port_names = {p.name for p in svc.ports} if svc.was_read(Part.PORTS) else None
    for i, ep in enumerate(eps):
        path = (*base, "endpoints", i)
        if svc.resolution is Resolution.STATIC and not is_ip(ep.address):
            yield error(
                "endpoint-not-ip",
                path,
                f"STATIC endpoint {ep.address!r} must be an IP address",
                "use resolution DNS for host-name endpoints",
            )
        elif svc.resolution in (Resolution.DNS, Resolution.DNS_ROUND_ROBIN) and not (
            is_ip(ep.address) or (host_problem(ep.address) is None and "*" not in ep.address)
        ):
            yield error(
                "endpoint-invalid",
                path,
                f"endpoint {ep.address!r} must be an IP address or an FQDN",
            )
        for name, _ in ep.ports:
            if port_names is not None and name not in port_names:
                yield error(
                    "endpoint-port-unknown",
                    (*path, "ports", name),
                    f"endpoint port {name!r} is not defined by the service",
                    f"the service's ports are named {', '.join(sorted(port_names))}",
                )


def _export_rules(
    export_to: tuple[str, ...], path: KeyPath, allow_tilde: bool
) -> Iterator[Problem]:
    seen: set[str] = set()
    for i, entry in enumerate(export_to):
        special = {".", "*"} | ({"~"} if allow_tilde else set())
        if entry not in special and not is_dns1123_label(entry):
            yield error(
                "export-to-invalid",
                (*path, i),
                f"{entry!r} is not `.`, `*`, `~` or a namespace name",
            )
        elif entry in ("*", "~") and len(export_to) > 1:
            yield error("export-to-alone", (*path, i), f"{entry!r} must be the only exportTo entry")
        if entry in seen:
            yield error("export-to-duplicate", (*path, i), f"{entry!r} is listed twice")
        seen.add(entry)
