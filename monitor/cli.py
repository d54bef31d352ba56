"""The commands of DESIGN §4: thin wrappers that parse flags and call the stages."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from monitor import __version__
from monitor.clock import MAX_DAYS, Clock, CommandContext, system_clock
from monitor.commands.snooze import snooze as snooze_command
from monitor.commands.spikes import spikes as spikes_command
from monitor.commands.users import users as users_command
from monitor.errors import ConfigurationError, MonitorError, QuerySyntaxError

if TYPE_CHECKING:  # imported where used: `monitor --help` loads neither the configuration nor the matcher
    from monitor.config.models import Config
    from monitor.usecases.check import CheckedConfig

CONFIG_HELP = "Configuration directory (env MONITOR_CONFIG; default ./config)."


def _config_option(func: Any) -> Any:
    return click.option(
        "--config", "config_dir", type=click.Path(path_type=Path, file_okay=False),
        default=lambda: os.environ.get("MONITOR_CONFIG", "config"), show_default="./config", help=CONFIG_HELP,
    )(func)


def _fail(error: Exception) -> None:
    click.echo(str(error), err=True)
    sys.exit(1)


def _load(config_dir: Path, *, warn: bool = False) -> Config:
    """The valid configuration, or exit 1 listing its problems; `warn` also prints the query warnings."""
    return _load_checked(config_dir, warn=warn).config


def _load_checked(config_dir: Path, *, warn: bool = False) -> CheckedConfig:
    """The checked configuration, with its watchlists compiled (`.matcher`); or exit 1 listing every problem."""
    from monitor.usecases.check import check_configuration_with_warnings

    result = check_configuration_with_warnings(config_dir, os.environ, run_tests=False)
    problems, loaded = result.problems, result.loaded
    if problems or loaded is None:
        for problem in problems:
            click.echo(problem.format(), err=True)
        click.echo(f"{len(problems)} problem(s) in {config_dir}; run `monitor check` after fixing them.", err=True)
        sys.exit(1)
    if warn:
        for warning in result.warnings:
            click.echo(warning.format(), err=True)
    return loaded


def _clock() -> Clock:
    """The clock commands stamp times with: the one injected through click's `obj`, else the wall clock."""
    context = click.get_current_context().find_object(CommandContext)
    return context.clock if context is not None else system_clock


def _database(config: Any) -> Any:
    from monitor.store.db import Database
    from monitor.store.migrate import upgrade

    db = Database(config.settings.database)
    upgrade(db)
    return db


def _existing_database(config: Any, config_dir: Path) -> Any:
    """The configured database for a command that only reads: never creates one; says how when it is missing."""
    from monitor.errors import NoDatabase
    from monitor.store.migrate import open_existing

    try:
        return open_existing(config.settings.database)
    except NoDatabase as exc:
        _fail(MonitorError(exc.advice(config_dir)))
    except MonitorError as exc:
        _fail(exc)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="monitor")
def main() -> None:
    """monitor: media-monitoring alerts from news feeds, explained."""


@main.command()
@_config_option
@click.option("--once", is_flag=True, help="Poll every feed now, match, deliver what is due, then exit.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default=None,
              help="Log as text lines or JSON objects (default: log_format in monitor.yaml).")
@click.option("--workers", type=click.IntRange(min=1), default=lambda: int(os.environ.get("MONITOR_WORKERS", "1")),
              show_default="1, env MONITOR_WORKERS",
              help="Service processes to run (PostgreSQL only): use every core for parsing and matching.")
def run(config_dir: Path, once: bool, log_format: str | None, workers: int) -> None:
    """Run the service: scheduler, workers, hot reload; stops cleanly on SIGINT/SIGTERM."""
    from monitor.service.logs import configure_logging
    from monitor.service.loop import run_until_stopped
    from monitor.service.process import Service

    loaded = _load_checked(config_dir)
    config = loaded.config
    fmt = log_format or config.settings.log_format
    configure_logging(fmt)
    if once and workers > 1:
        _fail(MonitorError("--workers applies to the long-running service; `monitor run --once` is one process"))
    try:
        service = Service(config_dir, workers=workers, log_format=fmt, clock=_clock(), loaded=loaded)
        del loaded  # the service keeps what it needs; a reload must be able to free the rest
        if once:
            result = service.run_once()
            click.echo(
                f"polled {result.poll.feeds} feeds ({result.poll.errors} errors), "
                f"{result.poll.new_articles} new articles, {result.poll.matches} matches, "
                f"{result.delivery.sent} deliveries sent, {result.delivery.failed} failed",
                err=True,
            )
        else:
            run_until_stopped(service)
    except (MonitorError, ConfigurationError) as exc:
        _fail(exc)


