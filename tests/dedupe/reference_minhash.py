"""The pure-Python MinHash that monitor/dedupe/minhash.py replaced: the reference its numpy code must equal bit for bit.

Kept verbatim (as of issue 21 point 2) because fingerprints are stored: articles.minhash and the band keys in
cluster_keys must meet the keys of new articles. Original docstring:

Near-duplicate hashing: MinHash over word 3-shingles with LSH banding (pure CPU, no I/O).

A text's `fingerprint` (shingle hashes, MinHash signature, LSH band keys) is computable anywhere: in a
parse process, in the write gate, in the store. The store (monitor/store/clusters.py) keeps the band
keys in `cluster_keys` and finds candidates with them; each candidate is confirmed here by the exact
Jaccard similarity of the two texts' shingle sets. See docs/feeds.md for the threshold and the parameters.
"""

from __future__ import annotations

import hashlib
import re
import struct
import unicodedata
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

SHINGLE_WORDS = 3
"""Word 3-shingles: long enough that two stories on one topic share few, short enough that a
changed paragraph leaves most of an update's shingles intact."""
THRESHOLD = 0.4
"""Exact Jaccard similarity of shingle sets at or above which two articles are one story."""
BINS = 32
"""Signature length (one-permutation MinHash bins)."""
ROWS = 2
"""Signature values per LSH band: 16 bands of 2 make a pair at J=0.4 a candidate with p≈0.94."""
MIN_SHINGLES = 8
"""Texts shorter than this (about 10 words) are never clustered: too little evidence."""
PREFILTER = 0.25
"""Stored candidates whose signatures estimate a similarity below this are dropped without reading their text.

Unrelated news articles share a few stock 3-shingles ("said in a"): J ≈ 0.005, and with 16 bands of 2
a pair shares a band key by chance with p ≈ 16·J² ≈ 4e-4, so a week's archive of 100,000 articles
gives every new one ~40 such candidates. Reading and shingling each one's text cost ~0.1-0.5 ms; the
signature (32 bins) says at once that only the band's 2 bins agree. A pair at J = 0.4 agrees in
fewer than 8 of 32 bins with p ≈ 0.02 (binomial), at J = 0.5 with p < 0.001."""

_WORD = re.compile(r"\w+")
_COMBINING = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")
_MASK64 = (1 << 64) - 1
_M1, _M2, _M3 = 0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9
_BIN_BITS = BINS.bit_length() - 1
_VALUE_MASK = (1 << (64 - _BIN_BITS)) - 1
_EMPTY = -1
_SIGNATURE = struct.Struct(f"<{BINS}Q")  # bin values are < 2**64: the rotation tag is 5 bits over 59

def _fold(text: str) -> str:
    # Syndicated copies differ in typography (quotes, diacritics, case) more than in words.
    text = text.casefold()
    return text if text.isascii() else _COMBINING.sub("", unicodedata.normalize("NFKD", text))


def shingles(text: str) -> frozenset[int]:
    """The 64-bit hashes of the text's word 3-shingles (stable across processes and runs)."""
    # crc32 per word and a multiplicative mix per shingle: a tenth of the cost of a
    # cryptographic hash per shingle, and Python's own hash() differs from process to process.
    ids = [zlib.crc32(word.encode()) for word in _WORD.findall(_fold(text))]
    if len(ids) < SHINGLE_WORDS:
        return frozenset()
    out = set()
    for a, b, c in zip(ids, ids[1:], ids[2:], strict=False):
        h = (((a * _M1 + b) * _M2 + c) * _M3) & _MASK64
        out.add(h ^ (h >> 31))
    return frozenset(out)


def signature(hashes: Iterable[int]) -> list[int]:
    """One-permutation MinHash: each hash falls in one bin, the bin keeps its minimum.

    O(n) instead of the O(n*k) of k hash functions; empty bins are filled by rotation
    (Shrivastava and Li, 2014): the next non-empty bin's value, tagged with the distance.
    """
    sig = [_EMPTY] * BINS
    for h in hashes:
        b, value = h >> (64 - _BIN_BITS), h & _VALUE_MASK
        if sig[b] == _EMPTY or value < sig[b]:
            sig[b] = value
    if _EMPTY in sig and any(v != _EMPTY for v in sig):
        filled = list(sig)
        for i in range(BINS):
            if sig[i] != _EMPTY:
                continue
            for distance in range(1, BINS):
                j = (i + distance) % BINS
                if sig[j] != _EMPTY:
                    filled[i] = (sig[j] << 5) | distance
                    break
        sig = filled
    return sig


def band_keys(sig: Sequence[int]) -> list[int]:
    """One signed 64-bit key per LSH band (the band number is hashed in, so one column suffices)."""
    keys = []
    for band in range(BINS // ROWS):
        part = ",".join(str(v) for v in sig[band * ROWS : (band + 1) * ROWS])
        digest = hashlib.blake2b(f"{band}:{part}".encode(), digest_size=8).digest()
        keys.append(int.from_bytes(digest, "little", signed=True))  # BIGINT is signed on PostgreSQL
    return keys


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    """|a ∩ b| / |a ∪ b| (0 for two empty sets)."""
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def cluster_text(title: str, summary_text: str, content_text: str) -> str:
    """The text that identifies a story: title and body (the summary only when there is no content)."""
    return f"{title}\n{content_text or summary_text}"


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """A text's shingle hashes, MinHash signature and LSH band keys: computable anywhere (pure CPU)."""

    shingles: frozenset[int]
    keys: tuple[int, ...]  # empty when the text is too short to cluster
    minhash: bytes | None = None  # the signature packed (stored on the article); None when `keys` is empty


def fingerprint(text: str) -> Fingerprint:
    """Shingles, signature and band keys of a cluster text (pure: safe to compute in a pool process)."""
    sh = shingles(text)
    if len(sh) < MIN_SHINGLES:
        return Fingerprint(sh, ())
    sig = signature(sh)
    return Fingerprint(sh, tuple(band_keys(sig)), _SIGNATURE.pack(*sig))


def estimated_similarity(a: bytes, b: bytes) -> float:
    """The Jaccard similarity two packed signatures estimate: the share of bins with the same minimum."""
    return sum(x == y for x, y in zip(_SIGNATURE.unpack(a), _SIGNATURE.unpack(b), strict=True)) / BINS
