"""Rendered YAML → objects, and counts per kind: how every stage after render reads what
helm printed.  Pure."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import yaml

from egressctl.charts.blockyaml import Reader
from egressctl.errors import VerificationError
from egressctl.files import line_col, yaml_problem
from egressctl.heap import collection_paused
from egressctl.inventory.safeyaml import OTHER_LINE_BREAKS, FastSafeLoader

_TRAILING_WS = re.compile(r"[ \t]+$", re.MULTILINE)


def parse_manifests(text: str) -> list[dict[str, Any]]:
    """Rendered YAML → objects (``List`` objects unwrapped).  Trailing whitespace is
    stripped first: the 1.1-era Istio chart emits trailing tabs that PyYAML rejects.

    A render helm accepts but PyYAML cannot read (nested past its depth limit, say) is a
    VerificationError naming the template it came from (helm's `# Source:` line).  See
    :func:`sourced_objects`, which also keeps each object's template."""
    return [s.obj for s in sourced_objects(text)]


_SOURCE = re.compile(r"^# Source: (\S+)", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Sourced:
    """One rendered object and the template helm rendered it from (its `# Source:` line)."""

    source: str
    obj: dict[str, Any]
    # A size in bytes the object's compact JSON cannot exceed, when its reading tells
    # (a plain block document's JSON is at most twice its text); None: not known.
    size_bound: int | None = None


NO_SOURCE = "(no # Source: line)"
_DOCUMENT = re.compile(r"^---(?=[ \t]|$)", re.MULTILINE)


def sourced_objects(text: str) -> list[Sourced]:
    """Rendered YAML → objects, each with its template, read one document at a time:
    plain block documents (all of chart/'s) by :class:`~egressctl.charts.blockyaml.Reader`,
    any other with PyYAML.  The same reading as :func:`parse_manifests` otherwise:
    trailing whitespace stripped, ``List`` objects unwrapped, and a document PyYAML
    cannot read is a VerificationError naming its template. So is a render holding a
    line break other than ``\n`` anywhere (see ``_refuse_other_breaks``).

    The cyclic garbage collector is paused meanwhile: reading builds hundreds of
    thousands of dicts and lists, none in a cycle, and its passes over the growing heap
    cost as much as the reading (0.4 s of 0.8 s at 10,000 services)."""
    with collection_paused():
        return _sourced_objects(text)


def split_documents(text: str) -> list[str]:
    """``_DOCUMENT.split(text)``: the text around each ``---`` that starts a line and is
    followed by a blank, a line end or the end; found with str.find (the regex takes
    0.08 s over chart/'s 13 MB render at 10,000 services, this 0.01 s)."""
    out: list[str] = []
    last = 0
    found = text.find("\n---")
    at = 0 if text.startswith("---") else (-1 if found < 0 else found + 1)
    while at >= 0:
        end = at + 3
        if end == len(text) or text[end] in " \t\n":
            out.append(text[last:at])
            last = end
        found = text.find("\n---", at)
        at = -1 if found < 0 else found + 1
    out.append(text[last:])
    return out


def _strip_trailing_ws(text: str) -> str:
    """``text`` without trailing blanks on any line; the regex pass only when there is
    one (chart/'s 13 MB render at 10,000 services has none: 10 ms instead of 100)."""
    if " \n" in text or "\t\n" in text or text.endswith((" ", "\t")):
        return _TRAILING_WS.sub("", text)
    return text


def _refuse_other_breaks(text: str) -> None:
    """YAML's line breaks besides "\n" (OTHER_LINE_BREAKS): kubectl cuts a stream into
    documents at `---` lines ending in "\n" and finds no `kind:` line after any of them,
    while YAML (PyYAML, Go's yaml) breaks lines at each, so a render holding one could be
    checked as objects kubectl never applies, or the reverse. chart/ quotes every free
    string: only another chart (the team's Istio chart, a gateway chart) prints one raw."""
    found = [text.find(c) for c in OTHER_LINE_BREAKS if c in text]
    if not found:
        return
    at = min(found)
    sources = _SOURCE.findall(text, 0, at)
    source = sources[-1] if sources else NO_SOURCE
    raise VerificationError(
        f"rendered manifest {source} holds {OTHER_LINE_BREAKS[text[at]]} (line "
        f"{line_col(text, at)[0]} of the render): YAML breaks a line there and "
        "kubectl's split into documents does not, so what egressctl checks could differ "
        "from what kubectl applies; nothing is applied. Write the chart's templates with "
        "\\n line ends only and quote strings that hold such characters"
    )


def _sourced_objects(text: str) -> list[Sourced]:
    _refuse_other_breaks(text)
    out: list[Sourced] = []
    reader = Reader()
    for chunk in split_documents(_strip_trailing_ws(text)):
        found = _SOURCE.search(chunk)
        source = found.group(1) if found else NO_SOURCE
        docs: list[Any] | None = reader.read(chunk)
        bound = None if docs is None else 2 * len(chunk.encode("utf-8", "surrogatepass")) + 2
        if docs is None:
            try:
                docs = list(yaml.load_all(chunk, Loader=FastSafeLoader))
            except (yaml.YAMLError, RecursionError) as exc:
                raise VerificationError(
                    f"rendered manifest {source} is not YAML egressctl can read: "
                    f"{yaml_problem(exc)}"
                ) from None
        for doc in docs:
            if not isinstance(doc, dict):
                continue
            if doc.get("kind") == "List" and isinstance(doc.get("items"), list):
                out.extend(Sourced(source, d, bound) for d in doc["items"] if isinstance(d, dict))
            else:
                out.append(Sourced(source, doc, bound))
    return out


_TOP_KIND = re.compile(r"^kind:[ \t]*['\"]?([A-Za-z0-9]+)", re.MULTILINE)


def kind_counts(text: str) -> dict[str, int]:
    """Objects per kind, from the top-level `kind:` lines (no YAML parse: renders of tens
    of thousands of objects are counted in milliseconds).  A `List` counts its items."""
    counts = Counter(_TOP_KIND.findall(text))
    if "List" in counts:
        counts = Counter(str(obj.get("kind", "?")) for obj in parse_manifests(text))
    return dict(sorted(counts.items()))
