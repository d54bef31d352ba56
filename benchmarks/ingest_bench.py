"""Ingest throughput: FeedPoller.poll_due over 1,000+ local feeds of 20 items, then again (all 304).

Run: .venv/bin/python benchmarks/ingest_bench.py [--feeds 1000] [--postgres URL] [--profile] [--changed-pass]

The feed server runs in a separate process. Each feed's items are generated news-like texts (about
120 words; one in ten names a watched actor or topic; one in twenty is wire copy repeated in
another feed, so clustering has work). The demo watchlists (config/watchlists/) are matched and
routed to an immediate and a digest subscriber. The first poll is all 200 (parse, store, cluster,
match, route); the second poll is all 304. CPU time is this process's plus its parse workers' (not
the server's); peak RSS is this process's. All feeds live on 127.0.0.1, so fetch.per_host is raised
to the concurrency. --parse-workers 0 parses in a thread (the serial path).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import multiprocessing
import os
import pstats
import random
import resource
import shutil
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.config.gc_pause import collect_less_often  # noqa: E402
from monitor.config.loader import load_config  # noqa: E402
from monitor.refresh.poll_report import PollSummary  # noqa: E402
from monitor.refresh.poller import FeedPoller  # noqa: E402
from monitor.refresh.runtime import Runtime  # noqa: E402
from monitor.refresh.writer import BatchWriter  # noqa: E402
from monitor.store.db import Database  # noqa: E402
from monitor.store.feeds import FeedRepository  # noqa: E402
from monitor.store.migrate import upgrade  # noqa: E402

WORDS = (
    "government officials said on tuesday the ministry would review plans after talks with regional "
    "partners over trade energy prices water infrastructure elections parliament court ruling police "
    "investigation company shares rose fell market analysts expected growth inflation central bank "
    "rate decision port shipping route container freight insurers weather storm flooding residents "
    "hospital school budget minister spokesman statement agency report weeks months year city "
    "province border crossing aid convoy delegation visit summit agreement signed extended"
).split()
WATCHED = [
    "Ibrahim Kalin met Shin Bet director Ronen Bar to discuss the captives held in Gaza.",
    "Qatar froze its mediation; Egypt will mediate a prisoner exchange and hostage deal talks.",
    "Brent crude rose as tankers avoided the Strait of Hormuz and the Red Sea after Houthi attacks.",
    "Benjamin Netanyahu met Mossad chief David Barnea and Herzi Halevi about hostages negotiations.",
]


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def _feed(i: int, edition: int = 0) -> bytes:
    """Feed i: 20 items; each later edition drops its first item and adds a new last one (the rest unchanged)."""
    rng = random.Random(i)
    items = []
    for j in range(20 + edition):
        if j == 0 and i % 20 in (0, 1):
            # Feeds 20k and 20k+1 both carry wire story k under their own URLs.
            title, body = f"Wire story {i // 20}", _text(random.Random(10**6 + i // 20), 120)
        else:
            title, body = f"Feed {i} story {j}: {_text(rng, 8)}", _text(rng, 120)
        if rng.random() < 0.1:
            body = f"{body} {rng.choice(WATCHED)}"
        items.append(
            f"<item><title>{title}</title><link>https://site{i}.example/{j}</link>"
            f"<guid>urn:feed:{i}:{j}</guid><pubDate>Wed, 20 Nov 2024 10:{j:02d}:00 GMT</pubDate>"
            f"<description>&lt;p&gt;{body}&lt;/p&gt;</description></item>"
        )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {i}</title><language>en</language>'
        f"{''.join(items[edition:])}</channel></rss>"
    ).encode()


def _config(directory: Path, database: str, port: int, feeds: int) -> Path:
    config = directory / "config"
    shutil.copytree(ROOT / "config" / "watchlists", config / "watchlists")
    (config / "monitor.yaml").write_text(
        f"database: {database}\nemail:\n  transport: file\n  outbox_dir: {directory / 'outbox'}\n"
        "fetch:\n  allow_private_networks: true\n  timeout: 60s\n  concurrency: 64\n  per_host: 64\n",
        encoding="utf-8",
    )
    lines = "".join(f"  - url: http://127.0.0.1:{port}/feed/{i}\n    id: feed-{i}\n" for i in range(feeds))
    (config / "feeds.yaml").write_text(f"defaults:\n  interval: 15m\nfeeds:\n{lines}", encoding="utf-8")
    (config / "subscribers.yaml").write_text(
        "subscribers:\n"
        "  - id: desk\n    email: desk@bench.example\n    watchlists: [mena-security]\n    schedule: immediate\n"
        "  - id: analyst\n    email: analyst@bench.example\n    watchlists: [energy-shipping]\n"
        "    schedule: daily 07:30\n",
        encoding="utf-8",
    )
    return config


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _worker_cpu(poller: FeedPoller) -> float:
    """CPU seconds of the poller's live parse processes (children of the forkserver, not of this process)."""
    pool = poller.parsing.running_pool
    total = 0.0
    for pid in list(getattr(pool, "_processes", None) or {}):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
    return total


