"""`monitor spikes`: list the spikes the rule would have raised over stored history (a backtest of the rule)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from monitor.clock import CommandContext, system_clock
from monitor.errors import MonitorError, NoDatabase


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)


@click.command("spikes")
@click.option("--config", "config_dir", type=click.Path(path_type=Path, file_okay=False),
              default=lambda: os.environ.get("MONITOR_CONFIG", "config"), show_default="./config",
              help="Configuration directory (env MONITOR_CONFIG; default ./config).")
@click.option("--days", type=click.IntRange(min=1, max=365), default=30, show_default=True,
              help="Replay the rule at the end of every hour of the last N days.")
@click.option("--min-stories", type=click.IntRange(min=1), default=None, help="Try another minimum count.")
@click.option("--p-value", type=click.FloatRange(min=0, max=1, min_open=True, max_open=True), default=None,
              help="Try another p-value threshold.")
@click.option("--window", type=click.Choice(["hour", "day", "both"]), default=None, help="Try other windows.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line, one per spike.")
@click.argument("entry", required=False, metavar="[LIST/ENTRY]")
def spikes(config_dir: Path, days: int, min_stories: int | None, p_value: float | None, window: str | None,
           as_json: bool, entry: str | None) -> None:
    """The volume spikes the rule would have raised over stored history (all entries, or one)."""
    from monitor.store.migrate import open_existing
    from monitor.usecases.check import check_configuration_with_warnings
    from monitor.usecases.spikes import spike_backtest

    result = check_configuration_with_warnings(config_dir, os.environ, run_tests=False)
    if result.problems or result.loaded is None:
        for problem in result.problems:
            click.echo(problem.format(), err=True)
        _fail(f"{len(result.problems)} problem(s) in {config_dir}; run `monitor check` after fixing them.")
        return
    config = result.loaded.config
    context = click.get_current_context().find_object(CommandContext)
    now = (context.clock if context is not None else system_clock)()
    overrides = {k: v for k, v in (("min_stories", min_stories), ("p_value", p_value), ("window", window)) if v}
    try:
        db = open_existing(config.settings.database)
        events = list(spike_backtest(config, db, days=days, now=now, entry=entry, overrides=overrides))
    except NoDatabase as exc:
        _fail(exc.advice(config_dir))
        return
    except MonitorError as exc:
        _fail(str(exc))
        return
    zone = ZoneInfo(config.settings.timezone)
    print_spikes(events, days=days, zone=zone, as_json=as_json, out=click.echo)


def print_spikes(events: list[Any], *, days: int, zone: ZoneInfo, as_json: bool, out: Callable[[str], None]) -> None:
    """One block (or JSON line) per spike, then a count."""
    for event in events:
        if as_json:
            out(json.dumps(_as_dict(event), ensure_ascii=False))
            continue
        out(f"{event.at.astimezone(zone):%Y-%m-%d %H:%M %Z}  {event.watchlist}/{event.entry_id} ({event.entry_name})"
            f"  {'spike' if event.reason == 'new' else 'spike grew'}, {event.articles} article(s)")
        for check in event.checks:
            out(f"  last {check.kind}: {check.observed} stories, usually {check.usual:.1f} "
                f"(p = {check.p_value:.2g}, since {check.start.astimezone(zone):%Y-%m-%d %H:%M})")
        for story in event.top:
            out(f"    {story.outlets} outlet(s)  {story.title}\n      {story.url}")
    if not as_json:
        out(f"{len(events)} spike(s) in the last {days} days ({zone.key})")


def _as_dict(event: Any) -> dict[str, Any]:
    return {
        "watchlist": event.watchlist, "entry": event.entry_id, "name": event.entry_name,
        "at": event.at.isoformat(), "reason": event.reason, "articles": event.articles,
        "windows": [{"window": c.kind, "start": c.start.isoformat(), "end": c.end.isoformat(), "stories": c.observed,
                     "usual": round(c.usual, 3), "rate": round(c.rate, 4), "p_value": c.p_value}
                    for c in event.checks],
        "top_stories": [{"title": s.title, "url": s.url, "outlets": s.outlets, "articles": s.articles,
                         "published_at": s.published_at.isoformat()} for s in event.top],
    }
