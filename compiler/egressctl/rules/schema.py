"""JSON Schemas of the two file kinds, for editors (`egressctl schema`).

Built from the same key lists the reader uses (a test keeps them equal) and the same
name patterns the rules use.  The schema
checks shape; the rules with context (Istio's and egressctl's own) stay in the
compiler, which editors cannot run.
"""

from __future__ import annotations

import json
from typing import Any

from egressctl.inventory import keys
from egressctl.inventory.arguments import HELM_RELEASE_MAX
from egressctl.inventory.model import (
    API_VERSIONS,
    PROTOCOLS,
    Dataplane,
    GatewayApi,
    IstioInstall,
    Location,
    Policy,
    Resolution,
    TlsMode,
)
from egressctl.inventory.names import DNS_LABEL, DNS_LABEL_MAX, DNS_SUBDOMAIN
from egressctl.rules.catalogue import RULES_BY_CODE

DRAFT = "http://json-schema.org/draft-07/schema#"
_NAME = f"^{DNS_LABEL}$"
_RELEASE = f"^{DNS_SUBDOMAIN}$"
_NOT_A_FLAG = "^[^-]"
# A chart repository and a chart version in it: the Istio chart's and every extra chart's.
_REPO: dict[str, Any] = {
    "type": "string",
    "pattern": "^([hH][tT][tT][pP][sS]?|[oO][cC][iI])://\\S+$",
    "description": "A chart repository URL (http, https or oci).",
}
_VERSION: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "pattern": "^[0-9A-Za-z.+~^*<>=, |][0-9A-Za-z.+~^*<>=, |-]*$"},
        {"type": "number"},
    ],
    "description": "The chart version (or range) in `repo`.",
}


def _label(
    description: str, pattern: str = _NAME, max_length: int = DNS_LABEL_MAX
) -> dict[str, Any]:
    """A DNS-1123 label (namespaces, revisions), or with ``_RELEASE`` a Helm release name."""
    return {
        "type": "string",
        "pattern": pattern,
        "maxLength": max_length,
        "description": description,
    }


def _ci(word: str) -> str:
    """A case-insensitive ECMA-262 pattern for ``word`` (editors run JavaScript regexes)."""
    return "".join(
        f"[{c.lower()}{c.upper()}]" if c.isalpha() else ("\\" + c if c in "-." else c) for c in word
    )


_PORT_TEXT = "^\\s*\\d+\\s*(/\\s*(" + "|".join(_ci(k) for k in sorted(PROTOCOLS)) + ")\\s*)?$"


def _enum_ci(values: list[str], description: str) -> dict[str, Any]:
    """Any case is accepted; editors complete the canonical spelling."""
    return {
        "type": "string",
        "description": description,
        "anyOf": [{"enum": values}, {"pattern": "^(" + "|".join(map(_ci, values)) + ")$"}],
    }


def _strict(properties: dict[str, Any], keys: tuple[str, ...], **extra: Any) -> dict[str, Any]:
    assert set(properties) == set(keys), (sorted(properties), keys)  # noqa: S101
    return {"type": "object", "additionalProperties": False, "properties": properties, **extra}


def _strings(description: str) -> dict[str, Any]:
    return {"type": "array", "items": {"type": "string"}, "description": description}


def _string_map(description: str) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": {"type": ["string", "number"]},
        "description": description,
    }


def _port_number(description: str = "A port number.") -> dict[str, Any]:
    return {"type": "integer", "minimum": 1, "maximum": 65535, "description": description}


# The warnings each kind of entry reports, which editors offer under `acknowledge:`
# (any other code is left to `check`: `acknowledge-unused` or `acknowledge-error`).
ACKNOWLEDGEABLE = {
    "a service": (
        "entry-bypassed",
        "host-partial-wildcard",
        "port-443-plaintext",
        "port-80-tls",
        "tcp-port-catch-all",
        "tcp-port-open",
        "wildcard-covers",
        "wildcard-public-suffix",
    ),
    "the capture": ("capture-none", "capture-overlap", "policy-bypassed-by-capture"),
}


def _acknowledge(where: str) -> dict[str, Any]:
    """`acknowledge: {CODE: reason}` on ``where`` (a key of :data:`ACKNOWLEDGEABLE`)."""
    return {
        "type": "object",
        "description": f"Warnings accepted for {where}, each with its reason: CODE: why.",
        "propertyNames": {"pattern": "^[a-z0-9-]+$"},
        "properties": {
            code: {"type": "string", "minLength": 1, "description": RULES_BY_CODE[code].summary}
            for code in ACKNOWLEDGEABLE[where]
        },
        "additionalProperties": {"type": "string", "minLength": 1},
    }


