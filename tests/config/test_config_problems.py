"""The printed shape of a configuration problem (DESIGN §3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import ConfigProblem


@pytest.fixture(autouse=True)
def _cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_hint_right_aligned_under_caret(tmp_path: Path) -> None:
    source = '    query: ("prisoner exchange" OR hostages AND negotiat* OR something much longer here'
    problem = ConfigProblem(tmp_path / "config/watchlists/mena.yaml", 14, 60, "topic 'hostage-talks'",
                            "unbalanced '(' in query", "close the parenthesis opened here", source, 60)
    first, shown, hint = problem.format().splitlines()
    assert first == "config/watchlists/mena.yaml:14:60: topic 'hostage-talks': unbalanced '(' in query"
    assert shown == "  " + source.lstrip()
    assert hint.endswith("hint: close the parenthesis opened here ^")
    caret = hint.index("^")
    assert caret == 2 + 60 - 1 - 4  # under column 60 of the dedented line
    assert shown[caret] == source[59]


def test_hint_on_its_own_line_when_it_does_not_fit(tmp_path: Path) -> None:
    problem = ConfigProblem(Path("feeds.yaml"), 2, 5, None, "unknown key 'x'", "allowed keys: a, b", "  x: 1", 3)
    assert problem.format() == "feeds.yaml:2:5: unknown key 'x'\n  x: 1\n  ^\n  hint: allowed keys: a, b"


def test_without_position_or_source() -> None:
    assert ConfigProblem(Path("/abs/feeds.yaml"), None, None, None, "no feeds.yaml", "create it").format() == (
        "/abs/feeds.yaml: no feeds.yaml\n  hint: create it")
    assert ConfigProblem(Path("m.yaml"), 3, None, "settings", "bad").format() == "m.yaml:3: settings: bad"
