"""The cost of one inbox page (issue 18): group the matched articles by story, order, page, read the page's details.

    python benchmarks/inbox_bench.py                              # 100k matches, 100k unmatched articles, SQLite
    python benchmarks/inbox_bench.py --matches 20000 --runs 3     # a quick run
    python benchmarks/inbox_bench.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/inbox   # empty db

The store is the spikes benchmark's (benchmarks/spikes_bench.py `generate`): matches of 100 entries over 14 days
on articles of which a third are copies of a story (clusters of 2-6), each seen in 1-4 of 10,000 feeds. Each
case is one `Inbox.stories` call for the first page of 50, as `/inbox` and `/api/inbox` make it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from spikes_bench import generate  # noqa: E402

from monitor.store.db import Database  # noqa: E402
from monitor.store.inbox import Inbox, InboxFilter  # noqa: E402

NOW = datetime(2026, 12, 15, 12, 0, tzinfo=UTC)


def main() -> None:
    """Generate a store, then time the inbox's first page under a few filters."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--matches", type=int, default=100_000)
    parser.add_argument("--unmatched", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--postgres", help="an empty PostgreSQL database URL (else a temporary SQLite file)")
    parser.add_argument("--db", type=Path, help="a SQLite file: generated when missing, else reused")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.postgres or f"sqlite:///{args.db or Path(tmp) / 'inbox.db'}"
        if not (args.db and args.db.exists()):
            t0 = time.perf_counter()
            generate(url, matches=args.matches, entries=100, days=14, unmatched=args.unmatched, now=NOW)
            print(f"generated {args.matches} matches + {args.unmatched} unmatched articles "
                  f"in {time.perf_counter() - t0:.0f} s")
        db = Database(url)
        inbox = Inbox(db)
        first, total = inbox.stories("ann", InboxFilter(), limit=1000)
        inbox.set_state("ann", [s.story_id for s in first], NOW, read=True)
        print(f"{total} stories in the inbox; 1000 marked read")
        cases = {
            "all, first page": InboxFilter(),
            "one watchlist": InboxFilter(watchlist="list3"),
            "one busy entry": InboxFilter(entry="list0/entry-0"),
            "one quiet entry": InboxFilter(entry="list9/entry-99"),
            "one outlet": InboxFilter(outlet="feed-42"),
            "last 2 days": InboxFilter(day_from=(NOW - timedelta(days=1)).date()),
            "unread only": InboxFilter(show="unread"),
        }
        for name, flt in cases.items():
            times = []
            for _ in range(args.runs):
                t = time.perf_counter()
                rows, n = inbox.stories("ann", flt, limit=50)
                times.append((time.perf_counter() - t) * 1000)
            print(f"{name:18} {n:7} stories  median {statistics.median(times):7.1f} ms  max {max(times):7.1f} ms")
        db.dispose()


if __name__ == "__main__":
    main()
