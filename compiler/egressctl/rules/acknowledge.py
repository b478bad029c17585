"""`acknowledge: {CODE: reason}`: warnings a team accepts for one entry (a service, or
`capture`), each with its reason.  An acknowledged finding is still reported, marked
with the reason (`check --strict` does not count it).  Pure: the rules' problems in,
the same problems marked, plus the acknowledgements' own, out.

Errors cannot be acknowledged, except ``policy-bypassed-by-capture`` on ``capture``
(a narrowed capture is sometimes deliberate: the classic direct-access recipe), which
then becomes an acknowledged warning.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from egressctl.errors import Anchor, KeyPath, Problem, Severity, error, warning
from egressctl.inventory.model import Acknowledgements, Inventory
from egressctl.inventory.reader import did_you_mean
from egressctl.rules.catalogue import RULES, RULES_BY_CODE

# Errors that may be acknowledged, and the entries ("capture", or "services") where.
ACKNOWLEDGEABLE_ERRORS: dict[str, str] = {"policy-bypassed-by-capture": "capture"}
# Warnings found while reading, which say how to spell a value: fix it instead.
SPELLING_WARNINGS = frozenset({"cidr-host-bits"})


@dataclass(frozen=True, slots=True)
class _Owner:
    """An entry that may acknowledge: where it is written, and what it acknowledges."""

    path: KeyPath  # ("capture",) or ("services", NAME)
    acknowledge: Acknowledgements

    @property
    def kind(self) -> str:
        return str(self.path[0])


def acknowledge(inv: Inventory, problems: Iterable[Problem]) -> list[Problem]:
    """``problems`` with each acknowledged one marked (an acknowledgeable error turned
    into a warning), followed by the problems of the acknowledgements themselves."""
    owners = [_Owner(("capture",), inv.capture.acknowledge)]
    owners += [_Owner(("services", s.name), s.acknowledge) for s in inv.services]
    owners = [o for o in owners if o.acknowledge]
    by_path = {o.path: o for o in owners}
    fired: dict[tuple[KeyPath, str], Severity] = {}
    out: list[Problem] = []
    for p in problems:
        owner = by_path.get(p.path[:2]) or by_path.get(p.path[:1])
        reason = dict(owner.acknowledge).get(p.code) if owner else None
        if owner is None or reason is None:
            out.append(p)
            continue
        key = (owner.path, p.code)
        if p.severity is Severity.WARNING:
            fired.setdefault(key, Severity.WARNING)
            out.append(dataclasses.replace(p, acknowledged=reason))
        elif ACKNOWLEDGEABLE_ERRORS.get(p.code) == owner.kind:
            fired.setdefault(key, Severity.WARNING)
            out.append(dataclasses.replace(p, severity=Severity.WARNING, acknowledged=reason))
        else:
            fired[key] = Severity.ERROR
            out.append(p)
    for owner in owners:
        for code, _ in owner.acknowledge:
            out.extend(_check(owner, code, fired.get((owner.path, code))))
    return out


def _check(owner: _Owner, code: str, fired: Severity | None) -> Iterator[Problem]:
    """The problem with one acknowledgement, if any (``fired``: the severity of what it
    acknowledged, None when nothing)."""
    path = (*owner.path, "acknowledge", code)
    where = "`capture`" if owner.kind == "capture" else f"service {owner.path[1]!r}"
    rule = RULES_BY_CODE.get(code)
    allowed_on = ACKNOWLEDGEABLE_ERRORS.get(code)
    if fired is Severity.ERROR:
        yield error(
            "acknowledge-error",
            path,
            f"{code!r} is an error here (under REGISTRY_ONLY) and cannot be acknowledged",
            "fix what it reports; errors stop a deploy whatever the reason",
            anchor=Anchor.KEY,
        )
    elif allowed_on is not None and allowed_on != owner.kind:
        yield error(
            "acknowledge-error",
            path,
            f"{code!r} can be acknowledged only on `{allowed_on}`, where it is reported",
            f"move it to `{allowed_on}.acknowledge`",
            anchor=Anchor.KEY,
        )
    elif rule is not None and rule.severity is Severity.ERROR and not rule.lenient:
        yield error(
            "acknowledge-error",
            path,
            f"{code!r} is an error and cannot be acknowledged",
            "fix what it reports; only warnings can be acknowledged",
            anchor=Anchor.KEY,
        )
    elif fired is None:
        if rule is None:
            yield warning(
                "acknowledge-unused",
                path,
                f"no rule has the code {code!r}: the acknowledgement accepts nothing",
                did_you_mean(code, [r.code for r in RULES]) or "see the rule table in the README",
                anchor=Anchor.KEY,
            )
        elif code in SPELLING_WARNINGS:
            yield warning(
                "acknowledge-unused",
                path,
                f"{code!r} says how to spell a value and cannot be acknowledged",
                "write the value as that warning's hint says",
                anchor=Anchor.KEY,
            )
        else:
            yield _unused(path, code, where)


def _unused(path: KeyPath, code: str, where: str) -> Problem:
    return warning(
        "acknowledge-unused",
        path,
        f"{code!r} is not reported for {where}: the acknowledgement is stale",
        "remove it (and its reason) from `acknowledge`",
        anchor=Anchor.KEY,
    )
