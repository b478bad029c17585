"""egressctl: an Istio egress inventory compiled into Helm values, rendered and applied."""

from __future__ import annotations

__version__ = "0.1.0"