def _poll(poller: FeedPoller, profile: bool) -> tuple[PollSummary, float, float, float]:
    cpu, wall, workers = _cpu(), time.perf_counter(), _worker_cpu(poller)
    profiler = cProfile.Profile() if profile else None
    if profiler:
        # The writer runs in threads (asyncio.to_thread): profile there, where the time goes.
        original = BatchWriter.write

        def process(self: BatchWriter, *args: Any) -> None:
            profiler.enable()
            try:
                original(self, *args)
            finally:
                profiler.disable()

        BatchWriter.write = process  # type: ignore[method-assign,assignment]
    try:
        summary = asyncio.run(poller.poll_due())
    finally:
        if profiler:
            BatchWriter.write = original  # type: ignore[method-assign]
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40).sort_stats("tottime").print_stats(25)
    worker_cpu = _worker_cpu(poller) - workers
    return summary, time.perf_counter() - wall, _cpu() - cpu, worker_cpu


def run(
    feeds: int, database: str | None, profile: bool, parse_workers: int | None = None, changed_pass: bool = False
) -> None:
    """Run both polls (and with `changed_pass` a third, every feed with one new item) and print the figures."""
    # Imported here, not at the top: peers.py and phases_bench.py import this module in the child whose CPU
    # they count as monitor's, and the farm's aiohttp.web server is not monitor's (it runs in another process).
    from feed_server import serve_feeds  # benchmarks/ is on sys.path when a script here runs

    queue: Any = multiprocessing.Queue()
    later = {i: _feed(i, 1) for i in range(feeds)} if changed_pass else None
    server = multiprocessing.Process(
        target=serve_feeds, args=(queue, {i: _feed(i) for i in range(feeds)}, later), daemon=True
    )
    server.start()
    port = queue.get(timeout=60)
    with tempfile.TemporaryDirectory() as tmp:
        url = database or f"sqlite:///{Path(tmp) / 'bench.db'}"
        config_dir = _config(Path(tmp), url, port, feeds)
        runtime = Runtime.build(load_config(config_dir, {}).config)
        db = Database(url)
        upgrade(db)
        repo = FeedRepository(db)
        from datetime import UTC, datetime

        repo.sync(runtime.config.feeds, datetime.now(UTC))
        collect_less_often()  # as Service.prepare does in `monitor run`
        poller = FeedPoller(db, lambda: runtime, owner="bench", parse_workers=parse_workers)
        print(f"backend={db.engine.dialect.name} feeds={feeds} items/feed=20 parse_workers={poller.parsing.workers}")
        labels = ["first poll (200: parse, store, cluster, match, route)", "second poll (304)"]
        if changed_pass:
            labels.append("third poll (200: 1 new item of 20 per feed)")
        for label in labels:
            if label.startswith("third"):
                urllib.request.urlopen(f"http://127.0.0.1:{port}/next-edition", timeout=60).read()
            repo.make_all_due(datetime.now(UTC))
            summary, wall, cpu, worker_cpu = _poll(poller, profile and label.startswith("first"))
            done = summary.ok + summary.not_modified
            print(
                f"{label}: {done / wall:,.0f} feeds/s, wall {wall:.2f} s, "
                f"CPU {cpu + worker_cpu:.2f} s (main {cpu:.2f} + parse workers {worker_cpu:.2f}), "
                f"{done / max(cpu + worker_cpu, 1e-9):,.0f} feeds/CPU-s, "
                f"ok={summary.ok} not_modified={summary.not_modified} errors={summary.errors} "
                f"new={summary.new_articles} matches={summary.matches} routed={summary.routed} "
                f"suppressed={summary.suppressed}"
            )
        poller.close()
        db.dispose()
    server.terminate()
    server.join()
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--postgres", metavar="URL", help="also run against this (empty) PostgreSQL database")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the first poll's writer")
    parser.add_argument("--parse-workers", type=int, default=None, help="parse processes (0: in a thread)")
    parser.add_argument("--no-sqlite", action="store_true", help="with --postgres, skip the SQLite run")
    parser.add_argument("--changed-pass", action="store_true",
                        help="a third poll where every feed has one new item of 20 (the steady state of a changed feed)")
    args = parser.parse_args()
    if not (args.no_sqlite and args.postgres):
        run(args.feeds, None, args.profile, args.parse_workers, args.changed_pass)
    if args.postgres:
        run(args.feeds, args.postgres, args.profile, args.parse_workers, args.changed_pass)


if __name__ == "__main__":
    main()
