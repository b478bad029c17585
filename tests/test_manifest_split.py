"""Reading a render splits it into documents with str.find instead of a regex (#12):
the same pieces as the regex split, on every arrangement of `---`, blanks and line ends."""

from __future__ import annotations

import itertools
import re

from egressctl.charts.manifests import _DOCUMENT, sourced_objects, split_documents
from egressctl.cluster.objects import documents, split_by_namespace

# What deploy, diff and the records split a render on: a line of `---` and blanks.
_APPLY_SPLIT = re.compile(r"^---[ \t]*$", re.MULTILINE)


def test_split_is_the_regex_split() -> None:
    parts = ["---", "-", "\n", " ", "\t", "a", "\r", "--- x", "\n---\n"]
    for n in range(6):  # every arrangement of up to 5 parts: 66,430 texts
        for pieces in itertools.product(parts, repeat=n):
            text = "".join(pieces)
            assert split_documents(text) == _DOCUMENT.split(text), repr(text)


def test_deploys_split_is_the_regex_split() -> None:
    parts = ["---", "-", "\n", " ", "\t", "a", "--- x", "\n---\n"]
    for n in range(6):  # every arrangement of up to 5 parts: 37,449 texts
        for pieces in itertools.product(parts, repeat=n):
            text = "".join(pieces)
            assert documents(text) == _APPLY_SPLIT.split(text), repr(text)


def test_split_by_namespace_groups_each_document() -> None:
    text = (
        "---\n# Source: c/a.yaml\nkind: A\nmetadata:\n  name: a\n  namespace: shop\n"
        "---  \nkind: B\nmetadata:\n  name: b\nspec:\n  x: '--- not a separator'\n"
        "---\n# only a comment\n"
        "--- \t\nkind: C\nmetadata:\n  labels: {a: b}\n  namespace: 'shop'\n"
    )
    assert split_by_namespace(text, "istio-system") == {
        "istio-system": "---\nkind: B\nmetadata:\n  name: b\nspec:\n  x: '--- not a separator'\n",
        "shop": (
            "---\n# Source: c/a.yaml\nkind: A\nmetadata:\n  name: a\n  namespace: shop\n---\n"
            "kind: C\nmetadata:\n  labels: {a: b}\n  namespace: 'shop'\n"
        ),
    }


def test_documents_of_a_render_are_read() -> None:
    text = (
        "---\n# Source: c/a.yaml\nkind: A\nmetadata: {name: a}\n"
        "---\n# Source: c/b.yaml\nkind: B\nvalue: '--- not a separator'\n"
    )
    got = [(s.source, s.obj["kind"]) for s in sourced_objects(text)]
    assert got == [("c/a.yaml", "A"), ("c/b.yaml", "B")]
