"""`monitor check` reports every mistake of a configuration in one run, each with file:line (issue 12)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import main


def write(directory: Path, name: str, text: str) -> None:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # problems print paths relative to the working directory


def check(directory: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["check", "--config", str(directory)], env={"MONITOR_CONFIG": None})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_six_mistakes_in_four_files_in_one_run(tmp_path: Path) -> None:
    config = tmp_path / "config"
    write(config, "feeds.yaml", """
        feeds:
          - url: https://wire.example.org/rss
            id: wire
            interval: 15 minutes
    """)
    write(config, "subscribers.yaml", """
        subscribers:
          - id: desk
            email: desk@example.org
            watchlists: [people, talks]
            schedule: daily 7.30
    """)
    # A key one space short of its siblings: a YAML error, so nothing of this file loads.
    write(config, "watchlists/intel.yaml", """
        name: Intelligence
        actors:
          - id: ronen-bar
            name: Ronen Bar
           aliases: ["Shin Bet director"]
    """)
    # A schema error (unknown key) does not hide the query error two entries further down.
    write(config, "watchlists/talks.yaml", """
        name: Talks
        actors:
          - id: qatar
            name: Qatar
            alias: [Doha]
        topics:
          - id: hostage-talks
            name: Hostage talks
            query: '("prisoner exchange" OR hostages AND negotiat*'
    """)
    write(config, "watchlists/people.yaml", """
        name: People
        actors:
          - id: ibrahim-kalin
            name: Ibrahim Kalin
        topics:
          - id: kalin-in-doha
            name: Kalin in Doha
            query: '@ibrahim-kalim AND Doha'
    """)
    code, output = check(config)
    assert code == 1
    heads = [line for line in output.splitlines() if line.startswith("config/")]
    assert heads == [
        "config/feeds.yaml:4:15: feed 'wire': '15 minutes' is not a duration; write e.g. 30s, 15m, 2h, 1h30m or 7d",
        heads[1],
        "config/watchlists/intel.yaml:5:4: `aliases:` is indented 3 spaces; the keys of this actor are at 4",
        "config/watchlists/people.yaml:8:13: topic 'kalin-in-doha': unknown actor '@ibrahim-kalim'"
        " — did you mean '@ibrahim-kalin'?",
        "config/watchlists/talks.yaml:5:5: actor 'qatar': unknown key 'alias'",
        "config/watchlists/talks.yaml:9:13: topic 'hostage-talks': unbalanced '('",
    ]
    assert heads[1].startswith("config/subscribers.yaml:5:15: subscriber 'desk': ") and "7.30" in heads[1]
    assert "did you mean 'aliases'?" in output
    assert output.rstrip().endswith("6 problem(s) found.")


def test_what_depends_on_a_broken_file_is_not_reported_twice(tmp_path: Path) -> None:
    config = tmp_path / "config"
    write(config, "feeds.yaml", "feeds: []\n")
    write(config, "watchlists/intel.yaml", """
        name: Intelligence
        actors:
          - {id: ronen-bar, name: Ronen Bar
    """)
    write(config, "watchlists/talks.yaml", """
        name: Talks
        actors:
          - id: qatar
            name: Qatar
            kind: emirate
          - id: egypt
            name: Egypt
        topics:
          - id: bar-in-doha
            name: Bar in Doha
            query: '@intel/ronen-bar AND @qatar'
          - id: no-query
            name: A topic without its query
          - id: cairo-talks
            name: Cairo talks
            query: '@egypt AND talks'
          - id: bad-paren
            name: Found where it is, although an entry before it was left out
            query: talks)
        tests:
          - text: Ronen Bar in Doha
            matches: [bar-in-doha, qatar, no-query]
          - text: Talks in Cairo
            matches: [cairo-talks]
    """)
    code, output = check(config)
    heads = [line for line in output.splitlines() if line.startswith("config/")]
    assert code == 1
    assert len(heads) == 5, output
    assert heads[0] == "config/watchlists/intel.yaml:3:5: the mapping opened here is never closed"
    assert heads[1] == ("config/watchlists/talks.yaml:5:11: actor 'qatar': expected 'person', 'organization',"
                        " 'place' or 'other'")
    assert heads[2] == "config/watchlists/talks.yaml:12:5: topic 'no-query': missing required field 'query'"
    # The second test still runs (and fails: Egypt is not named); the first names only entries that
    # were changed, left out, or refer to an unloaded list, so it says nothing more.
    assert heads[3] == "config/watchlists/talks.yaml:19:17: topic 'bad-paren': unbalanced ')'"
    assert heads[4] == "config/watchlists/talks.yaml:23:5: test #2: expected to match the test text, but it does not"


def warned_config(tmp_path: Path) -> Path:
    config = tmp_path / "config"
    write(config, "monitor.yaml", f"database: sqlite:///{tmp_path / 'monitor.db'}\nallow_local_feeds: true\n")
    write(config, "feeds.yaml", "feeds: []\n")
    write(config, "watchlists/mena.yaml", """
        name: MENA
        actors:
          - id: erdogan
            name: Recep Tayyip Erdoğan
            aliases: ["Erdoğan*", "President Erdoğan"]
        topics:
          - id: truce
            name: Truce
            query: Hamas and Israel -ceasefire
        tests:
          - text: Hamas and Israel exchange fire
            matches: [truce]
    """)
    return config


def test_warnings_are_printed_but_do_not_fail_the_check(tmp_path: Path) -> None:
    code, output = check(warned_config(tmp_path))
    assert code == 0, output
    assert output.splitlines()[0] == "config/watchlists/mena.yaml:5:15: actor 'erdogan': warning: 'Erdoğan*': '*' is" \
                                     " not a wildcard in an alias"
    assert 'aliases are names matched as written (this one as "erdogan"); for a wildcard, make it a topic with' \
           " query: Erdoğan*" in output
    assert "config/watchlists/mena.yaml:9:18: topic 'truce': warning: 'and' is matched as a word" in output
    assert output.rstrip().splitlines()[-1].startswith("configuration OK with 2 warning(s): 0 feeds, 1 watchlists")


def test_warnings_next_to_problems(tmp_path: Path) -> None:
    config = warned_config(tmp_path)
    write(config, "feeds.yaml", "feeds: {}\n")
    code, output = check(config)
    assert code == 1
    assert output.rstrip().endswith("1 problem(s) and 2 warning(s) found.")


def test_match_and_backtest_print_warnings_and_the_equivalent(tmp_path: Path) -> None:
    config = warned_config(tmp_path)
    article = tmp_path / "article.txt"
    article.write_text("Hamas and Israel exchange fire near the border.\n", encoding="utf-8")
    runner = CliRunner()
    matched = runner.invoke(main, ["match", "--config", str(config), str(article)])
    assert "mena/truce" in matched.stdout
    assert "topic 'truce': warning: 'and' is matched as a word" in matched.stderr
    assert runner.invoke(main, ["db", "upgrade", "--config", str(config)]).exit_code == 0
    backtest = runner.invoke(main, ["backtest", "--config", str(config), "Hamas and Israel"])
    assert backtest.exit_code == 0, backtest.output
    assert backtest.stderr.splitlines()[-4:] == [
        "query warning at column 7: 'and' is matched as a word: the article must also contain \"and\"",
        "  Hamas and Israel",
        "        ^",
        "  hint: write AND (operators are capitals), or leave it out: words side by side must all match",
    ]
    refused = runner.invoke(main, ["backtest", "--config", str(config), "Hamas w/5 Israel"])
    assert refused.exit_code == 1
    assert refused.stderr.splitlines()[-4:] == [
        "query error at column 7: 'w/5' is proximity syntax of other tools",
        "  Hamas w/5 Israel",
        "        ^",
        "  hint: here write NEAR/5 (either order)",
    ]
