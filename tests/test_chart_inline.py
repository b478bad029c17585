"""The bulk templates (serviceentries, virtualservices, destinationrules) inline
`egress.metadata` for speed (#12): each object's metadata block must be, byte for byte,
what `include "egress.metadata"` renders for the same entry, with and without an owner,
for every shape an entry's own metadata can take.  A chart copy gains one template that
renders the helper beside them; both helms render it."""

from __future__ import annotations

import copy
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from egressctl.charts.helm import helm_template
from tests.conftest import CHART
from tests.make_golden import GOLDEN

KINDS = {
    "ServiceEntry": "serviceEntries",
    "VirtualService": "tlsRoutes",
    "DestinationRule": "destinationRules",
}
HELPER = """\
{{- $labels := include "egress.labels" . }}
{{- range $key := list "serviceEntries" "tlsRoutes" "destinationRules" }}
{{- range $name, $e := (index $.Values $key | default dict) }}{{ if $e }}
---
# helper {{ $key }}/{{ $name }}
{{ include "egress.metadata" (dict "root" $ "name" $name "entry" $e "labels" $labels) }}
{{- end }}{{ end }}{{ end }}
"""
METADATA = [
    {},
    {"labels": {"team": "payments"}},
    {"annotations": {"egressctl.io/context": "own", "z": "true", "m": "a\nb", "q": "it's: #x"}},
    {"labels": {"x": "1"}, "annotations": {}},
    {"labels": {"a": "b"}, "annotations": {"a": ""}},
]
OWNER = {"environment": "prod", "namespace": "istio-system", "context": "kind-prod"}


def _values(owner: dict[str, str] | None) -> dict[str, Any]:
    values = yaml.safe_load((GOLDEN / "features" / "values.yaml").read_text(encoding="utf-8"))
    for key in KINDS.values():
        entries = values.get(key) or {}
        first = next((e for e in entries.values() if e), None)
        if first is None:
            continue
        for i, meta in enumerate(METADATA):
            for copy_ in ("a", "b"):  # twice each: the second comes from the cache
                entry = copy.deepcopy(first)
                entry["metadata"] = copy.deepcopy(meta)
                if i % 2 and key == "serviceEntries":
                    entry["namespace"] = "other"
                entries[f"edge-{i}-{copy_}"] = entry
        entries["edge-null"] = None
        values[key] = entries
    if owner is not None:
        values["owner"] = owner
    return values


def _blocks(text: str) -> tuple[dict[tuple[str, str], str], dict[tuple[str, str], str]]:
    """The bulk templates' metadata blocks and the helper's, by (values key, name)."""
    inlined: dict[tuple[str, str], str] = {}
    helper: dict[tuple[str, str], str] = {}
    for doc in text.split("\n---\n"):
        found = re.search(r"^# helper (\w+)/(\S+)\n(metadata:\n.*)", doc, re.S | re.M)
        if found:
            helper[found.group(1), found.group(2)] = found.group(3).rstrip("\n")
            continue
        kind = re.search(r"^kind: (\w+)$", doc, re.M)
        if kind is None or kind.group(1) not in KINDS:
            continue
        block = re.search(r"^(metadata:\n.*?)\nspec:\n", doc, re.S | re.M)
        assert block is not None, doc
        name = yaml.safe_load(block.group(1))["metadata"]["name"]
        inlined[KINDS[kind.group(1)], name] = block.group(1)
    return inlined, helper


@pytest.mark.parametrize("owner", [None, OWNER], ids=["no-owner", "owner"])
def test_inlined_metadata_is_the_helpers_byte_for_byte(
    helm: str, tmp_path: Path, owner: dict[str, str] | None
) -> None:
    chart = tmp_path / "chart"
    shutil.copytree(CHART, chart)
    (chart / "templates" / "zz-helper.yaml").write_text(HELPER, encoding="utf-8")
    text = helm_template(
        "egress",
        chart,
        namespace="istio-system",
        values_text=yaml.safe_dump(_values(owner)),
        step="test render",
        helm=helm,
    )
    inlined, helper = _blocks(text)
    assert sorted(inlined) == sorted(helper)
    assert len([k for k in inlined if k[1].startswith("edge-")]) >= 3 * len(METADATA) * 2
    for key, block in inlined.items():
        assert block == helper[key], key
    meta = yaml.safe_load(inlined["serviceEntries", "edge-2-b"])["metadata"]
    want = {"egressctl.io/context": "own", "z": "true", "m": "a\nb", "q": "it's: #x"}
    if owner is not None:
        want["egressctl.io/context"] = "kind-prod"  # the environment's context wins
    assert meta["annotations"] == want
