"""Reading YAML that nobody vouches for, fast: PyYAML's C loader (the one place that
chooses it), duplicate keys refused (merge keys understood), a bound on what aliases may
expand to, files read only when they are regular and small enough, and the values YAML
can build that an inventory never holds.

Every problem here is already located (``file:line:col``): the parser says where."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from egressctl.errors import Finding, KeyPath, Loc, Severity
from egressctl.files import FileTooLarge, NotRegularFile, line_col, read_bounded

# The one C-loader lookup: PyYAML's safe loader in C when PyYAML was built with libyaml
# (ten times faster), the pure-Python one otherwise.  Every YAML reader uses this one.
FastSafeLoader: type[yaml.SafeLoader | yaml.CSafeLoader] = getattr(
    yaml, "CSafeLoader", yaml.SafeLoader
)

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_ALIAS_EXPANSION = 10_000  # values that aliases may add to a document
_ANCHOR_RE = re.compile(r"(?:^|[\s\[{,:-])&[^\s\[\]{},]+")
_PLAIN_TYPES = (str, int, float, bool, type(None), dict, list)
# Line breaks YAML reads but an editor, `git diff` or a review page may not show: a line
# after one of them inside a comment is a key to YAML and part of the comment to a reader.
_HIDDEN_BREAK = re.compile("[\x85\u2028\u2029]|\r(?!\n)")
#: YAML's line breaks besides "\n", by name (render checks refuse them too).
OTHER_LINE_BREAKS = {"\r": "a carriage return", "\x85": "NEL (U+0085)"}
OTHER_LINE_BREAKS |= {"\u2028": "U+2028 LINE SEPARATOR", "\u2029": "U+2029 PARAGRAPH SEPARATOR"}
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _NoDuplicatesLoader(FastSafeLoader):  # type: ignore[misc,valid-type]
    """The C safe loader, refusing duplicate keys (PyYAML keeps the last silently).

    A merge key (``<<: *base``) brings in keys that the mapping may override: those are
    not duplicates.  Only the mapping's own keys are compared, recorded before PyYAML
    flattens the merged ones into the node — which it does in place, also to a merged
    anchor that is built later than the mapping that merges it."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.duplicates: list[tuple[str, yaml.Mark]] = []
        self.own_keys: dict[yaml.Node, list[yaml.Node]] = {}

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        if node not in self.own_keys and any(k.tag == _MERGE_TAG for k, _ in node.value):
            self.own_keys[node] = [k for k, _ in node.value if k.tag != _MERGE_TAG]
        super().flatten_mapping(node)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        own = self.own_keys.get(node)
        merges = own is not None or any(k.tag == _MERGE_TAG for k, _ in node.value)
        if own is None:
            own = [k for k, _ in node.value if k.tag != _MERGE_TAG]
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        if merges or len(mapping) < len(own):
            seen: set[Any] = set()
            for key_node in own:
                key = self.construct_object(key_node, deep=deep)
                if key in seen:
                    self.duplicates.append((str(key), key_node.start_mark))
                seen.add(key)
        return mapping


def _timestamp(loader: _NoDuplicatesLoader, node: yaml.ScalarNode) -> Any:
    """YAML's timestamp, or a located error for one that looks like a date but is not
    (`2026-13-01`): PyYAML would raise a bare ValueError."""
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError as exc:
        raise yaml.constructor.ConstructorError(
            None, None, f"{node.value!r} looks like a date but is not one ({exc})", node.start_mark
        ) from None


_NoDuplicatesLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


def _load(text: str) -> tuple[Any, list[tuple[str, yaml.Mark]]]:
    """The document, and the duplicate keys found (key, where)."""
    loader = _NoDuplicatesLoader(text)
    try:
        return loader.get_single_data(), loader.duplicates
    finally:
        loader.dispose()


@dataclass(frozen=True, slots=True)
class YamlFile:
    """One file read and parsed: its text (positions are looked up in it later) and data."""

    shown: str  # the name findings use
    path: Path
    text: str
    data: Any


def _first_alias(text: str) -> tuple[int, int]:
    """(line, column) of the first alias (``*name``) in ``text``, from the parser's own
    events: a regex would also find the `*` of a quoted wildcard host first. (0, 0) when
    there is none."""
    for event in yaml.parse(text, Loader=FastSafeLoader):
        if isinstance(event, yaml.AliasEvent) and event.start_mark is not None:
            return event.start_mark.line + 1, event.start_mark.column + 1
    return 0, 0


