"""The published JSON Schemas: committed copies are current and accept every example."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml

from egressctl.inventory import keys
from egressctl.rules.schema import dump, env_schema, inventory_schema
from tests.conftest import REPO

SCHEMAS = REPO / "schemas"
INVENTORIES = sorted(
    [REPO / "values" / "egress.yaml", *(REPO / "tests" / "golden").glob("*/inventory.yaml")]
)
ENVIRONMENTS = sorted(p for p in (REPO / "values").glob("*.yaml") if p.name != "egress.yaml")


@pytest.mark.parametrize("kind", ["inventory", "env"])
def test_committed_schema_is_what_the_command_prints(cli, kind: str) -> None:
    res = cli("schema", kind)
    assert res.exit_code == 0
    committed = (SCHEMAS / f"{kind}.schema.json").read_text(encoding="utf-8")
    assert res.stdout == committed, "run `make docs` to refresh schemas/"
    assert res.stdout == dump(kind)


def test_schemas_are_valid_draft7() -> None:
    jsonschema.Draft7Validator.check_schema(inventory_schema())
    jsonschema.Draft7Validator.check_schema(env_schema())


@pytest.mark.parametrize("path", INVENTORIES, ids=lambda p: str(p.relative_to(REPO)))
def test_schema_accepts_every_example_inventory(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert list(jsonschema.Draft7Validator(inventory_schema()).iter_errors(data)) == []


@pytest.mark.parametrize("path", ENVIRONMENTS, ids=lambda p: p.name)
def test_schema_accepts_every_example_environment(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert list(jsonschema.Draft7Validator(env_schema()).iter_errors(data)) == []


@pytest.mark.parametrize("path", sorted((REPO / "values").glob("*.yaml")), ids=lambda p: p.name)
def test_examples_carry_the_modeline(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    kind = "inventory" if path.name == "egress.yaml" else "env"
    assert first == f"# yaml-language-server: $schema=../schemas/{kind}.schema.json"


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("polcy: ALLOW_ANY\n", "Additional properties"),
        ("services: {a: {host: a.com}}\n", "is not valid under any of the given schemas"),
        ("services: {a: {host: a.com, ports: ['443/htps']}}\n", "is not valid under any"),
        ("policy: BLOCK\n", "is not valid under any of the given schemas"),
    ],
)
def test_schema_rejects_what_editors_should_underline(text: str, complaint: str) -> None:
    errors = list(jsonschema.Draft7Validator(inventory_schema()).iter_errors(yaml.safe_load(text)))
    assert errors
    assert any(complaint in e.message for e in errors), [e.message for e in errors]


def _props(schema: dict, *path: str) -> set[str]:
    node = schema
    for key in path:
        node = node[key]
    return set(node["properties"])


def test_schema_keys_match_the_reader() -> None:
    inv = inventory_schema()
    assert _props(inv) == set(keys.INVENTORY_KEYS)
    assert _props(inv, "properties", "capture") == set(keys.CAPTURE_KEYS)
    service = inv["properties"]["services"]["additionalProperties"]["anyOf"][1]
    assert set(service["properties"]) == set(keys.SERVICE_KEYS)
    env = env_schema()
    assert _props(env) == set(keys.ENV_KEYS)
    assert _props(env, "properties", "istio") == set(keys.ISTIO_KEYS)
    assert _props(env, "properties", "cluster") == set(keys.CLUSTER_KEYS)


def test_readme_rule_table_is_current() -> None:
    from tests.make_docs import readme_with_rules

    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert readme_with_rules(text) == text, "run `make docs` to refresh the README rule table"
