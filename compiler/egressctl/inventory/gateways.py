"""Egress gateways (issue #13): `gateways:`, `defaults:` and each service's `via`, read
into the model.  Pure: problems go to the :class:`Reader` with key paths.

* `gateways.NAME` (NAME: the Gateway object's name, a DNS label): `namespace` (a DNS
  label; None: the environment's), `selector` (label keys and values; default
  ``istio: egressgateway``), `service` (a DNS label; default ``istio-egressgateway``),
  `api` (``istio`` or ``gateway-api``), `mtls` (default true with ``api: istio``, false
  with ``api: gateway-api``, where an explicit ``true`` is refused by the rules);
* `defaults.via` (a gateway, or ``direct``) applies to every service that writes no
  `via` (`defaults.exportTo` is :mod:`egressctl.inventory.namespaces`' business; the
  shape of `defaults` and its unknown keys are checked here);
* `services.NAME.via`: a gateway, or ``direct``.

Whether a `via` names a gateway that exists is the rules' business
(:mod:`egressctl.rules.gateways`): the model keeps the name as written.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from egressctl.errors import Anchor, KeyPath
from egressctl.inventory.gatewayapinames import object_name
from egressctl.inventory.keys import DEFAULTS_KEYS, GATEWAY_KEYS
from egressctl.inventory.model import EgressGateway, GatewayApi, Service
from egressctl.inventory.names import (
    DNS_LABEL_HINT,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_label_value,
)
from egressctl.inventory.reader import Reader, did_you_mean, is_type, type_name

DIRECT = "direct"  # `via: direct`: this service leaves from the sidecar
DEFAULT_SELECTOR = (("istio", "egressgateway"),)
DEFAULT_SERVICE = "istio-egressgateway"
_LABEL_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")


def subsets_name(gateway: str) -> str:
    """The name of the DestinationRule of gateway ``gateway``'s Service (its subsets)."""
    return object_name(gateway, "subsets")  # cut with a digest: two long names stay two


@dataclass(frozen=True, slots=True)
class GatewayPart:
    """What this module reads of an inventory: its gateways, the `defaults`, and its
    services with `via` set."""

    services: tuple[Service, ...]
    gateways: tuple[EgressGateway, ...] = ()
    default_via: str | None = None


def read_gateway_part(m: dict[str, Any], r: Reader, services: Sequence[Service]) -> GatewayPart:
    """`gateways`, `defaults` and each service's `via` of the (merged) inventory ``m``."""
    gateways = _gateways(m.get("gateways"), r)
    default_via = _defaults(m.get("defaults"), r)
    raw = m.get("services")
    raw_services = raw if isinstance(raw, dict) else {}
    out = []
    for svc in services:
        spec = raw_services.get(svc.name)
        via = _via(spec, ("services", svc.name), r) if isinstance(spec, dict) else None
        if via is None:
            via = default_via
        out.append(dataclasses.replace(svc, via=None if via == DIRECT else via))
    return GatewayPart(
        services=tuple(out),
        gateways=gateways,
        default_via=None if default_via == DIRECT else default_via,
    )


def gateway_unknown_keys(data: dict[str, Any], r: Reader, base: KeyPath) -> None:
    """Unknown keys of `gateways.*` and `defaults` in one layer."""
    gateways = data.get("gateways")
    if isinstance(gateways, dict):
        for name, gw in gateways.items():
            if isinstance(name, str) and isinstance(gw, dict):
                r.fields(gw, (*base, "gateways", name), GATEWAY_KEYS)
    defaults = data.get("defaults")
    if isinstance(defaults, dict):
        r.fields(defaults, (*base, "defaults"), DEFAULTS_KEYS)


def _gateways(raw: Any, r: Reader) -> tuple[EgressGateway, ...]:
    if raw is None:
        return ()
    m = r.mapping(raw, ("gateways",), "`gateways`")
    if m is None:
        return ()
    out = []
    for name, value in m.items():
        if not isinstance(name, str) or value is None:
            continue  # a key that is no string: `mapping` said so; null: removed
        gw = _gateway(name, value, r)
        if gw is not None:
            out.append(gw)
    return tuple(sorted(out, key=lambda g: g.name))


