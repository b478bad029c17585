"""An environment file's overrides of services (`egress.services.NAME`): each names a
service that the inventory files define, or defines a whole one of the environment's
own (`host` or `hosts`, and `ports`).  Anything else is a typo or a leftover: removing a
service nobody defines removes nothing, and changing one would be read as a new,
incomplete service ("`host` is required").  Pure."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from egressctl.errors import Anchor, Problem, error
from egressctl.inventory.reader import did_you_mean


def defined_services(inventory: Mapping[str, Any]) -> frozenset[str]:
    """The services that (merged) inventory files define."""
    services = inventory.get("services")
    if not isinstance(services, Mapping):
        return frozenset()
    return frozenset(name for name in services if isinstance(name, str))


def unknown_overrides(
    egress: Mapping[str, Any], known: Collection[str]
) -> tuple[dict[str, Any], list[Problem]]:
    """``egress`` (an environment's overrides) without those of services that no
    inventory file defines, and an error for each.  Their paths are the inventory's
    (``services.NAME``): the environment file that wrote them is found when located."""
    services = egress.get("services")
    if not isinstance(services, Mapping):
        return dict(egress), []
    kept: dict[Any, Any] = {}
    problems: list[Problem] = []
    for name, value in services.items():
        if not isinstance(name, str) or name in known or not _judged(value):
            kept[name] = value  # others' business: a key that is no string, a wrong type
        elif value is None:
            problems.append(_unknown(name, known, "removing it removes nothing", ""))
        elif _whole_service(value):
            kept[name] = value  # a service of this environment's own
        else:
            problems.append(
                _unknown(
                    name,
                    known,
                    "this override changes nothing",
                    "A service of this environment's own needs `host` and `ports`",
                )
            )
    return {**egress, "services": kept}, problems


def _judged(value: Any) -> bool:
    """A removal or a change (a mapping); other values get `wrong-type` when read."""
    return value is None or isinstance(value, Mapping)


def _whole_service(value: Mapping[Any, Any]) -> bool:
    return ("host" in value or "hosts" in value) and "ports" in value


def _unknown(name: str, known: Collection[str], effect: str, more: str) -> Problem:
    close = did_you_mean(name, sorted(known))
    hint = " ".join(part for part in (close, more) if part)
    return error(
        "override-unknown-service",
        ("services", name),
        f"no inventory file defines a service {name!r}: {effect}",
        hint or "remove it, or add the service to an inventory file",
        anchor=Anchor.KEY,
    )