def _namespaces() -> dict[str, Any]:
    """`namespaces:`: per-namespace allowlists (issue #14)."""
    allow = {
        "type": "array",
        "items": {"type": "string"},
        "description": "Services (keys of `services`) reachable from here; `*`: every one.",
    }
    workload = _strict(
        {
            "selector": {**_string_map("The workloads' labels."), "minProperties": 1},
            "allow": allow,
            "serviceAccount": {
                "type": "string",
                "description": "The ServiceAccount the workloads' pods run as (required "
                "in ambient: the waypoint knows pods by identity).",
            },
        },
        keys.WORKLOAD_KEYS,
        required=["selector"],
    )
    namespace = _strict(
        {
            "allow": allow,
            "policy": _enum_ci(
                [p.value for p in Policy],
                "The namespace's outboundTrafficPolicy (default REGISTRY_ONLY).",
            ),
            "networkPolicy": {
                "type": "boolean",
                "description": "Render an egress NetworkPolicy as a backstop (default false).",
            },
            "workloads": {
                "type": "object",
                "description": "Allowlists that replace the namespace's for some workloads.",
                "propertyNames": {"pattern": _NAME, "maxLength": DNS_LABEL_MAX},
                "additionalProperties": {"anyOf": [{"type": "null"}, workload]},
            },
        },
        keys.NAMESPACE_KEYS,
    )
    return {
        "type": "object",
        "description": "Listed namespaces: what each may reach (a Sidecar per namespace).",
        "propertyNames": {"pattern": _NAME, "maxLength": DNS_LABEL_MAX},
        "additionalProperties": {"anyOf": [{"type": "null"}, namespace]},
    }


def _gateways() -> dict[str, Any]:
    """`gateways`: egress gateways, keyed by the Gateway's name (issue #13)."""
    gateway = _strict(
        {
            "namespace": _label("Where the gateway runs; default: the environment's."),
            "selector": {
                **_string_map("The gateway pods' labels (default {istio: egressgateway})."),
                "minProperties": 1,
            },
            "service": _label("The gateway's Service (default istio-egressgateway)."),
            "api": {
                "type": "string",
                "enum": [a.value for a in GatewayApi],
                "description": "istio (Gateway + VirtualService + DestinationRule) or "
                "gateway-api (Gateway + HTTPRoute/TLSRoute).",
            },
            "mtls": {
                "type": "boolean",
                "description": "Sidecar → gateway over ISTIO_MUTUAL (default true with "
                "api: istio; not available with api: gateway-api).",
            },
        },
        keys.GATEWAY_KEYS,
    )
    return {
        "type": "object",
        "description": "Egress gateways, keyed by the Gateway's name.",
        "propertyNames": {"pattern": _NAME, "maxLength": DNS_LABEL_MAX},
        "additionalProperties": {"anyOf": [{"type": "null"}, gateway]},
    }


_VIA = {
    "type": "string",
    "anyOf": [{"const": "direct"}, {"pattern": _NAME, "maxLength": DNS_LABEL_MAX}],
    "description": "The egress gateway (a `gateways` key) traffic leaves through, or `direct`.",
}


def _defaults() -> dict[str, Any]:
    return _strict(
        {
            "via": {
                **_VIA,
                "description": "The gateway every service leaves through unless it says "
                "`via: direct` (default: direct).",
            },
            "exportTo": {
                "type": "string",
                "enum": ["listed"],
                "description": "`listed`: each entry seen only where a namespace allows it.",
            },
        },
        keys.DEFAULTS_KEYS,
    )