def _gateway(name: str, value: Any, r: Reader) -> EgressGateway | None:
    path: KeyPath = ("gateways", name)
    ok = True
    if not is_dns1123_label(name):
        r.err(
            "gateway-name-invalid",
            path,
            f"gateway name {name!r} is not a DNS-1123 label (it names the Gateway object)",
            f"use {DNS_LABEL_HINT}, at most 63",
            anchor=Anchor.KEY,
        )
        ok = False
    g = r.mapping(value, path, "a gateway")
    if g is None:
        return None
    mark = r.mark()
    namespace = _label(g, "namespace", path, r, "namespace-invalid", "a namespace")
    service = _label(g, "service", path, r, "gateway-service-invalid", "a Service name")
    selector = _selector(g, path, r)
    api = _api(g, path, r)
    mtls = r.get(g, "mtls", path, bool)
    if not ok or r.erred_since(mark) or selector is None or api is None:
        return None
    return EgressGateway(
        name=name,
        namespace=namespace,
        selector=selector,
        service=service or DEFAULT_SERVICE,
        api=api,
        mtls=(api is GatewayApi.ISTIO) if mtls is None else bool(mtls),
    )


def _label(
    g: dict[str, Any], key: str, path: KeyPath, r: Reader, code: str, what: str
) -> str | None:
    value = r.string(g, key, path)
    if value is None:
        return None
    if not is_dns1123_label(value):
        r.err(code, (*path, key), f"{value!r} is not {what} (a DNS-1123 label)", DNS_LABEL_HINT)
        return None
    return value


def _selector(g: dict[str, Any], path: KeyPath, r: Reader) -> tuple[tuple[str, str], ...] | None:
    if g.get("selector") is None:
        return DEFAULT_SELECTOR
    spath = (*path, "selector")
    mark = r.mark()
    got = r.string_map(g, "selector", path)
    if got is None or r.erred_since(mark):
        return None
    if not got:
        r.err(
            "gateway-selector-invalid",
            spath,
            "an empty selector matches every gateway pod",
            "write the gateway pods' labels, e.g. `{istio: egressgateway}`",
        )
        return None
    ok = True
    for key, value in got.items():
        if not _is_label_key(key):
            r.err(
                "gateway-selector-invalid",
                (*spath, key),
                f"{key!r} is not a label key",
                "a label key is [PREFIX/]NAME: NAME at most 63 alphanumerics with '-', '_' "
                "and '.' inside, PREFIX a DNS subdomain",
                anchor=Anchor.KEY,
            )
            ok = False
        elif not value or not is_label_value(value):
            r.err(
                "gateway-selector-invalid",
                (*spath, key),
                f"{value!r} is not a label value",
                "a non-empty label value: at most 63 alphanumerics with '-', '_' and '.' inside",
            )
            ok = False
    return tuple(sorted(got.items())) if ok else None


def _is_label_key(key: str) -> bool:
    prefix, _, name = key.rpartition("/")
    if "/" in key and not is_dns1123_subdomain(prefix):
        return False
    return len(name) <= 63 and _LABEL_NAME.fullmatch(name) is not None


def _api(g: dict[str, Any], path: KeyPath, r: Reader) -> GatewayApi | None:
    value = r.string(g, "api", path)
    if value is None:
        return None if g.get("api") is not None else GatewayApi.ISTIO
    choices = [a.value for a in GatewayApi]
    if value.strip().lower() not in choices:
        r.err(
            "gateway-api-invalid",
            (*path, "api"),
            f"{value!r} is not one of {', '.join(choices)}",
            did_you_mean(value.strip().lower(), choices),
        )
        return None
    return GatewayApi(value.strip().lower())


def _defaults(raw: Any, r: Reader) -> str | None:
    """`defaults.via` as written (None: not written, or not read)."""
    if raw is None:
        return None
    d = r.mapping(raw, ("defaults",), "`defaults`")
    if d is None:
        return None
    return _via(d, ("defaults",), r)


def _via(m: dict[str, Any], path: KeyPath, r: Reader) -> str | None:
    """`via` in ``m``: a gateway name or `direct`; None when not written (or wrong)."""
    value = m.get("via")
    if value is None:
        return None
    if not is_type(value, str):
        r.err(
            "wrong-type",
            (*path, "via"),
            f"must be a string, not {type_name(value)}",
            "write a gateway name from `gateways:`, or `direct`",
        )
        return None
    via = str(value).strip()
    if via != DIRECT and not is_dns1123_label(via):
        r.err(
            "via-invalid",
            (*path, "via"),
            f"{value!r} is neither `direct` nor a gateway name (a DNS-1123 label)",
            "write a gateway name from `gateways:`, or `direct`",
        )
        return None
    return via
