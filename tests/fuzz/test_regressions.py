"""Bugs the fuzzers found (all fixed): each input must end in a result or the module's own error.

The query lexer and parser (monitor.match.query), the YAML loader (monitor.config.sourcemap) and
durations (monitor.config.units); see README.md.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.errors import ConfigurationError, QuerySyntaxError
from monitor.match import compile_adhoc, parse_query


def _query_ends_properly(text: str) -> None:
    """parse_query and compile_adhoc end in a result or a QuerySyntaxError with a column inside the text."""
    for func in (parse_query, compile_adhoc):
        try:
            func(text)
        except QuerySyntaxError as exc:
            assert 1 <= exc.column <= len(text) + 1


@pytest.mark.parametrize("text", ["»", "a ” b"])
def test_closing_quote_outside_a_phrase_terminates(text: str) -> None:
    # In a child process with a memory and time cap: the bug never returns and eats gigabytes a minute.
    code = textwrap.dedent(f"""
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        from monitor.errors import QuerySyntaxError
        from monitor.match import parse_query
        try:
            parse_query({text!r})
        except QuerySyntaxError as exc:
            assert 1 <= exc.column <= {len(text) + 1}
    """)
    try:
        done = subprocess.run([sys.executable, "-c", code], timeout=3, capture_output=True)
    except subprocess.TimeoutExpired:
        pytest.fail(f"parse_query({text!r}) did not return within 3 s")
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]


@pytest.mark.parametrize("text", ["a NEAR/² b", "a ONEAR/¹ b", "a NEAR/" + "9" * 5000 + " b"])
def test_near_distance_is_checked(text: str) -> None:
    _query_ends_properly(text)


@pytest.mark.parametrize("text", ["NOT " * 1000 + "x", "title:" * 1000 + "x"])
def test_deep_nesting_without_parentheses(text: str) -> None:
    _query_ends_properly(text)


def _load(feeds_yaml: str, monitor_yaml: str | None = None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "feeds.yaml").write_text(feeds_yaml, encoding="utf-8")
        if monitor_yaml is not None:
            (directory / "monitor.yaml").write_text(monitor_yaml, encoding="utf-8")
        try:
            load_config(directory, env={})
        except ConfigurationError:
            pass


@pytest.mark.parametrize("text", ["\x00", "feeds: []\x1f\n", "feeds:\n  - url: https://example.org/\x08\n"])
def test_control_character_is_a_configuration_error(text: str) -> None:
    _load(text)


@pytest.mark.parametrize("value", ["!!bool ''", "!!int ''", "!!float ''", "!!int '-'", "!!int '0x'",
                                   "!!timestamp x"])
def test_bad_explicitly_tagged_scalar_is_a_configuration_error(value: str) -> None:
    _load(f"feeds: []\ndefaults:\n  interval: {value}\n")


@pytest.mark.parametrize(("feeds", "settings"), [
    ("feeds: []\ndefaults: {interval: 99999999999999999999}\n", None),
    ("feeds: []\ndefaults: {interval: 99999999999d}\n", None),
    ("feeds: []\n", "retention: .inf\n"),
    ("feeds: []\n", "retention: 86400000000000000\n"),
])
def test_huge_duration_is_a_configuration_error(feeds: str, settings: str | None) -> None:
    _load(feeds, settings)
