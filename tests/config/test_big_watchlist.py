"""A watchlist file far beyond the old 200,000-value cap loads, validates, compiles and matches (issue 12)."""

from __future__ import annotations

import random
from pathlib import Path

from click.testing import CliRunner

from monitor.cli import main
from monitor.usecases.check import check_configuration

ACTORS = 50_000  # 7 values each (mapping, id, name, kind, aliases and two of them): 350,000 values
TOPICS = 5_000


def write_config(directory: Path) -> None:
    """One generated watchlist (deterministic): actors with aliases, topics with boolean queries and @refs."""
    rng = random.Random(12)
    syllables = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]

    def word() -> str:
        return "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4)))

    lines = ["name: Big", "actors:"]
    for i in range(ACTORS):
        first, last = word().capitalize(), word().capitalize()
        lines += [f"  - id: a{i}", f"    name: {first} {last}", "    kind: person",
                  f"    aliases: [{last} {word().capitalize()}, '{first[0]}. {last}']"]
    lines.append("topics:")
    for i in range(TOPICS):
        query = f'({word()} OR "{word()} {word()}") AND NOT {word()}' if i % 2 else f"@a{i} NEAR/10 {word()}*"
        lines += [f"  - id: t{i}", f"    name: Topic {i}", f"    query: '{query}'"]
    lines += ["  - id: unique", "    name: Unique", "    query: '\"zyxwvut quarterly\"'"]
    (directory / "watchlists").mkdir(parents=True)
    (directory / "watchlists" / "big.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (directory / "feeds.yaml").write_text("feeds: []\n", encoding="utf-8")


def test_a_watchlist_of_350000_values_loads_compiles_and_matches(tmp_path: Path) -> None:
    config = tmp_path / "config"
    write_config(config)
    loaded, problems = check_configuration(config, {}, run_tests=False)
    assert problems == [] and loaded is not None
    big = loaded.config.watchlists["big"]
    assert (len(big.actors), len(big.topics)) == (ACTORS, TOPICS + 1)
    assert loaded.matcher is not None and loaded.matcher.entry_count == ACTORS + TOPICS + 1

    # `monitor match` takes the same path and matches with the matcher the check compiled.
    article = tmp_path / "article.txt"
    article.write_text(f"The zyxwvut quarterly report quotes {big.actors[123].name} at length.\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["match", "--config", str(config), "--json", str(article)])
    assert result.exit_code == 0, result.output
    assert '"id": "a123"' in result.output and '"id": "unique"' in result.output
