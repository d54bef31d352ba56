"""The cost of one inbox page (issues 18, 24): the first page of 50 and its total, counted exactly or up to a bound.

    python benchmarks/inbox_bench.py                              # 100k matches, 100k unmatched articles, SQLite
    python benchmarks/inbox_bench.py --matches 20000 --runs 3     # a quick run
    python benchmarks/inbox_bench.py --db /tmp/inbox.db           # generated when missing, else reused
    python benchmarks/inbox_bench.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/inbox   # generated when empty
    git show main:monitor/store/inbox.py > /tmp/inbox_base.py
    python benchmarks/inbox_bench.py --db /tmp/inbox.db --base /tmp/inbox_base.py   # "before" is that code's stories()

The store is the spikes benchmark's (benchmarks/spikes_bench.py `generate`): matches of 100 entries over 14 days
on articles of which a third are copies of a story (clusters of 2-6), each seen in 1-4 of 10,000 feeds. Each
case is one page of 50 as `/inbox` and `/api/inbox` make it, two ways, alternating in this one process: before,
the exact total (`count(DISTINCT story)` over every kept article) then `Inbox.stories`, or with `--base FILE` an
older monitor/store/inbox.py's own `Inbox.stories` (which counted that way); now, `Inbox.page`, whose total
stops at `COUNT_LIMIT` (or the page's end) and then reads "more than N".
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from spikes_bench import generate  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.exc import SQLAlchemyError  # noqa: E402

from monitor.store.db import Database  # noqa: E402
from monitor.store.inbox import COUNT_LIMIT, Inbox, InboxFilter  # noqa: E402

NOW = datetime(2026, 12, 15, 12, 0, tzinfo=UTC)


def _empty(db: Database) -> bool:
    """True when the store has no table or no article yet (so it is generated)."""
    with db.sessions() as session:
        try:
            return session.execute(text("SELECT 1 FROM articles LIMIT 1")).first() is None
        except SQLAlchemyError:
            return True


def _ms(times: list[float]) -> str:
    return f"{statistics.median(times):7.1f} ms ({min(times):6.1f}-{max(times):6.1f})"


def _base_pages(path: Path | None) -> Callable[[Database, InboxFilter, int], object]:
    """How 'before' reads a page: an older inbox module's `stories` (with its exact total), else the exact count
    and this code's `stories`."""
    if path is None:
        def exact(db: Database, flt: InboxFilter, offset: int) -> object:
            inbox = Inbox(db)
            return inbox.count("ann", flt), inbox.stories("ann", flt, limit=50, offset=offset)
        return exact
    spec = importlib.util.spec_from_file_location("inbox_base", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["inbox_base"] = module  # its dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return lambda db, flt, offset: module.Inbox(db).stories("ann", flt, limit=50, offset=offset)


def main() -> None:
    """Generate a store (or reuse one), then time an inbox page under a few filters, both ways, alternating."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--matches", type=int, default=100_000)
    parser.add_argument("--unmatched", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--postgres", help="a PostgreSQL database URL: generated when empty, else reused")
    parser.add_argument("--db", type=Path, help="a SQLite file: generated when missing, else reused")
    parser.add_argument("--base", type=Path, help="an older monitor/store/inbox.py to time as 'before'")
    args = parser.parse_args()
    before = _base_pages(args.base)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.postgres or f"sqlite:///{args.db or Path(tmp) / 'inbox.db'}"
        db = Database(url)
        if _empty(db):
            t0 = time.perf_counter()
            generate(url, matches=args.matches, entries=100, days=14, unmatched=args.unmatched, now=NOW)
            print(f"generated {args.matches} matches + {args.unmatched} unmatched articles "
                  f"in {time.perf_counter() - t0:.0f} s")
        inbox = Inbox(db)
        first = inbox.stories("ann", InboxFilter(), limit=1000)
        inbox.set_state("ann", [s.story_id for s in first], NOW, read=True)
        if db.engine.dialect.name == "postgresql":
            # Fresh statistics, as autovacuum's analyze soon gives: with none, the planner takes the 1,000 new
            # read marks for one row and compares every article with each (seconds, whichever total).
            with db.engine.begin() as conn:  # committed: statistics roll back with their transaction
                conn.execute(text("ANALYZE"))
        print(f"{inbox.count('ann', InboxFilter())} stories in the inbox; the newest 1000 marked read; "
              f"count limit {COUNT_LIMIT}")
        cases = {
            "all, first page": (InboxFilter(), 0),
            "all, page 40": (InboxFilter(), 1950),
            "one watchlist": (InboxFilter(watchlist="list3"), 0),
            "one busy entry": (InboxFilter(entry="list0/entry-0"), 0),
            "one quiet entry": (InboxFilter(entry="list9/entry-99"), 0),
            "one outlet": (InboxFilter(outlet="feed-42"), 0),
            "last 2 days": (InboxFilter(day_from=(NOW - timedelta(days=1)).date()), 0),
            "unread only": (InboxFilter(show="unread"), 0),
            "read only": (InboxFilter(show="read"), 0),
        }
        print(f"{'case':18} {'stories':>7} {'shown':>8}  {'before: exact total + page':>30}  {'now: bounded total + page':>30}")
        for name, (flt, offset) in cases.items():
            exact: list[float] = []
            bounded: list[float] = []
            for _ in range(args.runs):
                t = time.perf_counter()
                before(db, flt, offset)
                exact.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                page = inbox.page("ann", flt, limit=50, offset=offset)
                bounded.append((time.perf_counter() - t) * 1000)
            shown = f"{page.total:,}" + ("+" if page.total_capped else "")
            n = inbox.count("ann", flt)
            print(f"{name:18} {n:7} {shown:>8}  {_ms(exact):>30}  {_ms(bounded):>30}")
        db.dispose()


if __name__ == "__main__":
    main()
