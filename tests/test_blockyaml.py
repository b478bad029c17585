"""The fast reader of helm's plain block documents builds exactly what PyYAML builds, or
leaves the document to PyYAML: on real renders, on tables of what it must refuse, and on
generated and mutated documents (hypothesis)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from egressctl.charts.blockyaml import Reader
from egressctl.charts.manifests import sourced_objects
from tests.conftest import CHART, MINI_ISTIO, REPO

GOLDEN = sorted((REPO / "tests" / "golden").glob("*/manifests.yaml"))
SPLIT = re.compile(r"^---(?=[ \t]|$)", re.MULTILINE)
SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def pyyaml(text: str) -> list[Any] | None:
    """What PyYAML reads from one document (the non-empty ones), or None: an error."""
    try:
        return [d for d in yaml.load_all(text, Loader=yaml.CSafeLoader) if d is not None]
    except (yaml.YAMLError, RecursionError):
        return None


def agrees(text: str) -> bool:
    """The reader's answer, when it gives one, is PyYAML's; True when it read the text."""
    got = Reader().read(text)
    if got is None:
        return False
    assert got == pyyaml(text), text
    for obj in got:  # the size bound sourced_objects gives the limits check holds
        size = len(json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode())
        assert size <= 2 * len(text.encode()) + 2, text
    return True


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.parent.name)
def test_every_document_chart_renders_is_read_fast_and_alike(path: Any) -> None:
    chunks = SPLIT.split(path.read_text(encoding="utf-8"))
    assert len(chunks) > 3
    assert all(agrees(c) or not c.strip() for c in chunks)


def test_sourced_objects_read_like_pyyaml_whatever_the_reader(helm: str) -> None:
    """A render mixing both kinds: block scalars (PyYAML's) and plain documents (fast)."""
    from egressctl.charts.helm import helm_template

    text = helm_template(
        "istiod", MINI_ISTIO, namespace="istio-system", values_text="{}\n", step="t", helm=helm
    )
    text += (CHART.parent / "tests" / "golden" / "features" / "manifests.yaml").read_text()
    assert [s.obj for s in sourced_objects(text)] == [
        d for d in yaml.safe_load_all(text) if d is not None
    ]


REFUSED = [
    pytest.param("a: &x 1\nb: *x\n", id="anchor"),
    pytest.param("a: !!str 1\n", id="tag"),
    pytest.param("on: 1\n", id="key-on"),
    pytest.param("Yes: 1\n", id="key-yes"),
    pytest.param("a: yes\n", id="value-yes"),
    pytest.param("a: Off\n", id="value-off"),
    pytest.param("a: null\n", id="null"),
    pytest.param("a: ~\n", id="tilde"),
    pytest.param("a:\nb: 1\n", id="empty-value"),
    pytest.param("a:\n", id="empty-value-at-end"),
    pytest.param("a: 1\na: 2\n", id="duplicate-key"),
    pytest.param("a: foo\n  bar\n", id="multi-line-plain"),
    pytest.param('a: "foo\n  bar"\n', id="multi-line-quoted"),
    pytest.param("a: |\n  text\n", id="block-scalar"),
    pytest.param("a: {b: 1}\n", id="flow-map"),
    pytest.param("a: [1, 2]\n", id="flow-seq"),
    pytest.param("a: 1 # c\n", id="comment-after"),
    pytest.param("a:\n  # c\n  b: 1\n", id="indented-comment"),
    pytest.param("a: 012\n", id="octal"),
    pytest.param("a: 1_000\n", id="underscores"),
    pytest.param("a: 1.5\n", id="float"),
    pytest.param("a: .inf\n", id="inf"),
    pytest.param("a: 2001-12-14\n", id="timestamp"),
    pytest.param("a: +1\n", id="plus"),
    pytest.param('a: "x\\ny"\n', id="escape"),
    pytest.param("a: 'it''s'\n", id="single-quote-escape"),
    pytest.param("a: x\x01\n", id="non-printable"),
    # YAML's other line breaks: PyYAML folds a quoted scalar at them (hypothesis found NEL)
    pytest.param("a: '\x85  '\n", id="nel-in-single-quotes"),
    pytest.param('a: "x\x85 y"\n', id="nel-in-double-quotes"),
    pytest.param("a: 'x\ry'\n", id="carriage-return"),
    pytest.param("a: 'x\u2028y'\n", id="line-separator"),
    pytest.param('"k\u2029": 1\n', id="paragraph-separator-in-key"),
    pytest.param("a:\n\t- 1\n", id="tab"),
    pytest.param("- 1\n- 2\n", id="top-sequence"),
    pytest.param("just a scalar\n", id="top-scalar"),
    pytest.param("  a: 1\n", id="indented-root"),
    pytest.param("a: 1\n  b: 2\n", id="deeper-without-key"),
    pytest.param("a:\n  - 1\n  b: 2\n", id="mixed-block"),
    pytest.param("a:\n  b: 1\n c: 2\n", id="odd-dedent"),
    pytest.param("a: b: c\n", id="nested-colon"),
    pytest.param("a: -x\n", id="dash-word"),
    pytest.param('"a\\"b": 1\n', id="quoted-key-with-escape"),
    pytest.param("'a': 1\n", id="single-quoted-key"),
    pytest.param("1: x\n", id="numeric-key"),
    pytest.param("%YAML 1.1\n---\na: 1\n", id="directive"),
    pytest.param("a:\n- - 1\n", id="nested-dash"),
]


@pytest.mark.parametrize("text", REFUSED)
def test_what_the_reader_leaves_to_pyyaml(text: str) -> None:
    assert Reader().read(text) is None


READ = [
    pytest.param("# Source: x\n", [], id="comment-only"),
    pytest.param(
        'a:\n  "app": "x"\n  "on": "y"\n  "k8s.io/n": 1\n',
        [{"a": {"app": "x", "on": "y", "k8s.io/n": 1}}],
        id="double-quoted-keys",
    ),
    pytest.param("", [], id="empty"),
    pytest.param(
        'a: "x: #y"\nb: \'q"\\\'\nc: 10.0.0.1/32\nd: 1.28.0\ne: -5\nf: false\ng: {}\nh: []\n',
        [
            {
                "a": "x: #y",
                "b": 'q"\\',
                "c": "10.0.0.1/32",
                "d": "1.28.0",
                "e": -5,
                "f": False,
                "g": {},
                "h": [],
            }
        ],
        id="scalars",
    ),
    pytest.param(
        "a:\n- x\n- k: 1\n  j: 2\nb:\n  c:\n    - 1\n  d: e\n",
        [{"a": ["x", {"k": 1, "j": 2}], "b": {"c": [1], "d": "e"}}],
        id="indentless-and-nested",
    ),
]


@pytest.mark.parametrize(("text", "expected"), READ)
def test_what_the_reader_reads(text: str, expected: list[Any]) -> None:
    assert Reader().read(text) == expected
    assert expected == (pyyaml(text) or [])


# --- generated documents ---------------------------------------------------------------

words = st.sampled_from(
    ["a", "b", "name", "app.kubernetes.io/name", "on", "yes", "No", "null", "y", "x-y", "k_1"]
)
scalars = st.one_of(
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.sampled_from(
        ["", "HTTP", "true", "on", "Null", "1.5", "012", "10.0.0.1", "1.28.0", "a b", "é", "x#y"]
    ),
    st.text(alphabet="abyz019 .-/:'\"#", max_size=8),
    st.text(max_size=8),
)
trees = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(words, inner, max_size=4)),
    max_leaves=20,
)


