"""Fuzz the configuration loader: any feeds.yaml / watchlist / subscribers / monitor.yaml text ends in a
LoadedConfig or a ConfigurationError, never another exception."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from monitor.config import LoadedConfig, load_config
from monitor.errors import ConfigurationError
from tests.fuzz.support import ROOT, TEST_TIMEOUT, fuzz_settings

pytestmark = pytest.mark.timeout(TEST_TIMEOUT)

KEYS = ["feeds", "defaults", "url", "id", "name", "interval", "max_interval", "tags", "language", "full_text",
        "actors", "topics", "tests", "kind", "aliases", "exact_case", "exclude", "query", "description", "text",
        "title", "matches", "not_matches", "subscribers", "email", "webhook", "secret_env", "watchlists", "schedule",
        "timezone", "database", "fetch", "timeout", "max_bytes", "allow_local_feeds", "smtp", "password_env",
        "retention", "log_format", "intervall", "x", "<<", "?"]
SCALARS = st.one_of(
    st.sampled_from(["https://example.org/feed", "file:///etc/passwd", "examples/levant-wire.xml", "c:\\x", "15m",
                     "1h30m", "0s", "-5m", "99999999999d", "15 minutes", "daily 07:30", "weekly mon 25:99",
                     'cron "* * * * *"', "cron \"99 * * * *\"", "immediate", "Europe/Istanbul", "Not/AZone", "../x",
                     "person", "mena", "mena/talks", "nosuch/x", "a@b.c", "not an email", "MONITOR_X", "whsec_abc",
                     '("a" OR b) AND c*', "(((", "»", "NEAR/3", "@mena/kalin", "15MiB", "1e999", "sqlite:///x.db",
                     "", " ", "~", "null", "yes", "0x1F", ".inf", "2024-01-01", "!!binary aGk="]),
    st.integers(), st.floats(allow_nan=True), st.booleans(), st.none(), st.text(max_size=12),
)
VALUES = st.recursive(
    SCALARS,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), kids,
                                                               max_size=5),
    max_leaves=20,
)
MUTATIONS = ["\t", ": ", "- ", "&a ", "*a", "*undefined", "!!python/object/apply:os.system ['true']", "{", "[", "'",
             '"', "\\", "%YAML 1.1\n", "---\n", "...\n", "? ", "!custom ", "<<: *a\n", "\x00", "\ufeff", "\x85",
             "#", "|", ">", "!!int ", "!!set ", "!!omap ", "!!timestamp "]


@st.composite
def yaml_text(draw: st.DrawFn, top_keys: list[str]) -> str:
    shape = draw(st.sampled_from(["structured"] * 4 + ["mutated"] * 4 + ["random"] + ["bomb"]))
    if shape == "random":
        return draw(st.text(max_size=200))
    if shape == "bomb":
        levels = draw(st.integers(2, 9))
        lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
        lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels + 1)]
        return "\n".join(lines) + f"\n{draw(st.sampled_from(top_keys))}: *a{levels}\n"
    data = draw(st.dictionaries(st.sampled_from(top_keys + KEYS[:6]), VALUES, max_size=4))
    text = yaml.safe_dump(data, allow_unicode=draw(st.booleans()), default_flow_style=draw(st.booleans()))
    if shape == "mutated":
        for _ in range(draw(st.integers(1, 5))):
            at = draw(st.integers(0, len(text)))
            if draw(st.booleans()):
                text = text[:at] + draw(st.sampled_from(MUTATIONS)) + text[at:]
            else:
                text = text[:at] + text[at + draw(st.integers(1, 20)):]
    return text


def load(files: dict[str, str | bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "config"
        (directory / "watchlists").mkdir(parents=True)
        for name, content in files.items():
            path = directory / name
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8", errors="surrogatepass")
        try:
            result = load_config(directory, env={})
        except ConfigurationError as exc:
            assert exc.problems, "a ConfigurationError without problems"
            for problem in exc.problems:
                assert isinstance(problem.format(), str)
        else:
            assert isinstance(result, LoadedConfig)


@fuzz_settings(60)
@given(yaml_text(["feeds", "defaults"]), yaml_text(["name", "actors", "topics", "tests"]),
       st.sampled_from(["mena", "bad id", "Caps", "x" * 200, "ok-list"]))
def test_fuzzed_feeds_and_watchlist(feeds: str, watchlist: str, stem: str) -> None:
    load({"feeds.yaml": feeds, f"watchlists/{stem}.yaml": watchlist})


@fuzz_settings(40)
@given(yaml_text(["database", "timezone", "email", "fetch", "retention"]), yaml_text(["subscribers"]),
       yaml_text(["feeds"]))
def test_fuzzed_settings_and_subscribers(settings_text: str, subscribers: str, feeds: str) -> None:
    load({"monitor.yaml": settings_text, "subscribers.yaml": subscribers, "feeds.yaml": feeds})


DEMO = {name: (ROOT / "config" / name).read_bytes() for name in
        ("monitor.yaml", "feeds.yaml", "subscribers.yaml", "watchlists/mena-security.yaml",
         "watchlists/energy-shipping.yaml") if (ROOT / "config" / name).exists()}


@fuzz_settings(100)
@given(st.sampled_from(sorted(DEMO)), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 3),
                                                          st.binary(max_size=4)), min_size=1, max_size=6))
def test_mutated_demo_config(name: str, edits: list[tuple[int, int, bytes]]) -> None:
    """The bundled demo configuration with bytes deleted and inserted (invalid UTF-8 included)."""
    data = bytearray(DEMO[name])
    for at, delete, insert in edits:
        at %= len(data) + 1
        data[at : at + delete] = insert
    load({**DEMO, name: bytes(data)})