@main.command()
@_config_option
def check(config_dir: Path) -> None:
    """Validate all configuration (and run watchlist tests); exit 0, or 1 with every problem."""
    from monitor.config.report import problem_order
    from monitor.usecases.check import check_configuration_with_warnings

    result = check_configuration_with_warnings(config_dir, os.environ, run_tests=True)
    problems, warnings = result.problems, result.warnings
    for problem in sorted(problems + warnings, key=problem_order):
        click.echo(problem.format())
    warned = f" and {len(warnings)} warning(s)" if warnings else ""
    if problems or result.loaded is None:
        click.echo(f"\n{len(problems)} problem(s){warned} found.")
        sys.exit(1)
    config = result.loaded.config
    entries = sum(len(w.actors) + len(w.topics) for w in config.watchlists.values())
    tests = sum(len(w.tests) for w in config.watchlists.values())
    click.echo(
        ("\n" if warnings else "")
        + f"configuration OK{warned.replace(' and', ' with')}: {len(config.feeds)} feeds, {len(config.watchlists)} "
        f"watchlists ({entries} entries, {tests} tests passed), {len(config.subscribers)} subscribers"
    )


@main.command("match")
@_config_option
@click.option("--watchlist", "watchlists", multiple=True, help="Only this watchlist (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line, one per article.")
@click.argument("sources", nargs=-1, required=True)
def match_command(config_dir: Path, watchlists: tuple[str, ...], as_json: bool, sources: tuple[str, ...]) -> None:
    """Match documents without storing them: feed files, HTML/text files, URLs, or - for stdin.

    Exit status as grep: 0 when an article matched, 1 when none did, 2 on an error.
    """
    from monitor.commands.match import run_match

    try:
        loaded = _load_checked(config_dir, warn=True)
    except SystemExit:
        sys.exit(2)  # the configuration's problems were printed
    try:
        result = run_match(loaded.config, sources, watchlists=watchlists or None, as_json=as_json, out=click.echo,
                           err=lambda line: click.echo(line, err=True), matcher=loaded.matcher)
    except MonitorError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    sys.exit(result.exit_code)


@main.command()
@_config_option
@click.option("--days", type=click.IntRange(min=1, max=MAX_DAYS), default=30, show_default=True,
              help="Articles published in the last N calendar days (monitor.yaml's timezone, today included).")
@click.option("--limit", type=int, default=50, show_default=True, help="Most hits to print.")
@click.argument("query")
def backtest(config_dir: Path, days: int, limit: int, query: str) -> None:
    """What a query (or a watchlist entry LIST/ENTRY) would have matched among the articles published lately."""
    from monitor.commands.backtest import describe_query_note, print_backtest

    config = _load(config_dir, warn=True)
    try:
        print_backtest(config, _existing_database(config, config_dir), query, days=days, limit=limit, now=_clock()(),
                       out=click.echo, warn=lambda text: click.echo(text, err=True))
    except QuerySyntaxError as exc:
        _fail(MonitorError(describe_query_note(query, "error", exc.message, exc.column, exc.hint)))
    except MonitorError as exc:
        _fail(exc)


@main.command("search-index")
@_config_option
@click.option("--rebuild", is_flag=True, help="Queue every stored article again first (after an upgrade that "
              "changes how text is indexed).")
def search_index(config_dir: Path, rebuild: bool) -> None:
    """Index the articles queued for archive search now (the running service does it every 30 s)."""
    from monitor.store.search import pending_count, queue_all
    from monitor.usecases.candidates import index_articles

    config = _load(config_dir)
    db = _database(config)
    try:
        if rebuild:
            click.echo(f"queued {queue_all(db)} article(s)")
        done = index_articles(db)
    except MonitorError as exc:
        _fail(exc)
        return
    click.echo(f"indexed {done} queued article(s); {pending_count(db)} left in the queue")


@main.command()
@_config_option
@click.option("--subscriber", "subscriber_ids", multiple=True, help="Only this subscriber (repeatable).")
@click.option("--preview", is_flag=True, help="Render without sending or marking anything.")
def digest(config_dir: Path, subscriber_ids: tuple[str, ...], preview: bool) -> None:
    """Build and send the pending digests now (or only render them with --preview)."""
    from monitor.commands.digest import run_digest

    config = _load(config_dir)
    try:
        run_digest(config, _database(config), subscriber_ids, preview=preview, clock=_clock(), out=click.echo)
    except MonitorError as exc:
        _fail(exc)


@main.group(invoke_without_command=True)
@_config_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per feed.")
@click.pass_context
def feeds(ctx: click.Context, config_dir: Path, as_json: bool) -> None:
    """The feeds' health: last poll, status, errors, next poll, items per day (or: import, export OPML)."""
    if ctx.invoked_subcommand is not None:
        return
    from monitor.commands.tables import print_feeds

    config = _load(config_dir)
    print_feeds(_existing_database(config, config_dir), as_json=as_json, now=_clock()(), out=click.echo)


