"""The folders egressctl ships inside its package: its chart (chart/) and the example
values (values/) that `egressctl init` copies into a team's repository.

The top-level layout stays as it is (DESIGN.md): pyproject.toml maps chart/ and values/
into the package at build time, as egressctl/_chart and egressctl/_values, so a wheel
(`pipx install`, `pip install`) carries them.  An editable install (`make setup`) runs
from the source tree, whose own chart/ and values/ are used then.
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass
from pathlib import Path

# compiler/egressctl/bundled.py → the repository, when running from a source tree.
SOURCE_TREE = Path(__file__).resolve().parents[2]


@dataclass(frozen=True, slots=True)
class Bundled:
    """One shipped folder: its name inside the package and in the source tree."""

    in_package: str
    in_source_tree: str


CHART = Bundled("_chart", "chart")
EXAMPLE_VALUES = Bundled("_values", "values")


def _package_folder() -> Path:
    """The installed egressctl package's folder (a wheel installs it as plain files)."""
    return Path(str(importlib.resources.files("egressctl")))


def folder(what: Bundled) -> Path:
    """The package's copy of ``what``, else the source tree's folder (an editable
    install); the package's path when neither exists, so an error names where it
    belongs."""
    inside = _package_folder() / what.in_package
    if inside.is_dir():
        return inside
    beside = SOURCE_TREE / what.in_source_tree
    if beside.is_dir():
        return beside
    return inside
