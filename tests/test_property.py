"""Property tests: no input makes `check` crash; the answer is always exit 0 or 3."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import REPO, entry_point

EXAMPLES = [
    (REPO / "values" / "egress.yaml").read_text(encoding="utf-8"),
    *(
        p.read_text(encoding="utf-8")
        for p in sorted((REPO / "tests" / "golden").glob("*/*.yaml"))
        if p.name == "inventory.yaml"
    ),
]
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from(
        [
            "80",
            "443/https",
            "80/http",
            "*.a.com",
            "REGISTRY_ONLY",
            "10.0.0.0/8",
            "policy",
            "services",
            "ports",
            "host",
            "hosts",
            "capture",
            "NONE",
            "",
        ]
    ),
)
keys = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "policy",
            "services",
            "capture",
            "include",
            "exclude",
            "host",
            "hosts",
            "ports",
            "resolution",
            "location",
            "addresses",
            "endpoints",
            "exportTo",
            "originate",
            "number",
            "protocol",
            "name",
            "targetPort",
            "address",
            "owner",
        ]
    ),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=5)),
    max_leaves=25,
)


_TOTALS = re.compile(r"(\d+) errors?, \d+ warnings? in \d+ files?|ok: no problems found")


def _errors_reported(stdout: str) -> int:
    """The error count of `check`'s last line (its totals, or ok)."""
    last = stdout.splitlines()[-1] if stdout else ""
    totals = _TOTALS.fullmatch(last)
    assert totals is not None, stdout
    return int(totals.group(1) or 0)


def _check(cli: Any, path: Path, text: str) -> None:
    """`check` under CliRunner (an exception would propagate into the test): exit 3
    exactly when its report counts an error, 0 otherwise."""
    path.write_text(text, encoding="utf-8")
    res = cli("check", str(path))
    assert res.exit_code == (3 if _errors_reported(res.stdout) else 0), (text, res.stdout)


@SETTINGS
@given(doc=documents)
def test_arbitrary_yaml_documents(cli: Any, tmp_path: Path, doc: Any) -> None:
    _check(cli, tmp_path / "inv.yaml", yaml.safe_dump(doc))


@SETTINGS
@given(text=st.text(max_size=200))
def test_arbitrary_text(cli: Any, tmp_path: Path, text: str) -> None:
    _check(cli, tmp_path / "inv.yaml", text)


mutation = st.tuples(
    st.sampled_from(["delete", "insert", "duplicate-line", "drop-line", "swap-lines"]),
    st.integers(0, 10_000),
    st.integers(0, 10_000),
    st.text(alphabet=" :-[]{}*&!#'\"\t\n,./0123456789abcxyz", max_size=6),
)


@SETTINGS
@given(example=st.sampled_from(EXAMPLES), ops=st.lists(mutation, min_size=1, max_size=4))
def test_mutated_examples(cli: Any, tmp_path: Path, example: str, ops: list[Any]) -> None:
    _check(cli, tmp_path / "inv.yaml", _mutate(example, ops))


def _mutate(text: str, ops: list[Any]) -> str:
    for op, a, b, chunk in ops:
        lines = text.splitlines(keepends=True)
        if op == "delete" and text:
            i = a % len(text)
            text = text[:i] + text[i + 1 + b % 5 :]
        elif op == "insert":
            i = a % (len(text) + 1)
            text = text[:i] + chunk + text[i:]
        elif op == "duplicate-line" and lines:
            i = a % len(lines)
            text = "".join(lines[: i + 1] + lines[i:])
        elif op == "drop-line" and lines:
            i = a % len(lines)
            text = "".join(lines[:i] + lines[i + 1 :])
        elif op == "swap-lines" and len(lines) > 1:
            i, j = a % len(lines), b % len(lines)
            lines[i], lines[j] = lines[j], lines[i]
            text = "".join(lines)
    return text


@settings(SETTINGS, max_examples=20)
@given(example=st.sampled_from(EXAMPLES), ops=st.lists(mutation, min_size=1, max_size=4))
def test_mutated_examples_through_the_entry_point(
    tmp_path: Path, example: str, ops: list[Any]
) -> None:
    """The installed entry point in a real process, where a traceback would show: stdout
    is exactly the report, stderr empty, exit 0 or 3 as the report says."""
    (tmp_path / "inv.yaml").write_text(_mutate(example, ops), encoding="utf-8")
    proc = entry_point(tmp_path, "check", "inv.yaml")
    assert proc.stderr == ""
    assert proc.returncode == (3 if _errors_reported(proc.stdout) else 0), proc.stdout


def _replace(data: Any, path: list[int], value: Any) -> Any:
    """Replace the subtree chosen by ``path`` (indices into keys/items) with ``value``."""
    if not path or not isinstance(data, (dict, list)) or not data:
        return value
    if isinstance(data, dict):
        key = list(data)[path[0] % len(data)]
        return {**data, key: _replace(data[key], path[1:], value)}
    i = path[0] % len(data)
    return [*data[:i], _replace(data[i], path[1:], value), *data[i + 1 :]]


@SETTINGS
@given(
    example=st.sampled_from(EXAMPLES),
    where=st.lists(st.integers(0, 50), max_size=5),
    value=documents,
)
def test_structurally_mutated_examples(
    cli: Any, tmp_path: Path, example: str, where: list[int], value: Any
) -> None:
    data = _replace(yaml.safe_load(example), where, value)
    _check(cli, tmp_path / "inv.yaml", yaml.safe_dump(data))
