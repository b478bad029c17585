"""Bad input: one located line per problem, exit 3, no traceback, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import entry_point, invalid_input_report, write

# (file text, expected "LINE:COL: key.path: message" fragment)
CASES = [
    pytest.param("services: [\n", "2:1: YAML does not parse", id="yaml-syntax"),
    pytest.param(
        "policy: REGISTRY_ONLY\npolicy: ALLOW_ANY\n",
        "2:1: key 'policy' appears twice in the same mapping [duplicate-key]",
        id="duplicate-key",
    ),
    pytest.param(
        "services:\n  a:\n    host: a.com\n    ports: [443/https]\n    port: [80]\n",
        "5:5: services.a.port: unknown key [unknown-key]\n    hint: did you mean `ports`?",
        id="unknown-key-did-you-mean",
    ),
    pytest.param(
        "polcy: REGISTRY_ONLY\n",
        "1:1: polcy: unknown key [unknown-key]\n    hint: did you mean `policy`?",
        id="unknown-top-key",
    ),
    pytest.param(
        "services:\n  a:\n    host: [a.com]\n    ports: [443/https]\n",
        "3:11: services.a.host: must be a string, not a list",
        id="host-wrong-type",
    ),
    pytest.param(
        "services:\n  a:\n    host: a.com\n    ports: 443/https\n",
        "4:12: services.a.ports: must be a list, not a string",
        id="ports-wrong-type",
    ),
    pytest.param(
        "services:\n  a:\n    host: a.com\n    ports: [443/htps]\n",
        "4:13: services.a.ports[0]: unsupported protocol 'htps'",
        id="port-protocol-typo",
    ),
    pytest.param(
        "services:\n  a:\n    host: a.com\n    ports: [https:443]\n",
        "4:13: services.a.ports[0]: 'https:443' is not a port",
        id="port-spelling",
    ),
    pytest.param(
        "services:\n  a:\n    host: a.com\n    ports: [8443]\n",
        "4:13: services.a.ports[0]: port 8443 needs a protocol",
        id="bare-port-needs-protocol",
    ),
    pytest.param(
        "services:\n  a:\n    host: a.com\n    ports: [70000/tcp]\n",
        "4:13: services.a.ports[0]: port number 70000 must be in the range 1..65535",
        id="port-range",
    ),
    pytest.param(
        "services:\n  a:\n    host: a.com\n    ports:\n      - {number: 80, protcol: http}\n",
        "5:22: services.a.ports[0].protcol: unknown key",
        id="port-map-unknown-key",
    ),
    pytest.param(
        "services:\n  a:\n    ports: [80]\n",
        "3:5: services.a: `host` (or `hosts`) is required",
        id="host-missing",
    ),
    pytest.param(
        "policy: BLOCK_ALL\n",
        "1:9: policy: 'BLOCK_ALL' is not one of ALLOW_ANY, REGISTRY_ONLY",
        id="policy-invalid",
    ),
    pytest.param(
        "capture:\n  include: [10.0.0.0/33]\n",
        "2:13: capture.include[0]: '10.0.0.0/33' is not an IP range",
        id="cidr-invalid",
    ),
    pytest.param("", "1:1: the inventory file is empty", id="empty-file"),
    pytest.param(
        "- a\n- b\n", "1:1: the inventory file must be a mapping, not a list", id="top-level-list"
    ),
    pytest.param(
        "services:\n\ta:\n",
        "2:1: tab character: YAML indentation must use spaces [yaml-tab]",
        id="tab-indent",
    ),
    pytest.param(
        "services:\n  a: !!python/object/apply:os.system [echo hi]\n",
        "2:6: YAML tag",
        id="python-tag",
    ),
    pytest.param(
        "services:\n  Bad_Name:\n    host: a.com\n    ports: [80]\n",
        "2:3: services.Bad_Name: service name 'Bad_Name' is not a DNS-1123 label",
        id="name-invalid",
    ),
    pytest.param(
        "services:\n  w:\n    host: '*.example.com'\n    ports: [443]\n    resolution: DNS\n",
        "3:11: services.w.host: wildcard host '*.example.com' cannot use resolution DNS",
        id="wildcard-dns",
    ),
    pytest.param(
        "services:\n  a:\n    host: a.com\n    ports: [443/https]\n"
        "  b:\n    host: a.com\n    ports: [443/https]\n",
        "6:11: services.b.host: host 'a.com' is also registered by service 'a'",
        id="host-duplicate",
    ),
    pytest.param(
        "services:\n  a:\n    host: a.com\n    ports: [443/https, 443/tls]\n",
        "4:24: services.a.ports[1]: port 443 already defined",
        id="port-duplicate",
    ),
    pytest.param(
        "services:\n  a:\n    hosts: [a.com, b.com]\n    ports: [5432/tcp]\n",
        "4:13: services.a.ports[0]: TCP port 5432 with several hosts",
        id="multi-host-tcp",
    ),
    pytest.param(
        "services:\n  a:\n    host: 'a..com'\n    ports: [80]\n",
        "3:11: services.a.host: 'a..com': host has an empty label",
        id="host-empty-label",
    ),
    pytest.param(
        "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
        "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n",
        "2:8: aliases expand the document by more than",
        id="alias-bomb",
    ),
    pytest.param(  # located at the first alias, not at a wildcard host's `*`
        "w: ['*.google.com']\na: &a [x, x, x, x, x, x, x, x, x, x]\n"
        "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
        "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n",
        "3:8: aliases expand the document by more than",
        id="alias-bomb-after-a-wildcard",
    ),
    pytest.param(
        "a: &a [*a]\n", "1:8: an alias refers to a value that contains it", id="recursive-alias"
    ),
    pytest.param(
        "services: &s {a: *s}\n",
        "1:18: an alias refers to a value that contains it",
        id="recursive-alias-map",
    ),
    pytest.param(
        "? [a, b]\n: c\n", "1:3: YAML does not parse: found unhashable key", id="complex-key"
    ),
    pytest.param(
        "policy: ALLOW_ANY\n---\npolicy: REGISTRY_ONLY\n",
        "2:1: YAML does not parse: but found another document",
        id="two-documents",
    ),
    pytest.param(
        "services:\n  a: {host: a.com, ports: [80], owner: {x: 1}}\n",
        "2:40: services.a.owner: must be a string, not a mapping",
        id="owner-map",
    ),
    pytest.param(
        "services:\n  a:\n    host: a.com\n    ports: [80]\n    when: 2024-01-01\n",
        "5:11: services.a.when: a date value is not allowed here",
        id="date-value",
    ),
    pytest.param(
        "polcy:\nservices: {}\n",
        "1:1: polcy: unknown key [unknown-key]\n    hint: did you mean `policy`?",
        id="unknown-top-key-null",
    ),
    pytest.param(
        "services:\n  a:\n    host: a.com\n    ports: [80]\n    resolutoin:\n",
        "5:5: services.a.resolutoin: unknown key [unknown-key]\n"
        "    hint: did you mean `resolution`?",
        id="unknown-service-key-null",
    ),
    pytest.param(
        "services:\n  a:\n    host: a.com\n    ports:\n      - number: 80\n        protcol:\n",
        "6:9: services.a.ports[0].protcol: unknown key",
        id="unknown-port-key-null",
    ),
    pytest.param(
        "root:*:19000:0:99999:7:::\n",
        "1:1: the file has none of `services`, `policy`, `gateways`, `namespaces`: it is "
        "not an inventory [inventory-blank]",
        id="not-an-inventory",
    ),
    pytest.param(
        "services:\n  a: &web {host: a.com, ports: [80]}\n"
        "  b: {<<: *web, host: b.com, host: c.com}\n",
        "3:30: key 'host' appears twice in the same mapping [duplicate-key]",
        id="duplicate-key-beside-merge",
    ),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_bad_inventory_is_located_exit_3_and_writes_nothing(
    project: Path, text: str, expected: str
) -> None:
    write(project / "inv.yaml", text)
    proc = entry_point(project, "compile", "inv.yaml", "-o", "out.yaml")
    assert proc.returncode == 3, proc.stderr
    invalid_input_report(proc.stderr)
    assert f"inv.yaml{expected}" in proc.stderr or f"inv.yaml:{expected}" in proc.stderr
    assert proc.stdout == ""
    assert not (project / "out.yaml").exists()


def test_existing_output_is_left_unchanged_on_error(cli, project: Path) -> None:
    out = write(project / "out.yaml", "previous: content\n")
    inv = write(project / "inv.yaml", "policy: NOPE\n")
    res = cli("compile", str(inv), "-o", str(out))
    assert res.exit_code == 3
    assert out.read_text() == "previous: content\n"


def test_missing_file(cli, project: Path) -> None:
    res = cli("compile", "nope.yaml")
    assert res.exit_code == 3
    assert "nope.yaml: file not found (looked for " in res.stderr


def test_non_utf8(cli, project: Path) -> None:
    inv = project / "inv.yaml"
    inv.write_bytes(b"policy: ALLOW_ANY\nservices:\n  a:\n    host: caf\xe9.com\n")
    res = cli("check", str(inv))
    assert res.exit_code == 3
    assert "inv.yaml:4:14: file is not UTF-8 text" in res.stdout


def test_every_problem_is_reported_not_only_the_first(cli, project: Path) -> None:
    inv = write(
        project / "inv.yaml",
        """
        policy: NOPE
        services:
          a:
            host: a.com
            ports: [8080]
          b:
            hosts: [b.com]
            ports: [443/htps]
        """,
    )
    res = cli("check", str(inv))
    assert res.exit_code == 3
    assert "inv.yaml:1:9: policy:" in res.stdout
    assert "inv.yaml:5:13: services.a.ports[0]: port 8080 needs a protocol" in res.stdout
    assert "inv.yaml:8:13: services.b.ports[0]: unsupported protocol" in res.stdout
    assert "3 errors, 0 warnings in 1 file" in res.stdout


def test_environment_missing_inventory_names_path_and_place(cli, project: Path) -> None:
    write(project / "values" / "dev.yaml", "inventory: [nope.yaml]\ncontext: kind-dev\n")
    res = cli("render", "--env", "dev")
    assert res.exit_code == 3
    assert "values/dev.yaml:1:13: inventory[0]: inventory file 'nope.yaml' not found" in res.stderr
    assert str(project / "values" / "nope.yaml") in res.stderr
    assert not (project / "build").exists()


def test_environment_unknown_key_and_wrong_type(cli, project: Path) -> None:
    write(project / "values" / "egress.yaml", "policy: ALLOW_ANY\n")
    write(
        project / "values" / "dev.yaml",
        "inventory: [egress.yaml]\ncontext: 7\nnamspace: istio-system\n",
    )
    res = cli("check", "--env", "dev")
    assert res.exit_code == 3
    assert "values/dev.yaml:2:10: context: must be a string, not an integer" in res.stdout
    assert "values/dev.yaml:3:1: namspace: unknown key" in res.stdout
    assert "did you mean `namespace`?" in res.stdout


def test_override_error_points_at_the_environment_file(cli, project: Path) -> None:
    write(project / "values" / "egress.yaml", "services:\n  a:\n    host: a.com\n    ports: [80]\n")
    write(
        project / "values" / "dev.yaml",
        "inventory: [egress.yaml]\ncontext: kind-dev\negress:\n  services:\n"
        "    a:\n      ports: [9999]\n",
    )
    res = cli("check", "--env", "dev")
    assert res.exit_code == 3
    assert "values/dev.yaml:6:15: services.a.ports[0]: port 9999 needs a protocol" in res.stdout
