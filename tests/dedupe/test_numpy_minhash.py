"""The numpy MinHash (monitor/dedupe/minhash.py) equals the pure-Python reference bit for bit.

Fingerprints are stored (articles.minhash, the band keys in cluster_keys): a new article's keys must meet
those computed by the code before issue 21, so every text must give the same shingles, signature and keys.
"""

from __future__ import annotations

import re
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.dedupe import minhash
from monitor.errors import ParseError
from monitor.parse import parse_feed
from tests.dedupe import reference_minhash as reference
from tests.support.corpora import FEEDPARSER_TESTS

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
from ingest_bench import _feed as ingest_feed  # noqa: E402
from workers_bench import make_feed  # noqa: E402

# Few distinct words so that texts repeat shingles and leave bins empty (the rotation path), with
# case, diacritics, ligatures, CJK, digits and underscores so that folding and \w are exercised.
_WORDS = ["a", "the", "The", "ÉTÉ", "été", "Straße", "ﬁne", "東京", "x_1", "42", "naïve", "İstanbul", "ω", "said"]
_SEPARATORS = [" ", "  ", "\n", ", ", ". ", "-", "’", "\u0301", "\t"]
_texts = st.one_of(
    st.text(max_size=300),
    st.lists(st.tuples(st.sampled_from(_WORDS), st.sampled_from(_SEPARATORS)), max_size=80).map(
        lambda parts: "".join(word + sep for word, sep in parts)
    ),
    st.lists(st.sampled_from(_WORDS[:3]), max_size=12).map(" ".join),  # short: < SHINGLE_WORDS, < MIN_SHINGLES
)


def _as_tuple(fp: minhash.Fingerprint | reference.Fingerprint) -> tuple[object, ...]:
    return fp.shingles, fp.keys, fp.minhash


@settings(max_examples=400, deadline=None)
@given(_texts)
def test_fingerprint_equals_the_reference(text: str) -> None:
    assert _as_tuple(minhash.fingerprint(text)) == _as_tuple(reference.fingerprint(text))
    assert minhash.shingles(text) == reference.shingles(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(_texts, max_size=25))
def test_batched_fingerprints_equal_the_reference(texts: list[str]) -> None:
    assert [_as_tuple(fp) for fp in minhash.fingerprints(texts)] == [
        _as_tuple(reference.fingerprint(text)) for text in texts
    ]


@settings(max_examples=200, deadline=None)
@given(st.sets(st.integers(min_value=0, max_value=2**64 - 1), max_size=200))
def test_signature_and_band_keys_equal_the_reference(hashes: set[int]) -> None:
    sig = minhash.signature(hashes)
    assert sig == reference.signature(hashes)
    assert minhash.band_keys(sig) == reference.band_keys(sig)


def test_edge_cases_equal_the_reference() -> None:
    texts = ["", " ", "one", "one two", "one two three", "a a a a a a a a a a a a", "x " * 40, "é" * 5]
    assert [_as_tuple(fp) for fp in minhash.fingerprints(texts)] == [_as_tuple(reference.fingerprint(t)) for t in texts]
    assert minhash.fingerprints([]) == []


def _corpus_feeds() -> Iterator[list[str]]:
    """The cluster texts of each feed of feedparser's corpus and of the benchmark feeds."""
    bodies = [path.read_bytes() for path in sorted(FEEDPARSER_TESTS.rglob("*.xml"))]
    bodies += [ingest_feed(i) for i in range(0, 1000, 10)] + [make_feed(i) for i in range(10)]
    for body in bodies:
        try:
            feed = parse_feed(body, base_url="http://example.org/")
        except ParseError:
            continue
        yield [minhash.cluster_text(a.title, a.summary_text, a.content_text) for a in feed.articles]


@pytest.mark.skipif(not FEEDPARSER_TESTS.is_dir(), reason=f"feedparser test corpus not found at {FEEDPARSER_TESTS}")
def test_every_corpus_article_fingerprints_as_before() -> None:
    compared = clustered = 0
    differences: list[str] = []
    for texts in _corpus_feeds():
        batched = minhash.fingerprints(texts)
        for text, fp in zip(texts, batched, strict=True):
            want = _as_tuple(reference.fingerprint(text))
            if _as_tuple(fp) != want or _as_tuple(minhash.fingerprint(text)) != want:
                differences.append(text[:80])
            compared += 1
            clustered += bool(fp.keys)
    assert not differences, differences[:5]
    assert compared > 3000 and clustered > 2000


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=200))
def test_ascii_words_equal_the_reference(text: str) -> None:
    assert minhash.shingles(text) == reference.shingles(text)
    assert minhash._word_ids(text) == [zlib.crc32(word.encode()) for word in re.findall(r"\w+", text.casefold())]
