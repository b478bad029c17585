"""The Prometheus HTTP API, read-only: instant queries (``GET /api/v1/query``).

A small client on the standard library: the URL must be http(s) with a host; every
answer is bounded (:data:`MAX_BYTES`, :data:`TIMEOUT` seconds for the whole request)
and must be the API's JSON with ``"status": "success"``.  Anything else is a
:class:`~egressctl.errors.ToolError` (exit 4) naming the request, like a failed kubectl.

The server is untrusted: redirects are not followed (a redirect could lead to another
host or scheme, with the credentials); credentials in the URL (``https://USER:PASS@HOST``)
are sent as HTTP basic authentication and never shown; what the server says (an error
body, the ``error`` field, a ``Location``) is shown as one short printable line.
"""

from __future__ import annotations

import base64
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from egressctl.errors import ToolError, UsageError

MAX_BYTES = 64 * 1024 * 1024
TIMEOUT = 30.0  # seconds, for the whole request (read at call time)
SHOWN = 300  # characters of what the server says, at most
_CHUNK = 1 << 16
log = logging.getLogger("egressctl")


def printable(text: str, limit: int = SHOWN) -> str:
    """``text`` as one printable line of at most ``limit`` characters: control
    characters (escape sequences, line breaks) become ``?``."""
    out = "".join(ch if ch.isprintable() else "?" for ch in text[: limit + 1])
    return out if len(out) <= limit else out[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class Server:
    """A Prometheus base URL, split into what is requested and what is shown."""

    base: str  # without credentials, without a trailing slash
    authorization: str | None  # "Basic …" from USER:PASS@ in the URL

    @property
    def shown(self) -> str:
        return self.base


def _redacted(url: str) -> str:
    """``url`` with any USER:PASS@ replaced by ``***@`` (for messages)."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return printable(url.rpartition("@")[2] if "@" in url else url)
    if "@" not in parts.netloc:
        return printable(url)
    host = parts.netloc.rpartition("@")[2]
    return printable(urllib.parse.urlunsplit(parts._replace(netloc=f"***@{host}")))


def check_url(url: str) -> Server:
    """The server of ``url``; UsageError unless it is http(s)://[USER:PASS@]HOST[:PORT][/PATH]."""
    shown = _redacted(url)
    try:
        parts = urllib.parse.urlsplit(url)
        hostname = parts.hostname
        port = parts.port  # ValueError when not a number or out of range
    except ValueError:
        hostname, port, parts = None, None, urllib.parse.urlsplit("")
    del port
    if parts.scheme not in ("http", "https") or not hostname:
        raise UsageError(f"--prometheus {shown!r}: give an http:// or https:// URL with a host")
    if parts.query or parts.fragment:
        raise UsageError(f"--prometheus {shown!r}: give the server's base URL, without ?query or #")
    if any(not ch.isprintable() or ch.isspace() for ch in url):
        raise UsageError(f"--prometheus {shown!r}: the URL holds whitespace or control characters")
    if not parts.path.isascii():
        raise UsageError(f"--prometheus {shown!r}: give the path percent-encoded (ASCII)")
    authorization = None
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, netloc = netloc.rpartition("@")
        user, _, password = userinfo.partition(":")
        pair = f"{urllib.parse.unquote(user)}:{urllib.parse.unquote(password)}"
        authorization = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
    base = urllib.parse.urlunsplit(parts._replace(netloc=netloc)).rstrip("/")
    return Server(base, authorization)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are answers (an HTTPError), never followed."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(_NoRedirect())


def _read(resp: Any, deadline: float) -> bytes | None:
    """At most MAX_BYTES + 1 bytes of ``resp``; None when the deadline passed."""
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_BYTES:
        if time.monotonic() > deadline:
            return None
        chunk = resp.read1(min(_CHUNK, MAX_BYTES + 1 - size))  # one read: no waiting for more
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def instant_query(base: str, promql: str, *, step: str, timeout: float | None = None) -> Any:
    """The parsed JSON of ``GET BASE/api/v1/query?query=PROMQL``."""
    server = check_url(base)
    limit = TIMEOUT if timeout is None else timeout
    query = f"/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
    url = server.base + query
    argv = ("GET", server.shown + query)
    log.info("$ GET %s", argv[1])
    headers = {"Accept": "application/json"}
    if server.authorization is not None:
        headers["Authorization"] = server.authorization
    request = urllib.request.Request(url, headers=headers)  # noqa: S310  (http(s) only, checked)
    deadline = time.monotonic() + limit
    try:
        with _opener().open(request, timeout=limit) as resp:
            body = _read(resp, deadline)
    except urllib.error.HTTPError as exc:
        raise ToolError(step, argv, None, _http_problem(exc)) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:  # ValueError: UnicodeError…
        reason = printable(str(getattr(exc, "reason", exc)))
        raise ToolError(step, argv, None, f"cannot reach Prometheus: {reason}") from None
    if body is None:
        raise ToolError(step, argv, None, f"Prometheus did not answer within {limit:g}s")
    if len(body) > MAX_BYTES:
        raise ToolError(step, argv, 0, problem=f"the answer is over {MAX_BYTES:,} bytes")
    try:
        doc: Any = json.loads(body.decode("utf-8", errors="replace"))
    except ValueError as exc:
        raise ToolError(step, argv, 0, problem=f"it answered no JSON ({exc})") from None
    except RecursionError:
        raise ToolError(step, argv, 0, problem="it answered JSON nested too deeply") from None
    if not isinstance(doc, dict) or doc.get("status") != "success":
        error = doc.get("error") if isinstance(doc, dict) else None
        said = printable(error) if isinstance(error, str) and error else "no status success"
        raise ToolError(step, argv, 0, problem=f"the query failed: {said}")
    data = doc.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("result"), list):
        # An answer without results is no evidence (readiness would pass on it).
        raise ToolError(step, argv, 0, problem="its answer holds no data.result list")
    return doc


def _http_problem(exc: urllib.error.HTTPError) -> str:
    head = f"HTTP {exc.code} {printable(str(exc.reason), 60)}"
    if 300 <= exc.code < 400:
        where = printable(_redacted(str(exc.headers.get("Location", ""))))
        return f"{head}: redirects are not followed; give the URL it redirects to ({where})"
    try:
        detail = exc.read(4096).decode("utf-8", errors="replace") if exc.fp else ""
    except OSError:
        detail = ""
    detail = printable(" ".join(detail.split()))
    return f"{head}: {detail}" if detail else head