# Values the reader reads (most of what chart/ prints), for documents it reads whole.
friendly = st.recursive(
    st.one_of(
        st.booleans(),
        st.integers(-(10**6), 10**6),
        st.text(alphabet="abcz019 .-/@", max_size=10),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(["a", "name", "helm.sh/chart", "k_1"]), inner, max_size=4),
    ),
    max_leaves=20,
)


class _HelmStyle(yaml.SafeDumper):
    """Sequences indented under their key, as helm's templates write them."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


@SETTINGS
@given(doc=st.dictionaries(words, trees, min_size=1, max_size=5), helm_style=st.booleans())
def test_generated_documents(doc: dict[str, Any], helm_style: bool) -> None:
    dumper = _HelmStyle if helm_style else yaml.SafeDumper
    text = yaml.dump(doc, Dumper=dumper, default_flow_style=False, allow_unicode=True)
    agrees(text.rstrip() + "\n")


@SETTINGS
@given(
    doc=st.dictionaries(st.sampled_from(["a", "b", "x-y", "k_1"]), friendly, min_size=1),
    helm_style=st.booleans(),
)
def test_generated_documents_the_reader_reads(doc: dict[str, Any], helm_style: bool) -> None:
    dumper = _HelmStyle if helm_style else yaml.SafeDumper
    text = yaml.dump(doc, Dumper=dumper, default_flow_style=False, allow_unicode=True)
    if agrees(text.rstrip() + "\n"):
        READ_COUNT.append(1)


READ_COUNT: list[int] = []


def test_the_generated_documents_were_mostly_read() -> None:
    """The property above is about documents the reader reads: most of them must be
    (pytest runs the tests of a file in order)."""
    assert len(READ_COUNT) > 100


mutation = st.tuples(
    st.sampled_from(["insert", "delete", "replace", "indent", "dedent"]),
    st.integers(0, 10**6),
    st.sampled_from(["- ", ": ", "  ", "#", "'", '"', "on", "{}", "\n", "x", "-", "&a ", "*a"]),
)


@SETTINGS
@given(path=st.sampled_from(GOLDEN), pick=st.integers(0, 10**6), ops=st.lists(mutation, max_size=4))
def test_mutated_chart_documents(path: Any, pick: int, ops: list[tuple[str, int, str]]) -> None:
    chunks = [c for c in SPLIT.split(path.read_text(encoding="utf-8")) if c.strip()]
    text = chunks[pick % len(chunks)]
    for op, at, piece in ops:
        lines = text.split("\n")
        i = at % len(lines)
        if op == "insert":
            pos = at % (len(text) + 1)
            text = text[:pos] + piece + text[pos:]
            continue
        if op == "delete":
            del lines[i]
        elif op == "replace":
            lines[i] = lines[i][: at % (len(lines[i]) + 1)] + piece
        elif op == "indent":
            lines[i] = "  " + lines[i]
        else:
            lines[i] = lines[i][2:] if lines[i].startswith("  ") else lines[i]
        text = "\n".join(lines)
    text = re.sub(r"[ \t]+$", "", text, flags=re.MULTILINE)
    if Reader().read(text) is not None:
        assert pyyaml(text) is not None, text
    agrees(text)
