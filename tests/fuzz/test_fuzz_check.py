"""Fuzz `monitor check` with the mistakes people make in a real watchlist: a line indented one space off,
a stray quote, apostrophe, tab or colon. It ends in a report, never an exception; no message is raw PyYAML
jargon; every located problem points inside its file."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.usecases.check import check_configuration_with_warnings
from tests.fuzz.support import ROOT, TEST_TIMEOUT, fuzz_settings

pytestmark = pytest.mark.timeout(TEST_TIMEOUT)

WATCHLIST = (ROOT / "config" / "watchlists" / "mena-security.yaml").read_text(encoding="utf-8").splitlines()
INSERTS = ["'", '"', "\t", ": ", "-", " -", "@", "[", "]", "{", "}", "#", "“", "''", "\\", "*", "?", " or ", "~5",
           " w/5 ", "(", ")", "Gaza: "]
JARGON = ("<block", "<scalar>", "<stream", "<document", "while parsing", "while scanning")


@st.composite
def mistaken(draw: st.DrawFn) -> str:
    lines = list(WATCHLIST)
    for _ in range(draw(st.integers(1, 3))):
        index = draw(st.integers(0, len(lines) - 1))
        line = lines[index]
        kind = draw(st.sampled_from(["indent", "outdent", "insert", "delete"]))
        if kind == "indent":
            lines[index] = " " * draw(st.integers(1, 2)) + line
        elif kind == "outdent" and line.startswith(" "):
            lines[index] = line[1:]
        elif kind == "insert":
            at = draw(st.integers(0, len(line)))
            lines[index] = line[:at] + draw(st.sampled_from(INSERTS)) + line[at:]
        elif kind == "delete" and line:
            at = draw(st.integers(0, len(line) - 1))
            lines[index] = line[:at] + line[at + 1:]
    return "\n".join(lines) + "\n"


@fuzz_settings(250)
@given(mistaken())
def test_check_explains_every_mistake(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "feeds.yaml").write_text("feeds: []\n", encoding="utf-8")
        (directory / "watchlists").mkdir()
        (directory / "watchlists" / "mena-security.yaml").write_text(text, encoding="utf-8")
        result = check_configuration_with_warnings(directory, {}, run_tests=True)
        lines = text.splitlines()
        for problem in result.problems + result.warnings:
            shown = problem.format()
            assert not any(word in shown for word in JARGON), shown
            if problem.line is not None:
                assert 1 <= problem.line <= len(lines) + 1, shown
                if problem.column is not None and problem.line <= len(lines):
                    assert 1 <= problem.column <= len(lines[problem.line - 1].expandtabs(8)) + 1, shown
