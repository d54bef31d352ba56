"""Near-duplicate hashing, pure (monitor/dedupe/minhash.py): signatures, band keys and thresholds on real stories."""

from __future__ import annotations

import pickle

import pytest

from monitor.dedupe.minhash import (
    PREFILTER,
    THRESHOLD,
    Fingerprint,
    band_keys,
    cluster_text,
    estimated_similarity,
    fingerprint,
    jaccard,
    shingles,
    signature,
)
from monitor.model import Article
from tests.ingest.stories import OTHER, OTHER_TITLE, UPDATE, UPDATE_TITLE, WIRE, WIRE_TITLE
from tests.ingest.test_clusters import story


def similarity(a: Article, b: Article) -> float:
    return jaccard(
        shingles(cluster_text(a.title, a.summary_text, a.content_text)),
        shingles(cluster_text(b.title, b.summary_text, b.content_text)),
    )


def test_signature_is_stable_and_estimates_similarity() -> None:
    a = shingles(cluster_text(WIRE_TITLE, "\n".join(WIRE), ""))
    b = shingles(cluster_text(UPDATE_TITLE, "\n".join(UPDATE), ""))
    assert signature(a) == signature(set(a)), "order does not matter"
    assert band_keys(signature(a)) == band_keys(signature(a))
    shared = sum(x == y for x, y in zip(band_keys(signature(a)), band_keys(signature(b)), strict=True))
    assert shared >= 1, "near-duplicates share at least one band key (the LSH candidate condition)"
    other = shingles(cluster_text(OTHER_TITLE, "\n".join(OTHER), ""))
    assert not set(band_keys(signature(a))) & set(band_keys(signature(other)))


def test_thresholds_separate_the_examples() -> None:
    wire, update, other = story("a", WIRE_TITLE, WIRE), story("b", UPDATE_TITLE, UPDATE), story("c", OTHER_TITLE, OTHER)
    assert similarity(wire, update) >= THRESHOLD + 0.1, "an update with one paragraph rewritten"
    assert similarity(wire, other) < 0.1, "two stories on the same topic share only stock phrases"


def test_signatures_screen_candidates_like_the_exact_similarity() -> None:
    def print_of(a: Article) -> bytes:
        fp = fingerprint(cluster_text(a.title, a.summary_text, a.content_text))
        assert fp.minhash is not None
        return fp.minhash

    wire, update, other = story("a", WIRE_TITLE, WIRE), story("b", UPDATE_TITLE, UPDATE), story("c", OTHER_TITLE, OTHER)
    assert estimated_similarity(print_of(wire), print_of(wire)) == 1.0
    assert estimated_similarity(print_of(wire), print_of(update)) >= PREFILTER, "the update stays a candidate"
    assert estimated_similarity(print_of(wire), print_of(other)) < PREFILTER, "the other story is screened out"
    assert fingerprint("too short to cluster").minhash is None


def test_fingerprint_pickles_packed_and_equals_the_one_made_from_its_set() -> None:
    text = cluster_text(WIRE_TITLE, "\n".join(WIRE), "")
    fp = fingerprint(text)
    from_set = Fingerprint(fp.shingles, fp.keys, fp.minhash)
    assert from_set == fp and hash(from_set) == hash(fp)
    assert from_set.hashes == fp.hashes, "sorted, unique, little-endian uint64 either way"
    copy = pickle.loads(pickle.dumps(from_set, protocol=pickle.HIGHEST_PROTOCOL))
    assert copy == fp and copy.shingles == shingles(text) and copy.keys == fp.keys and copy.minhash == fp.minhash
    assert fp.hashes in pickle.dumps(fp, protocol=pickle.HIGHEST_PROTOCOL), "the hashes travel packed, not as a set"
    assert fp != Fingerprint(fp.shingles, (), None)
    with pytest.raises(AttributeError):
        fp.keys = ()  # type: ignore[misc]
