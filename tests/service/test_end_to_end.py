"""End to end: local HTTP feed server -> `monitor run --once` -> file outbox, on SQLite and PostgreSQL."""

from __future__ import annotations

import email
from email import policy
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import main
from tests.support.feedserver import Route, running_feed_server

FIXTURES = Path(__file__).parent / "fixtures"

WATCHLIST = """\
name: MENA security
actors:
  - id: ibrahim-kalin
    name: Ibrahim Kalin
    kind: person
    aliases: ["İbrahim Kalın", "Turkish intelligence chief"]
  - id: ronen-bar
    name: Ronen Bar
    kind: person
  - id: mit
    name: National Intelligence Organization (MIT)
    kind: organization
    aliases: ["MİT"]
    exact_case: ["MIT"]
    exclude: '"Massachusetts Institute of Technology" OR Cambridge'
"""


def write_config(directory: Path, database_url: str, feed_urls: list[str]) -> Path:
    """A configuration directory for the test, with its outbox under the directory."""
    config = directory / "config"
    (config / "watchlists").mkdir(parents=True)
    outbox = directory / "outbox"
    (config / "monitor.yaml").write_text(
        f"database: {database_url}\n"
        f"email:\n  transport: file\n  outbox_dir: {outbox}\n  from: 'Monitor <monitor@test.example>'\n"
        "fetch:\n  allow_private_networks: true\n  timeout: 10s\n",
        encoding="utf-8",
    )
    feeds = "\n".join(f"  - url: {url}\n    id: feed-{i}" for i, url in enumerate(feed_urls))
    (config / "feeds.yaml").write_text(f"defaults:\n  interval: 5m\nfeeds:\n{feeds}\n", encoding="utf-8")
    (config / "watchlists" / "mena-security.yaml").write_text(WATCHLIST, encoding="utf-8")
    (config / "subscribers.yaml").write_text(
        "subscribers:\n  - id: mena-desk\n    email: desk@test.example\n"
        "    watchlists: [mena-security]\n    schedule: immediate\n    timezone: Europe/Istanbul\n",
        encoding="utf-8",
    )
    return config


def emails(outbox: Path) -> list[email.message.EmailMessage]:
    """Every .eml in the outbox, parsed."""
    return [
        email.message_from_bytes(path.read_bytes(), policy=policy.default)  # type: ignore[misc]
        for path in sorted(outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
    ]


def test_run_once_delivers_matches_once(tmp_path: Path, database_url: str) -> None:
    with running_feed_server() as server:
        server.routes["/wire.xml"] = Route((FIXTURES / "wire.xml").read_bytes())
        server.routes["/observer.atom"] = Route(
            (FIXTURES / "observer.atom").read_bytes(), content_type="application/atom+xml"
        )
        config = write_config(tmp_path, database_url, [server.url("/wire.xml"), server.url("/observer.atom")])
        runner = CliRunner()

        first = runner.invoke(main, ["run", "--once", "--config", str(config)])
        assert first.exit_code == 0, first.output

        sent = emails(tmp_path / "outbox")
        assert len(sent) == 1, "one email per poll cycle for an immediate subscriber"
        message = sent[0]
        assert message["To"] == "desk@test.example"
        assert message["Message-ID"]
        assert message["List-Unsubscribe"]
        text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert "Turkish intelligence chief meets Shin Bet director" in text
        assert "Egypt to mediate as Qatar freezes role" in text
        assert "cocktail bar" not in text.lower(), "'bar' alone is not Ronen Bar"
        assert "battery" not in text, "MIT Cambridge is not Turkey's MİT"
        assert "<mark" in html and "İbrahim Kalın" in html
        assert list((tmp_path / "outbox").glob("*.html")), "the file transport writes the rendered HTML too"

        second = runner.invoke(main, ["run", "--once", "--config", str(config)])
        assert second.exit_code == 0, second.output
        assert len(emails(tmp_path / "outbox")) == 1, "a second cycle with unchanged feeds sends nothing"
        assert server.hits("/wire.xml") == [200, 304], "the re-poll is a conditional GET"

        feeds = runner.invoke(main, ["feeds", "--json", "--config", str(config)])
        assert feeds.exit_code == 0, feeds.output
        assert '"last_status": 304' in feeds.output

        deliveries = runner.invoke(main, ["deliveries", "--config", str(config)])
        assert deliveries.exit_code == 0 and "sent" in deliveries.output


def test_updated_entry_is_not_resent_but_new_entry_is(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'm.db'}"
    with running_feed_server() as server:
        body = (FIXTURES / "wire.xml").read_bytes()
        server.routes["/wire.xml"] = Route(body)
        config = write_config(tmp_path, database_url, [server.url("/wire.xml")])
        runner = CliRunner()
        assert runner.invoke(main, ["run", "--once", "--config", str(config)]).exit_code == 0
        updated = body.replace(b"to discuss the captives", b"for two hours to discuss the captives")
        added = updated.replace(
            b"<item>",
            b"<item><title>Ronen Bar briefs cabinet</title><guid>wire-1009</guid>"
            b"<link>https://wire.test/1009</link><description>Ronen Bar briefed ministers.</description></item><item>",
            1,
        )
        server.routes["/wire.xml"] = Route(added)
        result = runner.invoke(main, ["run", "--once", "--config", str(config)])
        assert result.exit_code == 0, result.output
        sent = emails(tmp_path / "outbox")
        assert len(sent) == 2
        second = sent[1].get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert "Ronen Bar briefs cabinet" in second
        assert "Turkish intelligence chief meets" not in second, "an updated article is not sent again"


@pytest.mark.parametrize("missing", ["feeds.yaml"])
def test_run_once_refuses_invalid_config(tmp_path: Path, missing: str) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'm.db'}", ["https://example.org/feed"])
    (config / missing).write_text("feeds:\n  - url: https://example.org/feed\n    interval: 15 minutes\n")
    result = CliRunner().invoke(main, ["run", "--once", "--config", str(config)])
    assert result.exit_code == 1
    assert "feeds.yaml:3" in result.output
