"""A set of CRDs, and the check of rendered objects against the versions it serves.

:class:`CrdSet` reads the CustomResourceDefinitions of a YAML file or of documents
already loaded (such as a cluster's list), compiles the structural schema and CEL rules
of every served version once, and reports what the API server would reject in an
object as :class:`CrdProblem` values.  Pure apart from :meth:`CrdSet.from_file`, which
reads the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from egressctl.crd.celrules import Compiler
from egressctl.crd.jsonkind import kind_of
from egressctl.crd.objectmeta import metadata_problems
from egressctl.crd.structural import Out, Schema, check
from egressctl.errors import UsageError
from egressctl.files import read_bounded, utf8_problem, yaml_problem
from egressctl.inventory.safeyaml import FastSafeLoader

CRD_FILE_MAX_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class CrdProblem:
    """One reason the API server would reject an object."""

    kind: str  # e.g. "ServiceEntry"
    name: str  # metadata.name
    path: str  # dotted path into the object, e.g. "spec.ports[0].number" ("" for root)
    message: str  # what is wrong; for CEL failures the rule's message (or the rule text)
    rule: str = ""  # the CEL rule text when the problem came from a CEL rule

    def format(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.kind}/{self.name}: {where}{self.message}"


def _split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


class CrdSet:
    """The served versions of a set of CRDs, ready to validate objects against.

    Build one with :meth:`from_documents` or :meth:`from_file`
    (:func:`egressctl.cluster.crds.crds_from_cluster` reads a cluster's).
    """

    def __init__(
        self,
        schemas: Mapping[tuple[str, str, str], Schema],
        source: str,
        skipped_rules: list[str],
    ) -> None:
        self.source = source
        self.skipped_rules = skipped_rules
        self._schemas = dict(schemas)
        self._groups = {group for group, _, _ in self._schemas}
        self._versions: dict[tuple[str, str], list[str]] = {}
        for group, version, kind in self._schemas:
            self._versions.setdefault((group, kind), []).append(version)

    @classmethod
    def from_documents(cls, docs: Iterable[Mapping[str, Any]], source: str) -> CrdSet:
        """Every CustomResourceDefinition in ``docs``; other documents are ignored."""
        compiler = Compiler()
        schemas: dict[tuple[str, str, str], Schema] = {}
        for index, doc in enumerate(docs):
            if not isinstance(doc, Mapping) or doc.get("kind") != "CustomResourceDefinition":
                continue
            name = (doc.get("metadata") or {}).get("name") or f"document {index + 1}"
            where = f"{source}: CustomResourceDefinition {name}"
            if doc.get("apiVersion") != "apiextensions.k8s.io/v1":
                raise UsageError(f"{where}: apiVersion must be apiextensions.k8s.io/v1")
            try:
                spec = doc["spec"]
                group = str(spec["group"])
                kind = str(spec["names"]["kind"])
                versions = list(spec["versions"])
                for version in versions:
                    if not version.get("served"):
                        continue
                    raw = version["schema"]["openAPIV3Schema"]
                    compiler.label = f"{kind} {version['name']}"
                    root = Schema(raw, "", compiler, junctor=False)
                    schemas[(group, str(version["name"]), kind)] = root
            except (KeyError, TypeError, AttributeError) as exc:
                raise UsageError(
                    f"{where}: not a valid CustomResourceDefinition ({type(exc).__name__}: {exc})"
                ) from exc
        if not schemas:
            raise UsageError(f"{source}: no served CustomResourceDefinition found")
        return cls(schemas, source, compiler.skipped)

    @classmethod
    def from_file(cls, path: Path) -> CrdSet:
        """The CRDs in a multi-document YAML file (such as Istio's crd-all.gen.yaml): a
        regular file of at most 64 MiB, UTF-8 YAML."""
        try:
            raw = read_bounded(path, CRD_FILE_MAX_BYTES)
        except OSError as exc:
            raise UsageError(f"{path}: cannot read CRDs: {exc.strerror or exc}") from None
        problem = utf8_problem(raw)
        if problem is not None:
            raise UsageError(f"{path}: cannot read CRDs: {problem}")
        try:
            docs = [d for d in yaml.load_all(raw.decode("utf-8"), Loader=FastSafeLoader) if d]
        except (yaml.YAMLError, RecursionError) as exc:
            raise UsageError(f"{path}: not valid YAML: {yaml_problem(exc)}") from None
        return cls.from_documents(docs, str(path))

    def served(self, api_version: str, kind: str) -> bool:
        """Whether a CRD in the set serves ``kind`` at ``api_version``."""
        group, version = _split_api_version(api_version)
        return (group, version, kind) in self._schemas

    def validate(self, obj: Mapping[str, Any]) -> list[CrdProblem]:
        """Everything the API server would reject in ``obj``."""
        if not isinstance(obj, Mapping):
            return [CrdProblem("", "", "", f"must be of type object, got {kind_of(obj)}")]
        kind = obj.get("kind")
        meta = obj.get("metadata")
        name = meta.get("name") if isinstance(meta, Mapping) else None
        kind_text = kind if isinstance(kind, str) else ""
        name_text = name if isinstance(name, str) else ""
        out: Out = []
        schema = self._schema_for(obj.get("apiVersion"), kind, out)
        if schema is not None:
            out.extend((path, message, "") for path, message in metadata_problems(meta))
            check(schema, obj, "", out, strict=True)
        return [CrdProblem(kind_text, name_text, p, m, r) for p, m, r in out]

    def validate_all(self, objs: Iterable[Mapping[str, Any]]) -> list[CrdProblem]:
        """:meth:`validate` every object whose API group a CRD in the set defines.

        Objects of other groups (core kinds such as ConfigMap) are skipped; an object of
        a known group whose version or kind is not served is reported."""
        problems: list[CrdProblem] = []
        for obj in objs:
            api_version = obj.get("apiVersion") if isinstance(obj, Mapping) else None
            if isinstance(api_version, str) and (
                _split_api_version(api_version)[0] not in self._groups
            ):
                continue
            problems.extend(self.validate(obj))
        return problems

    def _schema_for(self, api_version: Any, kind: Any, out: Out) -> Schema | None:
        if not isinstance(api_version, str) or not api_version:
            out.append(("", 'missing required field "apiVersion"', ""))
            return None
        if not isinstance(kind, str) or not kind:
            out.append(("", 'missing required field "kind"', ""))
            return None
        group, version = _split_api_version(api_version)
        schema = self._schemas.get((group, version, kind))
        if schema is not None:
            return schema
        served = self._versions.get((group, kind))
        if served:
            versions = ", ".join(sorted(served))
            message = (
                f'version "{version}" of {kind}.{group} is not served by {self.source} '
                f"(served: {versions})"
            )
            out.append(("apiVersion", message, ""))
        elif group in self._groups:
            out.append(("kind", f'{kind} is not a kind of group "{group}" in {self.source}', ""))
        else:
            out.append(("apiVersion", f'no CRD in {self.source} defines group "{group}"', ""))
        return None
