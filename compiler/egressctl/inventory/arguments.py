"""Values an environment file hands to helm, kubectl and labels.  Each predicate returns
why a value is refused, or None.  Values never become flags (argv puts ``--`` before
positional arguments and writes ``--flag=VALUE``), but they are also refused here, with a
position."""

from __future__ import annotations

import re

from egressctl.inventory.names import (
    DNS_LABEL_HINT,
    DNS_LABEL_MAX,
    is_dns1123_label,
    is_dns1123_subdomain,
)

HELM_RELEASE_MAX = 53
_NAME_MAX, _PATH_MAX = 255, 4096  # a file name, a path (Linux's NAME_MAX, PATH_MAX)
_REPO_URL = re.compile(r"(?:https?|oci)://[^\s\x00-\x1f\x7f]+", re.IGNORECASE)
_USERINFO = re.compile(r"([a-z][a-z0-9+.-]*://)([^/?#@]*)@", re.IGNORECASE)
_CHART_VERSION = re.compile(r"[0-9A-Za-z.+~^*<>=, |-]+")


def _unprintable(value: str) -> bool:
    """Control characters, line breaks, tabs, NUL, Unicode separators: all but a plain
    space and printable characters."""
    return not value.isprintable()


def namespace_problem(value: str) -> str | None:
    if is_dns1123_label(value):
        return None
    return f"{value!r} is not a namespace name ({DNS_LABEL_HINT}, at most {DNS_LABEL_MAX})"


def env_name_problem(name: str) -> str | None:
    if is_dns1123_label(name):
        return None
    return (
        f"environment name {name!r} (this file's name) is not a DNS-1123 label "
        f"({DNS_LABEL_HINT}, at most {DNS_LABEL_MAX}): it labels every object and names "
        f"build/{name}"
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
    longest = max(len(part.encode()) for part in value.split("/"))
    if longest > _NAME_MAX or len(value.encode()) > _PATH_MAX:  # the OS would refuse it
        return f"the {what} {value[:40]!r}… is too long (at most {_NAME_MAX} bytes a name)"
    return None


def release_problem(value: str) -> str | None:
    if is_dns1123_subdomain(value, HELM_RELEASE_MAX):
        return None
    return (
        f"{value!r} is not a Helm release name (lowercase letters, digits, '-' and '.', "
        f"starting and ending with a letter or digit, at most {HELM_RELEASE_MAX})"
    )


def revision_problem(value: str) -> str | None:
    if is_dns1123_label(value):
        return None
    return f"{value!r} is not an Istio revision ({DNS_LABEL_HINT}, at most {DNS_LABEL_MAX})"


def _masked(url: str) -> str:
    """``url`` with the password (or a lone token) of its user info shown as ***."""
    found = _USERINFO.match(url)
    if found is None:
        return url
    user, colon, _ = found.group(2).partition(":")
    return f"{found.group(1)}{user + ':***' if colon else '***'}@{url[found.end() :]}"


def repo_problem(value: str) -> str | None:
    if not _REPO_URL.fullmatch(value):
        return f"{_masked(value)!r} is not an http://, https:// or oci:// URL without whitespace"
    if _USERINFO.match(value):
        return (
            f"{_masked(value)!r} holds credentials: the environment file is committed, and "
            "egressctl prints every helm command it runs (keep credentials out of both)"
        )
    return None


def version_problem(value: str) -> str | None:
    if value and not value.startswith("-") and _CHART_VERSION.fullmatch(value):
        return None
    return (
        f"{value!r} is not a chart version: a semver or range such as 1.28.0, ~1.28 or "
        "'>=1.27, <1.29' (digits, letters and . + ~ ^ * < > = , | - and spaces; not "
        "starting with '-')"
    )
