"""One row per rule: the input, the code, the line and column it points at.

Run through `egressctl check --output json`, so each row also checks the exit code
(3 with any error, 0 with only warnings) and the JSON document.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from egressctl.rules.catalogue import RULE_CODES, RULES
from tests.conftest import MINI_ISTIO, EnvFile, entry_point, invalid_input_report, write
from tests.test_ambient import OUR_CODES as AMBIENT_CODES
from tests.test_gateway_charts import GATEWAY_CHART_CODES
from tests.test_gateways_gatewayapi import OUR_CODES as GATEWAY_API_CODES
from tests.test_gateways_istio import OUR_CODES as GATEWAY_ISTIO_CODES
from tests.test_hostile_keys import OUR_CODES as REVIEW_R3_CODES
from tests.test_namespaces import OUR_CODES as NAMESPACE_CODES
from tests.test_review_patterns import OUR_CODES as REVIEW_R2_CODES


def svc(body: str, name: str = "a") -> str:
    """An inventory with one service ``name`` whose body is ``body`` (YAML, 4 spaces)."""
    return f"services:\n  {name}:\n" + textwrap.indent(textwrap.dedent(body), "    ")


# (inventory text, code, line, column)
CASES = [
    # --- the file itself -----------------------------------------------------------
    pytest.param("services: [\n", "yaml-syntax", 2, 1, id="yaml-syntax"),
    pytest.param(
        "policy: ALLOW_ANY\nservices: {a\x0cb: {}}\n", "yaml-syntax", 2, 13, id="control-char"
    ),
    pytest.param("services:\n\ta: {}\n", "yaml-tab", 2, 1, id="yaml-tab"),
    # a service hidden from a reader in a comment; a file of CR-only line ends
    pytest.param(
        "services: {}  # ok\u2028evil: {host: x.net, ports: [443/tls]}\n",
        "yaml-line-break",
        1,
        19,
        id="yaml-line-break-in-comment",
    ),
    pytest.param(
        "policy: ALLOW_ANY\rservices: {}\r", "yaml-line-break", 1, 18, id="yaml-line-break-cr"
    ),
    pytest.param(
        "services: {a: {host: 'x\x85y'}}\n", "yaml-line-break", 1, 24, id="yaml-line-break-nel"
    ),
    pytest.param(
        "policy: ALLOW_ANY\npolicy: REGISTRY_ONLY\n", "duplicate-key", 2, 1, id="duplicate-key"
    ),
    pytest.param(
        "services:\n  a: !!python/object/apply:os.system [id]\n",
        "yaml-tag",
        2,
        6,
        id="yaml-tag-python",
    ),
    pytest.param("services:\n  a: !custom {}\n", "yaml-tag", 2, 6, id="yaml-tag-local"),
    pytest.param(
        svc("host: a.com\nports: [80]\nticket: 2024-01-01\n"),
        "yaml-type",
        5,
        13,
        id="yaml-type-date",
    ),
    pytest.param(
        svc("host: a.com\nports: [80]\nexpires: next week\n"),
        "expires-invalid",
        5,
        14,
        id="expires-invalid",
    ),
    pytest.param(
        svc("host: a.com\nports: [80]\nexpires: 2001-01-31\n"),
        "service-expired",
        5,
        14,
        id="service-expired",
    ),
    pytest.param(
        svc("host: a.com\nports: [80]\nowner: !!binary aGk=\n"),
        "yaml-type",
        5,
        12,
        id="yaml-type-binary",
    ),
    pytest.param("", "empty-file", 1, 1, id="empty-file"),
    pytest.param("# only a comment\n", "empty-file", 1, 1, id="comment-only"),
    pytest.param("[a, b]\n", "wrong-type", 1, 1, id="top-level-list"),
    pytest.param("just a string\n", "wrong-type", 1, 1, id="top-level-scalar"),
    pytest.param("services: [a, b]\n", "wrong-type", 1, 11, id="services-list"),
    pytest.param("services:\n  a: 42\n", "wrong-type", 2, 6, id="service-scalar"),
    pytest.param(svc("host: [a.com]\nports: [80]\n"), "wrong-type", 3, 11, id="host-list"),
    pytest.param(svc("hosts: a.com\nports: [80]\n"), "wrong-type", 3, 12, id="hosts-string"),
    pytest.param(svc("host: a.com\nports: 80\n"), "wrong-type", 4, 12, id="ports-scalar"),
    pytest.param(
        svc("host: a.com\nports: [80]\nexportTo: .\n"), "wrong-type", 5, 15, id="export-to-string"
    ),
    pytest.param("capture: [10.0.0.0/8]\n", "wrong-type", 1, 10, id="capture-list"),
    pytest.param("capture:\n  include: 10.0.0.0/8\n", "wrong-type", 2, 12, id="include-string"),
    pytest.param("services:\n  80: {host: a.com, ports: [80]}\n", "key-type", 2, 3, id="key-type"),
    pytest.param("polcy: ALLOW_ANY\n", "unknown-key", 1, 1, id="unknown-top"),
    # a tab before a value and a comment: libyaml reads it, ruamel did not (no position)
    pytest.param(
        "policy:\tREGISTRY_ONLY\t# blocked\nservices:\n"
        "  a: {host: a.com, ports: [80/http], x: 1}\n",
        "unknown-key",
        3,
        38,
        id="unknown-key-after-tabs",
    ),
    pytest.param(svc("host: a.com\nport: [80]\n"), "unknown-key", 4, 5, id="unknown-service"),
    pytest.param(
        svc("host: a.com\nports: [{number: 80, proto: http}]\n"),
        "unknown-key",
        4,
        26,
        id="unknown-port",
    ),
    pytest.param("capture:\n  includes: [10.0.0.0/8]\n", "unknown-key", 2, 3, id="unknown-capture"),
    pytest.param(svc("ports: [80]\n"), "key-missing", 3, 5, id="host-missing"),
    pytest.param(svc("host: a.com\n"), "key-missing", 3, 5, id="ports-missing"),
    pytest.param(
        svc("host: a.com\nports: [{protocol: http}]\n"),
        "key-missing",
        4,
        13,
        id="port-number-missing",
    ),
    # --- values ----------------------------------------------------------------------
    pytest.param("policy: BLOCK_ALL\n", "policy-invalid", 1, 9, id="policy"),
    pytest.param(
        svc("host: a.com\nports: [80]\nresolution: STRICT_DNS\n"),
        "resolution-invalid",
        5,
        17,
        id="resolution",
    ),
    pytest.param(
        svc("host: a.com\nports: [80]\nlocation: EXTERNAL\n"),
        "location-invalid",
        5,
        15,
        id="location",
    ),
    pytest.param(
        svc("host: a.com\nports: [{number: 80, protocol: http, originate: ISTIO}]\n"),
        "tls-mode-invalid",
        4,
        53,
        id="tls-mode",
    ),
    pytest.param(
        svc("host: a.com\nports: [https:443]\n"), "port-spelling", 4, 13, id="port-spelling"
    ),
    pytest.param(
        svc("host: a.com\nports: [443 https]\n"), "port-spelling", 4, 13, id="port-spelling-space"
    ),
    pytest.param(
        svc("host: a.com\nports: [[443]]\n"), "port-spelling", 4, 13, id="port-nested-list"
    ),
    pytest.param(
        svc("host: a.com\nports: [70000/tcp]\n"), "port-range", 4, 13, id="port-range-high"
    ),
    pytest.param(svc("host: a.com\nports: [0/tcp]\n"), "port-range", 4, 13, id="port-zero"),
    pytest.param(
        svc("host: a.com\nports: [{number: 80, protocol: http, targetPort: 0}]\n"),
        "port-range",
        4,
        54,
        id="target-port-range",
    ),
    pytest.param(
        svc("host: a.com\nports: [8443]\n"), "port-protocol-missing", 4, 13, id="bare-port"
    ),
    pytest.param(
        svc("host: a.com\nports: ['9000/']\n"), "port-protocol-missing", 4, 13, id="empty-protocol"
    ),
    pytest.param(
        svc("host: a.com\nports: [443/htps]\n"), "port-protocol-invalid", 4, 13, id="protocol-typo"
    ),
    pytest.param(
        svc("host: a.com\nports: [53/dns]\n"), "port-protocol-invalid", 4, 13, id="protocol-unknown"
    ),
    pytest.param(svc("host: a.com\nports: []\n"), "ports-empty", 4, 12, id="ports-empty"),
    pytest.param(
        svc("host: a.com\nhosts: [b.com]\nports: [80]\n"),
        "host-and-hosts",
        4,
        5,
        id="host-and-hosts",
    ),
    pytest.param(svc("hosts: []\nports: [80]\n"), "hosts-empty", 3, 12, id="hosts-empty"),
    pytest.param("capture:\n  include: [10.0.0.0/33]\n", "cidr-invalid", 2, 13, id="cidr-prefix"),
    pytest.param("capture:\n  exclude: [not-an-ip]\n", "cidr-invalid", 2, 13, id="cidr-text"),
    pytest.param(
        "capture:\n  include: [10.1.2.3/8]\n", "cidr-host-bits", 2, 13, id="cidr-host-bits"
    ),
    # --- Istio's rules for one service ---------------------------------------------
    pytest.param(
        svc("host: a.com\nports: [80]\n", name="Bad_Name"),
        "name-invalid",
        2,
        3,
        id="name-uppercase",
    ),
    pytest.param(
        svc("host: a.com\nports: [80]\n", name="x" * 64), "name-invalid", 2, 3, id="name-too-long"
    ),
    pytest.param(svc("host: a..com\nports: [80]\n"), "host-invalid", 3, 11, id="empty-label"),
    pytest.param(svc("host: a.*.com\nports: [80]\n"), "host-invalid", 3, 11, id="inner-wildcard"),
    pytest.param(svc("host: a.com.\nports: [80]\n"), "host-invalid", 3, 11, id="trailing-dot"),
    pytest.param(svc("host: a.123\nports: [80]\n"), "host-invalid", 3, 11, id="numeric-tld"),
    pytest.param(
        svc(f"host: {'x' * 64}.com\nports: [80]\n"), "host-invalid", 3, 11, id="label-too-long"
    ),
    pytest.param(
        svc(f"host: {'.'.join(['abcdefgh'] * 29)}.com\nports: [80]\n"),
        "host-invalid",
        3,
        11,
        id="host-too-long",
    ),
    pytest.param(svc("host: a_b.com\nports: [80]\n"), "host-invalid", 3, 11, id="underscore"),
    pytest.param(svc("host: '*'\nports: [80]\n"), "host-star", 3, 11, id="host-star"),
    pytest.param(
        svc("host: '*foo.example.com'\nports: [443]\n"),
        "host-partial-wildcard",
        3,
        11,
        id="partial-wildcard",
    ),
    pytest.param(
        svc("hosts: [a.com, A.com]\nports: [443]\n"),
        "host-repeated",
        3,
        20,
        id="host-repeated-case",
    ),
    pytest.param(
        svc("host: '*.a.com'\nports: [443]\nresolution: DNS\n"),
        "wildcard-with-dns",
        3,
        11,
        id="wildcard-dns",
    ),
    pytest.param(
        svc("host: '*.a.com'\nports: [443]\nresolution: DNS_ROUND_ROBIN\n"),
        "wildcard-with-dns",
        3,
        11,
        id="wildcard-dns-rr",
    ),
    pytest.param(
        svc("host: '*.com'\nports: [443]\n"),
        "wildcard-public-suffix",
        3,
        11,
        id="public-suffix-tld",
    ),
    pytest.param(
        svc("host: '*.co.uk'\nports: [443]\n"),
        "wildcard-public-suffix",
        3,
        11,
        id="public-suffix-co-uk",
    ),
    pytest.param(
        svc("host: a.com\nports: [443/https, 443/tls]\n"),
        "port-duplicate",
        4,
        24,
        id="port-duplicate",
    ),
    pytest.param(
        svc("host: a.com\nports: [{number: 80, protocol: http, name: Web_1}]\n"),
        "port-name-invalid",
        4,
        13,
        id="port-name-invalid",
    ),
    pytest.param(
        svc(
            "host: a.com\nports:\n  - {number: 80, protocol: http, name: web}\n"
            "  - {number: 81, protocol: http, name: web}\n"
        ),
        "port-name-duplicate",
        6,
        9,
        id="port-name-duplicate",
    ),
    pytest.param(
        svc("hosts: [a.com, b.com]\nports: [5432/tcp]\n"),
        "multi-host-non-http",
        4,
        13,
        id="multi-host-tcp",
    ),
    pytest.param(
        svc("host: a.com\nports: [5432/tcp]\naddresses: [db]\n"),
        "address-invalid",
        5,
        17,
        id="address-invalid",
    ),
    pytest.param(
        svc("host: a.com\nports: [5432/tcp]\naddresses: [10.0.0.0/8]\nresolution: DNS\n"),
        "address-cidr-resolution",
        5,
        17,
        id="address-cidr-dns",
    ),
    pytest.param(
        svc("host: a.com\nports: [80]\nresolution: NONE\nendpoints: [192.0.2.1]\n"),
        "endpoints-with-none",
        6,
        16,
        id="endpoints-none",
    ),
    pytest.param(
        svc("host: a.com\nports: [80]\nresolution: STATIC\n"),
        "static-needs-endpoints",
        5,
        17,
        id="static-no-endpoints",
    ),
    pytest.param(
        svc("host: a.com\nports: [80]\nresolution: STATIC\nendpoints: [db.a.com]\n"),
        "endpoint-not-ip",
        6,
        17,
        id="static-hostname",
    ),
    pytest.param(
        svc("host: a.com\nports: [80]\nendpoints: ['a..b']\n"),
        "endpoint-invalid",
        5,
        17,
        id="dns-endpoint-invalid",
    ),
    pytest.param(
        svc(
            "host: a.com\nports: [80]\nresolution: DNS_ROUND_ROBIN\n"
            "endpoints: [a1.a.com, a2.a.com]\n"
        ),
        "dns-rr-endpoints",
        6,
        16,
        id="dns-rr-two",
    ),
    pytest.param(
        svc(
            "host: a.com\nports: [80]\nresolution: STATIC\n"
            "endpoints: [{address: 192.0.2.1, ports: {grpc: 9000}}]\n"
        ),
        "endpoint-port-unknown",
        6,
        52,
        id="endpoint-port-unknown",
    ),
    pytest.param(
        svc("host: a.com\nports: [80]\nexportTo: [Team_A]\n"),
        "export-to-invalid",
        5,
        16,
        id="export-to-invalid",
    ),
    pytest.param(
        svc("host: a.com\nports: [80]\nexportTo: ['*', team-a]\n"),
        "export-to-alone",
        5,
        16,
        id="export-to-star-not-alone",
    ),
    pytest.param(
        svc("host: a.com\nports: [80]\nexportTo: [team-a, team-a]\n"),
        "export-to-duplicate",
        5,
        24,
        id="export-to-duplicate",
    ),
    pytest.param(
        svc("host: a.com\nports: [{number: 443, protocol: https, originate: SIMPLE}]\n"),
        "originate-on-tls",
        4,
        55,
        id="originate-on-tls",
    ),
    pytest.param(
        svc("hosts: [a.com, b.com]\nports: [{number: 80, protocol: http, originate: SIMPLE}]\n"),
        "originate-host",
        4,
        53,
        id="originate-two-hosts",
    ),
    pytest.param(
        svc("host: a.com\nports: [{number: 80, protocol: http, originate: MUTUAL}]\n"),
        "originate-mutual",
        4,
        53,
        id="originate-mutual",
    ),
    pytest.param(
        svc("host: a.com\nports: [443/http]\n"), "port-443-plaintext", 4, 13, id="port-443-http"
    ),
    pytest.param(svc("host: a.com\nports: [80/https]\n"), "port-80-tls", 4, 13, id="port-80-https"),
    # --- across entries ---------------------------------------------------------------
    pytest.param(
        svc("host: a.com\nports: [443]\n") + "  b:\n    host: a.com\n    ports: [443]\n",
        "host-duplicate",
        6,
        11,
        id="host-duplicate",
    ),
    pytest.param(
        svc("host: '*.a.com'\nports: [443/tls]\n")
        + "  b:\n    host: x.a.com\n    ports: [443/http]\n",
        "protocol-conflict",
        7,
        13,
        id="protocol-conflict-wildcard",
    ),
    pytest.param(
        svc("host: db1.a.com\nports: [5432/tcp]\n")
        + "  b:\n    host: db2.a.com\n    ports: [5432/tcp]\n",
        "tcp-port-shared",
        7,
        13,
        id="tcp-port-shared",
    ),
    pytest.param(
        svc("host: '*.a.com'\nports: [443]\n") + "  b:\n    host: x.a.com\n    ports: [443]\n",
        "wildcard-covers",
        6,
        11,
        id="wildcard-covers",
    ),
    # --- policy and capture -------------------------------------------------------
    pytest.param("policy: REGISTRY_ONLY\n", "registry-only-empty", 1, 9, id="registry-empty"),
    pytest.param("capture:\n  include: []\n", "capture-none", 2, 12, id="capture-none"),
    pytest.param(
        "capture:\n  exclude: [0.0.0.0/0]\n", "exclude-everything", 2, 13, id="exclude-all-v4"
    ),
    pytest.param(
        "capture:\n  exclude: ['::/0']\n", "exclude-everything", 2, 13, id="exclude-all-v6"
    ),
    pytest.param(
        "capture:\n  include: [10.0.0.0/8]\n  exclude: [10.1.0.0/16]\n",
        "capture-overlap",
        3,
        13,
        id="capture-overlap",
    ),
    # --- hardening (issue #9) -------------------------------------------------------
    pytest.param(
        svc("host: a.com\nports: [80]\n", name='"a\\n"'), "name-invalid", 2, 3, id="name-newline"
    ),
    pytest.param(
        svc(
            "host: a.com\nports: [{number: 80, protocol: http, "
            "originate: {mode: SIMPLE, namespace: Payments}}]\n"
        ),
        "namespace-invalid",
        4,
        79,
        id="originate-namespace",
    ),
    pytest.param(
        svc(f"host: a.com\nports: [80]\nreason: {'r' * 270_000}\n"),
        "annotations-too-large",
        5,
        13,
        id="annotations-too-large",
    ),
    pytest.param("{}\n", "inventory-blank", 1, 1, id="inventory-blank"),
    pytest.param("polcy:\nservices: {}\n", "unknown-key", 1, 1, id="unknown-key-null-value"),
    # --- a URL or host:port written as a host (issue #11) ---------------------------
    pytest.param(
        svc("host: https://api.stripe.com\nports: [443]\n"),
        "host-has-scheme",
        3,
        11,
        id="host-https-url",
    ),
    pytest.param(
        svc("host: http://x.com/path\nports: [80]\n"),
        "host-has-scheme",
        3,
        11,
        id="host-http-url-with-path",
    ),
    pytest.param(
        svc("host: api.stripe.com:443\nports: [443]\n"),
        "host-has-port",
        3,
        11,
        id="host-with-port",
    ),
    pytest.param(
        svc("hosts: [a.com, 'b.com:8443']\nports: [8443/tls]\n"),
        "host-has-port",
        3,
        20,
        id="hosts-item-with-port",
    ),
]

# Rules that need more than one inventory file (environment files) are tested below.
ENV_ONLY = {
    "env-name-invalid",  # the file's own name: test_hardening_input.py
    "istio-version-without-repo",
    "file-missing",
    "inventory-empty",
    "api-version-invalid",
    "capture-misses-cluster",
    "capture-cuts-cluster",
    *GATEWAY_CHART_CODES,  # `istio.gateways` (#13): tests/test_gateway_charts.py
}
NOT_FROM_TEXT = {
    "not-utf8",
    "file-too-large",
    "file-unreadable",
    "yaml-alias-bomb",
    "crd-schema",
    "crd-rule",
}


@pytest.mark.parametrize(("text", "code", "line", "col"), CASES)
def test_rule(cli, project: Path, text: str, code: str, line: int, col: int) -> None:
    write(project / "inv.yaml", text)
    res = cli("check", "inv.yaml", "--output", "json")
    doc = json.loads(res.stdout)
    found = [(f["code"], f["line"], f["column"]) for f in doc["findings"]]
    assert (code, line, col) in found, found
    severity = next(f["severity"] for f in doc["findings"] if f["code"] == code)
    any_error = any(f["severity"] == "error" for f in doc["findings"])
    assert res.exit_code == (3 if any_error else 0)
    assert doc["ok"] is (not any_error)
    assert severity == next(r.severity.value for r in RULES if r.code == code)
    if any_error:  # the same input stops compile too: located, exit 3, nothing written
        proc = entry_point(project, "compile", "inv.yaml", "-o", "out.yaml")
        assert proc.returncode == 3, proc.stderr
        invalid_input_report(proc.stderr)
        assert f"inv.yaml:{line}:{col}: " in proc.stderr
        assert not (project / "out.yaml").exists()


def test_every_rule_has_a_case() -> None:
    tested = {p.values[1] for p in CASES} | {p.values[2] for p in ENV_CASES}
    tested |= {"istio-value-overridden"} if ISTIO_VALUES else set()
    tested |= ENV_ONLY | NOT_FROM_TEXT
    tested |= NAMESPACE_CODES  # namespaces (#14): tests/test_namespaces.py
    tested |= GATEWAY_ISTIO_CODES  # gateways, via (#13): tests/test_gateways_istio.py
    tested |= GATEWAY_API_CODES  # api: gateway-api (#13): tests/test_gateways_gatewayapi.py
    tested |= AMBIENT_CODES  # dataplane: ambient (#15): tests/test_ambient.py
    tested |= REVIEW_R2_CODES  # review R2: tests/test_review_patterns.py
    tested |= REVIEW_R3_CODES  # review R3: tests/test_hostile_keys.py
    tested |= {p.values[1] for p in HOLES}
    assert RULE_CODES - tested == set()


def test_rule_codes_are_unique() -> None:
    assert len(RULES) == len(RULE_CODES)


def test_strict_turns_warnings_into_errors(cli, project: Path) -> None:
    write(project / "inv.yaml", svc("host: a.com\nports: [443/http]\n"))
    assert cli("check", "inv.yaml").exit_code == 0
    res = cli("check", "inv.yaml", "--strict")
    assert res.exit_code == 3
    assert "port-443-plaintext" in res.stdout


def test_check_groups_by_file_with_summary(cli, project: Path) -> None:
    write(project / "values" / "egress.yaml", svc("host: a.com\nports: [443/http]\n"))
    write(
        project / "values" / "dev.yaml",
        "inventory: [egress.yaml]\ncontext: kind\negress:\n  policy: NOPE\n",
    )
    res = cli("check", "--env", "dev")
    assert res.exit_code == 3
    lines = res.stdout.splitlines()
    assert lines[0] == "== values/dev.yaml: 1 error, 0 warnings"
    assert lines[1].startswith("values/dev.yaml:4:11: policy: 'NOPE' is not one of")
    # The invalid policy does not hide the rules of the services (issue #11).
    assert "== values/egress.yaml: 0 errors, 1 warning" in lines
    assert lines[-1] == "1 error, 1 warning in 2 files"


def test_check_json_document_is_versioned(cli, project: Path) -> None:
    write(project / "inv.yaml", "policy: NOPE\n")
    doc = json.loads(cli("check", "inv.yaml", "--output", "json").stdout)
    assert doc == {
        "command": "check",
        "data": {"errors": 1, "files": 1, "warnings": 0},
        "egressctlOutputVersion": 1,
        "findings": [
            {
                "code": "policy-invalid",
                "column": 9,
                "file": "inv.yaml",
                "acknowledged": None,
                "hint": "",
                "line": 1,
                "message": "'NOPE' is not one of ALLOW_ANY, REGISTRY_ONLY",
                "path": "policy",
                "severity": "error",
            }
        ],
        "ok": False,
    }


STRIPE = "services:\n  stripe: {host: api.stripe.com, ports: [443]}\n"


ENV_CASES = [
    pytest.param(
        "policy: ALLOW_ANY\n",
        "inventory: []\n",
        "inventory-empty",
        "values/dev.yaml",
        2,
        12,
        id="inventory-empty",
    ),
    pytest.param(
        "policy: ALLOW_ANY\n",
        "networkingApiVersion: v2\n",
        "api-version-invalid",
        "values/dev.yaml",
        3,
        23,
        id="api-version",
    ),
    pytest.param(
        "policy: ALLOW_ANY\n",
        "istio:\n  repo: https://charts.example.com\n  chart: istiod\n  install: kubectl\n",
        "istio-install-invalid",
        "values/dev.yaml",
        6,
        12,
        id="istio-install",
    ),
    pytest.param(
        "capture:\n  include: [10.96.0.0/12]\npolicy: ALLOW_ANY\n",
        "cluster:\n  podCIDRs: [10.244.0.0/16]\n  serviceCIDRs: [10.96.0.0/12]\n",
        "capture-misses-cluster",
        "values/egress.yaml",
        2,
        12,
        id="misses-pods",
    ),
    pytest.param(
        "capture:\n  exclude: [10.244.1.0/24]\npolicy: ALLOW_ANY\n",
        "cluster:\n  podCIDRs: [10.244.0.0/16]\n",
        "capture-cuts-cluster",
        "values/egress.yaml",
        2,
        13,
        id="cuts-pods",
    ),
    pytest.param(
        "capture:\n  include: [10.0.0.0/8]\npolicy: ALLOW_ANY\n",
        "egress:\n  capture:\n    include: [10.96.0.0/12]\ncluster:\n  podCIDRs: [10.244.0.0/16]\n",
        "capture-misses-cluster",
        "values/dev.yaml",
        5,
        14,
        id="override-misses",
    ),
    pytest.param(
        "policy: ALLOW_ANY\n",
        "istio:\n  chart: ./nope\n",
        "file-missing",
        "values/dev.yaml",
        4,
        10,
        id="istio-chart-missing",
    ),
    pytest.param(
        "policy: ALLOW_ANY\n",
        "istio:\n  chart: istiod\n  version: 1.28.0\n",
        "istio-version-without-repo",
        "values/dev.yaml",
        5,
        12,
        id="version-without-repo",
    ),
    pytest.param(
        "policy: ALLOW_ANY\n",
        "cluster:\n  podCIDRs: [nope]\n",
        "cidr-invalid",
        "values/dev.yaml",
        4,
        14,
        id="cluster-cidr-invalid",
    ),
    pytest.param(
        "policy: ALLOW_ANY\n",
        "egress:\n  services:\n    a: {host: a.com, ports: [1]}\n",
        "port-protocol-missing",
        "values/dev.yaml",
        5,
        30,
        id="override-port",
    ),
    # --- hardening (issue #9): what reaches helm, kubectl and labels -----------------
    pytest.param(
        "policy: ALLOW_ANY\n",
        "namespace: Istio-System\n",
        "namespace-invalid",
        "values/dev.yaml",
        3,
        12,
        id="namespace",
    ),
    pytest.param(
        "policy: ALLOW_ANY\n",
        "context: '--kubeconfig=/x'\n",
        "context-invalid",
        "values/dev.yaml",
        2,
        10,
        id="context",
    ),
    pytest.param(
        "policy: ALLOW_ANY\n",
        'kubeconfig: "a\\nb"\n',
        "kubeconfig-invalid",
        "values/dev.yaml",
        3,
        13,
        id="kubeconfig",
    ),
    pytest.param(
        "policy: ALLOW_ANY\n",
        f"istio:\n  chart: {MINI_ISTIO}\n  release: '--post-renderer=x'\n",
        "istio-release-invalid",
        "values/dev.yaml",
        5,
        12,
        id="istio-release",
    ),
    pytest.param(
        "policy: ALLOW_ANY\n",
        f"istio:\n  chart: {MINI_ISTIO}\n  revision: Canary\n",
        "istio-revision-invalid",
        "values/dev.yaml",
        5,
        13,
        id="istio-revision",
    ),
    pytest.param(
        "policy: ALLOW_ANY\n",
        "istio:\n  repo: ftp://charts.example\n  chart: istiod\n",
        "istio-repo-invalid",
        "values/dev.yaml",
        4,
        9,
        id="istio-repo",
    ),
    pytest.param(
        "policy: ALLOW_ANY\n",
        "istio:\n  repo: https://charts.example\n  chart: istiod\n  version: '-1'\n",
        "istio-version-invalid",
        "values/dev.yaml",
        6,
        12,
        id="istio-version",
    ),
    pytest.param(
        "policy: ALLOW_ANY\n",
        "istio:\n  repo: https://charts.example\n  chart: '-x'\n",
        "istio-chart-invalid",
        "values/dev.yaml",
        5,
        10,
        id="istio-chart",
    ),
    pytest.param(
        "policy: ALLOW_ANY\n",
        f"istio:\n  chart: {MINI_ISTIO}\n  values: ['-f']\n",
        "istio-values-invalid",
        "values/dev.yaml",
        5,
        12,
        id="istio-values",
    ),
    pytest.param(
        "policy: ALLOW_ANY\n",
        f"istio:\n  chart: {MINI_ISTIO}\n  values: [/dev/zero]\n",
        "file-not-regular",
        "values/dev.yaml",
        5,
        12,
        id="istio-values-device",
    ),
    pytest.param(
        "capture:\n  exclude: [169.254.169.254/32]\n",
        "",
        "inventory-blank",
        "values/egress.yaml",
        1,
        1,
        id="inventory-blank",
    ),
    # --- overrides of services the inventory does not define (issue #11) -------------
    pytest.param(
        STRIPE,
        "egress:\n  services:\n    strpe: null\n",
        "override-unknown-service",
        "values/dev.yaml",
        5,
        5,
        id="override-removes-unknown",
    ),
    pytest.param(
        STRIPE,
        "egress:\n  services:\n    strpe: {ports: [443/tls]}\n",
        "override-unknown-service",
        "values/dev.yaml",
        5,
        5,
        id="override-changes-unknown",
    ),
    pytest.param(
        STRIPE,
        "egress:\n  services:\n    strpe: {host: api.stripe.com}\n",
        "override-unknown-service",
        "values/dev.yaml",
        5,
        5,
        id="override-unknown-without-ports",
    ),
]


@pytest.mark.parametrize(("inventory", "env", "code", "file", "line", "col"), ENV_CASES)
def test_environment_rule(
    cli, env_file: EnvFile, inventory: str, env: str, code: str, file: str, line: int, col: int
) -> None:
    env_file(
        inventory=inventory,
        list_inventory=not env.startswith("inventory:"),
        context=None if "context:" in env else "kind",
        extra=env,
    )
    res = cli("check", "--env", "dev", "--output", "json")
    found = [
        (f["code"], f["file"], f["line"], f["column"]) for f in json.loads(res.stdout)["findings"]
    ]
    assert (code, file, line, col) in found, found
    assert res.exit_code == 3


def test_cluster_ranges_fully_included_pass(cli, env_file: EnvFile) -> None:
    env_file(
        inventory="capture:\n  include: [10.96.0.0/12, 10.244.0.0/16]\npolicy: ALLOW_ANY\n",
        context="kind",
        extra="cluster:\n  podCIDRs: [10.244.0.0/17, 10.244.128.0/17]\n"
        "  serviceCIDRs: [10.96.0.0/12]\n",
    )
    res = cli("check", "--env", "dev")
    assert res.exit_code == 0, res.stdout


# ---------------------------------------------------------------------------
# Issue #11: a URL or host:port written as a host — the corrected spelling as hint

HOST_SPELLING = [
    pytest.param(
        "https://api.stripe.com",
        "[443]",
        "host-has-scheme",
        "write `host: api.stripe.com` (port 443 is already listed under `ports:`)",
        id="https-port-listed",
    ),
    pytest.param(
        "https://api.stripe.com",
        "[80]",
        "host-has-scheme",
        "write `host: api.stripe.com` and `ports: [443/https]`",
        id="https-port-not-listed",
    ),
    pytest.param(
        "http://x.com/path",
        "[8080/http]",
        "host-has-scheme",
        "write `host: x.com` and `ports: [80/http]`",
        id="http-with-path",
    ),
    pytest.param(
        "https://user@x.com:8443/v1?q=1",
        "[443]",
        "host-has-scheme",
        "write `host: x.com` and `ports: [8443/https]`",
        id="url-with-user-port-path-query",
    ),
    pytest.param(
        "api.stripe.com:443",
        "[80]",
        "host-has-port",
        "write `host: api.stripe.com` and `ports: [443/https]`",
        id="host-port-443",
    ),
    pytest.param(
        "'*.db.example.com:5432'",
        "[80]",
        "host-has-port",
        "write `host: '*.db.example.com'` and `ports: [5432/tcp]` (or the protocol it speaks: "
        "tls, http …)",
        id="wildcard-host-port-5432",
    ),
]


@pytest.mark.parametrize(("host", "ports", "code", "hint"), HOST_SPELLING)
def test_host_spelling_hint(
    cli, project: Path, host: str, ports: str, code: str, hint: str
) -> None:
    write(project / "inv.yaml", svc(f"host: {host}\nports: {ports}\n"))
    res = cli("check", "inv.yaml", "--output", "json")
    assert res.exit_code == 3
    found = [(f["code"], f["hint"]) for f in json.loads(res.stdout)["findings"]]
    assert found == [(code, hint)]  # no `host-invalid` besides: it replaces it


# Inputs on which a rule must stay quiet: (inventory text, code).
QUIET = [
    pytest.param(svc("host: api.stripe.com\nports: [443]\n"), "host-has-port", id="plain-host"),
    pytest.param(svc("host: api.stripe.com\nports: [443]\n"), "host-has-scheme", id="no-scheme"),
    pytest.param(svc("host: '*.stripe.com'\nports: [443]\n"), "host-has-port", id="wildcard"),
    pytest.param(
        svc("host: a.com:x\nports: [443]\n"), "host-has-port", id="colon-without-port-number"
    ),
]


@pytest.mark.parametrize(("text", "code"), QUIET)
def test_rule_stays_quiet(cli, project: Path, text: str, code: str) -> None:
    write(project / "inv.yaml", text)
    res = cli("check", "inv.yaml", "--output", "json")
    findings = json.loads(res.stdout)["findings"]
    assert code not in [f["code"] for f in findings]
    assert res.exit_code == (3 if any(f["severity"] == "error" for f in findings) else 0)


# ---------------------------------------------------------------------------
# Issue #11: every finding of a file in one run.  A part of an entry that cannot be read
# hides only the rules that need it: (inventory text, every finding as (code, line, col)).

AT_ONCE = [
    pytest.param(
        """\
        services:
          a:
            host: a.com
            ports: [8443]
          b:
            host: https://b.com
            ports: [443]
          c:
            host: c.com
            ports: [443]
            addresses: [db]
        """,
        {("port-protocol-missing", 4, 13), ("host-has-scheme", 6, 11), ("address-invalid", 11, 17)},
        id="port-error-in-one-service-host-and-address-in-others",
    ),
    pytest.param(
        """\
        services:
          a:
            host: api.stripe.com:443
            ports: [443/htps]
            addresses: [nope]
          b:
            host: b..com
            ports: [80]
        """,
        {
            ("host-has-port", 3, 11),
            ("port-protocol-invalid", 4, 13),
            ("address-invalid", 5, 17),
            ("host-invalid", 7, 11),
        },
        id="port-host-and-address-errors-in-the-same-service",
    ),
    pytest.param(
        """\
        services:
          a:
            host: x.com
            ports: [443/htps]
          b:
            host: x.com
            ports: [443]
        """,
        {("port-protocol-invalid", 4, 13), ("host-duplicate", 6, 11)},
        id="cross-entry-rules-over-what-was-read",
    ),
    pytest.param(
        """\
        policy: NOPE
        services:
          a:
            host: a.com
            ports: [443/http]
        """,
        {("policy-invalid", 1, 9), ("port-443-plaintext", 5, 13)},
        id="bad-policy-keeps-service-rules",
    ),
    pytest.param(
        """\
        services:
          Bad_Name:
            ports: [80]
        """,
        {("key-missing", 3, 5), ("name-invalid", 2, 3)},
        id="service-without-host-still-named",
    ),
    pytest.param(
        """\
        policy: REGISTRY_ONLY
        services:
          a: 42
        """,
        {("wrong-type", 3, 6)},
        id="unreadable-service-is-not-no-service",
    ),
    pytest.param(
        """\
        services:
          a:
            hosts: [a.com, 42, a.com]
            ports: [443]
        """,
        {("wrong-type", 3, 20)},
        id="hosts-partly-read-are-not-judged",
    ),
    pytest.param(
        """\
        services:
          a:
            host: a.com
            ports: [{number: 80, protocol: http, name: web}, {number: 81, protocol: htp}]
            endpoints: [{address: 192.0.2.1, ports: {web: 8080}}]
            resolution: STATIC
        """,
        {("port-protocol-invalid", 4, 54)},
        id="endpoint-ports-not-judged-against-unread-ports",
    ),
    pytest.param(
        """\
        services:
          a:
            host: '*.a.com'
            ports: [443]
            resolution: DNZ
        """,
        {("resolution-invalid", 5, 17)},
        id="wildcard-not-judged-against-unread-resolution",
    ),
    pytest.param(
        """\
        capture:
          include: [nope, 10.0.0.0/8]
          exclude: [10.1.0.0/16]
        """,
        {("cidr-invalid", 2, 13), ("inventory-blank", 1, 1)},
        id="capture-rules-not-judged-on-a-partly-read-list",
    ),
]


@pytest.mark.parametrize(("text", "expected"), AT_ONCE)
def test_every_finding_in_one_run(
    cli, project: Path, text: str, expected: set[tuple[str, int, int]]
) -> None:
    write(project / "inv.yaml", text)
    res = cli("check", "inv.yaml", "--output", "json")
    found = {(f["code"], f["line"], f["column"]) for f in json.loads(res.stdout)["findings"]}
    assert found == expected
    assert res.exit_code == 3


def test_environment_file_errors_do_not_hide_inventory_findings(cli, env_file: EnvFile) -> None:
    env_file(
        inventory=svc("host: a.com\nports: [8443]\n"), context="kind", namespace="Istio-System"
    )
    res = cli("check", "--env", "dev", "--output", "json")
    found = {
        (f["code"], f["file"], f["line"], f["column"]) for f in json.loads(res.stdout)["findings"]
    }
    assert found == {
        ("namespace-invalid", "values/dev.yaml", 3, 12),
        ("port-protocol-missing", "values/egress.yaml", 4, 13),
    }
    assert res.exit_code == 3


# ---------------------------------------------------------------------------
# Issue #11: overrides of services the inventory files do not define


def test_override_of_unknown_service_is_not_told_host_is_required(cli, env_file: EnvFile) -> None:
    env_file(
        inventory=STRIPE,
        context="kind",
        extra="egress:\n  services:\n    strpe: {ports: [443/tls]}\n",
    )
    res = cli("check", "--env", "dev", "--output", "json")
    findings = json.loads(res.stdout)["findings"]
    assert [(f["code"], f["path"], f["hint"]) for f in findings] == [
        (
            "override-unknown-service",
            "services.strpe",
            "did you mean `stripe`? A service of this environment's own needs `host` and `ports`",
        )
    ]
    assert findings[0]["message"] == (
        "no inventory file defines a service 'strpe': this override changes nothing"
    )
    assert res.exit_code == 3


OVERRIDES_ALLOWED = [
    pytest.param("egress:\n  services:\n    stripe: null\n", id="remove-known"),
    pytest.param("egress:\n  services:\n    stripe: {ports: [8443/tls]}\n", id="change-known"),
    pytest.param(
        "egress:\n  services:\n    extra: {host: x.example.com, ports: [443]}\n",
        id="add-a-complete-service",
    ),
    pytest.param(
        "egress:\n  services:\n    extra: {hosts: [x.example.com], ports: [443]}\n",
        id="add-with-hosts",
    ),
]


@pytest.mark.parametrize("env", OVERRIDES_ALLOWED)
def test_override_allowed(cli, env_file: EnvFile, env: str) -> None:
    env_file(inventory=STRIPE, context="kind", extra=env)
    res = cli("check", "--env", "dev", "--output", "json")
    assert json.loads(res.stdout)["findings"] == []
    assert res.exit_code == 0


def test_override_removing_a_service_a_later_inventory_file_removed(cli, project: Path) -> None:
    """`inventory: [a, b]` where b removes `stripe`: the environment's removal of it
    removes nothing either."""
    write(project / "values" / "egress.yaml", STRIPE)
    write(project / "values" / "later.yaml", "services:\n  stripe: null\n")
    write(
        project / "values" / "dev.yaml",
        "inventory: [egress.yaml, later.yaml]\ncontext: kind\n"
        "egress:\n  services:\n    stripe: null\n",
    )
    res = cli("check", "--env", "dev", "--output", "json")
    found = [(f["code"], f["line"], f["column"]) for f in json.loads(res.stdout)["findings"]]
    assert found == [("override-unknown-service", 5, 5)]


# ---------------------------------------------------------------------------
# Issue #11: the team's Istio values that the compiled values replace.  The inventory:
# REGISTRY_ONLY, capture everything but 169.254.169.254/32.
# (team values text, expected findings (line, column, key path, message))

LOCKDOWN = """\
policy: REGISTRY_ONLY
capture:
  exclude: [169.254.169.254/32]
