"""The cost of one spike update (issue 16): the hourly series of every entry plus the rule, on a big store.

    python benchmarks/spikes_bench.py                        # 500k matches over 14 days, 100 entries
    python benchmarks/spikes_bench.py --matches 50000 --runs 3    # a quick run
    python benchmarks/spikes_bench.py --db /tmp/spikes.db --keep   # reuse a generated store
    python benchmarks/spikes_bench.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/spikes   # empty db
    python benchmarks/spikes_bench.py --db /tmp/spikes.db --keep --ticks 72   # and the service's tick, 6 h of it, A/B

The store is generated directly in SQLite (no feeds are fetched): `--matches` matches of `--entries`
entries over `--days` days, on articles of which a third are copies of a story (clusters of 2-6),
each seen in 1-4 of 10,000 feeds, plus `--unmatched` articles that matched nothing (they share the
publication-time index the query reads). One update is what a tick would do: read the series of all
entries over the rule's look-back (15 days) and judge the last complete hour for each entry.

`--ticks N` then runs the service's own spike tick (`SpikeTicker.tick`, every entry with spikes on, one
subscriber) N times, 5 simulated minutes apart, as `monitor run` does: the CPU seconds it costs (this
process, plus the PostgreSQL backend's own from /proc when the server is local), per tick and per hour,
against the CPU of an hour of polling 10,000 feeds (`--poll-cpu-per-hour`, from the soak). It alternates
`--rounds` times between the tick as it was before (the whole look-back re-read every hour, the recent
hours hash-joined on PostgreSQL) and as it is now, in one process.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.config.models import ActorConfig, Config, SubscriberConfig, WatchlistConfig  # noqa: E402
from monitor.spikes import LOOKBACK, SpikeRule, check_hour, floor_hour, step  # noqa: E402
from monitor.spikes.state import SpikeState  # noqa: E402
from monitor.store import volume as volume_store  # noqa: E402
from monitor.store.db import Database  # noqa: E402
from monitor.store.migrate import upgrade  # noqa: E402
from monitor.store.volume import history_start, hourly_volume  # noqa: E402
from monitor.usecases import spikes as spikes_usecase  # noqa: E402
from monitor.usecases.spikes import SpikeTicker  # noqa: E402

_FMT = "%Y-%m-%d %H:%M:%S.%f"


def generate(url: str, *, matches: int, entries: int, days: int, unmatched: int, now: datetime) -> None:
    """Fill a migrated database (SQLite, or PostgreSQL through COPY) with articles, sightings and matches."""
    rng = random.Random(16)
    db = Database(url)
    upgrade(db)
    db.dispose()
    flush: Callable[[list[tuple], list[tuple], list[tuple]], None]
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=OFF")
        flush = lambda a, s, m: _flush(conn, a, s, m)  # noqa: E731
    else:
        import psycopg

        pg = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
        pg.execute("SET TIME ZONE 'UTC'")
        flush = lambda a, s, m: _copy(pg, a, s, m)  # noqa: E731
    start = now - timedelta(days=days)
    span = (now - start).total_seconds()
    keys = [(f"list{e % 10}", f"entry-{e}") for e in range(entries)]
    weights = [1 / (i + 1) for i in range(entries)]  # a few busy entries, many quiet ones
    articles, sightings, rows = [], [], []
    made = 0
    n = 0
    while made < matches or n < matches + unmatched:
        n += 1
        aid = f"a{n:09d}"
        moment = start + timedelta(seconds=rng.random() * span)
        matched = made < matches
        cluster = None
        copies = 1
        if matched and rng.random() < 0.33:
            cluster, copies = aid, rng.randint(2, 6)
        picked = rng.choices(range(entries), weights, k=rng.choice((1, 1, 1, 2))) if matched else []
        for c in range(copies):
            cid = aid if c == 0 else f"{aid}-{c}"
            when = (moment + timedelta(minutes=rng.randint(0, 180) if c else 0)).strftime(_FMT)
            articles.append((cid, "https://example.org/" + cid, "Title " + cid, when, when, when, "h", cluster))
            for feed in rng.sample(range(10_000), rng.randint(1, 4)):
                sightings.append((cid, f"feed-{feed}", when, when))
            for e in set(picked):
                rows.append((cid, keys[e][0], "actor", keys[e][1], keys[e][1], "[]", "", "h", when, 0))
                made += 1
        if len(articles) > 20_000:
            flush(articles, sightings, rows)
    flush(articles, sightings, rows)
    if url.startswith("sqlite"):
        conn.execute("ANALYZE")
        conn.close()
    else:
        pg.execute("COMMIT")
        pg.autocommit = True
        pg.execute("VACUUM ANALYZE")
        pg.close()


def _copy(pg: Any, articles: list[tuple], sightings: list[tuple], rows: list[tuple]) -> None:
    for table, columns, data in (
        ("articles", "id, url, title, summary_html, content_html, summary_text, content_text, author, published_at,"
                     " first_seen_at, updated_at, content_hash, cluster_id", [(*a[:3], "", "", "", "", "", *a[3:])
                                                                             for a in articles]),
        ("sightings", "article_id, feed_id, first_seen_at, last_seen_at", sightings),
        ("matches", "article_id, watchlist, entry_kind, entry_id, entry_name, highlights, snippet, content_hash,"
                    " created_at, more_highlights", rows),
    ):
        with pg.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in data:
                copy.write_row(row)
    pg.commit()
    articles.clear()
    sightings.clear()
    rows.clear()


def _flush(conn: sqlite3.Connection, articles: list[tuple], sightings: list[tuple], rows: list[tuple]) -> None:
    conn.executemany(
        "INSERT INTO articles (id, url, title, summary_html, content_html, summary_text, content_text, author,"
        " published_at, first_seen_at, updated_at, content_hash, cluster_id)"
        " VALUES (?, ?, ?, '', '', '', '', '', ?, ?, ?, ?, ?)", articles)
    conn.executemany("INSERT INTO sightings (article_id, feed_id, first_seen_at, last_seen_at) VALUES (?, ?, ?, ?)",
                     sightings)
    conn.executemany(
        "INSERT INTO matches (article_id, watchlist, entry_kind, entry_id, entry_name, highlights, snippet,"
        " content_hash, created_at, more_highlights) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    conn.commit()
    articles.clear()
    sightings.clear()
    rows.clear()


def recent(db: Database, now: datetime) -> float:
    """Seconds to read only the last two hours of every entry's series (what a tick reading deltas would)."""
    t0 = time.perf_counter()
    hourly_volume(db, floor_hour(now) - timedelta(hours=2), now)
    return time.perf_counter() - t0


