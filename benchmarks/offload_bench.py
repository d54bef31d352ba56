"""What moving matching into the parse processes moves (monitor/refresh/offload.py), in one process.

Run: .venv/bin/python benchmarks/offload_bench.py [--feeds 300] [--rounds 5]

Alternating, over ingest_bench.py's feeds and the demo watchlists (config/watchlists/): the writer
matching a feed's 20 articles (what the service process did before), unpickling the same matches
(what it does now), and the parse process's share (digests and matching, pickling the matches).
CPU ms per feed, min-max (median) over the rounds.
"""

from __future__ import annotations

import argparse
import pickle
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ingest_bench import _feed  # benchmarks/ is on sys.path when a script here runs

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.config.loader import load_config  # noqa: E402
from monitor.match.documents import document_for, feed_label  # noqa: E402
from monitor.model import ParsedFeed  # noqa: E402
from monitor.parse import parse_feed  # noqa: E402
from monitor.refresh.offload import Offload, match_new_articles, new_articles  # noqa: E402
from monitor.refresh.runtime import Runtime  # noqa: E402


def _runtime() -> Runtime:
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config"
        shutil.copytree(ROOT / "config" / "watchlists", config / "watchlists")
        (config / "monitor.yaml").write_text("database: sqlite:///bench.db\n", encoding="utf-8")
        (config / "feeds.yaml").write_text("feeds:\n  - url: http://127.0.0.1/feed/1\n    id: feed-1\n", encoding="utf-8")
        (config / "subscribers.yaml").write_text("subscribers: []\n", encoding="utf-8")
        return Runtime.build(load_config(config, {}).config)


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--feeds", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    matcher = _runtime().matcher
    feeds = [parse_feed(_feed(i), base_url=f"http://127.0.0.1/feed/{i}") for i in range(args.feeds)]
    offload = Offload.for_feed("feed-1", None, b"")

    def writer(feed: ParsedFeed) -> object:
        label = feed_label("feed-1", None, feed.title)
        return [matcher.match(document_for(a, label)) for a in feed.articles]

    def worker(feed: ParsedFeed) -> object:
        return match_new_articles(matcher, feed, offload, new_articles(feed, offload.known))

    made = [worker(f) for f in feeds]
    pickled = [pickle.dumps(m, protocol=pickle.HIGHEST_PROTOCOL) for m in made]
    steps: dict[str, Callable[[], object]] = {
        "service process before: the writer matches": lambda: [writer(f) for f in feeds],
        "service process after: unpickle the matches": lambda: [pickle.loads(b) for b in pickled],
        "parse process after: digests and matching": lambda: [worker(f) for f in feeds],
        "parse process after: pickle the matches": lambda: [pickle.dumps(m, protocol=pickle.HIGHEST_PROTOCOL)
                                                            for m in made],
    }
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(args.rounds):
        for name, step in steps.items():
            started = time.process_time()
            step()
            times[name].append((time.process_time() - started) / len(feeds) * 1e3)
    for name, ms in times.items():
        print(f"{name:46} {min(ms):.3f}-{max(ms):.3f} ms/feed (median {statistics.median(ms):.3f})")


if __name__ == "__main__":
    main()
