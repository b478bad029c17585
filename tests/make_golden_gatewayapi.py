"""Regenerate tests/golden_gatewayapi/<case>/{values,manifests}.yaml: egress gateways
with `api: gateway-api` (issue #13), each case for an Istio 1.29 and a 1.30 target
(TLSRoute v1alpha2 and v1).  Run ``.venv/bin/python -m tests.make_golden_gatewayapi``
and review the diff like code.

The cases are model objects (not inventory files), so that they hold whatever the
inventory reader does with `gateways:` and `via`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from egressctl.charts.helm import helm_template
from egressctl.inventory.model import (
    Capture,
    EgressGateway,
    GatewayApi,
    Inventory,
    Origination,
    Policy,
    Port,
    Resolution,
    Service,
    TlsMode,
)
from egressctl.mesh import plan
from egressctl.pipeline import compile_inventory

GOLDEN = Path(__file__).resolve().parent / "golden_gatewayapi"
CHART = GOLDEN.parents[1] / "chart"
NAMESPACE = "istio-system"  # the environment's (the release's) namespace
GATEWAY_NAMESPACE = "istio-egress"
VERSIONS = {"istio-1.29": (1, 29), "istio-1.30": (1, 30)}


def gateway(namespace: str | None = GATEWAY_NAMESPACE, name: str = "egress") -> EgressGateway:
    return EgressGateway(name, namespace=namespace, api=GatewayApi.GATEWAY_API, mtls=False)


def inventory(*services: Service, gateways: tuple[EgressGateway, ...] | None = None) -> Inventory:
    return Inventory(
        policy=Policy.REGISTRY_ONLY,
        capture=Capture(),
        services=services,
        gateways=(gateway(),) if gateways is None else gateways,
        sources=("gatewayapi-cases",),
    )


HTTP = Service(
    "httpbin",
    ("httpbin.org",),
    (Port(80, "HTTP", "http"),),
    Resolution.DNS,
    via="egress",
    owner="team-a",
)
HTTPS = Service(
    "google", ("www.google.com",), (Port(443, "HTTPS", "https"),), Resolution.DNS, via="egress"
)
ORIGINATE = Service(
    "legacy-api",
    ("legacy.partner.example",),
    (Port(80, "HTTP", "http", target_port=443, originate=Origination(TlsMode.SIMPLE)),),
    Resolution.DNS,
    via="egress",
)
CASES = {"http": (HTTP,), "https": (HTTPS,), "originate": (ORIGINATE,)}


def case_names() -> list[str]:
    return [f"{case}-{version}" for case in CASES for version in VERSIONS]


def compile_case(name: str) -> str:
    case, _, version = name.partition("-")
    target = plan.Target(namespace=NAMESPACE, istio_version=VERSIONS[version])
    return compile_inventory(inventory(*CASES[case]), target=target).values_text


def generate(name: str, helm: str | None = None) -> tuple[str, str]:
    values = compile_case(name)
    manifests = helm_template(
        "egress", CHART, namespace=NAMESPACE, values_text=values, step="render golden", helm=helm
    )
    return values, manifests


def main() -> int:
    for name in case_names():
        values, manifests = generate(name)
        folder = GOLDEN / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "values.yaml").write_text(values, encoding="utf-8")
        (folder / "manifests.yaml").write_text(manifests, encoding="utf-8")
        sys.stderr.write(f"wrote {name}/values.yaml, {name}/manifests.yaml\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
