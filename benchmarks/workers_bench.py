"""Parse+match throughput: one thread, N threads, N processes (does `monitor run --workers N` pay?).

    .venv/bin/python benchmarks/workers_bench.py [--feeds 400] [--workers 2] [--no-fastpath]

Each task parses one 20-item RSS feed with `parse_feed` and matches every article against the
demo watchlists (config/), which is what a poll tick does per changed feed besides SQL.
"""

from __future__ import annotations

import argparse
import statistics
import time
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_RUNTIME = None


def make_feed(n: int) -> bytes:
    """A 20-item RSS feed whose items differ per feed (so nothing is cached)."""
    items = "".join(
        f"<item><title>Story {n}-{i}: Turkish intelligence chief Ibrahim Kalin meets Shin Bet head</title>"
        f"<guid>s-{n}-{i}</guid><link>https://bench.example/{n}/{i}</link>"
        f"<description><![CDATA[<p>{'Talks on the hostages and a prisoner exchange continued in Cairo. ' * 20}"
        f"Item {n} {i}: Qatar froze its mediation; Egypt to mediate.</p>]]></description></item>"
        for i in range(20)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Bench {n}</title>{items}</channel></rss>'.encode()


def _runtime():  # type: ignore[no-untyped-def]
    global _RUNTIME
    if _RUNTIME is None:
        from monitor.config import load_config
        from monitor.refresh.runtime import Runtime

        _RUNTIME = Runtime.build(load_config(ROOT / "config", {}).config)
    return _RUNTIME


def parse_and_match(body: bytes) -> int:
    """What a poll tick does per changed feed, minus SQL: parse, then match every article."""
    from monitor.model import Document
    from monitor.parse import parse_feed

    runtime = _runtime()
    parsed = parse_feed(body, base_url="https://bench.example/feed")
    found = 0
    for a in parsed.articles:
        doc = Document(title=a.title, body=a.body_text, author=a.author, url=a.url, source="bench",
                       language=a.language, tags=frozenset())
        found += len(runtime.matcher.match(doc))
    return found


def timed(label: str, executor: Executor | None, bodies: list[bytes]) -> float:
    """Feeds per second through the executor (or serially)."""
    start = time.perf_counter()
    if executor is None:
        for body in bodies:
            parse_and_match(body)
    else:
        list(executor.map(parse_and_match, bodies, chunksize=8))
    rate = len(bodies) / (time.perf_counter() - start)
    print(f"{label:<22} {rate:8.1f} feeds/s")
    return rate


def compare_parse(bodies: list[bytes], passes: int = 5) -> None:
    """Median parse_feed ms per feed, ElementTree fast path vs feedparser only, alternating passes."""
    from monitor.parse import parse_feed
    from monitor.parse.formats import syndication as feed_module

    saved = feed_module.USE_FASTPATH
    times: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(passes):
        for fast in (False, True):  # alternate in one process: the machine is noisy
            feed_module.USE_FASTPATH = fast
            start = time.perf_counter()
            for body in bodies:
                parse_feed(body, base_url="https://bench.example/feed")
            times[fast].append((time.perf_counter() - start) * 1000 / len(bodies))
    feed_module.USE_FASTPATH = saved
    for fast, label in ((False, "parse_feed, feedparser"), (True, "parse_feed, fast path")):
        print(f"{label:<22} {statistics.median(times[fast]):8.2f} ms/feed (median of {passes} passes)")


def main() -> None:
    """Run the three variants and print feeds/s."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--feeds", type=int, default=400)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-fastpath", action="store_true", help="parse with feedparser only")
    args = parser.parse_args()
    bodies = [make_feed(n) for n in range(args.feeds)]
    from monitor.parse.formats import syndication as feed_module

    compare_parse(bodies[: min(len(bodies), 100)])
    # Set before the pools start: forked workers inherit the switch.
    feed_module.USE_FASTPATH = not args.no_fastpath
    _runtime()
    parse_and_match(bodies[0])  # warm-up: imports, compiled patterns
    timed("serial (1 thread)", None, bodies)
    with ThreadPoolExecutor(args.workers) as pool:
        list(pool.map(parse_and_match, bodies[:4]))
        timed(f"{args.workers} threads", pool, bodies)
    with ProcessPoolExecutor(args.workers) as pool:
        list(pool.map(parse_and_match, bodies[: 4 * args.workers]))  # warm-up: compile in each worker
        timed(f"{args.workers} processes", pool, bodies)


if __name__ == "__main__":
    main()
