"""A destination as a user types it (`egressctl explain DESTINATION`): a host name, an
IP address, `host:port`, or a URL (`https://api.stripe.com/v1`), split into the host
and the port the connection goes to.  Pure: text in, :class:`Destination` out, or a
:class:`~egressctl.errors.DestinationError` saying what is wrong."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from egressctl.errors import DestinationError
from egressctl.inventory.names import is_dns1123_label

# The port a URL scheme implies when the URL names none.
SCHEME_PORTS: dict[str, int] = {
    "http": 80,
    "https": 443,
    "ws": 80,
    "wss": 443,
    "grpc": 80,
    "grpcs": 443,
    "ftp": 21,
    "ssh": 22,
    "sftp": 22,
    "smtp": 25,
    "smtps": 465,
    "ldap": 389,
    "ldaps": 636,
    "postgres": 5432,
    "postgresql": 5432,
    "mysql": 3306,
    "redis": 6379,
    "rediss": 6379,
    "mongodb": 27017,
    "amqp": 5672,
    "amqps": 5671,
    "kafka": 9092,
}

_EXAMPLES = "write a host (api.example.com), an IP, host:PORT or a URL (https://api.example.com/v1)"


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a connection goes: a host name (lowercase, no trailing dot) or an IP
    address (IPv6 without brackets), and the port when the text gives or implies one."""

    host: str
    port: int | None = None

    @property
    def is_address(self) -> bool:
        return _address(self.host)

    def __str__(self) -> str:
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return shown if self.port is None else f"{shown}:{self.port}"


def parse_destination(text: str) -> Destination:
    """``https://api.stripe.com/v1`` → api.stripe.com, 443; ``http://x`` → x, 80;
    ``x:8443`` and ``https://x:8443`` → x, 8443 (an explicit port wins over the
    scheme's); ``10.0.0.1`` → that address, no port.  Raises DestinationError."""
    raw = text.strip()
    if not raw:
        raise DestinationError(f"destination {text!r} is empty; {_EXAMPLES}")
    if any(c.isspace() or not c.isprintable() for c in raw):
        raise DestinationError(f"destination {raw!r} holds whitespace or control characters")
    if _address(raw):  # a bare IPv4 or IPv6 address (IPv6 holds colons: no port split)
        return Destination(str(ipaddress.ip_address(raw)))
    scheme = ""
    if "://" in raw:
        scheme = raw.split("://", 1)[0].lower()
        if not scheme or not all(c.isalnum() or c in "+-." for c in scheme):
            raise DestinationError(f"destination {raw!r}: {scheme!r} is not a URL scheme")
        rest = raw.split("://", 1)[1]
    else:
        rest = raw
    try:
        parts = urlsplit("//" + rest)
        port = parts.port
    except ValueError as exc:  # a port that is no number or out of range, a bad [IPv6]
        raise DestinationError(f"destination {raw!r}: {exc}; {_EXAMPLES}") from None
    if "@" in parts.netloc:
        raise DestinationError(
            f"destination {_without_userinfo(raw)!r} holds user information (user@)",
            "drop everything up to the @",
        )
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise DestinationError(f"destination {raw!r} names no host; {_EXAMPLES}")
    if port is None and parts.netloc.endswith(":"):
        raise DestinationError(f"destination {raw!r}: the port after ':' is missing")
    if port == 0:
        raise DestinationError(f"destination {raw!r}: port 0 is not a port (1..65535)")
    if port is None and scheme:
        port = SCHEME_PORTS.get(scheme)
        if port is None:
            raise DestinationError(
                f"destination {raw!r}: no default port is known for scheme {scheme!r}",
                f"write the port: {scheme}://{host}:PORT",
            )
    if _address(host):
        return Destination(str(ipaddress.ip_address(host)), port)
    problem = _host_problem(host)
    if problem:
        raise DestinationError(f"destination {raw!r}: {problem}; {_EXAMPLES}")
    return Destination(host, port)


def _address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _host_problem(host: str) -> str | None:
    if len(host) > 253:
        return f"the host is {len(host)} characters long; the limit is 253"
    for label in host.split("."):
        if not label:
            return "the host has an empty label (two dots, or a leading dot)"
        if not is_dns1123_label(label):
            return f"{label!r} is not a DNS label (a-z, 0-9 and '-', at most 63)"
    if "." in host and host.rsplit(".", 1)[1].isdigit():
        return f"{host!r} is neither an IP address nor a host name"
    return None


def _without_userinfo(raw: str) -> str:
    """``raw`` with what precedes ``@`` in the authority hidden (it may be a password)."""
    head, sep, tail = raw.partition("://")
    body = tail if sep else head
    authority, slash, path = body.partition("/")
    if "@" in authority:
        authority = "…@" + authority.rsplit("@", 1)[1]
    body = authority + slash + path
    return f"{head}{sep}{body}" if sep else body
