"""Fetch throughput: 1,000 local feeds of 20 items, fetched 200 and then answered 304.

Run: PYTHONPATH=. .venv/bin/python benchmarks/fetch_bench.py [--feeds 1000] [--concurrency 64] [--rounds 3]

The server runs in a separate process so it does not share the client's
event loop or GIL. All feeds live on one host (127.0.0.1), so per_host is set
to the concurrency: this measures the fetcher, not the politeness limit.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import time

from feed_server import serve_feeds  # benchmarks/ is on sys.path when a script here runs

from monitor.config.models import FetchSettings
from monitor.fetch import Fetcher


def _feed(i: int) -> bytes:
    items = "".join(
        f"<item><title>Feed {i} story {j}</title><link>http://example.org/{i}/{j}</link>"
        f"<guid>urn:feed:{i}:{j}</guid><pubDate>Wed, 01 May 2024 10:{j:02d}:00 GMT</pubDate>"
        f"<description>{'Lorem ipsum dolor sit amet. ' * 20}</description></item>"
        for j in range(20)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {i}</title>{items}</channel></rss>'
    ).encode()


async def _round(urls: list[str], settings: FetchSettings, etags: dict[str, str]) -> tuple[float, float, int]:
    async with Fetcher(settings) as fetcher:
        t0 = time.perf_counter()
        results = await asyncio.gather(*(fetcher.fetch(u) for u in urls))
        t1 = time.perf_counter()
        for r in results:
            assert r.status == 200 and r.body is not None
            etags[r.requested_url] = r.etag or ""
        t2 = time.perf_counter()
        again = await asyncio.gather(*(fetcher.fetch(u, etag=etags[u]) for u in urls))
        t3 = time.perf_counter()
        assert all(r.not_modified for r in again)
    size = sum(len(r.body or b"") for r in results)
    return len(urls) / (t1 - t0), len(urls) / (t3 - t2), size


def main() -> None:
    """Run the benchmark and print feeds/s for 200 and 304 answers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    ctx = multiprocessing.get_context("spawn")
    port_q = ctx.Queue()
    bodies = {i: _feed(i) for i in range(args.feeds)}
    server = ctx.Process(target=serve_feeds, args=(port_q, bodies), daemon=True)
    server.start()
    try:
        port = port_q.get(timeout=30)
        urls = [f"http://127.0.0.1:{port}/feed/{i}" for i in range(args.feeds)]
        settings = FetchSettings(
            concurrency=args.concurrency, per_host=args.concurrency, allow_private_networks=True, timeout="30s"
        )
        ok, not_modified = [], []
        for n in range(args.rounds):
            rate_200, rate_304, size = asyncio.run(_round(urls, settings, {}))
            ok.append(rate_200)
            not_modified.append(rate_304)
            print(f"round {n + 1}: 200: {rate_200:7.0f} feeds/s   304: {rate_304:7.0f} feeds/s   "
                  f"({size / len(urls) / 1024:.1f} KiB/feed)")
        print(f"median of {args.rounds}: 200: {statistics.median(ok):.0f} feeds/s, "
              f"304: {statistics.median(not_modified):.0f} feeds/s "
              f"({args.feeds} feeds, concurrency {args.concurrency})")
    finally:
        server.terminate()
        server.join(5)


if __name__ == "__main__":
    main()
