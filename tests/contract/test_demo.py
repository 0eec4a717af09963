"""The README's main command: `tailor demo` completes and reports every import ACTIVE with its rows."""

from __future__ import annotations

from tailor.local.cli import main


def test_demo_runs_the_walkthrough_and_exits_zero(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "INTERACTIONS  ACTIVE          34,853" in out
    assert "USERS         ACTIVE          24,500" in out
    assert "DEMO FAILED" not in out
