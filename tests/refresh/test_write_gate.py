"""The write gate: two writer batches that share a story are never written at once; others are."""

from __future__ import annotations

import threading

from monitor.dedupe.minhash import cluster_text, fingerprint
from monitor.refresh.write_gate import BatchStories, WriteGate
from tests.ingest.stories import OTHER, OTHER_TITLE, UPDATE, UPDATE_TITLE, WIRE, WIRE_TITLE


def stories(*articles: tuple[str, str, list[str]]) -> BatchStories:
    return BatchStories.of((i, fingerprint(cluster_text(title, "\n".join(body), ""))) for i, title, body in articles)


WIRE_BATCH = stories(("wire", WIRE_TITLE, WIRE))
UPDATE_BATCH = stories(("update", UPDATE_TITLE, UPDATE))  # a re-titled update of the wire story
OTHER_BATCH = stories(("other", OTHER_TITLE, OTHER))


def test_batches_share_a_story_when_they_hold_one_article_or_likely_copies() -> None:
    assert WIRE_BATCH.shares_a_story_with(stories(("wire", "another title", OTHER))), "the same article"
    assert WIRE_BATCH.shares_a_story_with(UPDATE_BATCH), "a near-duplicate"
    assert not WIRE_BATCH.shares_a_story_with(OTHER_BATCH)
    chance = BatchStories(frozenset({"x"}), {k: [next(iter(OTHER_BATCH.by_key.values()))[0]]
                                              for k in WIRE_BATCH.by_key})
    assert not WIRE_BATCH.shares_a_story_with(chance), "band keys shared by chance, signatures far apart"


def run_while_held(gate: WriteGate, held: BatchStories | None, other: BatchStories | None, *, admitted: bool) -> None:
    """Check whether `other` is admitted while `held` is being written; then let both finish."""
    inside, release, got_in = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with gate.holding(held):
            inside.set()
            release.wait()

    def second() -> None:
        with gate.holding(other):
            got_in.set()

    runner = threading.Thread(target=first)
    runner.start()
    inside.wait()
    waiter = threading.Thread(target=second)
    waiter.start()
    if admitted:
        got_in.wait()  # admitted while the first is still held (a wrong gate hangs: the test timeout fails it)
    else:
        # Not a time bound on the code: a waiting batch must still be waiting however long we look.
        assert not got_in.wait(timeout=0.3)
    release.set()
    runner.join()
    waiter.join()
    assert got_in.is_set() and gate.running == 0, "once the first is written, the second always gets in"


def test_the_gate_holds_back_only_a_batch_sharing_a_story() -> None:
    gate = WriteGate()
    run_while_held(gate, WIRE_BATCH, OTHER_BATCH, admitted=True)  # different stories: written at once
    run_while_held(gate, WIRE_BATCH, UPDATE_BATCH, admitted=False)  # a copy of a story being written waits
    run_while_held(gate, None, OTHER_BATCH, admitted=False)  # nothing runs beside unknown stories
    run_while_held(gate, OTHER_BATCH, None, admitted=False)  # unknown stories wait for the others
