"""Entries past their `expires` date: a warning in `check`, listed first in `report`."""

from __future__ import annotations

import datetime

from egressctl.errors import Problem, warning
from egressctl.inventory.model import Inventory, Service


def expired(inv: Inventory, today: datetime.date) -> list[Service]:
    """The services whose `expires` is before ``today``, the oldest first."""
    past = [s for s in inv.services if s.expires is not None and s.expires < today]
    return sorted(past, key=lambda s: (s.expires, s.name))


def expiry_rules(inv: Inventory, today: datetime.date) -> list[Problem]:
    return [
        warning(
            "service-expired",
            ("services", svc.name, "expires"),
            f"{svc.name} expired on {svc.expires.isoformat()}"
            f" ({(today - svc.expires).days} days ago)",
            "remove the entry, or renew it with a new date and the reason it is still needed",
        )
        for svc in expired(inv, today)
        if svc.expires is not None
    ]