@dataclass
class YamlFiles:
    """Every file read so far, and the findings that already have a position."""

    files: dict[str, YamlFile] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def fail(self, code: str, loc: Loc, message: str, hint: str = "") -> None:
        self.findings.append(Finding(code, Severity.ERROR, loc, "", message, hint))

    def read(self, path: Path, shown: str) -> YamlFile | None:
        """Read and parse ``path``; None (and a finding) when it cannot be."""
        top = Loc(shown)
        try:
            raw = read_bounded(path, MAX_FILE_BYTES)
        except FileNotFoundError:
            self.fail("file-missing", top, f"file not found (looked for {path.resolve()})")
            return None
        except IsADirectoryError:
            self.fail("file-missing", top, "is a folder, not a YAML file")
            return None
        except NotRegularFile as exc:
            self.fail("file-not-regular", top, str(exc.strerror))
            return None
        except FileTooLarge as exc:
            self.fail("file-too-large", top, str(exc.strerror))
            return None
        except OSError as exc:
            self.fail("file-unreadable", top, f"cannot read file: {exc.strerror}")
            return None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.fail("not-utf8", Loc(shown, *line_col(raw, exc.start)), "file is not UTF-8 text")
            return None
        return self.parse(text, shown, path)

    def parse(self, text: str, shown: str, path: Path | None = None) -> YamlFile | None:
        """Parse ``text``; None (and a finding) when it is not YAML an inventory may be."""
        if text.startswith("\ufeff"):
            text = text[1:]
        hidden = _HIDDEN_BREAK.search(text) if "\r" in text or not text.isascii() else None
        if hidden is not None:
            at = hidden.start()
            lone = " without a line feed" if text[at] == "\r" else ""
            self.fail(
                "yaml-line-break",
                Loc(shown, *line_col(text, at)),
                f"{OTHER_LINE_BREAKS[text[at]]}{lone}: YAML starts a new line here, where an "
                "editor, a diff or a review may show none",
                "end lines with LF or CRLF only; in a quoted string write the character as "
                'an escape ("\\u2028")',
            )
            return None
        try:
            data, duplicates = _load(text)
        except yaml.MarkedYAMLError as exc:
            self._yaml_error(exc, shown, text)
            return None
        except yaml.reader.ReaderError as exc:  # a character YAML refuses: located
            at = min(max(exc.position, 0), len(text))
            self.fail(
                "yaml-syntax",
                Loc(shown, *line_col(text, at)),
                f"character U+{exc.character:04X} is not allowed in YAML (a control character)"
                if isinstance(exc.character, int)
                else f"YAML does not parse: {_one_line(exc)}",
            )
            return None
        except yaml.YAMLError as exc:
            self.fail("yaml-syntax", Loc(shown), f"YAML does not parse: {_one_line(exc)}")
            return None
        except RecursionError:
            self.fail("yaml-syntax", Loc(shown), "YAML is nested too deeply")
            return None
        for key, mark in duplicates:
            self.fail(
                "duplicate-key",
                Loc(shown, mark.line + 1, mark.column + 1),
                f"key {key!r} appears twice in the same mapping",
                "YAML keeps only one of them; remove or merge the other",
            )
        if duplicates:
            return None
        if _ANCHOR_RE.search(text):
            problem = _alias_problem(data, len(text))
            if problem is not None:
                line, col = _first_alias(text)
                self.fail("yaml-alias-bomb", Loc(shown, line, col), problem)
                return None
        f = YamlFile(shown, path or Path(shown), text, data)
        self.files[shown] = f
        return f

    def _yaml_error(self, exc: yaml.MarkedYAMLError, shown: str, text: str) -> None:
        mark = exc.problem_mark or exc.context_mark
        loc = Loc(shown, mark.line + 1, mark.column + 1) if mark else Loc(shown)
        problem = _one_line(exc.problem or exc.context or "invalid YAML")
        lines = text.splitlines()
        at = (
            lines[mark.line][mark.column : mark.column + 1]
            if mark and mark.line < len(lines)
            else ""
        )
        if at == "\t" or "\\t" in problem:
            self.fail(
                "yaml-tab",
                loc,
                "tab character: YAML indentation must use spaces",
                "replace the tab with spaces",
            )
        elif "constructor for the tag" in problem:
            tag = problem.split("tag", 1)[-1].strip().strip("'")
            self.fail(
                "yaml-tag",
                loc,
                f"YAML tag {tag} is not allowed: only plain maps, "
                "lists, strings, numbers and booleans",
            )
        else:
            self.fail("yaml-syntax", loc, f"YAML does not parse: {problem}")


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _alias_problem(data: Any, text_length: int) -> str | None:
    """Why the aliases of a document are refused (it expands past the bound, or contains
    itself), or None."""
    try:
        if _expanded_size(data) > MAX_ALIAS_EXPANSION + text_length:
            return f"aliases expand the document by more than {MAX_ALIAS_EXPANSION:,} values"
    except (_Cycle, RecursionError):
        return "an alias refers to a value that contains it"
    return None


class _Cycle(Exception):
    pass


def _expanded_size(data: Any) -> int:
    """How many values the document holds once aliases are expanded (memoised).
    Raises _Cycle for a document that contains itself (`a: &a [*a]`)."""
    memo: dict[int, int] = {}
    visiting: set[int] = set()

    def size(obj: Any) -> int:
        if not isinstance(obj, (dict, list)):
            return 1
        key = id(obj)
        if key in memo:
            return memo[key]
        if key in visiting:
            raise _Cycle
        visiting.add(key)
        children = obj.values() if isinstance(obj, dict) else obj
        memo[key] = 1 + sum(size(v) for v in children)
        visiting.discard(key)
        return memo[key]

    return size(data)


def foreign_values(data: Any, path: KeyPath = ()) -> Iterator[tuple[KeyPath, Any]]:
    """Values YAML can build that an inventory never holds (dates, binary, sets…)."""
    stack: list[tuple[KeyPath, Any]] = [(path, data)]
    while stack:
        here, obj = stack.pop()
        if isinstance(obj, dict):
            stack.extend(((*here, k if isinstance(k, str) else str(k)), v) for k, v in obj.items())
        elif isinstance(obj, list):
            stack.extend(((*here, i), v) for i, v in enumerate(obj))
        elif not isinstance(obj, _PLAIN_TYPES):
            yield here, obj