def inventory_schema() -> dict[str, Any]:
    protocols = sorted(set(PROTOCOLS.values()))
    originate = _strict(
        {
            "mode": _enum_ci([m.value for m in TlsMode], "SIMPLE (server TLS) or MUTUAL."),
            "sni": {"type": "string", "description": "SNI to send (default: the host)."},
            "credentialName": {
                "type": "string",
                "description": "Secret with the client certificate (MUTUAL).",
            },
            "namespace": _label("The workloads' namespace, where the rule goes (MUTUAL)."),
            "workloadSelector": _string_map("Labels of the workloads (MUTUAL)."),
        },
        keys.ORIGINATE_KEYS,
        required=["mode"],
    )
    port_map = _strict(
        {
            "number": _port_number(),
            "protocol": _enum_ci(protocols, "Istio protocol, any case."),
            "name": {
                "type": "string",
                "pattern": _NAME,
                "maxLength": DNS_LABEL_MAX,
                "description": "Port name (default: the protocol, lowercased).",
            },
            "targetPort": _port_number("Port on the endpoints (default: number)."),
            "originate": {
                "description": "TLS origination: the sidecar opens TLS (the app speaks HTTP).",
                "anyOf": [_enum_ci([m.value for m in TlsMode], "The TLS mode."), originate],
            },
        },
        keys.PORT_KEYS,
        required=["number"],
    )
    endpoint = {
        "anyOf": [
            {"type": "string", "description": "An IP address or FQDN."},
            _strict(
                {
                    "address": {"type": "string"},
                    "ports": {"type": "object", "additionalProperties": _port_number()},
                    "labels": _string_map("Endpoint labels."),
                    "network": {"type": "string"},
                    "locality": {"type": "string"},
                    "weight": {"type": "integer", "minimum": 0},
                },
                keys.ENDPOINT_KEYS,
                required=["address"],
            ),
        ]
    }
    service = _strict(
        {
            "host": {"type": "string", "description": "The external host (or `*.domain`)."},
            "hosts": {
                "type": "array",
                "minItems": 1,
                "items": {"type": "string"},
                "description": "Several hosts.",
            },
            "ports": {
                "type": "array",
                "minItems": 1,
                "description": "PORT/PROTOCOL strings (443/https), bare 80 or 443, or mappings.",
                "items": {
                    "anyOf": [
                        {"type": "integer", "enum": [80, 443]},
                        {"type": "string", "pattern": _PORT_TEXT},
                        port_map,
                    ]
                },
            },
            "resolution": _enum_ci(
                [r.value for r in Resolution], "Default DNS; NONE for a wildcard host."
            ),
            "location": _enum_ci([x.value for x in Location], "Default MESH_EXTERNAL."),
            "addresses": _strings("IPs or CIDRs of the service."),
            "endpoints": {
                "type": "array",
                "items": endpoint,
                "description": "Endpoints (STATIC: IPs; DNS: IPs or FQDNs).",
            },
            "exportTo": _strings("Namespaces that see it: `.`, `*`, `~` or names."),
            "owner": {"type": "string", "description": "Who owns this entry (audit)."},
            "reason": {"type": "string", "description": "Why pods need it (audit)."},
            "ticket": {"type": "string", "description": "Change ticket (audit)."},
            "expires": {
                "type": "string",
                "format": "date",
                "description": "The day after which the entry should be gone "
                "(YYYY-MM-DD): a warning in `check` once past, listed first in `report`.",
            },
            "acknowledge": _acknowledge("a service"),
            "via": _VIA,
        },
        keys.SERVICE_KEYS,
        oneOf=[{"required": ["host"]}, {"required": ["hosts"]}],
    )
    service["required"] = ["ports"]
    return {
        "$schema": DRAFT,
        "$id": "https://egressctl.dev/schemas/inventory.schema.json",
        "title": "egressctl inventory",
        "description": "The egress policy of an Istio mesh: which external hosts pods may reach.",
        **_strict(
            {
                "policy": _enum_ci([p.value for p in Policy], "Default ALLOW_ANY."),
                "capture": _strict(
                    {
                        "include": _strings("CIDRs the sidecar captures (default: all)."),
                        "exclude": _strings("CIDRs that bypass the sidecar."),
                        "acknowledge": _acknowledge("the capture"),
                    },
                    keys.CAPTURE_KEYS,
                ),
                "namespaces": _namespaces(),
                "gateways": _gateways(),
                "defaults": _defaults(),
                "services": {
                    "type": "object",
                    "description": "External services, keyed by object name.",
                    "propertyNames": {"pattern": _NAME, "maxLength": DNS_LABEL_MAX},
                    "additionalProperties": {"anyOf": [{"type": "null"}, service]},
                },
            },
            keys.INVENTORY_KEYS,
        ),
    }


def _gateway_charts() -> dict[str, Any]:
    """`istio.gateways`: the gateway charts the environment runs (issue #13)."""
    entry = _strict(
        {
            "chart": {
                "type": "string",
                "pattern": _NOT_A_FLAG,
                "description": "Gateway chart folder or .tgz (relative), e.g. Istio's "
                "manifests/charts/gateway, or the chart's name in `repo`.",
            },
            "release": _label(
                "Default istio-egressgateway (Istio's chart labels the pods `istio: "
                "egressgateway` from it).",
                _RELEASE,
                HELM_RELEASE_MAX,
            ),
            "namespace": _label("Where the gateway runs; default: the environment's."),
            "values": {
                "type": "array",
                "items": {"type": "string", "pattern": _NOT_A_FLAG},
                "description": "Your values files for this chart, relative to this file.",
            },
            "repo": _REPO,
            "version": _VERSION,
        },
        keys.GATEWAY_CHART_KEYS,
        required=["chart"],
    )
    return {
        "type": "array",
        "items": entry,
        "description": "Gateway charts to render (and check) with the Istio chart.",
    }


