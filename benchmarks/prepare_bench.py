"""A parse process's CPU per changed feed, and the service process's for its result, in one process.

Run: .venv/bin/python benchmarks/prepare_bench.py [--feeds 300] [--rounds 3]

Over ingest_bench.py's feeds (20 new items each) and the demo watchlists, what a parse process does for
a feed never stored (monitor/refresh/parse_pool.py `prepare_feed` with matching: parse, fingerprints,
matches, then pickling the result for the pipe), and what the service process then does: unpickle it,
and read every article's shingle set as the writer's clustering does (monitor/store/clusters.py).
CPU ms per feed, min-max (median) over the rounds. To compare two revisions, run it from each
revision's tree in turn, alternating, several times (one process holds one revision of the code).
"""

from __future__ import annotations

import argparse
import gc
import pickle
import statistics
import time

from ingest_bench import _feed  # benchmarks/ is on sys.path when a script here runs
from offload_bench import _runtime

from monitor.refresh import parse_pool
from monitor.refresh.offload import Offload


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--feeds", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    parse_pool._matcher = _runtime().matcher  # as worker_init sets it in a pool's process
    bodies = [_feed(i) for i in range(args.feeds)]

    def prepared(i: int) -> bytes:
        out = parse_pool.prepare_feed(bodies[i], f"http://127.0.0.1/feed/{i}", None, None, Offload.for_feed(f"feed-{i}", None, b""))
        return pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL)

    for i in range(min(30, args.feeds)):
        prepared(i)  # warm caches (the sanitiser's, the matcher's) as a running process has them
    times: dict[str, list[float]] = {"parse process: prepare_feed and pickle": [],
                                     "service process: unpickle": [], "service process: shingle sets": []}
    for _ in range(args.rounds):
        started = time.process_time()
        pickled = [prepared(i) for i in range(args.feeds)]
        unpickling = time.process_time()
        results = [pickle.loads(p) for p in pickled]  # noqa: S301 - pickled just above
        reading = time.process_time()
        for result in results:
            for fp in result.fingerprints.values():
                _ = fp.shingles
        done = time.process_time()
        for name, seconds in zip(times, (unpickling - started, reading - unpickling, done - reading), strict=True):
            times[name].append(seconds / args.feeds * 1e3)
        del results, pickled
        gc.collect()
    for name, ms in times.items():
        print(f"{name:40} {min(ms):.3f}-{max(ms):.3f} ms/feed (median {statistics.median(ms):.3f})")


if __name__ == "__main__":
    main()