services:
  google: {host: www.google.com, ports: [443]}
"""

ISTIO_VALUES = [
    pytest.param(
        "meshConfig:\n  outboundTrafficPolicy:\n    mode: ALLOW_ANY\n",
        [
            (
                3,
                11,
                "meshConfig.outboundTrafficPolicy.mode",
                "your value 'ALLOW_ANY' is replaced by egressctl's 'REGISTRY_ONLY' "
                "(the inventory's `policy`)",
            )
        ],
        id="mesh-config-mode",
    ),
    pytest.param(
        "global:\n  outboundTrafficPolicy: {mode: ALLOW_ANY}\n  proxy:\n"
        "    includeIPRanges: 10.0.0.0/8\n    excludeIPRanges: ''\n",
        [
            (
                2,
                33,
                "global.outboundTrafficPolicy.mode",
                "your value 'ALLOW_ANY' is replaced by egressctl's 'REGISTRY_ONLY' "
                "(the inventory's `policy`)",
            ),
            (
                4,
                22,
                "global.proxy.includeIPRanges",
                "your value '10.0.0.0/8' is replaced by egressctl's '*' "
                "(the inventory's `capture.include`)",
            ),
            (
                5,
                22,
                "global.proxy.excludeIPRanges",
                "your value '' is replaced by egressctl's '169.254.169.254/32' "
                "(the inventory's `capture.exclude`)",
            ),
        ],
        id="global-keys",
    ),
    pytest.param(
        "meshConfig:\n  outboundTrafficPolicy:\n    mode: REGISTRY_ONLY\n"
        "global:\n  proxy:\n    includeIPRanges: '*'\n    excludeIPRanges: ' 169.254.169.254/32'\n",
        [],
        id="same-values-not-reported",
    ),
    pytest.param(
        "revision: ''\nglobal:\n  hub: docker.io/istio\n  proxy: {resources: {}}\n"
        "meshConfig: {accessLogFile: /dev/stdout}\n",
        [],
        id="other-keys-not-reported",
    ),
    pytest.param("# nothing yet\n", [], id="empty-file"),
]


# The istio block of these tests: the mini istiod chart with the team's values file.
ISTIO_WITH_TEAM_VALUES = {"chart": MINI_ISTIO, "values": ["istio-dev.yaml"]}


@pytest.mark.parametrize(("team", "expected"), ISTIO_VALUES)
def test_istio_value_overridden(
    cli, project: Path, env_file: EnvFile, team: str, expected: list[tuple[int, int, str, str]]
) -> None:
    write(project / "values" / "istio-dev.yaml", team)
    env_file(inventory=LOCKDOWN, context="kind", istio=ISTIO_WITH_TEAM_VALUES)
    res = cli("check", "--env", "dev", "--output", "json")
    findings = json.loads(res.stdout)["findings"]
    assert [
        (f["code"], f["severity"], f["file"], f["line"], f["column"], f["path"], f["message"])
        for f in findings
    ] == [("istio-value-overridden", "warning", "values/istio-dev.yaml", *row) for row in expected]
    assert all(f["hint"] for f in findings)
    assert res.exit_code == 0


def test_istio_values_file_that_is_not_yaml_is_located(
    cli, project: Path, env_file: EnvFile
) -> None:
    write(project / "values" / "istio-dev.yaml", "global: [\n")
    env_file(inventory=LOCKDOWN, context="kind", istio=ISTIO_WITH_TEAM_VALUES)
    res = cli("check", "--env", "dev", "--output", "json")
    found = [
        (f["code"], f["file"], f["line"], f["column"]) for f in json.loads(res.stdout)["findings"]
    ]
    assert found == [("yaml-syntax", "values/istio-dev.yaml", 2, 1)]
    assert res.exit_code == 3


def test_render_prints_istio_value_overridden(
    cli, project: Path, env_file: EnvFile, helm: str
) -> None:
    write(
        project / "values" / "istio-dev.yaml",
        "meshConfig:\n  outboundTrafficPolicy:\n    mode: ALLOW_ANY\n",
    )
    env_file(inventory=LOCKDOWN, context="kind", istio=ISTIO_WITH_TEAM_VALUES)
    res = cli("render", "--env", "dev")
    assert res.exit_code == 0, res.stderr
    assert (
        "values/istio-dev.yaml:3:11: meshConfig.outboundTrafficPolicy.mode: warning: your "
        "value 'ALLOW_ANY' is replaced by egressctl's 'REGISTRY_ONLY' (the inventory's "
        "`policy`) [istio-value-overridden]"
    ) in res.stderr.splitlines()


# ---------------------------------------------------------------------------
# Issue #11: holes in the lockdown, found on the effective policy, and acknowledgements.
# (inventory text, code, severity, line, column): the code fires there, with that
# severity (the lenient codes are errors under REGISTRY_ONLY, warnings under ALLOW_ANY).

STRICT = "policy: REGISTRY_ONLY\n"

HOLES = [
    pytest.param(
        STRICT
        + "capture:\n  include: [10.96.0.0/12, 10.244.0.0/16]\n"
        + svc("host: a.com\nports: [443]\n"),
        "policy-bypassed-by-capture",
        "error",
        3,
        12,
        id="narrow-include-registry-only",
    ),
    pytest.param(
        "capture:\n  include: [10.0.0.0/8]\n",
        "policy-bypassed-by-capture",
        "warning",
        2,
        12,
        id="narrow-include-allow-any",
    ),
    pytest.param(
        STRICT + "capture:\n  include: []\n" + svc("host: a.com\nports: [443]\n"),
        "policy-bypassed-by-capture",
        "error",
        3,
        12,
        id="empty-include",
    ),
    pytest.param(
        STRICT
        + "capture:\n  include: [0.0.0.0/0]\n"
        + svc("host: a.com\nports: [5432/tcp]\naddresses: ['fd00::5']\n"),
        "policy-bypassed-by-capture",
        "error",
        3,
        12,
        id="ipv6-used-not-captured",
    ),
    pytest.param(
        "capture:\n  exclude: [192.0.2.0/24]\n"
        + svc("host: a.com\naddresses: [192.0.2.7]\nports: [5432/tcp]\n"),
        "entry-bypassed",
        "warning",
        6,
        16,
        id="entry-excluded",
    ),
    pytest.param(
        "capture:\n  include: [10.0.0.0/8]\n"
        + svc("host: a.com\naddresses: [192.0.2.0/28, 192.0.2.64/28]\nports: [443]\n"),
        "entry-bypassed",
        "warning",
        6,
        16,
        id="entry-outside-include",
    ),
    pytest.param(
        svc("host: github.com\nports: [22/tcp]\n"),
        "tcp-port-catch-all",
        "warning",
        4,
        13,
        id="ssh-dns",
    ),
    pytest.param(
        STRICT + svc("host: smtp.sendgrid.net\nports: [443, 587/tcp]\n"),
        "tcp-port-catch-all",
        "warning",
        5,
        18,
        id="smtp-second-port",
    ),
    pytest.param(
        svc("host: db.a.com\nports: [5432/tcp]\nresolution: STATIC\nendpoints: [192.0.2.5]\n"),
        "tcp-port-catch-all",
        "warning",
        4,
        13,
        id="static-endpoints",
    ),
    pytest.param(
        svc("host: m.a.com\nports: [{number: 27017, protocol: mongo}]\n"),
        "tcp-port-catch-all",
        "warning",
        4,
        13,
        id="mongo",
    ),
    pytest.param(
        STRICT + svc("host: '*.rds.amazonaws.com'\nports: [5432/tcp]\n"),
        "tcp-port-open",
        "error",
        5,
        13,
        id="wildcard-registry-only",
    ),
    pytest.param(
        STRICT + svc("host: db.a.com\nports: [5432/tcp]\nresolution: NONE\n"),
        "tcp-port-open",
        "error",
        5,
        13,
        id="none-registry-only",
    ),
    pytest.param(
        svc("host: '*.rds.amazonaws.com'\nports: [5432/tcp]\n"),
        "tcp-port-open",
        "warning",
        4,
        13,
        id="wildcard-allow-any",
    ),
    pytest.param(
        svc("host: a.com\nports: [443]\nacknowledge: {wildcard-public-suffix: shared bucket}\n"),
        "acknowledge-unused",
        "warning",
        5,
        19,
        id="acknowledged-code-does-not-fire",
    ),
    pytest.param(
        svc("host: a.com\nports: [443]\nacknowledge: {wildcard-public-sufix: typo}\n"),
        "acknowledge-unused",
        "warning",
        5,
        19,
        id="acknowledged-code-unknown",
    ),
    pytest.param(
        "capture:\n  include: [10.1.2.3/8, 0.0.0.0/0]\n  acknowledge: {cidr-host-bits: x}\n",
        "acknowledge-unused",
        "warning",
        3,
        17,
        id="acknowledged-spelling-warning",
    ),
    pytest.param(
        svc("host: a.com\nports: [443]\nacknowledge: {host-duplicate: we know}\n"),
        "acknowledge-error",
        "error",
        5,
        19,
        id="acknowledged-error-code",
    ),
    pytest.param(
        STRICT
        + svc(
            "host: '*.rds.amazonaws.com'\nports: [5432/tcp]\n"
            "acknowledge: {tcp-port-open: RDS rotates its IPs}\n"
        ),
        "acknowledge-error",
        "error",
        6,
        19,
        id="acknowledged-open-port-registry-only",
    ),
    pytest.param(
        svc("host: a.com\nports: [443]\nacknowledge: {policy-bypassed-by-capture: direct}\n"),
        "acknowledge-error",
        "error",
        5,
        19,
        id="capture-code-on-a-service",
    ),
    pytest.param(
        svc("host: a.com\nports: [443]\nacknowledge: {port-80-tls: ''}\n"),
        "acknowledge-no-reason",
        "error",
        5,
        32,
        id="empty-reason",
    ),
]


@pytest.mark.parametrize(("text", "code", "severity", "line", "col"), HOLES)
def test_lockdown_rule(
    cli, project: Path, text: str, code: str, severity: str, line: int, col: int
) -> None:
    write(project / "inv.yaml", text)
    res = cli("check", "inv.yaml", "--output", "json")
    findings = json.loads(res.stdout)["findings"]
    found = [(f["code"], f["severity"], f["line"], f["column"]) for f in findings]
    assert (code, severity, line, col) in found, found
    assert next(f for f in findings if f["code"] == code)["hint"]
    assert res.exit_code == (3 if any(f["severity"] == "error" for f in findings) else 0)


# (inventory text, code): the code does not fire.
HOLES_QUIET = [
    pytest.param(
        STRICT + svc("host: a.com\nports: [443]\n"), "policy-bypassed-by-capture", id="no-include"
    ),
    pytest.param(
        STRICT
        + "capture:\n  include: [0.0.0.0/1, 128.0.0.0/1]\n"
        + svc("host: a.com\nports: [443]\n"),
        "policy-bypassed-by-capture",
        id="include-halves-cover-all",
    ),
    pytest.param(
        STRICT + "capture:\n  include: [0.0.0.0/0]\n" + svc("host: a.com\nports: [443]\n"),
        "policy-bypassed-by-capture",
        id="ipv4-everything-no-ipv6",
    ),
    pytest.param(
        "capture:\n  exclude: [192.0.2.0/24]\n"
        + svc("host: a.com\naddresses: [192.0.2.7, 198.51.100.7]\nports: [5432/tcp]\n"),
        "entry-bypassed",
        id="one-address-captured",
    ),
    pytest.param(
        "capture:\n  exclude: [192.0.2.0/25]\n"
        + svc("host: a.com\naddresses: [192.0.2.0/24]\nports: [5432/tcp]\n"),
        "entry-bypassed",
        id="part-of-range-captured",
    ),
    pytest.param(
        svc("host: github.com\naddresses: [140.82.112.4]\nports: [22/tcp]\n"),
        "tcp-port-catch-all",
        id="with-addresses",
    ),
    pytest.param(
        svc("host: a.com\nports: [443/tls, 80/http, 50051/grpc]\n"),
        "tcp-port-catch-all",
        id="http-and-tls",
    ),
    pytest.param(
        svc("host: github.com\nports: [22/tcp]\nexportTo: ['~']\n"),
        "tcp-port-catch-all",
        id="exported-nowhere",
    ),
    pytest.param(
        STRICT + svc("host: '*.rds.amazonaws.com'\naddresses: [10.20.0.0/16]\nports: [5432/tcp]\n"),
        "tcp-port-open",
        id="wildcard-with-addresses",
    ),
    pytest.param(
        STRICT + svc("host: '*.a.com'\nports: [443/tls]\n"), "tcp-port-open", id="wildcard-tls"
    ),
    pytest.param(STRICT + svc("host: db.a.com\nports: [5432/tcp]\n"), "tcp-port-open", id="dns"),
    pytest.param(
        svc("host: '*.s3.amazonaws.com'\nports: [443]\nacknowledge: {wildcard-public-suffix: x}\n"),
        "acknowledge-unused",
        id="acknowledgement-used",
    ),
]


@pytest.mark.parametrize(("text", "code"), HOLES_QUIET)
def test_lockdown_rule_stays_quiet(cli, project: Path, text: str, code: str) -> None:
    write(project / "inv.yaml", text)
    res = cli("check", "inv.yaml", "--output", "json")
    findings = json.loads(res.stdout)["findings"]
    assert code not in [f["code"] for f in findings], findings
    assert res.exit_code == (3 if any(f["severity"] == "error" for f in findings) else 0)


def test_policy_bypassed_names_what_is_and_is_not_covered(cli, project: Path) -> None:
    write(
        project / "inv.yaml",
        STRICT
        + "capture:\n  include: [10.96.0.0/12, 'fd00:10:96::/108']\n"
        + svc("host: a.com\nports: [443]\n"),
    )
    doc = json.loads(cli("check", "inv.yaml", "--output", "json").stdout)
    (f,) = [f for f in doc["findings"] if f["code"] == "policy-bypassed-by-capture"]
    assert f["message"] == (
        "capture.include covers 10.96.0.0/12, fd00:10:96::/108, not the rest of 0.0.0.0/0 "
        "nor the rest of ::/0 (IPv6 is in use here): every external host bypasses the "
        "sidecar, so REGISTRY_ONLY blocks none of them"
    )
    assert "`exclude`" in f["hint"]


def test_policy_bypassed_sees_ipv6_in_the_cluster_ranges(cli, env_file: EnvFile) -> None:
    inventory = STRICT + "capture:\n  include: [0.0.0.0/0]\n" + svc("host: a.com\nports: [443]\n")
    env_file(
        inventory=inventory, context="kind", extra="cluster:\n  podCIDRs: ['fd00:10:244::/56']\n"
    )
    res = cli("check", "--env", "dev", "--output", "json")
    found = [(f["code"], f["file"], f["line"]) for f in json.loads(res.stdout)["findings"]]
    assert ("policy-bypassed-by-capture", "values/egress.yaml", 3) in found, found
    assert res.exit_code == 3


# --- acknowledgements -----------------------------------------------------------

ACKNOWLEDGED = (
    STRICT
    + "capture:\n  include: [10.96.0.0/12, 10.244.0.0/16]\n"
    + "  acknowledge: {policy-bypassed-by-capture: pods reach partners directly (CHG-7)}\n"
    + svc(
        "host: '*.s3.amazonaws.com'\nports: [443]\n"
        "acknowledge:\n  wildcard-public-suffix: customer buckets, names unknown\n"
    )
)


def test_acknowledged_findings_are_listed_with_their_reason(project: Path) -> None:
    from egressctl.pipeline import load_inventory

    write(project / "inv.yaml", ACKNOWLEDGED)
    _, findings = load_inventory([project / "inv.yaml"], ["inv.yaml"])
    got = [(f.code, f.severity.value, f.path, f.acknowledged) for f in findings]
    assert got == [
        (
            "policy-bypassed-by-capture",
            "warning",
            "capture.include",
            "pods reach partners directly (CHG-7)",
        ),
        (
            "wildcard-public-suffix",
            "warning",
            "services.a.host",
            "customer buckets, names unknown",
        ),
    ]
    assert (
        findings[1].format().splitlines()[1] == "    acknowledged: customer buckets, names unknown"
    )


def test_an_acknowledgement_in_an_environment_file(cli, project: Path, env_file: EnvFile) -> None:
    env_file(
        inventory=STRICT + svc("host: github.com\nports: [22/tcp]\n"),
        context="kind",
        extra="egress:\n  services:\n    a:\n"
        "      acknowledge: {tcp-port-catch-all: only git uses 22}\n",
    )
    from egressctl.pipeline import load_environment

    _, findings = load_environment("dev", project)
    assert [(f.code, f.loc.file, f.acknowledged) for f in findings] == [
        ("tcp-port-catch-all", "values/egress.yaml", "only git uses 22")
    ]


def test_an_unacknowledged_error_still_stops(cli, project: Path) -> None:
    write(
        project / "inv.yaml",
        STRICT + "capture:\n  include: [10.0.0.0/8]\n" + svc("host: a.com\nports: [443]\n"),
    )
    proc = entry_point(project, "compile", "inv.yaml")
    assert proc.returncode == 3
    assert [line.split(" [")[-1] for line in invalid_input_report(proc.stderr)] == [
        "policy-bypassed-by-capture]"
    ]


def test_check_json_carries_acknowledged(cli, project: Path) -> None:
    write(project / "inv.yaml", ACKNOWLEDGED)
    res = cli("check", "inv.yaml", "--output", "json")
    got = [
        (f["code"], f["severity"], f.get("acknowledged"))
        for f in json.loads(res.stdout)["findings"]
    ]
    assert got == [
        ("policy-bypassed-by-capture", "warning", "pods reach partners directly (CHG-7)"),
        ("wildcard-public-suffix", "warning", "customer buckets, names unknown"),
    ]
    assert res.exit_code == 0


def test_strict_passes_with_only_acknowledged_warnings(cli, project: Path) -> None:
    write(project / "inv.yaml", ACKNOWLEDGED)
    assert cli("check", "inv.yaml", "--strict").exit_code == 0
