"""What the parse processes run: a fetched body in, a parsed feed and its clustering fingerprints out.

Parsing and fingerprinting are the CPU-bound part of a refresh; the poller (monitor/pipeline.py) runs
`prepare_feed` in a pool of processes so that a second core works while its own stores and matches.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from dataclasses import dataclass

from monitor.errors import ParseError
from monitor.parse import parse_feed
from monitor.parse.article import ParsedFeed
from monitor.store.clusters import Fingerprint, cluster_text, fingerprint


@dataclass(frozen=True, slots=True)
class Prepared:
    """A parsed feed and its articles' clustering fingerprints (by id), computed off the writer thread."""

    feed: ParsedFeed
    fingerprints: dict[str, Fingerprint]


def prepare_feed(
    body: bytes, base_url: str, content_type: str | None, language_hint: str | None
) -> Prepared | tuple[str, str]:
    """Parse one feed and fingerprint its articles (the CPU-bound part of a refresh; runs in a pool process)."""
    try:
        feed = parse_feed(body, base_url=base_url, content_type=content_type, language_hint=language_hint)
    except ParseError as exc:
        # ParseError does not survive unpickling (its __init__ takes two arguments): send its fields.
        return exc.kind, exc.message
    return Prepared(
        feed, {a.id: fingerprint(cluster_text(a.title, a.summary_text, a.content_text)) for a in feed.articles}
    )


def worker_init() -> None:
    """Set up a parse process: the service owns signals, and a worker never outlives it."""
    # Ctrl-C reaches the whole process group; the service stops its workers itself, without tracebacks.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()

    def watch() -> None:
        # A killed service (SIGKILL, os._exit) cannot shut the pool down: idle workers would wait
        # forever, and keep the forkserver alive too (each worker holds its "alive" pipe).
        # The sentinel is a pipe from the service process itself, so this returns when it dies.
        if parent is not None:
            parent.join()
            os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
