"""Both MinHash implementations (C, monitor/dedupe/_minhash.c; numpy, minhash_numpy.py) equal the pure-Python reference bit for bit.

Fingerprints are stored (articles.minhash, the band keys in cluster_keys): a new article's keys must meet
those computed by the code before issue 21, so every text must give the same shingles, signature and keys,
whichever implementation an install has. Each test runs every implementation this install has (`IMPLEMENTATIONS`).
"""

from __future__ import annotations

import gc
import os
import re
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.dedupe import minhash, minhash_base
from monitor.errors import ParseError
from monitor.parse import parse_feed
from tests.dedupe import reference_minhash as reference
from tests.dedupe.implementations import IMPLEMENTATIONS, NATIVE, implementation
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


if os.environ.get("CI") == "true":  # CI builds it (`make test` installs with a C compiler): never skip there
    assert NATIVE is not None, "monitor/dedupe/_minhash.c is not built"


def _as_tuple(fp: minhash.Fingerprint | reference.Fingerprint) -> tuple[object, ...]:
    return fp.shingles, fp.keys, fp.minhash


@settings(max_examples=400, deadline=None)
@given(_texts)
def test_fingerprint_equals_the_reference(text: str) -> None:
    for native in IMPLEMENTATIONS:
        with implementation(native):
            assert _as_tuple(minhash.fingerprint(text)) == _as_tuple(reference.fingerprint(text))
            assert minhash.shingles(text) == reference.shingles(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(_texts, max_size=25))
def test_batched_fingerprints_equal_the_reference(texts: list[str]) -> None:
    want = [_as_tuple(reference.fingerprint(text)) for text in texts]
    for native in IMPLEMENTATIONS:
        with implementation(native):
            assert [_as_tuple(fp) for fp in minhash.fingerprints(texts)] == want


@settings(max_examples=200, deadline=None)
@given(st.sets(st.integers(min_value=0, max_value=2**64 - 1), max_size=200))
def test_signature_and_band_keys_equal_the_reference(hashes: set[int]) -> None:
    sig = minhash.signature(hashes)
    assert sig == reference.signature(hashes)
    assert minhash.band_keys(sig) == reference.band_keys(sig)


def test_edge_cases_equal_the_reference() -> None:
    texts = ["", " ", "one", "one two", "one two three", "a a a a a a a a a a a a", "x " * 40, "é" * 5,
             "Straße ﬁne", "ß " * 30, "\u212a" * 3 + " k k k k k k k k k k", "_a_ b9 C " * 9, "a\x00b\x7fc " * 12,
             " ".join(str(i) for i in range(5000))]  # long: the radix sort, every bin filled
    want = [_as_tuple(reference.fingerprint(t)) for t in texts]
    for native in IMPLEMENTATIONS:
        with implementation(native):
            assert [_as_tuple(fp) for fp in minhash.fingerprints(texts)] == want
            assert [_as_tuple(minhash.fingerprint(t)) for t in texts] == want
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
        wants = [_as_tuple(reference.fingerprint(text)) for text in texts]
        for native in IMPLEMENTATIONS:
            with implementation(native):
                batched = minhash.fingerprints(texts)
                for text, fp, want in zip(texts, batched, wants, strict=True):
                    if _as_tuple(fp) != want or _as_tuple(minhash.fingerprint(text)) != want:
                        differences.append(f"{'C' if native else 'numpy'}: {text[:80]}")
                    compared += 1
                    clustered += bool(fp.keys)
    assert not differences, differences[:5]
    assert compared > 3000 * len(IMPLEMENTATIONS) and clustered > 2000 * len(IMPLEMENTATIONS)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=200))
def test_ascii_words_equal_the_reference(text: str) -> None:
    for native in IMPLEMENTATIONS:
        with implementation(native):
            assert minhash.shingles(text) == reference.shingles(text)
    assert minhash_base.word_ids(text) == [zlib.crc32(word.encode()) for word in re.findall(r"\w+", text.casefold())]


@pytest.mark.skipif(NATIVE is None, reason="monitor/dedupe/_minhash.c is not built (numpy path only)")
def test_the_extension_has_the_parameters_of_the_python_code() -> None:
    assert NATIVE is not None
    assert (NATIVE.SHINGLE_WORDS, NATIVE.BINS, NATIVE.ROWS) == (minhash.SHINGLE_WORDS, minhash.BINS, minhash.ROWS)
    with pytest.raises(TypeError, match="ASCII str or a list of word ids"):
        NATIVE.prints(["é"], minhash.MIN_SHINGLES)  # minhash folds non-ASCII text itself


@pytest.mark.skipif(NATIVE is None, reason="monitor/dedupe/_minhash.c is not built (numpy path only)")
def test_a_process_with_the_extension_never_loads_numpy() -> None:
    # The service process (store, writer, clustering) and the parse processes fingerprint and compare
    # without numpy; only an install without the extension needs it.
    code = ("import sys, monitor.store.clusters, monitor.refresh.parse_pool, monitor.refresh.poller;"
            "from monitor.dedupe import minhash;"
            "minhash.fingerprints(['one two three four five six seven eight nine ten', 'été ' * 20]);"
            "minhash.shingles('a b c d');"
            "print('numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False", out.stderr


@pytest.mark.skipif(NATIVE is None, reason="monitor/dedupe/_minhash.c is not built (numpy path only)")
def test_the_extension_survives_its_list_changing_under_it() -> None:
    # A collection that starts inside the extension's allocations may run code that changes the list it
    # reads (here a gc callback); reading a stale length or a freed item would crash the process.
    assert NATIVE is not None
    items: list[str | list[int]] = ["a b c d e f g h i j k l"] * 2000
    armed = [True]

    def clear(phase: str, _info: dict[str, int]) -> None:
        if armed[0] and phase == "start":
            armed[0] = False
            items.clear()

    threshold = gc.get_threshold()
    gc.callbacks.append(clear)
    gc.set_threshold(50)
    try:
        out = NATIVE.prints(items, minhash.MIN_SHINGLES)
    finally:
        gc.callbacks.remove(clear)
        gc.set_threshold(*threshold)
    assert not armed[0] and len(out) < 2000
