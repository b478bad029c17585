"""Regenerate tests/golden_ambient/<dataplane>/{values,manifests}.yaml: one inventory
compiled for the sidecar and for the ambient data plane (issue #15), side by side.  Run
``.venv/bin/python -m tests.make_golden_ambient`` and review the diff like code.

The inventory is model objects (not an inventory file), so that it holds whatever the
reader does with `namespaces:`.
"""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path

from egressctl.charts.helm import helm_template
from egressctl.inventory.model import (
    Ambient,
    Capture,
    ClusterRanges,
    Dataplane,
    Inventory,
    NamespacePolicy,
    Origination,
    Policy,
    Port,
    Resolution,
    Service,
    TlsMode,
    WorkloadAllowlist,
)
from egressctl.mesh import plan
from egressctl.pipeline import compile_inventory

GOLDEN = Path(__file__).resolve().parent / "golden_ambient"
CHART = GOLDEN.parents[1] / "chart"
NAMESPACE = "istio-system"  # the environment's (the release's) namespace
CLUSTER = ClusterRanges(
    pod_cidrs=(ipaddress.ip_network("10.244.0.0/16"),),
    service_cidrs=(ipaddress.ip_network("10.96.0.0/12"),),
)
AMBIENT = Ambient(namespace="istio-egress", waypoint="egress-waypoint", enrolled=("batch",))

SERVICES = (
    Service(
        "httpbin", ("httpbin.org",), (Port(80, "HTTP", "http"),), Resolution.DNS, owner="team-a"
    ),
    Service("google", ("www.google.com",), (Port(443, "HTTPS", "https"),), Resolution.DNS),
    Service(
        "billing-api",
        ("api.billing.example",),
        (Port(80, "HTTP", "http", target_port=443, originate=Origination(TlsMode.SIMPLE)),),
        Resolution.DNS,
    ),
    Service("wiki", ("*.wikipedia.org",), (Port(80, "HTTP", "http"),), Resolution.NONE),
    Service(
        "legacy-db",
        ("db.legacy.example",),
        (Port(5432, "TCP", "tcp"),),
        Resolution.STATIC,
        addresses=("192.0.2.0/28",),
    ),
)
NAMESPACES = (
    NamespacePolicy(
        "shop",
        ("httpbin", "google", "billing-api"),
        workloads=(WorkloadAllowlist("reports", (("app", "reports"),), ("httpbin", "wiki")),),
    ),
    NamespacePolicy("ops", ("legacy-db",)),
)


def inventory() -> Inventory:
    return Inventory(
        policy=Policy.REGISTRY_ONLY,
        capture=Capture(),
        services=SERVICES,
        namespaces=NAMESPACES,
        sources=("ambient-case",),
    )


TARGETS = {
    "sidecar": plan.Target(namespace=NAMESPACE, istio_version=(1, 30), cluster=CLUSTER),
    "ambient": plan.Target(
        namespace=NAMESPACE,
        istio_version=(1, 30),
        dataplane=Dataplane.AMBIENT,
        cluster=CLUSTER,
        ambient=AMBIENT,
    ),
}


def compile_case(name: str) -> str:
    return compile_inventory(inventory(), target=TARGETS[name]).values_text


def generate(name: str, helm: str | None = None) -> tuple[str, str]:
    values = compile_case(name)
    manifests = helm_template(
        "egress", CHART, namespace=NAMESPACE, values_text=values, step="render golden", helm=helm
    )
    return values, manifests


def main() -> int:
    for name in TARGETS:
        values, manifests = generate(name)
        folder = GOLDEN / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "values.yaml").write_text(values, encoding="utf-8")
        (folder / "manifests.yaml").write_text(manifests, encoding="utf-8")
        sys.stderr.write(f"wrote {name}/values.yaml, {name}/manifests.yaml\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
