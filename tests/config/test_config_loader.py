"""Loading a configuration directory: types, defaults, and every problem reported with file and line."""

from __future__ import annotations

import os
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.config import ConfigProblem, LoadedConfig, load_config, locate_query_problem
from monitor.errors import ConfigurationError


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Problems print paths relative to the working directory; tests assert on those relative paths.
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "config"
    write(directory, "monitor.yaml", """
        database: sqlite:///var/test.db
        timezone: Europe/Istanbul
        email:
          transport: smtp
          from: "Monitor <monitor@example.org>"
          smtp: {host: mail.example.org, port: 2525, starttls: true, username: monitor, password_env: MONITOR_SMTP_PASSWORD}
        fetch:
          timeout: 20s
          max_bytes: 15MiB
        retention: 30d
    """)
    write(directory, "feeds.yaml", """
        defaults:
          interval: 10m
        feeds:
          - url: https://www.example-news.org/feed/
            name: Example News
            id: example-news
            interval: 5m
            tags: [mena, english]
            language: en
          - url: https://other.example.org/rss
    """)
    write(directory, "subscribers.yaml", """
        subscribers:
          - id: mena-desk
            email: mena-desk@example.org
            watchlists: [mena-security]
            schedule: daily 07:30
            timezone: Europe/Istanbul
          - id: case-system
            webhook:
              url: https://hooks.example.org/monitor
              secret_env: CASE_SYSTEM_WEBHOOK_SECRET
            watchlists: [mena-security/hostage-talks]
            schedule: immediate
    """)
    write(directory, "watchlists/mena-security.yaml", """
        name: MENA security
        actors:
          - id: ibrahim-kalin
            name: Ibrahim Kalin
            kind: person
            aliases: ["İbrahim Kalın", "Kalin"]
        topics:
          - id: hostage-talks
            name: Hostage talks
            query: '("prisoner exchange" OR hostages) AND negotiat*'
    """)
    return directory


def problems_of(directory: Path, env: dict[str, str] | None = None) -> list[ConfigProblem]:
    with pytest.raises(ConfigurationError) as info:
        load_config(directory, env=env or {})
    return info.value.problems


def heads(problems: list[ConfigProblem]) -> list[str]:
    return [p.format().splitlines()[0] for p in problems]


def test_full_config_loads_with_types(config_dir: Path) -> None:
    loaded = load_config(config_dir, env={})
    assert isinstance(loaded, LoadedConfig)
    config = loaded.config
    assert config.settings.database == f"sqlite:///{config_dir / 'var' / 'test.db'}"  # relative to the config
    assert config.settings.email.smtp.port == 2525
    assert config.settings.email.from_ == "Monitor <monitor@example.org>"
    assert config.settings.fetch.max_bytes == 15 * 1024 * 1024
    assert config.settings.retention == timedelta(days=30)
    assert config.feed_defaults.interval == timedelta(minutes=10)
    first, second = config.feeds
    assert first.id == "example-news" and first.interval == timedelta(minutes=5) and first.tags == ("mena", "english")
    assert second.id.startswith("other-example-org-") and config.feed_interval(second) == timedelta(minutes=10)
    assert [s.id for s in config.subscribers] == ["mena-desk", "case-system"]
    assert config.subscribers[0].schedule.kind == "daily"
    assert config.subscribers[1].channel == "webhook"
    watchlist = config.watchlists["mena-security"]
    assert watchlist.id == "mena-security" and watchlist.entry_ids() == ["ibrahim-kalin", "hostage-talks"]
    feeds_file = config_dir / "feeds.yaml"
    assert loaded.locate(feeds_file, ("feeds", 0, "interval")) == (7, 5)
    assert loaded.value_position(feeds_file, ("feeds", 0, "interval")) == (7, 15)
    assert loaded.locate(feeds_file, ("feeds", 0, "nonexistent")) == (4, 5)  # falls back to the entry
    assert loaded.source_line(feeds_file, 7) == "    interval: 5m"