def update(db: Database, now: datetime, rule: SpikeRule) -> tuple[float, float, int]:
    """One spike update: (query seconds, rule seconds, spikes found)."""
    hour = floor_hour(now) - timedelta(hours=1)
    t0 = time.perf_counter()
    first = history_start(db)
    series = hourly_volume(db, hour + timedelta(hours=1) - LOOKBACK, hour + timedelta(hours=1))
    t1 = time.perf_counter()
    spikes = 0
    for volume in series.values():
        decision = step(SpikeState(), check_hour(rule, volume.stories, hour, first), growth=rule.growth)
        spikes += decision.alert
    return t1 - t0, time.perf_counter() - t1, spikes


def spike_config(entries: int) -> Config:
    """The generated store's entries (`entry-N` in watchlists `list0`-`list9`), spikes on, one subscriber."""
    watchlists = {}
    for w in range(10):
        actors = [ActorConfig(id=f"entry-{e}", name=f"Entry {e}") for e in range(entries) if e % 10 == w]
        watchlists[f"list{w}"] = WatchlistConfig.model_validate(
            {"id": f"list{w}", "name": f"List {w}", "actors": actors, "spikes": True})
    desk = SubscriberConfig.model_validate({"id": "desk", "email": "desk@example.org", "spikes": True,
                                             "watchlists": list(watchlists)})
    return Config(directory=Path(tempfile.gettempdir()), watchlists=watchlists, subscribers=(desk,))


def _backend_cpu(db: Database) -> Callable[[], float]:
    """CPU seconds used so far by this process's PostgreSQL backend (0 for SQLite or a remote server)."""
    if not db.url.startswith("postgresql"):
        return lambda: 0.0
    with db.sessions() as session:
        pid = session.scalar(text("SELECT pg_backend_pid()"))
    stat = Path(f"/proc/{pid}/stat")
    if not stat.exists():
        return lambda: 0.0
    ticks = os.sysconf("SC_CLK_TCK")

    def read() -> float:
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime

    return read


def ticker(db: Database, now: datetime, entries: int, ticks: int) -> list[tuple[float, float, bool]]:
    """The service's spike tick `ticks` times, 5 minutes apart: (own CPU s, server CPU s, full read) per tick."""
    config = spike_config(entries)
    spike_ticker = SpikeTicker(db)
    server = _backend_cpu(db)  # the pool keeps one connection: the same backend for every tick
    out = []
    # The ticks end at `now`, where the generated history ends: every tick reads as many recent matches as
    # a live one would (ticks after `now` would read empty hours).
    first_tick = floor_hour(now) - timedelta(minutes=5 * ticks)
    for i in range(ticks):
        moment = first_tick + timedelta(minutes=2 + 5 * i)
        read_at = spike_ticker._read_at
        full = read_at is None or moment - read_at >= spikes_usecase.FULL_READ_EVERY
        c0, s0 = time.process_time(), server()
        spike_ticker.tick(config, moment)
        out.append((time.process_time() - c0, server() - s0, full))
    return out


