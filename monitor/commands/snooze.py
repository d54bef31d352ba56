"""`monitor snooze`: hold back an entry or a story for a while, list what is snoozed, end snoozes.

A snoozed story does not come back when the snooze ends (its routes made meanwhile are dropped); a
snoozed entry's matches are skipped while it lasts and alerted again after.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from monitor.clock import CommandContext, system_clock
from monitor.errors import ConfigurationError, MonitorError, NoDatabase


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)


def known_entries(watchlists: dict[str, object]) -> set[str]:
    """Every entry as `watchlist/entry`, and every entry id alone."""
    keys: set[str] = set()
    for watchlist_id, watchlist in watchlists.items():
        for entry in (*getattr(watchlist, "actors", ()), *getattr(watchlist, "topics", ())):
            keys |= {entry.id, f"{watchlist_id}/{entry.id}"}
    return keys


@click.command("snooze")
@click.option("--config", "config_dir", type=click.Path(path_type=Path, file_okay=False),
              default=lambda: os.environ.get("MONITOR_CONFIG", "config"), show_default="./config",
              help="Configuration directory (env MONITOR_CONFIG; default ./config).")
@click.option("--story", "article_id", default=None, metavar="ARTICLE_ID",
              help="Snooze the story of this article (it and its near-duplicates) instead of an entry.")
@click.option("--for", "duration", default=None, metavar="DURATION", help="How long, e.g. 4h, 30m, 2d.")
@click.option("--subscriber", "subscriber_id", default=None, help="Only for this subscriber (default: everyone).")
@click.option("--list", "list_", is_flag=True, help="The snoozes in force.")
@click.option("--clear", is_flag=True, help="End every snooze.")
@click.option("--end", "end_ids", type=int, multiple=True, metavar="ID", help="End this snooze (repeatable).")
@click.argument("entry", required=False, metavar="[ENTRY | WATCHLIST/ENTRY]")
def snooze(config_dir: Path, article_id: str | None, duration: str | None, subscriber_id: str | None, list_: bool,
           clear: bool, end_ids: tuple[int, ...], entry: str | None) -> None:
    """Hold back an entry or a story for a while (`monitor snooze ENTRY --for 4h`, `--story ID`), or list/end snoozes."""
    from monitor.config import load_config
    from monitor.config.units import parse_duration
    from monitor.store.migrate import open_existing
    from monitor.store.snoozes import Snoozes

    context = click.get_current_context().find_object(CommandContext)
    now = (context.clock if context is not None else system_clock)()
    try:
        config = load_config(config_dir, os.environ).config
    except ConfigurationError as exc:
        _fail(f"{exc}\nrun `monitor check` after fixing it.")
        return
    try:
        snoozes = Snoozes(open_existing(config.settings.database))
        if list_ or clear or end_ids:
            if clear or end_ids:
                ended = snoozes.clear(None if clear else list(end_ids))
                click.echo(f"{ended} snooze(s) ended")
            for s in snoozes.active_list(now):
                what = f"story {s.article_id} ({s.target})" if s.kind == "story" else f"entry {s.target}"
                click.echo(f"{s.id}\t{what}\tuntil {s.until:%Y-%m-%d %H:%M}Z\t{s.subscriber_id or 'everyone'}")
            return
        if (entry is None) == (article_id is None):
            _fail("name an ENTRY (or WATCHLIST/ENTRY) or --story ARTICLE_ID, with --for DURATION; or --list / --clear")
            return
        if duration is None:
            _fail("say how long with --for, e.g. --for 4h")
            return
        try:
            until = now + parse_duration(duration)
        except ValueError as exc:
            _fail(f"--for: {exc}")
            return
        if subscriber_id is not None and subscriber_id not in {s.id for s in config.subscribers}:
            _fail(f"unknown subscriber {subscriber_id!r}; known: {', '.join(sorted(s.id for s in config.subscribers))}")
            return
        who = subscriber_id or "everyone"
        if entry is not None:
            if entry not in known_entries(dict(config.watchlists)):
                _fail(f"unknown entry {entry!r}: give an entry id or watchlist/entry from watchlists/")
                return
            made = snoozes.snooze_entry(entry, until, now, subscriber_id=subscriber_id)
            click.echo(f"snoozed entry {entry} for {who} until {until:%Y-%m-%d %H:%M}Z (snooze {made.id}): "
                       "its matches meanwhile are skipped")
            return
        assert article_id is not None
        try:
            made = snoozes.snooze_story(article_id, until, now, subscriber_id=subscriber_id)
        except LookupError:
            _fail(f"no article {article_id!r} in the database")
            return
        click.echo(f"snoozed the story of {article_id} for {who} until {until:%Y-%m-%d %H:%M}Z (snooze {made.id}): "
                   "it is not alerted again")
    except NoDatabase as exc:
        _fail(exc.advice(config_dir))
    except MonitorError as exc:
        _fail(str(exc))
