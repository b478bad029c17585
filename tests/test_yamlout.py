"""The values writer: what it writes reads back as exactly what it was given."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from egressctl.mesh.yamlout import dump, scalar

TRICKY = [
    "",
    " ",
    "*",
    "*.wikipedia.org",
    "yes",
    "No",
    "on",
    "OFF",
    "y",
    "n",
    "true",
    "null",
    "~",
    "0",
    "007",
    "0x1F",
    "1e3",
    "1_000",
    "1:20",
    ".inf",
    ".nan",
    "2024-01-01",
    "<<",
    "=",
    "a: b",
    "a #b",
    "#x",
    "- x",
    "? x",
    "[x]",
    "{x}",
    "'q'",
    '"q"',
    "|",
    ">",
    "%x",
    "@x",
    "`x",
    "!x",
    "&x",
    "a:",
    "10.96.0.0/12,10.244.0.0/16",
    "fd00::/8",
    "it's",
    "tab\there",
    "line\nbreak",
    "é ü ß",
    "emoji 🙂",
    "\x00nul",
    "trailing ",
    " leading",
    "team-a",
    "egressctl.io/owner",
    "invoices are pushed to the billing provider",
]


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_strings_read_back(text: str) -> None:
    doc = {"k": text, text or "empty": [text, {"n": text}]}
    assert yaml.safe_load(dump(doc)) == doc


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("www.google.com", "www.google.com"),
        ("*", "'*'"),
        ("", "''"),
        ("yes", "'yes'"),
        (443, "443"),
        (True, "true"),
        (None, "null"),
        (0.5, "0.5"),
        (1e20, "1.0e+20"),
        ("it's", "'it''s'"),
        ("line\nbreak", '"line\\x0abreak"'),
    ],
)
def test_scalar_spelling(value: Any, written: str) -> None:
    assert scalar(value) == written


def test_layout_is_block_style_with_sequences_under_their_key() -> None:
    doc = {"a": {"b": [{"c": 1, "d": [2, 3]}, [4, 5]], "e": {}, "f": []}}
    assert dump(doc) == (
        "a:\n  b:\n  - c: 1\n    d:\n    - 2\n    - 3\n  - - 4\n    - 5\n  e: {}\n  f: []\n"
    )


def test_same_text_as_pyyaml_for_plain_values() -> None:
    doc = {
        "serviceEntries": {
            "google": {"hosts": ["www.google.com"], "ports": [{"number": 443, "name": "https"}]}
        }
    }
    assert dump(doc) == yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=30),
    st.floats(allow_nan=False, allow_infinity=False),
)
docs = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(doc=st.dictionaries(st.text(max_size=10), docs, min_size=1, max_size=4))
def test_round_trip(doc: dict[str, Any]) -> None:
    assert yaml.safe_load(dump(doc)) == doc