def report(label: str, measured: list[tuple[float, float, bool]], poll_cpu_per_hour: float) -> None:
    """Print a tick series' CPU: the full reads, the incremental ticks, and per hour against polling."""
    full = [c + s for c, s, f in measured if f]
    incremental = [c + s for c, s, f in measured if not f] or [0.0]
    per_hour = sum(c + s for c, s, _ in measured) * 12 / len(measured)
    server = sum(s for _, s, _ in measured)
    print(f"{label}: {len(measured)} ticks 5 min apart: full read median {statistics.median(full) * 1000:.0f} ms CPU"
          f" (x{len(full)}), incremental median {statistics.median(incremental) * 1000:.0f} ms CPU (min"
          f" {min(incremental) * 1000:.0f}, max {max(incremental) * 1000:.0f}), the server's share {server:.2f} s;"
          f" per hour {per_hour:.2f} CPU s = {100 * per_hour / poll_cpu_per_hour:.1f} % of"
          f" {poll_cpu_per_hour:.0f} CPU s of polling")


def ab_ticks(db: Database, now: datetime, entries: int, ticks: int, rounds: int, poll_cpu_per_hour: float) -> None:
    """The tick as before (full read hourly, hash joins for the recent hours) and as now, alternating in one process."""
    ways = {
        "before": (timedelta(hours=1), timedelta(0)),
        "now": (spikes_usecase.FULL_READ_EVERY, volume_store.SHORT_WINDOW),
    }
    for round_ in range(rounds):
        for label, (full_every, short_window) in ways.items():
            spikes_usecase.FULL_READ_EVERY, volume_store.SHORT_WINDOW = full_every, short_window
            report(f"round {round_ + 1} {label}", ticker(db, now, entries, ticks), poll_cpu_per_hour)
    spikes_usecase.FULL_READ_EVERY, volume_store.SHORT_WINDOW = ways["now"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--matches", type=int, default=500_000)
    parser.add_argument("--entries", type=int, default=100)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--unmatched", type=int, default=500_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--db", type=Path, default=None, help="SQLite file (generated when missing)")
    parser.add_argument("--keep", action="store_true", help="keep the generated file")
    parser.add_argument("--ticks", type=int, default=0, help="then run the service's spike tick N times")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds of the tick, before and now")
    parser.add_argument("--poll-cpu-per-hour", type=float, default=128.0,
                        help="CPU s of an hour of polling 10k feeds (the soak's figure, benchmarks/README.md)")
    parser.add_argument("--postgres", default=None, metavar="URL",
                        help="an empty PostgreSQL database to fill and measure instead of SQLite (fills it once)")
    args = parser.parse_args()
    now = datetime(2026, 12, 15, 12, 30, tzinfo=UTC)
    path = args.db or Path(tempfile.mkdtemp()) / "spikes.db"
    url = args.postgres or f"sqlite:///{path}"
    if args.postgres and "?" not in url:
        # Parallel query workers are processes of their own, which the backend's CPU figure would miss: keep
        # the whole query in the one backend, so what it costs is counted.
        url += "?options=-c%20max_parallel_workers_per_gather%3D0"
    db = Database(url)
    upgrade(db)
    with db.sessions() as session:
        filled = session.scalar(text("SELECT count(*) FROM matches"))
    if not filled:
        t0 = time.perf_counter()
        generate(url, matches=args.matches, entries=args.entries, days=args.days, unmatched=args.unmatched, now=now)
        print(f"generated {url} in {time.perf_counter() - t0:.0f} s")
    with db.sessions() as session:
        counts = [session.scalar(text(f"SELECT count(*) FROM {t}")) for t in ("articles", "matches", "sightings")]
    print(f"articles {counts[0]:,}, matches {counts[1]:,}, sightings {counts[2]:,}, entries {args.entries}")
    rule = SpikeRule()
    results = [update(db, now, rule) for _ in range(args.runs + 1)][1:]  # the first run warms the page cache
    queries = [q for q, _, _ in results]
    rules = [r for _, r, _ in results]
    print(f"one update: series query median {statistics.median(queries) * 1000:.0f} ms "
          f"(min {min(queries) * 1000:.0f}, max {max(queries) * 1000:.0f}), "
          f"rule for every entry median {statistics.median(rules) * 1000:.1f} ms, spikes {results[0][2]}")
    deltas = [recent(db, now) for _ in range(args.runs)]
    print(f"the last two hours only: median {statistics.median(deltas) * 1000:.1f} ms")
    if args.ticks:
        ab_ticks(db, now, args.entries, args.ticks, args.rounds, args.poll_cpu_per_hour)
    db.dispose()
    if args.db is None and args.postgres is None and not args.keep:
        for suffix in ("", "-wal", "-shm"):
            if Path(f"{path}{suffix}").exists():
                os.remove(f"{path}{suffix}")


if __name__ == "__main__":
    main()
