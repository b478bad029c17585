"""Kubernetes and Istio name shapes, written once: DNS-1123 labels and subdomains, label
values, IP addresses.  The patterns are strings so that the published JSON Schemas
(:mod:`egressctl.rules.schema`) use the very same text the predicates compile."""

from __future__ import annotations

import ipaddress
import re

# A DNS-1123 label (namespaces, object and port names, revisions): at most 63.
DNS_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS_LABEL_MAX = 63
DNS_LABEL_HINT = "lowercase letters, digits and '-', starting and ending with a letter or digit"
# A DNS-1123 subdomain: labels joined by dots (Helm release names, object names).
DNS_SUBDOMAIN = rf"{DNS_LABEL}(\.{DNS_LABEL})*"
DNS_SUBDOMAIN_MAX = 253
# A label value: empty, or alphanumerics with '-', '_' and '.' inside; at most 63.
LABEL_VALUE = "([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?"
LABEL_VALUE_MAX = 63

_DNS_LABEL = re.compile(DNS_LABEL)
_DNS_SUBDOMAIN = re.compile(DNS_SUBDOMAIN)
_LABEL_VALUE = re.compile(LABEL_VALUE)


def is_dns1123_label(value: str) -> bool:
    return len(value) <= DNS_LABEL_MAX and _DNS_LABEL.fullmatch(value) is not None


def is_dns1123_subdomain(value: str, max_length: int = DNS_SUBDOMAIN_MAX) -> bool:
    return len(value) <= max_length and _DNS_SUBDOMAIN.fullmatch(value) is not None


def is_label_value(value: str) -> bool:
    """A Kubernetes label value (the empty string is one)."""
    return len(value) <= LABEL_VALUE_MAX and _LABEL_VALUE.fullmatch(value) is not None


_LABEL_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
LABEL_KEY_HINT = (
    "a label key is [PREFIX/]NAME: NAME at most 63 alphanumerics with '-', '_' and '.' "
    "inside, PREFIX a DNS subdomain"
)


def is_label_key(key: str) -> bool:
    """A Kubernetes label key: ``[prefix/]name``, the prefix a DNS-1123 subdomain."""
    prefix, slash, name = key.rpartition("/")
    if slash and not is_dns1123_subdomain(prefix):
        return False
    return len(name) <= LABEL_VALUE_MAX and _LABEL_NAME.fullmatch(name) is not None


def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True
