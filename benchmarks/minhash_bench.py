"""Fingerprint cost per article: the pure-Python reference against the numpy and C code, alternating in one process.

Run: .venv/bin/python benchmarks/minhash_bench.py [--rounds 5] [--feeds 200] [--agree]

Texts are the ingest benchmark's feeds (20 items of about 120 words, benchmarks/ingest_bench.py). Each
round times, over the same feeds: the reference `fingerprint` per article (tests/dedupe/reference_minhash.py,
the code before issue 21), the numpy `fingerprint` per article, the numpy `fingerprints` per feed, and the
C extension's `fingerprints` per feed (monitor/dedupe/_minhash.c: what the parse workers call where it is
built). --agree also compares every article of feedparser's corpus and of 1,000 ingest benchmark feeds
(reference against numpy and C, per article and batched) and prints the counts.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest_bench import _feed  # noqa: E402  (benchmarks/ is on sys.path when a script here runs)
from workers_bench import make_feed  # noqa: E402

from monitor.dedupe import minhash  # noqa: E402
from monitor.errors import ParseError  # noqa: E402
from monitor.parse import parse_feed  # noqa: E402
from tests.dedupe import reference_minhash as reference  # noqa: E402
from tests.dedupe.implementations import NATIVE, implementation  # noqa: E402
from tests.support.corpora import FEEDPARSER_TESTS  # noqa: E402


def _with(native: ModuleType | None, run: Callable[[], object]) -> Callable[[], object]:
    def wrapped() -> object:
        with implementation(native):
            return run()

    return wrapped


def _texts(body: bytes) -> list[str] | None:
    try:
        feed = parse_feed(body, base_url="http://example.org/")
    except ParseError:
        return None
    return [minhash.cluster_text(a.title, a.summary_text, a.content_text) for a in feed.articles]


def _timed(run: Callable[[], object]) -> float:
    start = time.process_time()
    run()
    return time.process_time() - start


def bench(rounds: int, feeds: int) -> None:
    """Alternate the ways over the same feeds; print µs per article for each round and the median."""
    batches = [t for t in (_texts(_feed(i)) for i in range(feeds)) if t]
    texts = [text for batch in batches for text in batch]
    ways: dict[str, Callable[[], object]] = {
        "reference fingerprint per article": lambda: [reference.fingerprint(t) for t in texts],
        "numpy fingerprint per article": _with(None, lambda: [minhash.fingerprint(t) for t in texts]),
        "numpy fingerprints per feed": _with(None, lambda: [minhash.fingerprints(b) for b in batches]),
    }
    if NATIVE is not None:
        ways["C fingerprints per feed"] = _with(NATIVE, lambda: [minhash.fingerprints(b) for b in batches])
    print(f"{len(texts)} articles in {len(batches)} feeds, {rounds} rounds, CPU µs per article")
    results: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(rounds):
        for name, run in ways.items():
            results[name].append(_timed(run) / len(texts) * 1e6)
    base = statistics.median(results["reference fingerprint per article"])
    for name, values in results.items():
        median = statistics.median(values)
        print(f"  {name:36} median {median:6.1f}  range {min(values):6.1f}-{max(values):6.1f}  ×{base / median:.2f}")


def agree() -> None:
    """Old against new on every article of the corpus and of 1,000 benchmark feeds: print the counts."""
    bodies = [p.read_bytes() for p in sorted(FEEDPARSER_TESTS.rglob("*.xml"))]
    sources = {"feedparser corpus": bodies, "ingest_bench feeds": [_feed(i) for i in range(1000)],
               "workers_bench feeds": [make_feed(i) for i in range(100)]}
    for name, feed_bodies in sources.items():
        for native in [None, NATIVE] if NATIVE is not None else [None]:
            compared = clustered = different = 0
            with implementation(native):
                for body in feed_bodies:
                    texts = _texts(body)
                    if not texts:
                        continue
                    for text, fp in zip(texts, minhash.fingerprints(texts), strict=True):
                        old = reference.fingerprint(text)
                        want = (old.shingles, old.keys, old.minhash)
                        one = minhash.fingerprint(text)
                        different += ((fp.shingles, fp.keys, fp.minhash) != want
                                      or (one.shingles, one.keys, one.minhash) != want)
                        compared += 1
                        clustered += bool(old.keys)
            print(f"{name}, {'C' if native else 'numpy'}: {len(feed_bodies)} documents, {compared} articles compared "
                  f"({clustered} long enough to cluster), {different} differences")


def main() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--agree", action="store_true")
    args = parser.parse_args()
    if args.agree:
        agree()
    bench(args.rounds, args.feeds)


if __name__ == "__main__":
    main()
