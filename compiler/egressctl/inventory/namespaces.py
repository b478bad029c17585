"""`namespaces:` (issue #14): what each listed namespace, and some of its workloads, may
reach; and `defaults.exportTo: listed` (strict tenancy).  Pure: problems go to the
:class:`Reader` with key paths.  Whether the names are DNS labels and whether the
services named exist is the rules' business (:mod:`egressctl.rules.namespaces`)."""

from __future__ import annotations

from typing import Any

from egressctl.errors import KeyPath
from egressctl.inventory.keys import NAMESPACE_KEYS, WORKLOAD_KEYS
from egressctl.inventory.model import NamespacePolicy, Policy, WorkloadAllowlist
from egressctl.inventory.names import is_dns1123_subdomain
from egressctl.inventory.reader import Reader, type_name
from egressctl.inventory.selectors import check_selector

SELECTOR_CODE = "workload-selector-invalid"

ALL = "*"
#: `defaults.exportTo` value that exports each entry only to the namespaces allowing it.
LISTED = "listed"


def read_namespaces(
    m: dict[str, Any], r: Reader, services: tuple[str, ...]
) -> tuple[NamespacePolicy, ...]:
    """`namespaces:` of the merged inventory; ``services``: every service name, which
    `allow: ["*"]` stands for."""
    raw = m.get("namespaces")
    if raw is None:
        return ()
    got = r.mapping(raw, ("namespaces",), "`namespaces`")
    if got is None:
        return ()
    out = []
    for name, value in got.items():
        if not isinstance(name, str) or value is None:
            continue  # a key that is no string is reported by `mapping`; null: removed
        one = _namespace(name, value, r, services)
        if one is not None:
            out.append(one)
    return tuple(sorted(out, key=lambda n: n.name))


def _allow(
    m: dict[str, Any], path: KeyPath, r: Reader, services: tuple[str, ...]
) -> tuple[tuple[str, ...], bool]:
    """`allow:` as written (names stripped), or every service for `["*"]`."""
    names = r.strings(m, "allow", path) or []
    stripped = tuple(n.strip() for n in names)
    if ALL in stripped:
        for i, name in enumerate(stripped):
            if name != ALL:  # dropped by `*`: a typo there would go unseen
                r.err(
                    "allow-star-mixed",
                    (*path, "allow", i),
                    f"{name!r} is listed with `*`, which allows every service already",
                    'write `allow: ["*"]` alone, or list the services without `*`',
                )
        return tuple(sorted(services)), True
    return stripped, False


def _namespace(
    name: str, value: Any, r: Reader, services: tuple[str, ...]
) -> NamespacePolicy | None:
    path: KeyPath = ("namespaces", name)
    m = r.mapping(value, path, f"namespace {name!r}")
    if m is None:
        return None
    allow, allow_all = _allow(m, path, r, services)
    policy = r.enum(m, "policy", path, [p.value for p in Policy], "policy-invalid")
    network_policy = r.get(m, "networkPolicy", path, bool)
    workloads: list[WorkloadAllowlist] = []
    raw = m.get("workloads")
    wmap = None if raw is None else r.mapping(raw, (*path, "workloads"), "`workloads`")
    for wname, wvalue in (wmap or {}).items():
        if not isinstance(wname, str) or wvalue is None:
            continue
        one = _workload(wname, wvalue, (*path, "workloads", wname), r, services)
        if one is not None:
            workloads.append(one)
    return NamespacePolicy(
        name=name,
        allow=allow,
        policy=Policy.REGISTRY_ONLY if policy is None else Policy(policy),
        network_policy=bool(network_policy),
        workloads=tuple(sorted(workloads, key=lambda w: w.name)),
        allow_all=allow_all,
    )


def _workload(
    name: str, value: Any, path: KeyPath, r: Reader, services: tuple[str, ...]
) -> WorkloadAllowlist | None:
    m = r.mapping(value, path, f"workload {name!r}")
    if m is None:
        return None
    mark = r.mark()
    selector = r.string_map(m, "selector", path)
    if selector and not check_selector(selector, (*path, "selector"), r, SELECTOR_CODE):
        return None
    if not selector:
        if not r.erred_since(mark) and ("selector" not in m or selector == {}):
            r.err(
                "key-missing",
                path,
                "`selector` (the workloads' labels) is required",
                "write e.g. `selector: {app: exporter}`",
            )
        return None
    allow, _ = _allow(m, path, r, services)
    account = r.string(m, "serviceAccount", path)
    if account is not None and not is_dns1123_subdomain(account):
        r.err(
            "workload-service-account-invalid",
            (*path, "serviceAccount"),
            f"{account!r} is not a service account name (a DNS-1123 subdomain)",
            "write the name of the ServiceAccount the workload's pods run as",
        )
        return None
    return WorkloadAllowlist(
        name=name,
        selector=tuple(sorted(selector.items())),
        allow=allow,
        service_account=account,
    )


def read_export_listed(m: dict[str, Any], r: Reader) -> bool:
    """`defaults.exportTo`: `listed`, or absent (the inventory's visibility)."""
    raw = m.get("defaults")
    if not isinstance(raw, dict):
        return False  # not a mapping: reported where `defaults` is read
    value = raw.get("exportTo")
    if value is None:
        return False
    if not isinstance(value, str) or value.strip().lower() != LISTED:
        shown = repr(value) if isinstance(value, str) else type_name(value)
        r.err(
            "export-to-invalid",
            ("defaults", "exportTo"),
            f"{shown} is not `listed`",
            "write `exportTo: listed` (each entry visible only where a namespace allows it), "
            "or leave it out",
        )
        return False
    return True


def unknown_namespace_keys(data: dict[str, Any], r: Reader, base: KeyPath) -> None:
    """Unknown keys under `namespaces:` of one layer."""
    namespaces = data.get("namespaces")
    if not isinstance(namespaces, dict):
        return
    for name, ns in namespaces.items():
        if not isinstance(name, str) or not isinstance(ns, dict):
            continue
        path: KeyPath = (*base, "namespaces", name)
        r.fields(ns, path, NAMESPACE_KEYS)
        workloads = ns.get("workloads")
        for wname, w in (workloads if isinstance(workloads, dict) else {}).items():
            if isinstance(wname, str) and isinstance(w, dict):
                r.fields(w, (*path, "workloads", wname), WORKLOAD_KEYS)
