"""Check rendered objects against Istio's released CRD schemas (OpenAPI v3 → JSON Schema).

Stricter than the API server's default pruning: an object field the schema does not
declare is an error here (kubectl's server-side field validation warns or fails on it).
CEL rules (x-kubernetes-validations) are not evaluated here.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml


def _strict(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _strict(v) for k, v in schema.items() if not k.startswith("x-kubernetes-")}
    if (
        "properties" in schema
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


@lru_cache(maxsize=4)
def load_crds(path: Path) -> dict[tuple[str, str, str], dict[str, Any]]:
    """(group, version, kind) → strict JSON Schema of the whole object."""
    schemas: dict[tuple[str, str, str], dict[str, Any]] = {}
    with path.open(encoding="utf-8") as fh:
        for doc in yaml.safe_load_all(fh):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            spec = doc["spec"]
            for version in spec["versions"]:
                if not version.get("served"):
                    continue
                body = _strict(version["schema"]["openAPIV3Schema"])
                body.setdefault("properties", {}).update(
                    {
                        "apiVersion": {"type": "string"},
                        "kind": {"type": "string"},
                        "metadata": {"type": "object"},
                    }
                )
                schemas[(spec["group"], version["name"], spec["names"]["kind"])] = body
    return schemas


def problems(obj: dict[str, Any], crd_file: Path) -> list[str]:
    group, _, version = obj["apiVersion"].rpartition("/")
    schema = load_crds(crd_file).get((group, version, obj["kind"]))
    name = f"{obj['kind']}/{obj.get('metadata', {}).get('name')}"
    if schema is None:
        return [f"{name}: {obj['apiVersion']} {obj['kind']} is not served by {crd_file.name}"]
    validator = jsonschema.Draft7Validator(schema)
    return [
        f"{name}: {'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in validator.iter_errors(obj)
    ]