def test_defaults_without_monitor_yaml_and_subscribers(tmp_path: Path) -> None:
    directory = tmp_path / "config"
    write(directory, "feeds.yaml", "")  # empty file = empty mapping
    config = load_config(directory, env={}).config
    assert config.settings.database == f"sqlite:///{directory / 'var' / 'monitor.db'}"
    assert config.settings.email.transport == "file"
    assert config.settings.fetch.timeout == timedelta(seconds=20)
    assert config.feeds == () and config.subscribers == () and config.watchlists == {}
    assert config.feed_defaults.interval == timedelta(minutes=15)


def test_missing_feeds_yaml_and_directory(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    [problem] = problems_of(tmp_path / "config")
    assert problem.message == "no feeds.yaml" and problem.hint
    [missing] = problems_of(tmp_path / "nowhere")
    assert "not found" in missing.message and "MONITOR_CONFIG" in (missing.hint or "")


def test_five_mistakes_reported_at_once(config_dir: Path) -> None:
    write(config_dir, "feeds.yaml", """
        feeds:
          - url: https://www.example-news.org/feed/
            id: example-news
            intervall: 5m
          - url: https://b.example.org/rss
            id: b
            interval: 15 minutes
          - url: https://c.example.org/rss
            id: example-news
    """)
    write(config_dir, "subscribers.yaml", """
        subscribers:
          - id: mena-desk
            email: mena-desk@example.org
    """)
    write(config_dir, "watchlists/broken.yaml", """
        name: Broken
        actors:
          - id: a
            aliases: ["x", "y"
          - id: b
    """)
    problems = problems_of(config_dir)
    assert heads(problems) == [
        "config/feeds.yaml:4:5: feed 'example-news': unknown key 'intervall'",
        "config/feeds.yaml:7:15: feed 'b': '15 minutes' is not a duration; write e.g. 30s, 15m, 2h, 1h30m or 7d",
        "config/feeds.yaml:9:9: feed 'example-news': duplicate feed id 'example-news'",
        "config/subscribers.yaml:2:5: subscriber 'mena-desk': missing required field 'watchlists' (an operator who "
        "gets only feed-health alerts sets feed_health: true instead)",
        "config/watchlists/broken.yaml:4:14: the list opened here is never closed",
    ]
    unknown = problems[0]
    assert unknown.hint and "did you mean 'interval'?" in unknown.hint and "allowed keys:" in unknown.hint
    assert problems[2].hint == "first used at line 3; feed ids must be unique"
    # The exception message is every problem, formatted.
    with pytest.raises(ConfigurationError, match="intervall"):
        load_config(config_dir, env={})


def test_cross_file_references(config_dir: Path) -> None:
    write(config_dir, "subscribers.yaml", """
        subscribers:
          - id: a
            email: a@example.org
            watchlists: [mena-securty, mena-security/hostage-talk]
          - id: a
            webhook: {url: "https://h.example.org/", secret_env: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw}
            watchlists: [mena-security]
    """)
    problems = problems_of(config_dir)
    text = [p.format() for p in problems]
    assert heads(problems)[0] == "config/subscribers.yaml:4:18: subscriber 'a': unknown watchlist 'mena-securty'"
    assert "did you mean 'mena-security'?" in text[0]
    assert "has no actor or topic 'hostage-talk'" in text[1] and "did you mean 'hostage-talks'?" in text[1]
    assert "duplicate subscriber id 'a'" in text[2]
    assert "secrets are never written in YAML" in text[3]
    assert "whsec_" not in text[3]  # the secret is not echoed


def test_local_feeds_need_permission(config_dir: Path) -> None:
    write(config_dir, "feeds.yaml", """
        feeds:
          - url: file:///srv/demo/feed.xml
          - url: demo/feed.xml
    """)
    problems = problems_of(config_dir)
    assert len(problems) == 2
    assert all(p.hint == "set allow_local_feeds: true in monitor.yaml" for p in problems)
    assert heads(problems)[1].startswith("config/feeds.yaml:3:10: feed 'demo/feed.xml': local feed")
    config = load_config(config_dir, env={"MONITOR_ALLOW_LOCAL_FEEDS": "yes"}).config
    assert [f.is_local for f in config.feeds] == [True, True]


def test_watchlist_ids(config_dir: Path) -> None:
    write(config_dir, "watchlists/other.yaml", """
        id: not-other
        name: Other
        actors:
          - {id: dup, name: A}
        topics:
          - {id: dup, name: T, query: x}
          - {id: BAD, query: x}
    """)
    problems = problems_of(config_dir)
    assert heads(problems) == [
        "config/watchlists/other.yaml:1:5: watchlist 'other': id 'not-other' differs from the file name 'other'",
        "config/watchlists/other.yaml:6:10: topic 'dup': duplicate id 'dup'",
        "config/watchlists/other.yaml:7:5: topic 'BAD': missing required field 'name'",
        "config/watchlists/other.yaml:7:10: topic 'BAD': id 'BAD' must be lowercase letters, digits, '-', '_' or '.',"
        " starting with a letter or digit",
    ]
    assert "share one namespace" in (problems[1].hint or "")


def test_query_problem_is_located_in_the_source(config_dir: Path) -> None:
    write(config_dir, "watchlists/mena.yaml", """
        name: MENA
        topics:
          - id: hostage-talks
            name: Hostage talks
            query: ("prisoner exchange" OR hostages AND negotiat*
          - id: quoted
            name: Quoted
            query: 'a OR ''b'' OR (c'
    """)
    loaded = load_config(config_dir, env={})
    problem = locate_query_problem(loaded, "mena", "hostage-talks", "query", 1, "unbalanced '(' in query",
                                   "close the parenthesis opened here")
    assert (problem.line, problem.column) == (5, 12)
    assert problem.format() == "\n".join([
        "config/watchlists/mena.yaml:5:12: topic 'hostage-talks': unbalanced '(' in query",
        '  query: ("prisoner exchange" OR hostages AND negotiat*',
        "         ^",
        "  hint: close the parenthesis opened here",
    ])
    # The quoted scalar: column 13 of the value (the '(') sits after the opening quote and a doubled ''.
    quoted = locate_query_problem(loaded, "mena", "quoted", "query", 13, "unbalanced '(' in query", "close it")
    line = loaded.source_line(config_dir / "watchlists/mena.yaml", quoted.line)
    assert line is not None and quoted.column is not None and line[quoted.column - 1] == "("


def test_unknown_top_level_key_and_settings_errors(config_dir: Path) -> None:
    write(config_dir, "monitor.yaml", """
        databse: sqlite:///x.db
        fetch:
          concurrency: 0
        email:
          smtp: {password_env: "hunter2 secret"}
    """)
    problems = problems_of(config_dir)
    text = [p.format() for p in problems]
    assert heads(problems)[0] == "config/monitor.yaml:1:1: settings: unknown key 'databse'"
    assert "did you mean 'database'?" in text[0]
    assert heads(problems)[1].startswith("config/monitor.yaml:3:16: settings: expected greater than or equal to 1")
    assert "secrets are never written in YAML" in text[2] and "hunter2" not in text[2]


def test_problems_relative_to_cwd(config_dir: Path, tmp_path: Path) -> None:
    write(config_dir, "feeds.yaml", "feeds: {}\n")
    (tmp_path / "elsewhere").mkdir()
    os.chdir(tmp_path / "elsewhere")  # not below: the path stays absolute rather than "../config/..."
    [problem] = problems_of(config_dir)
    assert problem.format() == f"{config_dir / 'feeds.yaml'}:1:8: expected a list\n  feeds: {{}}\n         ^"


def test_query_problem_in_a_multi_line_query_points_at_its_character(config_dir: Path) -> None:
    write(config_dir, "watchlists/mena.yaml", """
        name: MENA
        topics:
          - id: folded
            name: Folded
            query: >-
              hostages AND
              "prisoner exchange
          - id: literal
            name: Literal
            query: |
              hostages

              AND (talks
          - id: plain
            name: Plain over two lines
            query: hostages AND
              "prisoner exchange
          - id: after
            name: After
            query: x
    """)
    loaded = load_config(config_dir, env={})
    file = config_dir / "watchlists/mena.yaml"
    for entry, index, char in (("folded", 13, '"'), ("literal", 14, "("), ("plain", 13, '"')):
        problem = locate_query_problem(loaded, "mena", entry, "query", index + 1, "m", "h")
        line = loaded.source_line(file, problem.line)
        assert line is not None and problem.column is not None and line[problem.column - 1] == char, entry