@feeds.command("import")
@_config_option
@click.option("--dry-run", is_flag=True, help="Say what would be added without writing feeds.yaml.")
@click.argument("opml_file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
def feeds_import(config_dir: Path, dry_run: bool, opml_file: Path) -> None:
    """Add the feeds of an OPML file to feeds.yaml (comments kept), skipping those already there."""
    from monitor.commands.feeds_opml import run_import

    try:
        run_import(config_dir, os.environ, opml_file, dry_run=dry_run, out=click.echo)
    except MonitorError as exc:
        problems = getattr(exc, "problems", [])
        for problem in problems:
            click.echo(problem.format(), err=True)
        _fail(exc)


@feeds.command("export")
@_config_option
def feeds_export(config_dir: Path) -> None:
    """Print the configured feeds as OPML 2.0 (for a feed reader, or another monitor)."""
    from monitor.commands.feeds_opml import run_export

    run_export(_load(config_dir), now=_clock()(), out=click.echo)


@main.command()
@_config_option
@click.option("--failed", is_flag=True,
              help="Only deliveries that failed, or are failing and still retrying (last error, next attempt).")
@click.option("--retry", "retry_id", default=None, help="Re-queue this failed (or pending) delivery id now.")
@click.option("--resend", "resend_id", default=None, help="Send this sent delivery again, under a new id.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per delivery.")
def deliveries(config_dir: Path, failed: bool, retry_id: str | None, resend_id: str | None, as_json: bool) -> None:
    """The outbox: status, attempts, last error; re-queue or resend a delivery by hand."""
    from monitor.commands.tables import print_deliveries
    from monitor.store.outbox import Outbox

    config = _load(config_dir)
    db = _existing_database(config, config_dir)
    if retry_id and resend_id:
        _fail(MonitorError("give --retry or --resend, not both"))
    if retry_id:
        if not Outbox(db).requeue(retry_id, _clock()()):
            _fail(MonitorError(f"no failed or pending delivery with id {retry_id!r}; see `monitor deliveries`"))
        click.echo(f"re-queued {retry_id}; the running service (or `monitor run --once`) will send it")
        return
    if resend_id:
        from monitor.commands.tables import resend

        try:
            resend(db, resend_id, now=_clock()(), out=click.echo)
        except MonitorError as exc:
            _fail(exc)
        return
    print_deliveries(db, failed_only=failed, as_json=as_json, now=_clock()(), out=click.echo)


@main.command()
@_config_option
@click.option("--resubscribe", "resubscribe_id", default=None, metavar="ID",
              help="Undo this subscriber's unsubscribe: matches reach them again from now on.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per subscriber.")
def subscribers(config_dir: Path, resubscribe_id: str | None, as_json: bool) -> None:
    """Subscribers with their channel, schedule, watchlists, cap, mutes, snoozes and feed-health flag, and who unsubscribed."""
    from monitor.commands.subscribers import print_subscribers, resubscribe

    config = _load(config_dir)
    db = _existing_database(config, config_dir)
    if resubscribe_id:
        try:
            resubscribe(config, db, resubscribe_id, now=_clock()(), out=click.echo)
        except MonitorError as exc:
            _fail(exc)
        return
    print_subscribers(config, db, as_json=as_json, out=click.echo, now=_clock()())


@main.command("output-feeds")
@_config_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per feed.")
def output_feeds(config_dir: Path, as_json: bool) -> None:
    """The Atom and JSON Feed URLs of each watchlist and subscriber, for any feed reader."""
    from monitor.commands.output_feeds import print_output_feeds

    config = _load(config_dir)
    db = _existing_database(config, config_dir)
    print_output_feeds(config, db, as_json=as_json, out=click.echo)


@main.command()
@_config_option
@click.argument("feed_ids", nargs=-1, metavar="[FEED-ID]...")
def poll(config_dir: Path, feed_ids: tuple[str, ...]) -> None:
    """Poll feeds now (all, or the ones named): fetch, store, match and route, through the feed leases."""
    from monitor.commands.poll import run_poll

    config = _load(config_dir)
    try:
        code = run_poll(config, config_dir, feed_ids, clock=_clock(), out=click.echo)
    except MonitorError as exc:
        _fail(exc)
        return
    sys.exit(code)


@main.command()
@_config_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port to bind.")
def serve(config_dir: Path, host: str, port: int) -> None:
    """The web dashboard and JSON API (needs the `web` extra)."""
    try:
        from monitor.web.app import serve as serve_app
    except ImportError:
        _fail(MonitorError("the dashboard needs the web extra: pip install 'monitor[web]'"))
        return
    config = _load(config_dir)
    serve_app(config, config_dir, host=host, port=port)


main.add_command(spikes_command)
main.add_command(snooze_command)
main.add_command(users_command)


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@_config_option
def db_upgrade(config_dir: Path) -> None:
    """Apply the migrations (also run automatically at start)."""
    from monitor.store.db import Database
    from monitor.store.migrate import upgrade

    config = _load(config_dir)
    revision = upgrade(Database(config.settings.database))
    click.echo(f"database at revision {revision}")


def json_line(obj: Any) -> str:
    """Compact JSON for one output line."""
    return json.dumps(obj, ensure_ascii=False, default=str)
