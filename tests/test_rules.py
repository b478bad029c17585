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
from tests.conftest import MINI_ISTIO, entry_point, invalid_input_report, write


def svc(body: str, name: str = "a") -> str:
    """An inventory with one service ``name`` whose body is ``body`` (YAML, 4 spaces)."""
    return f"services:\n  {name}:\n" + textwrap.indent(textwrap.dedent(body), "    ")


# (inventory text, code, line, column)
CASES = [
    # --- the file itself -----------------------------------------------------------
    pytest.param("services: [\n", "yaml-syntax", 2, 1, id="yaml-syntax"),
    pytest.param("services:\n\ta: {}\n", "yaml-tab", 2, 1, id="yaml-tab"),
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
    tested |= ENV_ONLY | NOT_FROM_TEXT
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
    assert lines[-1] == "1 error, 0 warnings in 1 file"


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
                "hint": "",
                "line": 1,
                "message": "'NOPE' is not one of ALLOW_ANY, REGISTRY_ONLY",
                "path": "policy",
                "severity": "error",
            }
        ],
        "ok": False,
    }


def _env(project: Path, inventory: str, env: str) -> None:
    write(project / "values" / "egress.yaml", inventory)
    head = "" if env.startswith("inventory:") else "inventory: [egress.yaml]\n"
    context = "" if "context:" in env else "context: kind\n"
    write(project / "values" / "dev.yaml", head + context + env)


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
]


@pytest.mark.parametrize(("inventory", "env", "code", "file", "line", "col"), ENV_CASES)
def test_environment_rule(
    cli, project: Path, inventory: str, env: str, code: str, file: str, line: int, col: int
) -> None:
    _env(project, inventory, env)
    res = cli("check", "--env", "dev", "--output", "json")
    found = [
        (f["code"], f["file"], f["line"], f["column"]) for f in json.loads(res.stdout)["findings"]
    ]
    assert (code, file, line, col) in found, found
    assert res.exit_code == 3


def test_cluster_ranges_fully_included_pass(cli, project: Path) -> None:
    _env(
        project,
        "capture:\n  include: [10.96.0.0/12, 10.244.0.0/16]\npolicy: ALLOW_ANY\n",
        "cluster:\n  podCIDRs: [10.244.0.0/17, 10.244.128.0/17]\n  serviceCIDRs: [10.96.0.0/12]\n",
    )
    res = cli("check", "--env", "dev")
    assert res.exit_code == 0, res.stdout
