"""`egressctl explain` through the installed entry point: verdicts, exit codes, the JSON
envelope compared whole."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import entry_point, invalid_input_report, write

INVENTORY = """\
policy: REGISTRY_ONLY
capture:
  exclude: [169.254.169.254/32]
services:
  stripe:
    host: api.stripe.com
    ports: [443/https]
  git:
    host: github.com
    ports: [22/tcp]
    acknowledge: {tcp-port-catch-all: "only CI runners reach github over ssh"}
  broker:
    host: broker.internal.example
    addresses: [10.30.2.11]
    ports: [9092/tcp]
"""


@pytest.fixture
def inv(tmp_path: Path) -> Path:
    return write(tmp_path / "egress.yaml", INVENTORY)


def _json(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    res = entry_point(tmp_path, "explain", *args, "--output", "json")
    assert res.stderr == "" or "warning" in res.stderr, res.stderr
    return res.returncode, json.loads(res.stdout)


def test_allowed_by_url(tmp_path: Path, inv: Path) -> None:
    code, doc = _json(tmp_path, "https://api.stripe.com/v1/charges", inv.name)
    assert code == 0
    assert doc == {
        "egressctlOutputVersion": 1,
        "command": "explain",
        "ok": True,
        "data": {
            "destination": "api.stripe.com",
            "port": 443,
            "verdict": "allowed",
            "entry": "stripe",
            "entryLocation": {"file": "egress.yaml", "line": 5, "column": 3},
            "objects": [
                {"kind": "ServiceEntry", "name": "stripe", "namespace": "istio-system"},
                {"kind": "VirtualService", "name": "stripe", "namespace": "istio-system"},
            ],
            "reason": doc["data"]["reason"],
            "captureRange": None,
            "listener": None,
            "closest": [],
            "path": None,  # via an egress gateway: the path (#13)
        },
        "findings": doc["findings"],
    }
    assert "stripe" in doc["data"]["reason"]


@pytest.mark.parametrize(
    ("args", "verdict", "code"),
    [
        pytest.param(["api.stripe.com", "--port", "443"], "allowed", 0, id="host-port"),
        pytest.param(["api.stripe.co:443"], "blocked", 1, id="typo-blocked"),
        pytest.param(["169.254.169.254", "--port", "80"], "bypass", 0, id="excluded"),
        pytest.param(["10.30.2.11", "--port", "9092"], "allowed", 0, id="by-address"),
        pytest.param(["user@api.stripe.com"], None, 3, id="userinfo-is-bad-input"),
        pytest.param(["api.stripe.com", "--port", "99999"], None, 3, id="port-out-of-range"),
        pytest.param(["gitlab.com:22"], "catch-all", 1, id="port-wide-listener"),
    ],
)
def test_verdicts_and_exit_codes(
    tmp_path: Path, inv: Path, args: list[str], verdict: str | None, code: int
) -> None:
    res = entry_point(tmp_path, "explain", *args, inv.name, "--output", "json")
    assert res.returncode == code, res.stderr
    doc = json.loads(res.stdout)
    if verdict is None:
        assert doc["ok"] is False
    else:
        assert doc["data"]["verdict"] == verdict


def test_blocked_names_the_closest_hosts(tmp_path: Path, inv: Path) -> None:
    code, doc = _json(tmp_path, "api.strip.com:443", inv.name)
    assert code == 1
    assert doc["data"]["closest"] == ["api.stripe.com"]


def test_all_lists_every_entry_and_everything_else(tmp_path: Path, inv: Path) -> None:
    code, doc = _json(tmp_path, "--all", inv.name)
    assert code == 0
    rows = [(a["destination"], a["port"], a["verdict"]) for a in doc["data"]]
    assert rows == [
        ("broker.internal.example", 9092, "allowed"),
        ("github.com", 22, "allowed"),
        ("api.stripe.com", 443, "allowed"),
        ("(any other destination)", 22, "catch-all"),
        ("(any other destination)", None, "blocked"),
    ]


def test_invalid_inventory_is_exit_3_located(tmp_path: Path) -> None:
    write(tmp_path / "bad.yaml", "policy: REGISTRY_ONLY\nservices:\n  a: {host: a.com}\n")
    res = entry_point(tmp_path, "explain", "a.com", "bad.yaml")
    assert res.returncode == 3
    assert any("bad.yaml:3" in line for line in invalid_input_report(res.stderr))


def test_explain_an_environment(tmp_path: Path, inv: Path) -> None:
    write(
        tmp_path / "values" / "prod.yaml",
        "inventory: [../egress.yaml]\ncontext: prod\nnamespace: mesh-egress\n",
    )
    code, doc = _json(tmp_path, "api.stripe.com:443", "--env", "prod")
    assert code == 0
    assert {o["namespace"] for o in doc["data"]["objects"]} == {"mesh-egress"}
