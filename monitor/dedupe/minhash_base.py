"""What every MinHash implementation here shares: the parameters, word ids, band keys and the Fingerprint value.

No numpy: a process that only compares fingerprints (the service's writer, reading packed hashes and
signatures) never loads it. The fingerprints themselves are computed by monitor/dedupe/minhash.py, in C
(monitor/dedupe/_minhash.c) or, where that extension is not built, with numpy (minhash_numpy.py).
"""

from __future__ import annotations

import hashlib
import operator
import re
import struct
import unicodedata
import zlib
from collections.abc import Sequence

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
# On an ASCII text \w is [A-Za-z0-9_]: every other byte made a space, the words are what split() leaves
# (one C pass each, ~40 % less CPU than a regex's findall; bytes also skip an encode per word).
_ASCII_NON_WORD_TO_SPACE = bytes(
    byte if chr(byte).isascii() and (chr(byte).isalnum() or byte == ord("_")) else ord(" ") for byte in range(256)
)
_COMBINING = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")
EMPTY = -1
"""The value of every bin of an empty text's signature."""
assert ROWS == 2, "keys_of_signature formats two values per band"
_KEYS = struct.Struct(f"<{BINS // ROWS}q")  # BIGINT is signed on PostgreSQL
_SIGNATURE = struct.Struct(f"<{BINS}Q")


def _fold(text: str) -> str:
    # Syndicated copies differ in typography (quotes, diacritics, case) more than in words.
    text = text.casefold()
    return text if text.isascii() else _COMBINING.sub("", unicodedata.normalize("NFKD", text))


def word_ids(text: str) -> list[int]:
    """crc32 of each folded word (zlib's C code; stable across processes, unlike Python's hash())."""
    folded = _fold(text)
    if folded.isascii():
        return list(map(zlib.crc32, folded.encode("ascii").translate(_ASCII_NON_WORD_TO_SPACE).split()))
    return [zlib.crc32(word.encode()) for word in _WORD.findall(folded)]


def keys_of_signature(sig: Sequence[int]) -> tuple[int, ...]:
    """One signed 64-bit key per LSH band (the band number is hashed in, so one column suffices)."""
    # The key hashes the band's values as decimal text ("3:v6,v7"): stored keys depend on that exact text.
    blake2b = hashlib.blake2b
    digests = b"".join([
        blake2b(b"%d:%d,%d" % (band, first, second), digest_size=8).digest()
        for band, first, second in zip(range(BINS // ROWS), sig[0::ROWS], sig[1::ROWS], strict=True)
    ])
    return _KEYS.unpack(digests)  # type: ignore[return-value]


def unpack_hashes(packed: bytes) -> tuple[int, ...]:
    """Packed shingle hashes (little-endian uint64) as integers."""
    return struct.unpack(f"<{len(packed) // 8}Q", packed)


def pack_hashes(hashes: frozenset[int]) -> bytes:
    """Shingle hashes packed: sorted, little-endian uint64."""
    return struct.pack(f"<{len(hashes)}Q", *sorted(hashes))


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    """|a ∩ b| / |a ∪ b| (0 for two empty sets)."""
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def cluster_text(title: str, summary_text: str, content_text: str) -> str:
    """The text that identifies a story: title and body (the summary only when there is no content)."""
    return f"{title}\n{content_text or summary_text}"


class Fingerprint:
    """A text's shingle hashes, MinHash signature and LSH band keys: computable anywhere (pure CPU).

    Immutable, compared by value. The shingle hashes may be held packed (`of_hashes`: sorted, unique,
    8 bytes each, little-endian) and the set made only when `shingles` is read: a parse process
    fingerprints every article it sends, and building, pickling and unpickling a set of 64-bit ints
    costs several times its packed bytes (a parse process's CPU a feed fell ~1/3 with this and the
    model's pickling, 2026-12-06). Reading `shingles` makes the set once.
    """

    __slots__ = ("_hashes", "_shingles", "keys", "minhash")
    _hashes: bytes | None  # at least one of the two is set
    _shingles: frozenset[int] | None
    keys: tuple[int, ...]  # empty when the text is too short to cluster
    minhash: bytes | None  # the signature packed (stored on the article); None when `keys` is empty

    def __init__(self, shingles: frozenset[int], keys: tuple[int, ...], minhash: bytes | None = None) -> None:
        self._fill(shingles, None, keys, minhash)

    @classmethod
    def of_hashes(cls, hashes: bytes, keys: tuple[int, ...], minhash: bytes | None = None) -> Fingerprint:
        """A fingerprint of packed shingle hashes (sorted, unique, little-endian uint64): the set is made when read."""
        fp = cls.__new__(cls)
        fp._fill(None, hashes, keys, minhash)
        return fp

    def _fill(
        self, shingles: frozenset[int] | None, hashes: bytes | None, keys: tuple[int, ...], minhash: bytes | None
    ) -> None:
        _set = object.__setattr__  # __setattr__ refuses: the object is immutable once made
        _set(self, "_shingles", shingles)
        _set(self, "_hashes", hashes)
        _set(self, "keys", keys)
        _set(self, "minhash", minhash)

    @property
    def shingles(self) -> frozenset[int]:
        """The 64-bit hashes of the text's word 3-shingles."""
        shingles: frozenset[int] | None = self._shingles
        if shingles is None:
            assert self._hashes is not None
            shingles = frozenset(unpack_hashes(self._hashes))
            object.__setattr__(self, "_shingles", shingles)
        return shingles

    @property
    def hashes(self) -> bytes:
        """The shingle hashes packed: sorted, unique, little-endian uint64."""
        hashes: bytes | None = self._hashes
        if hashes is None:
            assert self._shingles is not None
            hashes = pack_hashes(self._shingles)
            object.__setattr__(self, "_hashes", hashes)
        return hashes

    def __reduce__(self) -> tuple[object, ...]:
        # Packed, not the set: what a parse process sends the service process for each article.
        return (Fingerprint.of_hashes, (self.hashes, self.keys, self.minhash))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Fingerprint is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Fingerprint is immutable: cannot delete {name!r}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Fingerprint):
            return NotImplemented
        return (self.keys, self.minhash) == (other.keys, other.minhash) and self.hashes == other.hashes

    def __hash__(self) -> int:
        return hash((self.hashes, self.keys, self.minhash))

    def __repr__(self) -> str:
        return f"Fingerprint(shingles={self.shingles!r}, keys={self.keys!r}, minhash={self.minhash!r})"


def estimated_similarity(a: bytes, b: bytes) -> float:
    """The Jaccard similarity two packed signatures estimate: the share of bins with the same minimum."""
    # Both unpack to BINS values (a fixed struct); map over operator.eq is ~3x a generator's speed.
    return sum(map(operator.eq, _SIGNATURE.unpack(a), _SIGNATURE.unpack(b))) / BINS
