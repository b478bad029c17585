"""Reading a render splits it into documents with str.find instead of a regex (#12):
the same pieces as the regex split, on every arrangement of `---`, blanks and line ends."""

from __future__ import annotations

import itertools

from egressctl.charts.manifests import _DOCUMENT, sourced_objects, split_documents


def test_split_is_the_regex_split() -> None:
    parts = ["---", "-", "\n", " ", "\t", "a", "\r", "--- x", "\n---\n"]
    for n in range(6):  # every arrangement of up to 5 parts: 66,430 texts
        for pieces in itertools.product(parts, repeat=n):
            text = "".join(pieces)
            assert split_documents(text) == _DOCUMENT.split(text), repr(text)


def test_documents_of_a_render_are_read() -> None:
    text = (
        "---\n# Source: c/a.yaml\nkind: A\nmetadata: {name: a}\n"
        "---\n# Source: c/b.yaml\nkind: B\nvalue: '--- not a separator'\n"
    )
    got = [(s.source, s.obj["kind"]) for s in sourced_objects(text)]
    assert got == [("c/a.yaml", "A"), ("c/b.yaml", "B")]
