"""One Envoy access-log line of an Istio sidecar → what it says about egress.

Two encodings, as ``meshConfig.accessLogEncoding`` sets them:

* TEXT, Istio's default format (``EnvoyTextLogFormat`` in istio/istio
  ``pilot/pkg/model/telemetry_logging.go``, stable since 1.9)::

    [%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%"
    %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS%
    "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION%
    %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%"
    "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER%
    %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS%
    %REQUESTED_SERVER_NAME% %ROUTE_NAME%

  (one line, ``-`` for an empty field).  Header values may hold anything, spaces and
  quotes included, so the line is read from both ends: the head up to the fields that
  never hold spaces, and the tail of fixed, space-free fields after the authority.
* JSON (``EnvoyJSONLogFormatIstio``): one object a line with the keys ``start_time``,
  ``method``, ``protocol``, ``response_code``, ``response_flags``,
  ``response_code_details``, ``authority``, ``upstream_host``, ``upstream_cluster``,
  ``downstream_local_address``, ``requested_server_name``, ``route_name``, …

Either may follow the prefix ``kubectl logs --prefix`` writes (``[pod/NAME/CONTAINER] ``).

What counts (:class:`Outcome`): outbound traffic that went to ``PassthroughCluster``
(it left only because the mesh is ALLOW_ANY), to ``BlackHoleCluster`` (blocked), or HTTP
that REGISTRY_ONLY refused: ``502`` with details ``direct_response`` on the route
``block_all``, or ``404 NR route_not_found``.  The destination is the host from
``:authority`` (HTTP) or the SNI (TLS), and the original destination
``DOWNSTREAM_LOCAL_ADDRESS`` (IP:port).  Every value is untrusted: a host becomes a host
only when it is a valid DNS name (else the record is IP-only and ``junk_host`` set).
"""

from __future__ import annotations

import enum
import functools
import ipaddress
import json
import re
from dataclasses import dataclass

from egressctl.rules.hosts import host_problem

PASSTHROUGH_CLUSTER = "PassthroughCluster"
BLACKHOLE_CLUSTER = "BlackHoleCluster"
BLOCK_ALL_ROUTE = "block_all"
MAX_HOST = 253


class Outcome(str, enum.Enum):
    """Why a line counts."""

    PASSTHROUGH = "passthrough"  # PassthroughCluster: left because the mesh is ALLOW_ANY
    BLACKHOLE = "blackhole"  # BlackHoleCluster: dropped (REGISTRY_ONLY, no listener)
    REFUSED = "refused"  # HTTP refused by REGISTRY_ONLY (502 block_all, 404 NR)


class Kind(str, enum.Enum):
    """What was seen of the connection: HTTP with an authority, TLS with an SNI, or
    neither (only the address)."""

    HTTP = "http"
    TLS = "tls"
    TCP = "tcp"


class Line(str, enum.Enum):
    """What a line is."""

    COUNTED = "counted"  # an access-log line that counts (it carries a Record)
    IGNORED = "ignored"  # an access-log line that does not count (registered, inbound…)
    OTHER = "other"  # not an access-log line (the proxy's own log, a blank line)
    MALFORMED = "malformed"  # looks like an access-log line but cannot be read


@dataclass(frozen=True, slots=True)
class Record:
    """One counted connection or request."""

    outcome: Outcome
    kind: Kind
    host: str | None  # a valid DNS name (lowercase, no trailing dot), or None: IP-only
    address: str | None  # the original destination's IP
    port: int | None  # the original destination's port (else the authority's)
    time: str | None  # START_TIME, ISO 8601 (UTC), when it reads as one
    pod: str | None = None  # from the `kubectl logs --prefix` prefix
    junk_host: bool = False  # an authority or SNI was there, but no valid host name


@dataclass(frozen=True, slots=True)
class Parsed:
    line: Line
    record: Record | None = None


OTHER = Parsed(Line.OTHER)
MALFORMED = Parsed(Line.MALFORMED)
IGNORED = Parsed(Line.IGNORED)

_PREFIX = re.compile(r"\[pod/([^/\]\s]{1,253})/([^/\]\s]{1,253})\] ")
_HEAD = re.compile(
    r'\[(?P<time>[^\]]*)\] "(?P<req>[^"]*)" (?P<code>\S+) (?P<flags>\S+) (?P<details>\S+) '
)
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z")
_PORT = re.compile(r"[0-9]{1,5}")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4_PORT = re.compile(rf"({_OCTET}(?:\.{_OCTET}){{3}}):([0-9]{{1,5}})")
_TAIL_FIELDS = 6  # cluster, upstream local, downstream local, downstream remote, SNI, route


def parse_line(line: str) -> Parsed:
    """What ``line`` (without its newline) says."""
    pod = None
    if line.startswith("[pod/"):
        m = _PREFIX.match(line)
        if m is None:
            return MALFORMED
        pod = m.group(1)
        line = line[m.end() :]
    line = line.strip()
    if line.startswith("{"):
        return _json_line(line, pod)
    if line.startswith("["):
        return _text_line(line, pod)
    return OTHER


def _dash(value: str) -> str:
    return "" if value == "-" else value


# ---------------------------------------------------------------------------
# TEXT


