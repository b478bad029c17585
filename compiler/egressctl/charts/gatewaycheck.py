"""The gateway renders against the inventory's gateways, before anything is applied
(issue #13).  Pure: renders and the environment in, located findings out.

For every gateway chart (`istio.gateways[i]`), an error located at that entry:

* `gateway-chart-loadbalancer`: it renders a Service of type LoadBalancer (the default
  of Istio's gateway chart): an egress gateway exposed outside the cluster is a mistake;
* for each gateway written in Istio's API (`api: istio`) in the chart's namespace, which
  uses the charts of that namespace:
  `gateway-chart-no-pods`: no chart there renders a Deployment or DaemonSet;
  `gateway-chart-selector`: no pod template there carries every label of the gateway's
  `selector` (Istio's gateway chart labels its pods `istio: <release without istio->`,
  so another release name silently breaks the match);
  `gateway-chart-service`: no chart there renders the gateway's `service`;
  `gateway-chart-service-ports`: that Service lacks a port the sidecars' routes send
  to (80 for the HTTP hop, each TLS port): the route's cluster would not exist.

A gateway whose namespace has no gateway chart at all is the rules' finding
(`gateway-no-chart`, :mod:`egressctl.rules.gatewaycharts`), reported with the inventory's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from egressctl.charts.gateways import GatewayRender
from egressctl.errors import Finding, InventoryError, Severity
from egressctl.inventory.model import (
    HTTP_FAMILY,
    TLS_FAMILY,
    EgressGateway,
    Environment,
    GatewayChart,
    Inventory,
)
from egressctl.mesh.gateways import HTTP_HOP_PORT
from egressctl.rules.gatewaycharts import gateways_using_charts

WORKLOAD_KINDS = ("Deployment", "DaemonSet")
Labels = dict[str, str]


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return _mapping(obj.get("metadata"))


def pod_labels(objects: Iterable[Mapping[str, Any]]) -> list[tuple[str, Labels]]:
    """``Kind/name`` and the pod template's labels of each Deployment and DaemonSet."""
    out = []
    for obj in objects:
        if obj.get("kind") not in WORKLOAD_KINDS:
            continue
        template = _mapping(_mapping(obj.get("spec")).get("template"))
        labels = _mapping(_meta(template).get("labels"))
        shown = f"{obj.get('kind')}/{_meta(obj).get('name')}"
        out.append((shown, {str(k): str(v) for k, v in labels.items()}))
    return out


