"""runners.run with renders of fleet size: helm's output of a 50,000-service render is
millions of lines, kubectl's stdin 13 MB and more (issue #12 §5: what render and deploy
spent beyond their parts was sh reading line by line and writing 1 KiB at a time)."""

from __future__ import annotations

import sys

from egressctl.runners import run


def test_output_of_more_than_three_million_lines_arrives_whole() -> None:
    """sh keeps at most 3 Mi chunks of output: read line by line, the lines past that
    were dropped without a word."""
    lines = 3_200_000
    res = run(
        [sys.executable, "-c", f"import sys; sys.stdout.write('x\\n' * {lines})"],
        step="print many lines",
    )
    assert len(res.stdout) == 2 * lines


def test_large_stdin_round_trips() -> None:
    text = "".join(f"---\nkind: ConfigMap\nmetadata: {{name: cm-{i}}}\n" for i in range(200_000))
    assert len(text) > 8 * 1024 * 1024
    res = run(["cat"], step="echo the manifests", stdin=text)
    assert res.stdout == text
    assert run(["cat"], step="empty stdin", stdin="").stdout == ""