def _text_line(line: str, pod: str | None) -> Parsed:
    head = _HEAD.match(line)
    if head is None:
        return MALFORMED
    tail = line.rsplit(None, _TAIL_FIELDS)
    if len(tail) != _TAIL_FIELDS + 1:
        return MALFORMED
    rest, cluster, _up_local, down_local, _down_remote, sni, route = tail
    # rest ends with `"AUTHORITY" "UPSTREAM_HOST"`: the upstream host holds no quote.
    if not rest.endswith('"'):
        return MALFORMED
    start = rest.rfind(' "', 0, len(rest) - 1)
    if start < 0:
        return MALFORMED
    before = rest[:start]
    if not before.endswith('"'):
        return MALFORMED
    a_start = before.rfind(' "', 0, len(before) - 1)
    if a_start < head.end() - 1:
        return MALFORMED
    authority = before[a_start + 2 : -1]
    req = head.group("req").split(" ")
    method = req[0] if req else "-"
    return _judge(
        time=head.group("time"),
        method=_dash(method),
        code=_dash(head.group("code")),
        flags=_dash(head.group("flags")),
        details=_dash(head.group("details")),
        authority=_dash(authority),
        cluster=_dash(cluster),
        down_local=_dash(down_local),
        sni=_dash(sni),
        route=_dash(route),
        pod=pod,
    )


# ---------------------------------------------------------------------------
# JSON


def _field(doc: dict[str, object], key: str) -> str:
    value = doc.get(key)
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _dash(value)
    return ""


def _json_line(line: str, pod: str | None) -> Parsed:
    try:
        doc = json.loads(line)
    except (ValueError, RecursionError):
        return MALFORMED
    if not isinstance(doc, dict):
        return MALFORMED
    if "upstream_cluster" not in doc and "response_code" not in doc:
        return OTHER  # the proxy's own JSON log, not an access log
    return _judge(
        time=_field(doc, "start_time"),
        method=_field(doc, "method"),
        code=_field(doc, "response_code"),
        flags=_field(doc, "response_flags"),
        details=_field(doc, "response_code_details"),
        authority=_field(doc, "authority"),
        cluster=_field(doc, "upstream_cluster"),
        down_local=_field(doc, "downstream_local_address"),
        sni=_field(doc, "requested_server_name"),
        route=_field(doc, "route_name"),
        pod=pod,
    )


# ---------------------------------------------------------------------------
# Both


def _outcome(cluster: str, code: str, flags: str, details: str, route: str) -> Outcome | None:
    if cluster == PASSTHROUGH_CLUSTER:
        return Outcome.PASSTHROUGH
    if cluster == BLACKHOLE_CLUSTER:
        return Outcome.BLACKHOLE
    if code == "502" and details == "direct_response" and route == BLOCK_ALL_ROUTE:
        return Outcome.REFUSED
    if code == "404" and "NR" in flags.split(",") and details == "route_not_found":
        return Outcome.REFUSED
    return None


def split_address(text: str) -> tuple[str | None, int | None]:
    """``IP:port`` / ``[IPv6]:port`` → (IP, port); (None, None) when it is not one."""
    m = _IPV4_PORT.fullmatch(text)
    if m is not None:  # the common case, without ipaddress's cost
        number = int(m.group(2))
        return (m.group(1), number) if 1 <= number <= 65535 else (None, None)
    if text.startswith("["):
        addr, sep, port = text[1:].partition("]:")
    else:
        addr, sep, port = text.rpartition(":")
    if not sep or _PORT.fullmatch(port) is None or not 1 <= int(port) <= 65535:
        return None, None
    ip = ip_text(addr)
    return (ip, int(port)) if ip is not None else (None, None)


def ip_text(text: str) -> str | None:
    """``text`` as an IP address (its canonical text), or None.  An IPv6 zone
    (``fe80::1%eth0``) is refused: no egress destination has one, and the zone may hold
    any character (an escape sequence for the terminal)."""
    if "%" in text:
        return None
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


MAX_AUTHORITY = MAX_HOST + len(".:65535")


def host_of(text: str) -> tuple[str | None, int | None, bool]:
    """An authority or SNI → (host, port, junk): the host when it is a valid DNS name
    (lowercase, no trailing dot); an IP is no host; junk: something else was there.
    Answers are cached, but never for text too long to be a host (a client chooses its
    ``Host`` header: up to Envoy's 60 KiB each would fill the cache)."""
    if len(text) > MAX_AUTHORITY:
        return None, None, True
    return _host_of(text)


@functools.lru_cache(maxsize=8192)
def _host_of(text: str) -> tuple[str | None, int | None, bool]:
    if not text:
        return None, None, False
    port = None
    if text.startswith("["):  # [IPv6]:port
        return None, None, False
    name, sep, p = text.rpartition(":")
    if sep:
        if _PORT.fullmatch(p) is None or not 1 <= int(p) <= 65535:
            return None, None, True
        text, port = name, int(p)
    host = text.lower().rstrip(".")
    if len(host) > MAX_HOST or not host.isascii():
        return None, port, True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return None, port, False  # an IP: the destination is IP-only
    if "*" in host or host_problem(host) is not None:
        return None, port, True
    return host, port, False


def _judge(
    *,
    time: str,
    method: str,
    code: str,
    flags: str,
    details: str,
    authority: str,
    cluster: str,
    down_local: str,
    sni: str,
    route: str,
    pod: str | None,
) -> Parsed:
    outcome = _outcome(cluster, code, flags, details, route)
    if outcome is None:
        return IGNORED
    address, port = split_address(down_local)
    if method:
        kind = Kind.HTTP
        host, host_port, junk = host_of(authority)
    elif sni:
        kind = Kind.TLS
        host, host_port, junk = host_of(sni)
    else:
        kind, host, host_port, junk = Kind.TCP, None, None, False
    if port is None:
        port = host_port
    stamp = time if _TIME.fullmatch(time) else None
    return Parsed(
        Line.COUNTED, Record(outcome, kind, host, address, port, stamp, pod, junk_host=junk)
    )