def env_schema() -> dict[str, Any]:
    inventory = inventory_schema()
    overrides = {k: v for k, v in inventory.items() if not k.startswith("$") and k != "title"}
    overrides["description"] = "Overrides of the inventory for this environment."
    return {
        "$schema": DRAFT,
        "$id": "https://egressctl.dev/schemas/env.schema.json",
        "title": "egressctl environment",
        "description": "Where and how one environment is deployed.",
        **_strict(
            {
                "inventory": {
                    "anyOf": [
                        {"type": "string"},
                        {"type": "array", "minItems": 1, "items": {"type": "string"}},
                    ],
                    "description": "Inventory files, relative to this file; later ones win.",
                },
                "context": {
                    "type": "string",
                    "pattern": "^[^-\\s]\\S*$",
                    "description": "The kube context (a guard).",
                },
                "namespace": _label("Default istio-system."),
                "allowEmptyInventory": {
                    "type": "boolean",
                    "description": "Accept inventory files with neither `services` nor "
                    "`policy` (default false: such a file is an error).",
                },
                "networkingApiVersion": {
                    "type": "string",
                    "enum": [*API_VERSIONS, *(f"networking.istio.io/{v}" for v in API_VERSIONS)],
                    "description": "v1 (Istio 1.22+), v1beta1 (1.5+), v1alpha3 (1.1-era).",
                },
                "istio": _strict(
                    {
                        "chart": {
                            "type": "string",
                            "pattern": _NOT_A_FLAG,
                            "description": "Istio chart folder or .tgz (relative), or the "
                            "chart's name in `repo`.",
                        },
                        "repo": _REPO,
                        "version": _VERSION,
                        "release": _label("Default istiod.", _RELEASE, HELM_RELEASE_MAX),
                        "install": _enum_ci(
                            [i.value for i in IstioInstall],
                            "template: kubectl apply of the render; helm: `helm upgrade` of "
                            "the release; auto (default): helm when the release is in the "
                            "cluster, else template.",
                        ),
                        "revision": _label(
                            "Istio revision (ConfigMaps istio-REV); default: found in the render."
                        ),
                        "values": {
                            "type": "array",
                            "items": {"type": "string", "pattern": _NOT_A_FLAG},
                            "description": "Your Istio values files, relative to this file.",
                        },
                        "gateways": _gateway_charts(),
                        "charts": {
                            **_gateway_charts(),
                            "description": "Data-plane charts (ztunnel, istio-cni) to render "
                            "(and check) with the Istio chart; release default: the chart's name.",
                        },
                    },
                    keys.ISTIO_KEYS,
                    required=["chart"],
                ),
                "kubeconfig": {
                    "type": "string",
                    "minLength": 1,
                    "description": "kubeconfig file, relative to this file "
                    "(default: $KUBECONFIG, then ~/.kube/config).",
                },
                "apply": _strict(
                    {
                        "serverSide": {
                            "type": "boolean",
                            "description": "kubectl apply --server-side "
                            "--field-manager=egressctl (default false).",
                        },
                    },
                    keys.APPLY_KEYS,
                ),
                "egress": overrides,
                "dataplane": _enum_ci(
                    [d.value for d in Dataplane],
                    "sidecar (default): the lockdown is outboundTrafficPolicy and capture; "
                    "ambient: a waypoint, AuthorizationPolicies and NetworkPolicies.",
                ),
                "ambient": _strict(
                    {
                        "namespace": _label("The egress namespace (default istio-egress)."),
                        "waypoint": _label("The egress waypoint (default egress-waypoint)."),
                        "enrolled": {
                            "type": "array",
                            "items": _label("A namespace enrolled in ambient."),
                            "description": "Namespaces enrolled in ambient beyond those "
                            "`namespaces:` lists: each gets the lockdown NetworkPolicy.",
                        },
                    },
                    keys.AMBIENT_KEYS,
                ),
                "cluster": _strict(
                    {
                        "podCIDRs": _strings("The cluster's pod ranges (must stay captured)."),
                        "serviceCIDRs": _strings("The cluster's service ranges."),
                    },
                    keys.CLUSTER_KEYS,
                ),
            },
            keys.ENV_KEYS,
            required=["inventory", "context"],
        ),
    }


SCHEMAS = {"inventory": inventory_schema, "env": env_schema}


def dump(kind: str) -> str:
    return json.dumps(SCHEMAS[kind](), indent=2) + "\n"
