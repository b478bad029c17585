"""egressctl.crd against Istio's released CRDs: structure, unknown fields and CEL rules."""

from __future__ import annotations

import copy
import datetime
import functools
import json
import logging
from pathlib import Path
from typing import Any

import pytest
import yaml

from egressctl.cluster.crds import crds_from_cluster
from egressctl.crd import CrdProblem, CrdSet, celrules
from egressctl.errors import ToolError, UsageError
from tests.conftest import CRDS, python_tool

needs_crds = pytest.mark.skipif(not CRDS.is_file(), reason=f"Istio CRDs not found at {CRDS}")

NET = "networking.istio.io/v1"

_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@pytest.fixture(scope="module")
def istio() -> CrdSet:
    return CrdSet.from_file(CRDS)


@functools.cache
def _crd_docs() -> list[dict[str, Any]]:
    with CRDS.open(encoding="utf-8") as fh:
        return [d for d in yaml.load_all(fh, Loader=_SafeLoader) if d]


def _crd_doc(kind: str) -> dict[str, Any]:
    return next(d for d in _crd_docs() if d["spec"]["names"]["kind"] == kind)


def _rules_of(kind: str) -> set[tuple[str, str]]:
    """(message, rule) of every x-kubernetes-validations rule in the CRD's v1 schema."""
    found: set[tuple[str, str]] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for rule in node.get("x-kubernetes-validations", []):
                found.add((rule.get("message", ""), rule["rule"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    version = next(v for v in _crd_doc(kind)["spec"]["versions"] if v["name"] == "v1")
    walk(version["schema"]["openAPIV3Schema"])
    return found


DELETE = object()


def _set(obj: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``obj`` with the dotted ``path`` set to ``value`` (or deleted: DELETE)."""
    out = copy.deepcopy(obj)
    *parents, last = path.split(".")
    node = out
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if value is DELETE:
        node.pop(last, None)
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return out


def _obj(kind: str, spec: dict[str, Any], name: str = "api") -> dict[str, Any]:
    meta = {"name": name, "namespace": "egress", "labels": {"app.kubernetes.io/name": "egress"}}
    return {"apiVersion": NET, "kind": kind, "metadata": meta, "spec": spec}


SE = _obj(
    "ServiceEntry",
    {
        "hosts": ["api.example.com"],
        "location": "MESH_EXTERNAL",
        "resolution": "DNS",
        "ports": [{"number": 443, "name": "tls", "protocol": "TLS"}],
        "exportTo": ["."],
    },
)
SE_STATIC = _obj(
    "ServiceEntry",
    {
        "hosts": ["db.example.com"],
        "addresses": ["10.10.0.0/16"],
        "location": "MESH_EXTERNAL",
        "resolution": "STATIC",
        "ports": [{"number": 5432, "name": "tcp-pg", "protocol": "TCP", "targetPort": 15432}],
        "endpoints": [{"address": "10.10.0.5", "ports": {"tcp-pg": 5432}, "labels": {"a": "b"}}],
    },
    name="db",
)
VS = _obj(
    "VirtualService",
    {
        "hosts": ["api.example.com"],
        "gateways": ["mesh", "istio-egress/egress"],
        "tls": [
            {
                "match": [{"port": 443, "sniHosts": ["api.example.com"], "gateways": ["mesh"]}],
                "route": [
                    {"destination": {"host": "egress.istio-egress.svc", "port": {"number": 443}}}
                ],
            }
        ],
        "http": [
            {
                "timeout": "5s",
                "retries": {"attempts": 2, "perTryTimeout": "2s"},
                "route": [{"destination": {"host": "api.example.com"}, "weight": 100}],
            }
        ],
    },
)
DR = _obj(
    "DestinationRule",
    {
        "host": "api.example.com",
        "trafficPolicy": {
            "tls": {"mode": "SIMPLE", "sni": "api.example.com"},
            "connectionPool": {"tcp": {"connectTimeout": "1s", "maxConnections": 100}},
            "loadBalancer": {"simple": "ROUND_ROBIN"},
        },
        "subsets": [{"name": "tls", "labels": {"version": "v1"}}],
    },
)
GW = _obj(
    "Gateway",
    {
        "selector": {"istio": "egressgateway"},
        "servers": [
            {
                "port": {"number": 443, "name": "tls", "protocol": "TLS"},
                "hosts": ["api.example.com"],
                "tls": {"mode": "PASSTHROUGH"},
            }
        ],
    },
)
SIDECAR = _obj(
    "Sidecar",
    {
        "egress": [{"hosts": ["./*", "istio-system/*"]}],
        "outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"},
    },
    name="default",
)
CONFIGMAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {}}


# ---------------------------------------------------------------------------
# Valid objects and structural problems


@needs_crds
@pytest.mark.parametrize(
    "obj",
    [
        pytest.param(SE, id="serviceentry-dns"),
        pytest.param(SE_STATIC, id="serviceentry-static-cidr-endpoints"),
        pytest.param(VS, id="virtualservice"),
        pytest.param(DR, id="destinationrule"),
        pytest.param(GW, id="gateway"),
        pytest.param(SIDECAR, id="sidecar"),
        pytest.param(_set(SE, "spec.exportTo", None), id="null-is-pruned-like-the-server"),
        pytest.param(_set(SE, "spec.hosts", ["*.example.com"]), id="wildcard-suffix-host"),
        pytest.param(_set(SE, "spec.ports.0.number", 443.0), id="integral-float-is-an-integer"),
        pytest.param(
            _set(
                _set(SE, "spec.subjectAltNames", [datetime.date(2024, 1, 1)]),
                "metadata.annotations",
                {"built": datetime.date(2024, 1, 1)},
            ),
            id="unquoted-yaml-date-is-a-string",
        ),
    ],
)
def test_valid_objects_have_no_problems(istio: CrdSet, obj: dict[str, Any]) -> None:
    assert istio.validate(obj) == []


@needs_crds
@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param(
            _set(SE, "spec.bogus", 1), [("spec", 'unknown field "bogus"')], id="unknown-field"
        ),
        pytest.param(
            _set(SE, "spec.ports.0.nmber", 1),
            [("spec.ports[0]", 'unknown field "nmber"')],
            id="unknown-nested-field",
        ),
        pytest.param(
            _set(SE, "metadata.lables", {}),
            [("metadata", 'unknown field "lables"')],
            id="unknown-metadata-field",
        ),
        pytest.param(
            _set(SE, "spec.ports.0.number", "443"),
            [("spec.ports[0].number", 'must be of type integer, got string "443"')],
            id="wrong-type",
        ),
        pytest.param(
            _set(SE, "spec.hosts", "api.example.com"),
            [("spec.hosts", 'must be of type array, got string "api.example.com"')],
            id="string-instead-of-list",
        ),
        pytest.param(
            _set(SE, "spec.hosts", DELETE),
            [("spec", 'missing required field "hosts"')],
            id="missing-required",
        ),
        pytest.param(
            _set(SE, "spec.hosts", []),
            [("spec.hosts", "must have at least 1 items, got 0")],
            id="min-items",
        ),
        pytest.param(
            _set(SE, "spec.location", "OUTSIDE"),
            [
                (
                    "spec.location",
                    'unsupported value "OUTSIDE": supported values: "MESH_EXTERNAL", '
                    '"MESH_INTERNAL"',
                )
            ],
            id="enum",
        ),
        pytest.param(
            _set(SE, "spec.ports", [{"number": 443, "name": "a"}, {"number": 444, "name": "a"}]),
            [("spec.ports[1]", 'duplicate entry with name="a"')],
            id="list-map-duplicate-key",
        ),
        pytest.param(
            _set(SE, "spec.ports.0.targetPort", 5_000_000_000),
            [
                (
                    "spec.ports[0].targetPort",
                    "must be less than or equal to 4294967295, got 5000000000",
                ),
                ("spec.ports[0].targetPort", "port must be between 1-65535"),
            ],
            id="maximum-does-not-block-cel",
        ),
        pytest.param(
            _set(SE, "metadata.name", "Api_1"),
            [
                (
                    "metadata.name",
                    'invalid name "Api_1": must be a lowercase RFC 1123 subdomain '
                    "(lower-case letters, digits, '-' and '.'; at most 253 characters)",
                )
            ],
            id="metadata-name",
        ),
        pytest.param(
            _set(VS, "spec.tls.0.match.0.sniHosts", DELETE),
            [("spec.tls[0].match[0]", 'missing required field "sniHosts"')],
            id="vs-tls-match-without-snihosts",
        ),
        pytest.param(
            _set(DR, "spec.trafficPolicy.loadBalancer.consistentHash", {"useSourceIp": True}),
            [
                (
                    "spec.trafficPolicy.loadBalancer",
                    'only one of "simple", "consistentHash" may be set; '
                    'found "simple", "consistentHash"',
                )
            ],
            id="dr-oneof",
        ),
        pytest.param(
            _set(GW, "spec.servers.0.port.number", 70000.5),
            [("spec.servers[0].port.number", "must be of type integer, got number 70000.5")],
            id="float-for-integer",
        ),
    ],
)
def test_structural_problems(
    istio: CrdSet, obj: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    problems = istio.validate(obj)
    assert [(p.path, p.message) for p in problems] == expected
    assert {(p.kind, p.name) for p in problems} == {(obj["kind"], obj["metadata"]["name"])}


# ---------------------------------------------------------------------------
# CEL rules from the real CRDs

SE_RULES = [
    pytest.param(
        _set(SE, "spec.hosts", ["*"]),
        "spec.hosts[0]",
        "hostname cannot be wildcard",
        'self != "*"',
        id="se-host-star",
    ),
    pytest.param(
        _set(_set(SE, "spec.resolution", "NONE"), "spec.endpoints", [{"address": "1.2.3.4"}]),
        "spec",
        "NONE mode cannot set endpoints",
        '((has(self.resolution) ? self.resolution : "NONE") == "NONE") ? !has(self.endpoints) '
        ": true",
        id="se-none-with-endpoints",
    ),
    pytest.param(
        _set(_set(SE, "spec.resolution", DELETE), "spec.endpoints", [{"address": "1.2.3.4"}]),
        "spec",
        "NONE mode cannot set endpoints",
        '((has(self.resolution) ? self.resolution : "NONE") == "NONE") ? !has(self.endpoints) '
        ": true",
        id="se-default-resolution-is-none",
    ),
    pytest.param(
        _set(
            _set(SE, "spec.resolution", "DNS_ROUND_ROBIN"),
            "spec.endpoints",
            [{"address": "a.example.com"}, {"address": "b.example.com"}],
        ),
        "spec",
        "DNS_ROUND_ROBIN mode cannot have multiple endpoints",
        '((has(self.resolution) ? self.resolution : "") == "DNS_ROUND_ROBIN") ? ((has('
        "self.endpoints) ? self.endpoints : []).size() <= 1) : true",
        id="se-dns-round-robin-two-endpoints",
    ),
    pytest.param(
        _set(SE, "spec.addresses", ["10.0.0.0/8"]),
        "spec",
        "CIDR addresses are allowed only for NONE/STATIC resolution types",
        '!((has(self.addresses) ? self.addresses : []).exists(k, k.contains("/")) && '
        '!((has(self.resolution) ? self.resolution : "NONE") in ["STATIC", "NONE"]))',
        id="se-cidr-with-dns",
    ),
    pytest.param(
        _set(SE, "spec.ports", [{"number": 443, "name": "a"}, {"number": 443, "name": "b"}]),
        "spec.ports",
        "port number cannot be duplicated",
        "self.all(l1, self.exists_one(l2, l1.number == l2.number))",
        id="se-duplicate-port-number",
    ),
    pytest.param(
        _set(SE, "spec.ports.0.number", 70000),
        "spec.ports[0].number",
        "port must be between 1-65535",
        "0 < self && self <= 65535",
        id="se-port-70000",
    ),
    pytest.param(
        _set(SE, "spec.ports.0.number", 0),
        "spec.ports[0].number",
        "port must be between 1-65535",
        "0 < self && self <= 65535",
        id="se-port-0",
    ),
    pytest.param(
        _set(SE_STATIC, "spec.workloadSelector", {"labels": {"app": "db"}}),
        "spec",
        "only one of WorkloadSelector or Endpoints can be set",
        "(has(self.workloadSelector) ? 1 : 0) + (has(self.endpoints) ? 1 : 0) <= 1",
        id="se-selector-and-endpoints",
    ),
    pytest.param(
        _set(SE_STATIC, "spec.endpoints.0.ports", {"-pg": 5432}),
        "spec.endpoints[0].ports",
        "port name must be valid",
        "self.all(key, size(key) < 63 && "
        'key.matches("^[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?$"))',
        id="se-endpoint-port-name",
    ),
    pytest.param(
        _set(SE_STATIC, "spec.endpoints.0", {"labels": {"a": "b"}}),
        "spec.endpoints[0]",
        "Address is required",
        "has(self.address) || has(self.network)",
        id="se-endpoint-without-address",
    ),
]


@needs_crds
@pytest.mark.parametrize(("obj", "path", "message", "rule"), SE_RULES)
def test_serviceentry_cel_rules(
    istio: CrdSet, obj: dict[str, Any], path: str, message: str, rule: str
) -> None:
    assert (message, rule) in _rules_of("ServiceEntry")  # the rule is Istio's, verbatim
    assert istio.validate(obj) == [
        CrdProblem("ServiceEntry", obj["metadata"]["name"], path, message, rule)
    ]


@needs_crds
@pytest.mark.parametrize(
    ("obj", "path", "message"),
    [
        pytest.param(
            _set(DR, "spec.trafficPolicy.connectionPool.tcp.connectTimeout", "0.5ms"),
            "spec.trafficPolicy.connectionPool.tcp.connectTimeout",
            "must be a valid duration greater than 1ms",
            id="dr-duration-too-short",
        ),
        pytest.param(
            _set(VS, "spec.http.0.timeout", "500us"),
            "spec.http[0].timeout",
            "must be a valid duration greater than 1ms",
            id="vs-timeout-too-short",
        ),
        pytest.param(
            _set(DR, "spec.workloadSelector", {"matchLabels": {"app*": "x"}}),
            "spec.workloadSelector.matchLabels",
            "wildcard not allowed in label key match",
            id="dr-selector-wildcard-key",
        ),
        pytest.param(
            _set(
                GW,
                "spec.servers.0.tls",
                {"mode": "SIMPLE", "credentialName": "a", "credentialNames": ["b"]},
            ),
            "spec.servers[0].tls",
            "only one of credentialName or credentialNames can be set",
            id="gw-two-credentials",
        ),
        pytest.param(
            _set(SIDECAR, "spec.workloadSelector", {"labels": {"app": "web*"}}),
            "spec.workloadSelector.labels[app]",
            "wildcard is not supported in selector",
            id="sidecar-selector-wildcard",
        ),
    ],
)
def test_other_kinds_cel_rules(istio: CrdSet, obj: dict[str, Any], path: str, message: str) -> None:
    problems = istio.validate(obj)
    assert [(p.path, p.message) for p in problems] == [(path, message)]
    assert (message, problems[0].rule) in _rules_of(obj["kind"])


@needs_crds
@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param(
            _set(_set(SE, "spec.resolution", "NONE_"), "spec.addresses", ["10.0.0.0/8"]),
            [("spec.resolution", "unsupported value")],
            id="enum-error-holds-back-the-spec-rules",
        ),
        pytest.param(
            _set(SE, "spec.ports", [{"number": "80", "name": "a"}, {"number": "80", "name": "b"}]),
            [
                ("spec.ports[0].number", "must be of type integer"),
                ("spec.ports[1].number", "must be of type integer"),
            ],
            id="type-error-holds-back-the-list-rule",
        ),
        pytest.param(
            _set(_set(SE, "spec.hosts", ["*"]), "spec.location", "NOWHERE"),
            [("spec.hosts[0]", "hostname cannot be wildcard"), ("spec.location", "unsupported")],
            id="sibling-rules-still-run",
        ),
    ],
)
def test_cel_runs_only_where_the_structure_is_sound(
    istio: CrdSet, obj: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    problems = istio.validate(obj)
    assert len(problems) == len(expected), problems
    for problem, (path, start) in zip(problems, expected, strict=True):
        assert (problem.path, problem.message[: len(start)]) == (path, start)


@needs_crds
def test_rule_that_cannot_be_evaluated_is_reported_quietly(
    istio: CrdSet, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    obj = _set(SE_STATIC, "spec.endpoints", [{"address": "unix://"}])
    problems = istio.validate(obj)
    assert [(p.path, p.message.split(":")[0]) for p in problems] == [
        ("spec.endpoints[0].address", "rule could not be evaluated"),
        ("spec.endpoints[0].address", "UDS may not be a dir"),
    ]
    assert "substring" in problems[0].message and "out of range" in problems[0].message
    # the bindings log the Python exception before raising it; the problem says it all
    assert caplog.records == []
    assert capfd.readouterr() == ("", "")


@needs_crds
def test_every_rule_in_the_istio_crds_is_evaluated(istio: CrdSet) -> None:
    assert istio.skipped_rules == []


@needs_crds
def test_each_distinct_rule_is_compiled_once(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled: list[str] = []
    real = celrules.cel.compile

    def counting(text: str) -> Any:
        compiled.append(text)
        return real(text)

    monkeypatch.setattr(celrules.cel, "compile", counting)
    CrdSet.from_file(CRDS)
    distinct = {rule for kind in ("ServiceEntry", "DestinationRule") for _, rule in _rules_of(kind)}
    assert len(compiled) == len(set(compiled))
    assert distinct <= set(compiled)


@needs_crds
def test_rules_are_not_compiled_again_when_validating(
    istio: CrdSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(text: str) -> None:
        raise AssertionError(f"compiled again: {text}")

    monkeypatch.setattr(celrules.cel, "compile", refuse)
    assert istio.validate(_set(SE, "spec.hosts", ["*"]))[0].message == "hostname cannot be wildcard"


# ---------------------------------------------------------------------------
# Versions, kinds and groups


@needs_crds
@pytest.mark.parametrize(
    ("api_version", "kind", "served"),
    [
        pytest.param(NET, "ServiceEntry", True, id="v1"),
        pytest.param("networking.istio.io/v1beta1", "VirtualService", True, id="v1beta1"),
        pytest.param("networking.istio.io/v2", "ServiceEntry", False, id="v2"),
        pytest.param(NET, "Route", False, id="unknown-kind"),
        pytest.param("v1", "ConfigMap", False, id="core"),
    ],
)
def test_served(istio: CrdSet, api_version: str, kind: str, served: bool) -> None:
    assert istio.served(api_version, kind) is served


@needs_crds
def test_validate_all_skips_core_kinds_and_reports_unserved_versions(istio: CrdSet) -> None:
    v2 = _set(SE, "apiVersion", "networking.istio.io/v2")
    unknown_kind = _set(SE, "kind", "ServiceEntri")
    problems = istio.validate_all([CONFIGMAP, SE, v2, VS, unknown_kind])
    assert [(p.kind, p.path) for p in problems] == [
        ("ServiceEntry", "apiVersion"),
        ("ServiceEntri", "kind"),
    ]
    assert problems[0].message.startswith('version "v2" of ServiceEntry.networking.istio.io')
    assert "(served: v1, v1alpha3, v1beta1)" in problems[0].message


@needs_crds
def test_validate_reports_a_group_no_crd_defines(istio: CrdSet) -> None:
    [problem] = istio.validate(CONFIGMAP)
    assert (problem.kind, problem.path) == ("ConfigMap", "apiVersion")
    assert 'defines group ""' in problem.message


# ---------------------------------------------------------------------------
# Kubernetes CEL library functions, on a small CRD of our own


def _test_crd(rules: list[dict[str, str]]) -> dict[str, Any]:
    spec = {
        "type": "object",
        "properties": {"value": {"type": "string"}},
        "x-kubernetes-validations": rules,
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "probes.example.com"},
        "spec": {
            "group": "example.com",
            "names": {"kind": "Probe", "plural": "probes"},
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": spec}}},
                }
            ],
        },
    }


def _probe(value: str) -> dict[str, Any]:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Probe",
        "metadata": {"name": "p"},
        "spec": {"value": value},
    }


@pytest.mark.parametrize(
    ("rule", "value", "holds"),
    [
        pytest.param("isIP(self.value)", "10.0.0.1", True, id="isIP-v4"),
        pytest.param("isIP(self.value)", "2001:db8::1", True, id="isIP-v6"),
        pytest.param("isIP(self.value)", "10.0.0.256", False, id="isIP-bad"),
        pytest.param("isIP(self.value)", "::ffff:10.0.0.1", False, id="isIP-v4-mapped"),
        pytest.param("ip(self.value).family() == 6", "::1", True, id="ip-family"),
        pytest.param("ip(self.value).isLoopback()", "127.0.0.1", True, id="ip-loopback"),
        pytest.param("ip.isCanonical(self.value)", "2001:db8::1", True, id="canonical"),
        pytest.param("ip.isCanonical(self.value)", "2001:DB8::1", False, id="not-canonical"),
        pytest.param("isCIDR(self.value)", "10.0.0.0/8", True, id="isCIDR"),
        pytest.param("isCIDR(self.value)", "10.0.0.1", False, id="isCIDR-no-prefix"),
        pytest.param(
            'cidr(self.value).containsIP("10.1.2.3")', "10.0.0.0/8", True, id="containsIP"
        ),
        pytest.param(
            'cidr(self.value).containsCIDR("10.0.0.0/7")', "10.0.0.0/8", False, id="containsCIDR"
        ),
        pytest.param(
            'cidr(self.value).masked() == cidr("10.0.0.0/8")', "10.1.2.3/8", True, id="masked"
        ),
        pytest.param("cidr(self.value).prefixLength() == 24", "10.0.0.0/24", True, id="prefix"),
        pytest.param("isURL(self.value)", "https://example.com/a", True, id="isURL"),
        pytest.param("isURL(self.value)", "example.com/a", False, id="isURL-relative"),
        pytest.param(
            'url(self.value).getHostname() == "::1" && url(self.value).getPort() == "8443"',
            "https://[::1]:8443/x",
            True,
            id="url-host-port",
        ),
        pytest.param(
            'url(self.value).getScheme() in ["http", "https"]', "ftp://a/b", False, id="url-scheme"
        ),
        pytest.param(
            'self.value.lowerAscii().split(".") == ["a", "b"]', "A.B", True, id="stdlib-strings"
        ),
        pytest.param('self.value.find("[0-9]+") == "42"', "v42", True, id="regex-find"),
        pytest.param("[1, 2, 3].isSorted() && [3, 1].indexOf(1) == 1", "", True, id="lists"),
    ],
)
def test_kubernetes_cel_functions(rule: str, value: str, holds: bool) -> None:
    probes = CrdSet.from_documents([_test_crd([{"rule": rule, "message": "no"}])], "test")
    assert probes.skipped_rules == []
    expected = [] if holds else [CrdProblem("Probe", "p", "spec", "no", rule)]
    assert probes.validate(_probe(value)) == expected


def test_unsupported_and_transition_rules_are_skipped_and_counted() -> None:
    rules = [
        {"rule": "quantity(self.value).isInteger()"},
        {"rule": "self.value == oldSelf.value"},
        {"rule": "self.value != 'x'"},
    ]
    probes = CrdSet.from_documents([_test_crd(rules)], "test")
    assert probes.skipped_rules == [
        "Probe v1 spec: uses unsupported function isInteger, quantity: "
        "quantity(self.value).isInteger()",
        "Probe v1 spec: transition rule (uses oldSelf): self.value == oldSelf.value",
    ]
    assert probes.validate(_probe("x")) == [
        CrdProblem("Probe", "p", "spec", "self.value != 'x'", "self.value != 'x'")
    ]


@pytest.mark.parametrize(
    ("rule", "message_start"),
    [
        pytest.param(
            "self.missing == 1",
            "rule could not be evaluated: no such key: missing",
            id="no-such-key",
        ),
        pytest.param(
            "self.value + 1 == 2",
            "rule could not be evaluated: Unsupported operation: string + int",
            id="overload",
        ),
        pytest.param("self.value", "rule did not evaluate to a bool (got string)", id="not-a-bool"),
    ],
)
def test_rule_errors_are_problems(rule: str, message_start: str) -> None:
    probes = CrdSet.from_documents([_test_crd([{"rule": rule}])], "test")
    [problem] = probes.validate(_probe("x"))
    assert problem.message.startswith(message_start)
    assert (problem.path, problem.rule) == ("spec", rule)


def test_message_expression_and_field_path() -> None:
    rule = {
        "rule": "self.value.size() < 3",
        "messageExpression": "'value is ' + string(self.value.size()) + ' long'",
        "fieldPath": ".value",
    }
    probes = CrdSet.from_documents([_test_crd([rule])], "test")
    assert probes.validate(_probe("abcd")) == [
        CrdProblem("Probe", "p", "spec.value", "value is 4 long", rule["rule"])
    ]


# ---------------------------------------------------------------------------
# Loading


@pytest.mark.parametrize(
    ("docs", "message"),
    [
        pytest.param([CONFIGMAP], "test: no served CustomResourceDefinition found", id="no-crds"),
        pytest.param(
            [{**_test_crd([]), "apiVersion": "apiextensions.k8s.io/v1beta1"}],
            "apiVersion must be apiextensions.k8s.io/v1",
            id="v1beta1-crd",
        ),
        pytest.param(
            [{**_test_crd([]), "spec": {"names": {"kind": "Probe"}}}],
            "not a valid CustomResourceDefinition (KeyError: 'group')",
            id="no-group",
        ),
    ],
)
def test_from_documents_refuses_what_it_cannot_use(
    docs: list[dict[str, Any]], message: str
) -> None:
    with pytest.raises(UsageError) as info:
        CrdSet.from_documents(docs, "test")
    assert message in str(info.value)


def test_from_file_missing(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        CrdSet.from_file(tmp_path / "nope.yaml")
    assert str(info.value).startswith(f"{tmp_path / 'nope.yaml'}: cannot read CRDs")


# ---------------------------------------------------------------------------
# crds_from_cluster, with a stand-in kubectl on a narrowed PATH


@pytest.fixture
def fake_kubectl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``kubectl`` that records its argv and prints ``tmp_path/out.json``."""
    python_tool(
        tmp_path / "kubectl",
        "import pathlib, sys\n"
        "here = pathlib.Path(__file__).parent\n"
        "(here / 'argv.json').write_text(__import__('json').dumps(sys.argv[1:]))\n"
        "sys.stdout.write((here / 'out.json').read_text())\n"
        "sys.exit(int((here / 'code').read_text()) if (here / 'code').exists() else 0)\n",
    )
    monkeypatch.setenv("PATH", str(tmp_path))
    return tmp_path


@needs_crds
def test_from_cluster_reads_the_crds_kubectl_lists(fake_kubectl: Path) -> None:
    (fake_kubectl / "out.json").write_text(
        json.dumps({"items": [_crd_doc("ServiceEntry")]}), encoding="utf-8"
    )
    cluster = crds_from_cluster("kind-egress")
    argv = json.loads((fake_kubectl / "argv.json").read_text(encoding="utf-8"))
    assert argv == [
        "--context=kind-egress",
        "get",
        "--output=json",
        "--",
        "customresourcedefinitions",
    ]
    assert cluster.served(NET, "ServiceEntry")
    assert not cluster.served(NET, "VirtualService")
    assert cluster.source == "the cluster (context kind-egress)"
    assert [p.message for p in cluster.validate(_set(SE, "spec.hosts", ["*"]))] == [
        "hostname cannot be wildcard"
    ]
    assert cluster.validate_all([CONFIGMAP, SE]) == []


@pytest.mark.parametrize(
    ("output", "code", "message"),
    [
        pytest.param("not json", 0, "ran, but it printed no list of CRDs", id="not-json"),
        pytest.param("{}", 0, "ran, but it printed no list of CRDs", id="no-items"),
        pytest.param("", 1, "failed with exit code 1", id="kubectl-fails"),
    ],
)
def test_from_cluster_failures(fake_kubectl: Path, output: str, code: int, message: str) -> None:
    (fake_kubectl / "out.json").write_text(output, encoding="utf-8")
    (fake_kubectl / "code").write_text(str(code), encoding="utf-8")
    with pytest.raises(ToolError) as info:
        crds_from_cluster(None)
    assert message in str(info.value)
    assert str(info.value).startswith("read CRDs from the cluster: ")


def test_from_cluster_passes_the_kubeconfig(fake_kubectl: Path) -> None:
    (fake_kubectl / "out.json").write_text(json.dumps({"items": [_test_crd([])]}), encoding="utf-8")
    probes = crds_from_cluster(None, kubeconfig="/tmp/kube config")
    argv = json.loads((fake_kubectl / "argv.json").read_text(encoding="utf-8"))
    assert argv == [
        "--kubeconfig=/tmp/kube config",
        "get",
        "--output=json",
        "--",
        "customresourcedefinitions",
    ]
    assert probes.source == "the cluster (current context)"
    assert probes.served("example.com/v1", "Probe")
