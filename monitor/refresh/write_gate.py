"""Concurrent writer transactions never store the same story at once.

Two transactions that store near-duplicates at the same moment would not see each other's band keys
(neither has committed), so the copies would form two story clusters and both be alerted. A writer
therefore starts a batch only when no running batch holds the same article or a likely copy of one
of its stories: an article sharing a band key with one of its own whose signature agrees as much as
a cluster candidate's must (`PREFILTER`). A shared band key alone is not enough: unrelated articles
share one by chance, and in a large poll nearly every pair of batches would.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from monitor.dedupe.minhash import PREFILTER, Fingerprint, estimated_similarity


@dataclass(frozen=True, slots=True)
class BatchStories:
    """The stories of one writer batch: its article ids and, per band key, its articles' signatures."""

    article_ids: frozenset[str]
    by_key: dict[int, list[bytes]]

    @classmethod
    def of(cls, prints: Iterable[tuple[str, Fingerprint]]) -> BatchStories:
        """The stories of articles given with their fingerprints."""
        ids: set[str] = set()
        by_key: dict[int, list[bytes]] = {}
        for article_id, fp in prints:
            ids.add(article_id)
            if fp.minhash is not None:
                for key in fp.keys:
                    by_key.setdefault(key, []).append(fp.minhash)
        return cls(frozenset(ids), by_key)

    def shares_a_story_with(self, other: BatchStories) -> bool:
        """True when both hold an article, or two articles likely to be copies of one story."""
        if not self.article_ids.isdisjoint(other.article_ids):
            return True
        small, large = sorted((self.by_key, other.by_key), key=len)
        for key, signatures in small.items():
            theirs = large.get(key)
            if theirs and any(estimated_similarity(a, b) >= PREFILTER for a in signatures for b in theirs):
                return True
        return False


class WriteGate:
    """Admits a writer batch once no batch being written shares a story with it."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._running: list[BatchStories | None] = []

    @contextmanager
    def holding(self, stories: BatchStories | None) -> Iterator[None]:
        """Wait until no running batch shares a story with `stories`, then hold them until the block ends.

        `None` stands for unknown stories (feeds the writer parses itself): such a batch runs alone.
        """
        with self._changed:
            # A waiting writer holds nothing, so two writers can never wait for each other.
            self._changed.wait_for(lambda: not any(_conflict(stories, other) for other in self._running))
            self._running.append(stories)
        try:
            yield
        finally:
            with self._changed:
                self._running.remove(stories)
                self._changed.notify_all()

    @property
    def running(self) -> int:
        """Batches being written now."""
        with self._changed:
            return len(self._running)


def _conflict(a: BatchStories | None, b: BatchStories | None) -> bool:
    return a is None or b is None or a.shares_a_story_with(b)