def services(objects: Iterable[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """Name and type (default ClusterIP) of each Service."""
    return [
        (str(_meta(o).get("name")), str(_mapping(o.get("spec")).get("type") or "ClusterIP"))
        for o in objects
        if o.get("kind") == "Service"
    ]


def service_ports(objects: Iterable[Mapping[str, Any]], name: str) -> set[int] | None:
    """The port numbers of the Service ``name`` (None when it is not rendered)."""
    out: set[int] | None = None
    for o in objects:
        if o.get("kind") != "Service" or _meta(o).get("name") != name:
            continue
        out = out or set()
        ports = _mapping(o.get("spec")).get("ports")
        for p in ports if isinstance(ports, list) else ():  # a render is untrusted too
            number = _mapping(p).get("port")
            if isinstance(number, int) and not isinstance(number, bool):
                out.add(number)
    return out


def routed_ports(gw: EgressGateway, inventory: Inventory) -> dict[int, str]:
    """Gateway Service port → the first service (by name) whose mesh route sends there:
    80 for the HTTP hop, each TLS/HTTPS port as it is (mesh.gateways)."""
    out: dict[int, str] = {}
    for svc in sorted(inventory.services, key=lambda s: s.name):
        if svc.via != gw.name:
            continue
        for p in svc.ports:
            if p.protocol in TLS_FAMILY:
                out.setdefault(p.number, svc.name)
            elif p.protocol in HTTP_FAMILY:
                out.setdefault(HTTP_HOP_PORT, svc.name)
    return out


def _port_findings(
    gw: EgressGateway, inventory: Inventory, renders: Sequence[GatewayRender]
) -> list[Finding]:
    """`gateway-chart-service-ports`: a port the sidecars send to that the gateway's
    Service does not expose (the route's cluster would not exist)."""
    out = []
    wanted = routed_ports(gw, inventory)
    for r in renders:
        have = service_ports(r.objects, gw.service)
        missing = sorted(n for n in wanted if n not in (have or ()))
        if have is None or not missing:
            continue  # not this chart's Service (gateway-chart-service), or all there
        shown = ", ".join(f"{n} (service {wanted[n]!r})" for n in missing)
        out.append(
            _finding(
                r.chart,
                "gateway-chart-service-ports",
                f"gateway {gw.name!r} is sent port {shown} on Service {gw.service!r}, which "
                f"the {r.chart.describe()} renders with "
                f"{'ports ' + ', '.join(map(str, sorted(have))) + ' only' if have else 'no ports'}"
                ": the sidecars' route to the "
                "gateway would name a port the Service lacks, and fail",
                "add the port to `service.ports` in the chart's values, e.g. "
                f"`{{name: tls-{missing[0]}, port: {missing[0]}, targetPort: {missing[0]}}}` "
                "(keep the chart's own ports)",
            )
        )
    return out


def selects(selector: Sequence[tuple[str, str]], labels: Mapping[str, str]) -> bool:
    """Whether a gateway's selector picks pods with these labels (every pair present)."""
    return all(labels.get(k) == v for k, v in selector)


def _shown(pairs: Iterable[tuple[str, str]]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}"


def _finding(chart: GatewayChart, code: str, message: str, hint: str) -> Finding:
    return Finding(
        code,
        Severity.ERROR,
        chart.loc,
        f"istio.gateways[{chart.index}]",
        message,
        hint,
    )


def _load_balancers(r: GatewayRender) -> list[Finding]:
    return [
        _finding(
            r.chart,
            "gateway-chart-loadbalancer",
            f"the {r.chart.describe()} renders Service {name!r} of type LoadBalancer: an "
            "egress gateway exposed outside the cluster is a mistake (it is Istio's gateway "
            "chart's default)",
            "set `service: {type: ClusterIP}` in one of the entry's values files",
        )
        for name, kind in services(r.objects)
        if kind == "LoadBalancer"
    ]


def _selector_hint(chart: GatewayChart, gw: EgressGateway) -> str:
    wanted = dict(gw.selector).get("istio")
    by_release = f"istio-{wanted}" if wanted else None
    parts = []
    if by_release and by_release != chart.release:
        parts.append(f"name the release {by_release} (Istio's chart derives the label from it)")
    parts.append(f"set `labels: {_shown(gw.selector)}` in the chart's values")
    parts.append(f"or change the `selector` of gateway {gw.name!r}")
    return "; ".join(parts)


def _gateway_findings(gw: EgressGateway, renders: Sequence[GatewayRender]) -> list[Finding]:
    """A gateway against the charts of its namespace (``renders``, not empty)."""
    pods = [(r, shown, labels) for r in renders for shown, labels in pod_labels(r.objects)]
    if not pods:
        return [
            _finding(
                r.chart,
                "gateway-chart-no-pods",
                f"gateway {gw.name!r} uses the {r.chart.describe()}, which renders no "
                "Deployment or DaemonSet: nothing would run the gateway",
                "check the chart and its values (Istio's gateway chart: `kind: Deployment`)",
            )
            for r in renders
        ]
    out = []
    if not any(selects(gw.selector, labels) for _, _, labels in pods):
        for r in renders:
            found = [
                f"{shown} {_shown((k, labels.get(k, '(unset)')) for k, _ in gw.selector)}"
                for rr, shown, labels in pods
                if rr is r
            ]
            out.append(
                _finding(
                    r.chart,
                    "gateway-chart-selector",
                    f"gateway {gw.name!r} selects pods {_shown(gw.selector)}, but the "
                    f"{r.chart.describe()} labels its pods "
                    f"{'; '.join(found) or '(it renders none)'}: the gateway would select "
                    "no pod and its traffic would go nowhere",
                    _selector_hint(r.chart, gw),
                )
            )
    names = {name for r in renders for name, _ in services(r.objects)}
    if gw.service not in names:
        for r in renders:
            rendered = ", ".join(sorted(name for name, _ in services(r.objects))) or "none"
            out.append(
                _finding(
                    r.chart,
                    "gateway-chart-service",
                    f"gateway {gw.name!r} sends traffic to Service {gw.service!r}, but the "
                    f"{r.chart.describe()} renders Services: {rendered}",
                    f"set the `service` of gateway {gw.name!r} to the chart's Service, or name "
                    f"the release {gw.service} (Istio's chart names the Service after it)",
                )
            )
    return out


def gateway_findings(env: Environment, renders: Sequence[GatewayRender]) -> list[Finding]:
    """Every error of the gateway renders, each at its chart's entry, in file order."""
    out: list[Finding] = []
    for r in renders:
        out += _load_balancers(r)
    for gw in gateways_using_charts(env):
        ns = gw.namespace or env.namespace
        here = [r for r in renders if r.chart.namespace == ns]
        if here:
            out += _gateway_findings(gw, here)
            out += _port_findings(gw, env.inventory, here)
    return sorted(out, key=lambda f: (f.loc.line, f.loc.col, f.code, f.message))


def check_gateways(env: Environment, renders: Sequence[GatewayRender]) -> None:
    """Raise InventoryError (exit 3, located) when a gateway render is wrong for the
    inventory: nothing is applied."""
    found = gateway_findings(env, renders)
    if found:
        raise InventoryError(found)
