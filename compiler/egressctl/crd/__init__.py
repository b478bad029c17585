"""Validate rendered objects against CustomResourceDefinitions, CEL rules included.

The checks are the ones the API server makes when an object is created, so egressctl
can report a rejection before anything is applied:

* the structural OpenAPI schema of the served version: types, ``nullable``, enums,
  ``required``, bounds, lengths, patterns, item and property counts, cheap string
  formats, ``oneOf``/``anyOf``/``allOf``/``not``, ``x-kubernetes-int-or-string``,
  ``x-kubernetes-preserve-unknown-fields`` and ``x-kubernetes-list-type``;
* fields the schema does not declare, reported as ``unknown field "x"`` (kubectl's
  server-side field validation rejects them; the server would otherwise prune them);
* the light ObjectMeta checks the server makes on ``metadata``;
* every ``x-kubernetes-validations`` CEL rule, at the node that declares it, with
  ``self`` bound to that node's value, evaluated only when the node is present and
  neither it nor anything under it has a type or enum error (the server likewise holds
  CEL back when such "blocking" errors exist).  Transition rules (``oldSelf``) and rules
  that call a function this package cannot provide are skipped and listed in
  :attr:`CrdSet.skipped_rules`.

CEL runs on the ``common-expression-language`` bindings (``cel``).  Their native
library and :mod:`cel.stdlib` cover the CEL core and the cel-go string, list, set and
math extensions; :mod:`~egressctl.crd.celfuncs` adds the Kubernetes IP, CIDR, URL, regex
and list functions.  Known differences from the API server: ``quantity`` and
``format.*`` are not provided (rules using them are skipped), ``string(ip(...))`` is not
supported, ``duration()`` does not accept the ``µs`` unit, and
``date-time``/``byte``/``duration`` strings reach CEL as strings rather than timestamps,
bytes and durations.

Modules, one idea each:

* :mod:`~egressctl.crd.crdset`: :class:`CrdSet` (load CRDs, validate objects) and
  :class:`CrdProblem`;
* :mod:`~egressctl.crd.structural`: the structural schema and the walk that checks a
  value against it;
* :mod:`~egressctl.crd.objectmeta`: the checks the server makes on ``metadata``;
* :mod:`~egressctl.crd.celrules`: compiling and evaluating CEL rules;
* :mod:`~egressctl.crd.celfuncs`: the Kubernetes CEL function library;
* :mod:`~egressctl.crd.jsonkind`: how values are named in problems.

Pure given a CRD set: :meth:`CrdSet.from_file` reads a file, and nothing here runs a
command (:func:`egressctl.cluster.crds.crds_from_cluster` asks a cluster for its CRDs).
"""

from __future__ import annotations

from egressctl.crd.crdset import CrdProblem, CrdSet

__all__ = ["CrdProblem", "CrdSet"]
