"""The effective policy finds a host's wildcard entries through an index of their
suffixes (#12: 10,000 hosts against 100 wildcards was a million `covers` tests): it
must find exactly the entries that testing every wildcard finds, in the same order,
for wildcards on a label (`*.a.example`) and inside one (`*pay.a.example`)."""

from __future__ import annotations

from egressctl.rules.hosts import covers
from tests.test_effective import policy

INVENTORY = {
    "policy": "REGISTRY_ONLY",
    "services": {
        "any-a": {"host": "*.a.example", "ports": ["443/tls"]},
        "pay-a": {"host": "*pay.a.example", "ports": ["443/tls"]},
        "deep": {"host": "*.b.a.example", "ports": ["443/tls"]},
        "exact": {"host": "api.b.a.example", "ports": ["443/https"]},
        "other": {"host": "*.c.example", "ports": ["8443/tls"]},
    },
}
HOSTS = [
    "api.b.a.example",
    "x.b.a.example",
    "b.a.example",
    "pay.a.example",
    "xpay.a.example",
    "a.pay.a.example",
    "a.example",
    "*.a.example",
    "*.b.a.example",
    "*pay.a.example",
    "q.c.example",
    "c.example",
    "nothing.example",
]


def test_wildcard_index_finds_what_testing_every_wildcard_finds() -> None:
    p = policy(INVENTORY)
    patterns = [h for s in p.inventory.services for h in s.hosts if h.startswith("*")]
    for host in HOSTS:
        found = [s.name for s in p._entries_for(host)]
        brute = sorted(
            (
                (0, 0) if not pat.startswith("*") else (1, -len(pat)),
                s.name,
            )
            for s in p.inventory.services
            for pat in s.hosts
            if pat == host or (pat.startswith("*") and covers(pat, host))
        )
        want: list[str] = []
        for _, name in brute:
            if name not in want:
                want.append(name)
        assert found == want, host
    assert [s.name for s in p._entries_for("api.b.a.example")] == ["exact", "deep", "any-a"]
    assert [s.name for s in p._entries_for("xpay.a.example")] == ["pay-a", "any-a"]
    assert patterns  # the inventory holds wildcards at all
    assert p.explain("a.pay.a.example", 443).entry == "pay-a"
