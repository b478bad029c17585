"""chart/ rendered in two helm processes, each given half of the values (#12 §5): the
values cut in two (`emit.dump_halves`), the two renders put back together
(`charts.halves.merge_halves`) into exactly the text one helm prints, and `render`
choosing two processes for a big inventory."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from egressctl import pipeline
from egressctl.charts import render as render_module
from egressctl.charts.halves import merge_halves
from egressctl.charts.helm import helm_template
from egressctl.errors import VerificationError
from egressctl.mesh import emit
from tests.conftest import CHART, MINI_ISTIO_BLOCK, REPO, EnvFile

GOLDEN = sorted(
    p.parent
    for folder in ("golden", "golden_gatewayapi", "golden-namespaces", "golden_ambient")
    for p in (REPO / "tests" / folder).glob("*/values.yaml")
)


def _values(folder: Path) -> dict[str, Any]:
    loaded = yaml.safe_load((folder / "values.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _bigger(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with each entry of the halved maps copied under three more names (one a
    null entry), so that every map has entries on both sides of its cut."""
    out = copy.deepcopy(doc)
    for key in emit.HALVED:
        entries = out.get(key) or {}
        for name, entry in list(entries.items()):
            for suffix in ("a", "z", "zz"):
                entries[f"{name}-{suffix}"] = None if suffix == "zz" else copy.deepcopy(entry)
        if entries:
            out[key] = entries
    return out


# ---------------------------------------------------------------------------
# The values, cut in two


@pytest.mark.parametrize("folder", GOLDEN, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_halves_hold_the_values_between_them(folder: Path) -> None:
    doc = _bigger(_values(folder))
    full, lower, upper = emit.dump_halves(doc, ["inv.yaml"])
    assert full == emit.dump(doc, ["inv.yaml"])  # the one text, as ever
    low, high = yaml.safe_load(lower), yaml.safe_load(upper) or {}
    for key, value in doc.items():
        if key in emit.HALVED and value:
            joined = {**(low.get(key) or {}), **(high.get(key) or {})}
            assert joined == value
            assert not set(low.get(key) or {}) & set(high.get(key) or {})
            upper_names = set(high.get(key) or {})
            if upper_names:  # the cut: every name above it sorts after every one below
                assert max(n for n, e in low[key].items() if e is not None) < min(upper_names)
                assert None not in high[key].values()  # a null entry stays below
        elif key in emit.SHARED:
            assert low[key] == high[key] == value
        else:
            assert low[key] == value
            assert key not in high


def test_a_map_of_one_entry_is_not_cut() -> None:
    doc = {
        "networkingApiVersion": "networking.istio.io/v1",
        "serviceEntries": {"a": {"hosts": ["a.example"]}, "b": None},
        "tlsRoutes": {"r": {"hosts": ["r.example"]}, "s": {"hosts": ["s.example"]}},
    }
    _, lower, upper = emit.dump_halves(doc)
    assert yaml.safe_load(lower)["serviceEntries"] == doc["serviceEntries"]
    assert yaml.safe_load(upper) == {
        "networkingApiVersion": "networking.istio.io/v1",
        "tlsRoutes": {"s": {"hosts": ["s.example"]}},
    }


# ---------------------------------------------------------------------------
# The renders, put back together


def _rendered(*objects: tuple[str, str]) -> str:
    return "".join(f"---\n# Source: c/templates/{src}\nkind: {body}\n" for src, body in objects)


def test_merge_puts_each_template_run_after_the_first_halfs() -> None:
    first = _rendered(("np.yaml", "NetworkPolicy a"), ("se.yaml", "S a"), ("vs.yaml", "V a"))
    second = _rendered(("se.yaml", "S m"), ("se.yaml", "S n"), ("vs.yaml", "V m"))
    assert merge_halves(first, second) == _rendered(
        ("np.yaml", "NetworkPolicy a"),
        ("se.yaml", "S a"),
        ("se.yaml", "S m"),
        ("se.yaml", "S n"),
        ("vs.yaml", "V a"),
        ("vs.yaml", "V m"),
    )
    assert merge_halves(first, "") == first


def test_merge_refuses_a_second_half_it_cannot_place() -> None:
    first = _rendered(("se.yaml", "S a"))
    with pytest.raises(VerificationError, match=r"vs\.yaml"):
        merge_halves(first, _rendered(("vs.yaml", "V m")))
    with pytest.raises(VerificationError, match="outside any object"):
        merge_halves(first, "kind: Stray\n" + _rendered(("se.yaml", "S m")))


@pytest.mark.parametrize("folder", GOLDEN, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_halves_render_what_one_helm_renders(helm: str, folder: Path) -> None:
    doc = _bigger(_values(folder))
    full, lower, upper = emit.dump_halves(doc)

    def template(values: str) -> str:
        return helm_template(
            "egress", CHART, namespace="istio-system", values_text=values, step="t", helm=helm
        )

    once, second = template(full), template(upper)
    if any(doc.get(key) for key in emit.HALVED):
        assert "# Source: " in second  # the second half rendered objects of its own
    assert merge_halves(template(lower), second) == once


# ---------------------------------------------------------------------------
# render: two processes for a big inventory, the same render either way

INVENTORY = (REPO / "tests" / "golden" / "features" / "inventory.yaml").read_text(encoding="utf-8")


def test_render_in_halves_is_the_render_in_one(
    helm: str, env_file: EnvFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file(inventory=INVENTORY, namespace="istio-system", istio=MINI_ISTIO_BLOCK)
    env, _ = pipeline.load_environment("dev")
    monkeypatch.setattr(render_module, "HALVES_FROM", 10**9)
    assert render_module.egress_parts(env) == 1
    one = pipeline.render_environment(env)
    monkeypatch.setattr(render_module, "HALVES_FROM", len(env.inventory.services))
    if render_module.egress_parts(env) == 1:
        pytest.skip("one processor: render never splits here")
    started: list[int] = []
    real = render_module.renders_started

    def counted(*args: Any, **kwargs: Any) -> Any:
        started.append(kwargs["parts"])
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "renders_started", counted)
    two = pipeline.render_environment(env)
    assert started == [2]
    assert two.egress == one.egress
    assert two.egress_objects() == one.egress_objects()
    assert two.values_text == one.values_text  # build/ gets the one values file
    assert two.istio == one.istio


def test_a_small_inventory_renders_in_one_process(
    env_file: EnvFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file(inventory=INVENTORY, namespace="istio-system")
    env, _ = pipeline.load_environment("dev")
    assert len(env.inventory.services) < render_module.HALVES_FROM
    assert render_module.egress_parts(env) == 1
    monkeypatch.setattr(render_module, "HALVES_FROM", 1)
    monkeypatch.setattr(render_module.os, "sched_getaffinity", lambda _pid: {0})
    assert render_module.egress_parts(env) == 1  # one processor: no gain in two
    monkeypatch.setattr(render_module.os, "sched_getaffinity", lambda _pid: {0, 1})
    assert render_module.egress_parts(env) == 2
