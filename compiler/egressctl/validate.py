"""Rules over the parsed inventory: Istio's own, conflicts across entries, risky policy.

Pure: takes the model, returns :class:`Problem` objects with key paths (the loader
locates them).  Every rule has a stable code, listed in :data:`RULES` with an example of
what triggers it; the README's rule table is generated from that list.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from egressctl.errors import Anchor, KeyPath, Problem, error, warning
from egressctl.model import (
    HTTP_FAMILY,
    OPAQUE,
    TLS_FAMILY,
    Capture,
    ClusterRanges,
    Inventory,
    IPNetwork,
    Policy,
    Port,
    Resolution,
    Service,
    TlsMode,
)

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")

# Suffixes under which anyone can register names: a wildcard this broad lets pods reach
# the whole internet.  Any single label (`*.com`) counts too.
PUBLIC_SUFFIXES = frozenset(
    """
    co.uk org.uk ac.uk gov.uk me.uk net.uk ltd.uk plc.uk com.au net.au org.au edu.au
    gov.au co.nz org.nz co.jp ne.jp or.jp ac.jp go.jp com.br net.br org.br com.cn net.cn
    org.cn gov.cn com.hk com.sg com.tw com.tr com.mx co.in net.in org.in co.kr or.kr
    co.za org.za com.ar com.co com.pe com.ua co.il co.id com.my com.ph com.vn com.pl
    github.io githubusercontent.com gitlab.io herokuapp.com amazonaws.com
    s3.amazonaws.com cloudfront.net elasticbeanstalk.com azurewebsites.net
    cloudapp.net blob.core.windows.net appspot.com blogspot.com firebaseapp.com
    web.app vercel.app netlify.app pages.dev workers.dev fly.dev onrender.com
    ngrok.io ngrok-free.app trycloudflare.com
    """.split()
)


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    severity: str
    summary: str
    example: str


RULES: tuple[Rule, ...] = (
    # The file itself (loader and parse)
    Rule("yaml-syntax", "error", "YAML that does not parse", "`services: [`"),
    Rule("yaml-tab", "error", "a tab used for indentation", "`services:\\n\\ta: …`"),
    Rule(
        "duplicate-key", "error", "the same key twice in one mapping", "`policy: A` … `policy: B`"
    ),
    Rule(
        "yaml-tag",
        "error",
        "a YAML tag that would construct an object",
        "`!!python/object/apply:os.system`",
    ),
    Rule("yaml-alias-bomb", "error", "aliases that expand past a bound", "nested `&a [*b, *b, …]`"),
    Rule("yaml-type", "error", "a date, binary or set value", "`ticket: 2024-01-01`"),
    Rule("not-utf8", "error", "bytes that are not UTF-8", "a Latin-1 `é`"),
    Rule("file-too-large", "error", "a file over 64 MiB", "a 100 MB inventory"),
    Rule(
        "file-missing",
        "error",
        "a file that does not exist (path as written and as looked for)",
        "`inventory: [nope.yaml]`",
    ),
    Rule("file-unreadable", "error", "a file that cannot be read", "no read permission"),
    Rule(
        "file-not-regular",
        "error",
        "a device, FIFO or socket where a file is expected",
        "`inventory: [/dev/zero]`",
    ),
    Rule("empty-file", "error", "an empty file", "a file with only comments"),
    Rule("wrong-type", "error", "a value of the wrong type", "`host: [a.com]`"),
    Rule("key-type", "error", "a mapping key that is not a string", "`80: http`"),
    Rule("unknown-key", "error", "an unknown key, with a did-you-mean suggestion", "`port: [80]`"),
    Rule("key-missing", "error", "a required key is missing", "a service without `host`"),
    Rule("inventory-empty", "error", "an environment that lists no inventory", "`inventory: []`"),
    Rule(
        "inventory-blank",
        "error",
        "an inventory file with neither `services` nor `policy` (unless the environment "
        "sets `allowEmptyInventory: true`)",
        "`{}`, or a file that is not an inventory",
    ),
    Rule(
        "env-name-invalid",
        "error",
        "an environment file whose name is not a DNS-1123 label (it becomes a label value "
        "and the folder build/NAME)",
        "`values/Prod_EU.yaml`",
    ),
    Rule(
        "namespace-invalid",
        "error",
        "a namespace that is not a DNS-1123 label",
        "`namespace: 'kube-system # x'`",
    ),
    Rule(
        "context-invalid",
        "error",
        "a kube context that is empty, holds whitespace or control characters, or starts with `-`",
        "`context: --kubeconfig=/tmp/x`",
    ),
    Rule(
        "kubeconfig-invalid",
        "error",
        "a kubeconfig path that is empty or holds a NUL or line break",
        '`kubeconfig: "a\\nb"`',
    ),
    Rule(
        "istio-release-invalid",
        "error",
        "an Istio release that is not a Helm release name (DNS-1123, at most 53)",
        "`release: --post-renderer=x.sh`",
    ),
    Rule(
        "istio-chart-invalid",
        "error",
        "an Istio chart that starts with `-` or holds control characters (or whitespace, "
        "for a chart name in `repo`)",
        "`chart: --set-string=a=b`",
    ),
    Rule(
        "istio-repo-invalid",
        "error",
        "an Istio chart repository that is not an http(s):// or oci:// URL without whitespace",
        "`repo: file:///etc`",
    ),
    Rule(
        "istio-version-invalid",
        "error",
        "an Istio chart version that is not a semver (range) string",
        "`version: --devel`",
    ),
    Rule(
        "istio-revision-invalid",
        "error",
        "an Istio revision that is not a DNS-1123 label",
        "`revision: Canary`",
    ),
    Rule(
        "istio-values-invalid",
        "error",
        "an Istio values file path that starts with `-` or holds control characters",
        "`values: [-f]`",
    ),
    Rule(
        "istio-version-without-repo",
        "error",
        "`istio.version` without `istio.repo`",
        "`istio: {chart: ./istiod, version: 1.28.0}`",
    ),
    Rule(
        "api-version-invalid",
        "error",
        "an unknown networking API version",
        "`networkingApiVersion: v2`",
    ),
    # Values
    Rule(
        "policy-invalid", "error", "policy other than ALLOW_ANY / REGISTRY_ONLY", "`policy: BLOCK`"
    ),
    Rule("resolution-invalid", "error", "an unknown resolution", "`resolution: STRICT_DNS`"),
    Rule("location-invalid", "error", "an unknown location", "`location: EXTERNAL`"),
    Rule("tls-mode-invalid", "error", "an unknown TLS origination mode", "`originate: ISTIO`"),
    Rule("port-spelling", "error", "a port that is not PORT/PROTOCOL or a mapping", "`https:443`"),
    Rule("port-range", "error", "a port number outside 1..65535", "`70000/tcp`"),
    Rule("port-protocol-missing", "error", "a bare port other than 80/443", "`8443`"),
    Rule("port-protocol-invalid", "error", "a protocol Istio does not know", "`443/htps`"),
    Rule("ports-empty", "error", "a service with no ports", "`ports: []`"),
    Rule("host-and-hosts", "error", "both `host` and `hosts`", "`host: a` and `hosts: [b]`"),
    Rule("hosts-empty", "error", "an empty host list", "`hosts: []`"),
    Rule("cidr-invalid", "error", "a CIDR that does not parse", "`10.0.0.0/33`"),
    Rule(
        "cidr-host-bits",
        "warning",
        "a CIDR with host bits set (the network is used)",
        "`10.1.2.3/8`",
    ),
    # Istio's rules for one service
    Rule("name-invalid", "error", "a service name that is not a DNS-1123 label", "`Bad_Name:`"),
    Rule(
        "host-invalid",
        "error",
        "a host that is not a valid (wildcard) domain",
        "`a..com`, `a.*.com`, `x.123`",
    ),
    Rule("host-star", "error", "the bare host `*`", "`host: '*'`"),
    Rule(
        "host-partial-wildcard",
        "warning",
        "a partial wildcard such as `*foo.com`",
        "`host: '*foo.example.com'`",
    ),
    Rule("host-repeated", "error", "the same host twice in one service", "`hosts: [a, a]`"),
    Rule(
        "wildcard-with-dns",
        "error",
        "a wildcard host with DNS resolution",
        "`*.a.com` + `resolution: DNS`",
    ),
    Rule(
        "wildcard-public-suffix",
        "warning",
        "a wildcard as broad as a public suffix",
        "`*.com`, `*.co.uk`",
    ),
    Rule(
        "port-duplicate",
        "error",
        "the same port number twice in a service",
        "`[443/https, 443/tls]`",
    ),
    Rule(
        "port-name-invalid",
        "error",
        "a port name that is not a DNS-1123 label",
        "`{number: 80, protocol: http, name: Web_1}`",
    ),
    Rule(
        "port-name-duplicate",
        "error",
        "the same port name twice in a service",
        "two ports named `web`",
    ),
    Rule(
        "multi-host-non-http",
        "error",
        "several hosts with a non-HTTP/TLS port and resolution other than NONE",
        "`hosts: [a, b]` + `5432/tcp`",
    ),
    Rule("address-invalid", "error", "an address that is not an IP or CIDR", "`addresses: [db]`"),
    Rule(
        "address-cidr-resolution",
        "error",
        "a CIDR address with resolution other than NONE/STATIC",
        "`addresses: [10.0.0.0/8]` + `resolution: DNS`",
    ),
    Rule(
        "endpoints-with-none",
        "error",
        "endpoints with resolution NONE",
        "`resolution: NONE` + `endpoints: [1.2.3.4]`",
    ),
    Rule(
        "static-needs-endpoints",
        "error",
        "resolution STATIC without endpoints",
        "`resolution: STATIC`",
    ),
    Rule(
        "endpoint-not-ip",
        "error",
        "a STATIC endpoint that is not an IP",
        "`endpoints: [db.example.com]`",
    ),
    Rule(
        "endpoint-invalid",
        "error",
        "a DNS endpoint that is neither an IP nor an FQDN",
        "`endpoints: ['a..b']`",
    ),
    Rule(
        "dns-rr-endpoints",
        "error",
        "more than one endpoint with DNS_ROUND_ROBIN",
        "two endpoints + `resolution: DNS_ROUND_ROBIN`",
    ),
    Rule(
        "endpoint-port-unknown",
        "error",
        "an endpoint port name the service does not define",
        "`ports: {grpc: 9000}` on an http-only service",
    ),
    Rule(
        "export-to-invalid",
        "error",
        "an exportTo entry that is not `.`, `*`, `~` or a namespace",
        "`exportTo: [Team_A]`",
    ),
    Rule(
        "export-to-alone",
        "error",
        "`*` or `~` together with other exportTo entries",
        "`exportTo: ['*', team-a]`",
    ),
    Rule("export-to-duplicate", "error", "the same exportTo entry twice", "`[team-a, team-a]`"),
    Rule(
        "originate-on-tls",
        "error",
        "TLS origination on a port that is already TLS",
        "`{number: 443, protocol: https, originate: SIMPLE}`",
    ),
    Rule(
        "originate-host",
        "error",
        "TLS origination on a service without exactly one concrete host",
        "`hosts: [a, b]` + `originate`",
    ),
    Rule(
        "originate-mutual",
        "error",
        "MUTUAL origination without credentialName, workloadSelector and namespace",
        "`originate: MUTUAL`",
    ),
    Rule(
        "sni-outside-hosts",
        "error",
        "a TLS route SNI host outside the route's hosts",
        "(a hand-edited plan)",
    ),
    Rule("port-443-plaintext", "warning", "port 443 declared HTTP-family", "`443/http`"),
    Rule("port-80-tls", "warning", "port 80 declared HTTPS/TLS", "`80/https`"),
    Rule(
        "annotations-too-large",
        "error",
        "owner, reason and ticket over the API server's 256 KiB for all annotations",
        "a 300 KB `reason`",
    ),
    # Across entries
    Rule("host-duplicate", "error", "the same host in two services", "`a.com` in `a` and `b`"),
    Rule(
        "protocol-conflict",
        "error",
        "the same host (or a covering wildcard) and port with different protocols",
        "`*.a.com 443/tls` and `x.a.com 443/http`",
    ),
    Rule(
        "tcp-port-shared",
        "error",
        "opaque (TCP-like) ports of hostname services sharing a number, without addresses",
        "`db1 5432/tcp` and `db2 5432/tcp`",
    ),
    Rule(
        "wildcard-covers",
        "warning",
        "a wildcard that covers another service's host",
        "`*.a.com` and `x.a.com`",
    ),
    # Policy and capture
    Rule(
        "registry-only-empty",
        "warning",
        "REGISTRY_ONLY with no services",
        "`policy: REGISTRY_ONLY` alone",
    ),
    Rule(
        "capture-none",
        "warning",
        "`include: []`: sidecars capture no outbound traffic",
        "`capture: {include: []}`",
    ),
    Rule("exclude-everything", "error", "excluding 0.0.0.0/0 or ::/0", "`exclude: [0.0.0.0/0]`"),
    Rule(
        "capture-overlap",
        "warning",
        "include and exclude ranges that overlap",
        "`include: [10.0.0.0/8]`, `exclude: [10.1.0.0/16]`",
    ),
    Rule(
        "capture-misses-cluster",
        "error",
        "an include list that leaves out a declared cluster range",
        "`include: [10.96.0.0/12]` with podCIDRs 10.244.0.0/16",
    ),
    Rule(
        "capture-cuts-cluster",
        "error",
        "an exclude range inside a declared cluster range",
        "`exclude: [10.244.1.0/24]` with podCIDRs 10.244.0.0/16",
    ),
    # Rendered objects (`check --crds`)
    Rule(
        "crd-schema",
        "error",
        "a rendered object the CRD schema rejects (or a version it does not serve)",
        "`networkingApiVersion: v1` against Istio 1.20 CRDs",
    ),
    Rule(
        "crd-rule",
        "error",
        "a rendered object that fails a CRD's CEL rule",
        "a rule of your Istio release that egressctl does not know yet",
    ),
)
RULE_CODES = frozenset(r.code for r in RULES)


def is_dns1123_label(value: str) -> bool:
    return len(value) <= 63 and bool(_DNS1123_LABEL.fullmatch(value))


# ---------------------------------------------------------------------------
# Values egressctl hands to helm, kubectl and labels.  Each predicate returns why a value
# is refused, or None.  Values never become flags (argv puts `--` before positional
# arguments and writes `--flag=VALUE`), but they are also refused here, with a position.

HELM_RELEASE_MAX = 53
_HELM_RELEASE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_REPO_URL = re.compile(r"(?:https?|oci)://[^\s\x00-\x1f\x7f]+", re.IGNORECASE)
_CHART_VERSION = re.compile(r"[0-9A-Za-z.+~^*<>=, |-]+")
_DNS_LABEL_HINT = "lowercase letters, digits and '-', starting and ending with a letter or digit"


def _unprintable(value: str) -> bool:
    """Control characters, line breaks, tabs, NUL, Unicode separators: all but a plain
    space and printable characters."""
    return not value.isprintable()


def namespace_problem(value: str) -> str | None:
    if is_dns1123_label(value):
        return None
    return f"{value!r} is not a namespace name ({_DNS_LABEL_HINT}, at most 63)"


def env_name_problem(name: str) -> str | None:
    if is_dns1123_label(name):
        return None
    return (
        f"environment name {name!r} (this file's name) is not a DNS-1123 label "
        f"({_DNS_LABEL_HINT}, at most 63): it labels every object and names build/{name}"
    )


def context_problem(value: str) -> str | None:
    if not value:
        return "the kube context is empty"
    if value.startswith("-"):
        return f"{value!r} starts with '-' (it could be taken for a flag)"
    if " " in value or _unprintable(value):
        return f"{value!r} holds whitespace or control characters"
    return None


def path_problem(value: str, what: str) -> str | None:
    """A path handed to a tool: not empty, no NUL or line breaks."""
    if not value:
        return f"the {what} is empty"
    if any(c in "\x00\r\n" for c in value):
        return f"the {what} {value!r} holds a NUL or line break"
    return None


def argument_problem(value: str, what: str, *, spaces: bool = True) -> str | None:
    """A word helm reads as a positional argument: a path, or a name (``spaces=False``)."""
    if not value:
        return f"the {what} is empty"
    if value.startswith("-"):
        return f"the {what} {value!r} starts with '-' (it could be taken for a flag)"
    if _unprintable(value) or (not spaces and " " in value):
        kind = "control characters" if spaces else "whitespace or control characters"
        return f"the {what} {value!r} holds {kind}"
    return None


def release_problem(value: str) -> str | None:
    if len(value) <= HELM_RELEASE_MAX and _HELM_RELEASE.fullmatch(value):
        return None
    return (
        f"{value!r} is not a Helm release name (lowercase letters, digits, '-' and '.', "
        f"starting and ending with a letter or digit, at most {HELM_RELEASE_MAX})"
    )


def revision_problem(value: str) -> str | None:
    if is_dns1123_label(value):
        return None
    return f"{value!r} is not an Istio revision ({_DNS_LABEL_HINT}, at most 63)"


def repo_problem(value: str) -> str | None:
    if _REPO_URL.fullmatch(value):
        return None
    return f"{value!r} is not an http://, https:// or oci:// URL without whitespace"


def version_problem(value: str) -> str | None:
    if value and not value.startswith("-") and _CHART_VERSION.fullmatch(value):
        return None
    return (
        f"{value!r} is not a chart version: a semver or range such as 1.28.0, ~1.28 or "
        "'>=1.27, <1.29' (digits, letters and . + ~ ^ * < > = , | - and spaces; not "
        "starting with '-')"
    )


def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


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
        return (
            "the last label cannot be all digits (an IP is not a host name: give the "
            "service a name as host and the IP under `addresses`)"
        )
    return None


def covers(pattern: str, host: str) -> bool:
    """Whether wildcard ``pattern`` (``*.a.com``, ``*a.com``) matches ``host``."""
    if not pattern.startswith("*") or pattern == host:
        return False
    suffix = pattern[1:]
    return host.endswith(suffix) and len(host) > len(suffix)


def public_suffix_wildcard(host: str) -> str | None:
    if not host.startswith("*."):
        return None
    rest = host[2:]
    if "." not in rest or rest in PUBLIC_SUFFIXES:
        return rest
    return None


def validate_inventory(inv: Inventory) -> list[Problem]:
    out: list[Problem] = []
    for svc in inv.services:
        out.extend(_service_rules(svc))
    out.extend(_cross_rules(inv))
    out.extend(_capture_rules(inv.capture))
    if inv.policy is Policy.REGISTRY_ONLY and not inv.services:
        out.append(
            warning(
                "registry-only-empty",
                ("policy",),
                "REGISTRY_ONLY with no services blocks all egress from the mesh",
                "add the external services pods need, or use ALLOW_ANY",
            )
        )
    return out


def _service_rules(svc: Service) -> Iterator[Problem]:
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
    yield from _host_rules(svc, base)
    yield from _port_rules(svc, base)
    yield from _address_rules(svc, base)
    yield from _endpoint_rules(svc, base)
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
        path = _hpath(base, svc, i)
        problem = host_problem(host)
        if host == "*":
            yield error(
                "host-star",
                path,
                "`*` is not a valid ServiceEntry host",
                "list the hosts, or use `policy: ALLOW_ANY` to let everything out",
            )
        elif problem:
            yield error("host-invalid", path, f"{host!r}: {problem}")
        elif "*" in host:
            if svc.resolution in (Resolution.DNS, Resolution.DNS_ROUND_ROBIN) and (
                not svc.endpoints
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


def _hpath(base: KeyPath, svc: Service, i: int) -> KeyPath:
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
    if len(svc.hosts) > 1 and svc.resolution is not Resolution.NONE:
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
    if len(svc.hosts) != 1 or "*" in svc.hosts[0]:
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
        if is_range and svc.resolution not in (Resolution.NONE, Resolution.STATIC):
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
    port_names = {p.name for p in svc.ports}
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
            if name not in port_names:
                yield error(
                    "endpoint-port-unknown",
                    (*path, "ports", name),
                    f"endpoint port {name!r} is not defined by the service",
                    f"the service's ports are named {', '.join(sorted(port_names))}",
                )


_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _export_rules(
    export_to: tuple[str, ...], path: KeyPath, allow_tilde: bool
) -> Iterator[Problem]:
    seen: set[str] = set()
    for i, entry in enumerate(export_to):
        special = {".", "*"} | ({"~"} if allow_tilde else set())
        if entry not in special and not (len(entry) <= 63 and _NAMESPACE.fullmatch(entry)):
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


class _Wildcards:
    """Wildcard hosts indexed by suffix, so finding the wildcards that cover a host costs
    one dictionary look-up per label instead of a scan of every wildcard."""

    def __init__(self, services: tuple[Service, ...]) -> None:
        self.by_suffix: dict[str, list[tuple[str, Service]]] = {}
        self.partial: list[tuple[str, Service]] = []  # `*foo.com`: rare, scanned
        for svc in services:
            for host in svc.hosts:
                if host.startswith("*."):
                    self.by_suffix.setdefault(host[2:], []).append((host, svc))
                elif host.startswith("*"):
                    self.partial.append((host, svc))

    def covering(self, host: str) -> Iterator[tuple[str, Service]]:
        rest = host
        while "." in rest:
            rest = rest.split(".", 1)[1]
            for pattern, svc in self.by_suffix.get(rest, ()):
                if pattern != host:
                    yield pattern, svc
        for pattern, svc in self.partial:
            if covers(pattern, host):
                yield pattern, svc


def _cross_rules(inv: Inventory) -> Iterator[Problem]:
    owners: dict[str, Service] = {}
    by_host_port: dict[tuple[str, int], tuple[Service, str]] = {}
    wildcards = _Wildcards(inv.services)
    shared: dict[int, Service] = {}
    for svc in inv.services:
        base: KeyPath = ("services", svc.name)
        for i, host in enumerate(svc.hosts):
            hpath = _hpath(base, svc, i)
            first = owners.setdefault(host, svc)
            if first.name != svc.name:
                yield error(
                    "host-duplicate",
                    hpath,
                    f"host {host!r} is also registered by service {first.name!r}; "
                    "Istio merges or shadows such entries unpredictably",
                    "keep each host in one service and list all its ports there",
                )
            for j, port in enumerate(svc.ports):
                other = by_host_port.setdefault((host, port.number), (svc, port.protocol))
                if other[0].name != svc.name and other[1] != port.protocol:
                    yield error(
                        "protocol-conflict",
                        (*base, "ports", j),
                        f"{host}:{port.number} is {port.protocol} here but "
                        f"{other[1]} in service {other[0].name!r}",
                        "one host and port can carry only one protocol",
                    )
            for pattern, wsvc in wildcards.covering(host):
                if wsvc.name == svc.name:
                    continue
                yield warning(
                    "wildcard-covers",
                    hpath,
                    f"host {host!r} is also matched by wildcard {pattern!r} of "
                    f"service {wsvc.name!r}; Istio uses the more specific entry",
                    "make sure both entries agree on ports and protocols",
                )
                wild_ports = {wp.number: wp.protocol for wp in wsvc.ports}
                for j, port in enumerate(svc.ports):
                    theirs = wild_ports.get(port.number)
                    if theirs is not None and theirs != port.protocol:
                        yield error(
                            "protocol-conflict",
                            (*base, "ports", j),
                            f"{host}:{port.number} is {port.protocol} here but "
                            f"{theirs} under wildcard {pattern!r} of service "
                            f"{wsvc.name!r}",
                            "one host and port can carry only one protocol",
                        )
        if svc.addresses or svc.resolution not in (Resolution.DNS, Resolution.DNS_ROUND_ROBIN):
            continue
        for j, port in enumerate(svc.ports):
            if port.protocol not in OPAQUE:
                continue
            first_svc = shared.setdefault(port.number, svc)
            if first_svc.name != svc.name:
                yield error(
                    "tcp-port-shared",
                    (*base, "ports", j),
                    f"{port.protocol} port {port.number} is also used by service "
                    f"{first_svc.name!r}; without addresses Istio sends both to "
                    "whichever entry comes first (istio/istio#24937)",
                    "give each service `addresses:`, or use distinct port numbers",
                )


def _capture_rules(capture: Capture) -> Iterator[Problem]:
    if capture.include is not None and not capture.include:
        yield warning(
            "capture-none",
            ("capture", "include"),
            "an empty include list captures no outbound traffic: sidecars are "
            "bypassed and the egress policy does not apply",
            "list the ranges to capture, or remove `include` to capture all",
        )
    for i, net in enumerate(capture.exclude):
        if net.prefixlen == 0:
            yield error(
                "exclude-everything",
                ("capture", "exclude", i),
                f"excluding {net} takes every pod's outbound traffic out of the mesh",
                "exclude only the ranges that must bypass the sidecar",
            )
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


def validate_capture_against_cluster(
    capture: Capture, cluster: ClusterRanges, env_file: str
) -> list[Problem]:
    """The cluster's own pod and service ranges must stay captured."""
    out: list[Problem] = []
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


def check_sni(routes: dict[str, dict[str, Any]]) -> list[Problem]:
    """Istio: every SNI host of a TLS route must fall within the VirtualService hosts."""
    out = []
    for name, route in routes.items():
        hosts = [str(h) for h in route.get("hosts", [])]
        for i, r in enumerate(route.get("routes", [])):
            for sni in r["sniHosts"]:
                if not any(sni == h or covers(h, sni) for h in hosts):
                    out.append(
                        error(
                            "sni-outside-hosts",
                            ("tlsRoutes", name, "routes", i),
                            f"SNI host {sni!r} is not within the route's hosts {hosts}",
                        )
                    )
    return out
