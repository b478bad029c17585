"""Istio's standard metrics, as the Prometheus HTTP API returns them → observations.

Two instant queries (``/api/v1/query``), over the window ``--since`` gives::

    sum by (LABELS) (increase(istio_requests_total{reporter="source",
        destination_service_name=~"PassthroughCluster|BlackHoleCluster"}[1h]))
    sum by (LABELS) (increase(istio_tcp_connections_opened_total{…same…}[1h]))

grouped by ``destination_service``, ``destination_service_name``,
``requested_server_name`` (where a mesh adds it), ``source_workload`` and
``source_workload_namespace``.  The host is ``destination_service`` when it is a valid
DNS name (for HTTP, Istio sets it from the authority), else ``requested_server_name``;
with neither the destination is IP-only (or, without even an address, unknown).
Metrics carry no port: HTTP is taken as port 80, an SNI as 443 (the draft says so).
The response is untrusted like a log line: a series that cannot be read is counted
malformed and skipped.
"""

from __future__ import annotations

import math
import re
from typing import Any

from egressctl.discover.accesslog import (
    BLACKHOLE_CLUSTER,
    PASSTHROUGH_CLUSTER,
    Kind,
    Outcome,
    Record,
    host_of,
    ip_text,
    split_address,
)
from egressctl.discover.observations import Observations
from egressctl.inventory.names import is_dns1123_label, is_dns1123_subdomain

REQUESTS = "istio_requests_total"
TCP_OPENED = "istio_tcp_connections_opened_total"
LABELS = (
    "destination_service",
    "destination_service_name",
    "requested_server_name",
    "source_workload",
    "source_workload_namespace",
)
_DURATION = re.compile(r"([0-9]{1,5}[smhd]){1,4}")
_OUTCOMES = {PASSTHROUGH_CLUSTER: Outcome.PASSTHROUGH, BLACKHOLE_CLUSTER: Outcome.BLACKHOLE}


def valid_window(since: str) -> bool:
    """A window both kubectl (``--since``) and PromQL read: ``1h``, ``30m``, ``1h30m``."""
    return _DURATION.fullmatch(since) is not None and "d" not in since


def query(metric: str, since: str) -> str:
    """The PromQL of one metric over ``since`` (a valid window)."""
    if not valid_window(since):
        raise ValueError(f"not a window: {since!r}")
    selector = (
        f'reporter="source",destination_service_name=~"{PASSTHROUGH_CLUSTER}|{BLACKHOLE_CLUSTER}"'
    )
    return f"sum by ({', '.join(LABELS)}) (increase({metric}{{{selector}}}[{since}]))"


def _label(metric: dict[str, Any], key: str) -> str:
    value = metric.get(key)
    return value if isinstance(value, str) and value not in ("unknown", "-") else ""


def _count(value: Any) -> int | None:
    """``[timestamp, "12.5"]`` → 13; None when it is not a finite number ≥ 0."""
    if not isinstance(value, list) or len(value) != 2 or not isinstance(value[1], str):
        return None
    try:
        n = float(value[1])
    except ValueError:
        return None
    if not math.isfinite(n) or n < 0:
        return None
    return round(n)


def _destination(
    service: str, sni: str, tcp: bool
) -> tuple[Kind, str | None, str | None, int | None, bool]:
    """(kind, host, address, port, junk) from the destination labels."""
    address, port = split_address(service)
    if address is None:
        address = ip_text(service)
    host, host_port, junk = (None, None, False)
    if address is None and service and service not in _OUTCOMES:
        host, host_port, junk = host_of(service)
    if host is None and sni:
        host, sni_port, sni_junk = host_of(sni)
        junk = junk or sni_junk
        return Kind.TLS, host, address, port or sni_port, junk
    if not tcp:
        return Kind.HTTP, host, address, port or host_port, junk
    return Kind.TCP, host, address, port or host_port, junk


def read_result(obs: Observations, doc: Any, *, tcp: bool) -> None:
    """One ``/api/v1/query`` response (parsed JSON) into ``obs``."""
    data = doc.get("data") if isinstance(doc, dict) else None
    result = data.get("result") if isinstance(data, dict) else None
    if not isinstance(result, list):
        obs.counts.malformed += 1
        return
    for series in result:
        obs.counts.series += 1
        metric = series.get("metric") if isinstance(series, dict) else None
        count = _count(series.get("value")) if isinstance(series, dict) else None
        if not isinstance(metric, dict) or count is None:
            obs.counts.malformed += 1
            continue
        outcome = _OUTCOMES.get(_label(metric, "destination_service_name"))
        if outcome is None:
            obs.counts.ignored += 1
            continue
        if count == 0:
            continue
        kind, host, address, port, junk = _destination(
            _label(metric, "destination_service"), _label(metric, "requested_server_name"), tcp
        )
        ns = _label(metric, "source_workload_namespace")
        workload = _label(metric, "source_workload")
        record = Record(outcome, kind, host, address, port, None, junk_host=junk)
        obs.add(
            record,
            namespace=ns if is_dns1123_label(ns) else None,
            workload=workload if is_dns1123_subdomain(workload) else None,
            weight=count,
        )
