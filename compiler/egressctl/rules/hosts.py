"""Hosts as Istio reads them: what a valid (wildcard) ServiceEntry host is, which hosts
a wildcard covers, and which wildcards are as broad as a public suffix.  Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass

from egressctl.inventory.model import DEFAULT_PROTOCOL_BY_PORT, PROTOCOLS
from egressctl.inventory.names import is_dns1123_label

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


# ---------------------------------------------------------------------------
# A URL or host:port written where a host name belongs

_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*")
_SCHEME_PORTS = {"http": 80, "https": 443}
_PORT_DIGITS = 5


@dataclass(frozen=True, slots=True)
class UrlAsHost:
    """A host written as a URL (``https://api.stripe.com``) or as ``host:port``: the host
    name alone, and the port (and protocol) the spelling implies."""

    host: str
    scheme: str | None  # None: `host:port` without a scheme
    port: int | None  # written, or implied by the scheme (http 80, https 443)
    protocol: str | None  # implied by the scheme or the port (lowercase), None: unknown


def url_as_host(text: str) -> UrlAsHost | None:
    """What ``text`` says when it is a URL or ``host:port`` rather than a host name, or
    None when it is neither (a plain, or invalid, host)."""
    scheme: str | None = None
    rest = text
    if "://" in text:
        scheme, rest = text.split("://", 1)
        if not _SCHEME.fullmatch(scheme):
            return None
        rest = re.split(r"[/?#]", rest, maxsplit=1)[0].rsplit("@", 1)[-1]
    port: int | None = None
    name, colon, number = rest.partition(":")
    if colon and number.isascii() and number.isdigit() and len(number) <= _PORT_DIGITS and name:
        rest, port = name, int(number)
    elif scheme is None:
        return None
    if scheme is not None and port is None:
        port = _SCHEME_PORTS.get(scheme)
    protocol = scheme if scheme in PROTOCOLS else None
    if protocol is None and port is not None and port in DEFAULT_PROTOCOL_BY_PORT:
        protocol = DEFAULT_PROTOCOL_BY_PORT[port].lower()
    return UrlAsHost(host=rest, scheme=scheme, port=port, protocol=protocol)
