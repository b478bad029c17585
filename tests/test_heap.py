"""The cyclic garbage collector around a run's big heap (egressctl.heap, #12 §5)."""

from __future__ import annotations

import gc
import importlib
import subprocess
import sys

import pytest

from egressctl import heap

# The module (egressctl.cli's `app` attribute is the Typer app it defines).
cli_app = importlib.import_module("egressctl.cli.app")


@pytest.mark.parametrize("enabled", [True, False])
def test_collection_paused_restores_the_collector(enabled: bool) -> None:
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        with heap.collection_paused():
            assert not gc.isenabled()
        assert gc.isenabled() is enabled
        with pytest.raises(KeyError), heap.collection_paused():
            raise KeyError("x")
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_a_library_process_freezes_nothing() -> None:
    if heap._short_lived:
        pytest.skip("this test process was marked short-lived")
    before = gc.get_freeze_count()
    with heap.collection_paused():
        built = [[i] for i in range(1000)]
    assert gc.get_freeze_count() == before
    assert len(built) == 1000


SHORT_LIVED = """
import gc
from egressctl import heap
heap.short_lived_process()
after_start = gc.get_freeze_count()
with heap.collection_paused():
    built = [[i] for i in range(50_000)]
print(after_start > 0, gc.get_freeze_count() - after_start >= 50_000, gc.isenabled())
"""


def test_a_short_lived_process_freezes_what_each_block_built() -> None:
    out = subprocess.run(
        [sys.executable, "-c", SHORT_LIVED], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["True", "True", "True"]


def test_the_cli_entry_point_is_short_lived(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bool] = []
    monkeypatch.setattr(cli_app, "short_lived_process", lambda: calls.append(True))
    monkeypatch.setattr(sys, "argv", ["egressctl", "--help"])
    with pytest.raises(SystemExit) as done:
        cli_app.main()
    assert done.value.code == 0
    assert calls == [True]
