"""Reading the mesh policy out of the `istio` ConfigMap (rendered or live)."""

from __future__ import annotations

from typing import Any

import pytest

from egressctl.charts.configmaps import policy_of


def _mesh(text: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "data": {"mesh": text}}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n", "REGISTRY_ONLY"),
        # a tab before a comment: Istio's Go yaml and libyaml read it, PyYAML's Python
        # reader refused it, and the policy read as absent (ALLOW_ANY)
        ("outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\t# locked\n", "REGISTRY_ONLY"),
        ("defaultConfig: {}\n", None),
        ("outboundTrafficPolicy: [\n", None),
        (7, None),
    ],
)
def test_policy_of(text: Any, expected: str | None) -> None:
    assert policy_of(_mesh(text)) == expected
