"""Near-duplicate hashing: MinHash over word 3-shingles with LSH banding (pure CPU, no I/O).

A text's `fingerprint` (shingle hashes, MinHash signature, LSH band keys) is computable anywhere: in a
parse process, in the write gate, in the store. The store (monitor/store/clusters.py) keeps the band
keys in `cluster_keys` and finds candidates with them; each candidate is confirmed here by the exact
Jaccard similarity of the two texts' shingle sets. See docs/feeds.md for the threshold and the parameters.
"""

from __future__ import annotations

import hashlib
import itertools
import operator
import re
import struct
import unicodedata
import zlib
from collections.abc import Iterable, Sequence

import numpy as np

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
_M1, _M2, _M3 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F), np.uint64(0x165667B19E3779F9)
_BIN_BITS = BINS.bit_length() - 1
_BIN_SHIFT = np.uint64(64 - _BIN_BITS)
_VALUE_MASK = np.uint64((1 << (64 - _BIN_BITS)) - 1)
_TAG_SHIFT = np.uint64(5)  # a rotated bin is (value << 5) | distance: values are < 2**59, so it fits 64 bits
_MIX_SHIFT = np.uint64(31)
_BIN_STARTS = np.arange(BINS, dtype=np.uint64) << _BIN_SHIFT
_COLUMNS = np.arange(BINS)
_EMPTY = -1
assert ROWS == 2, "_band_keys formats two values per band"
_KEYS = struct.Struct(f"<{BINS // ROWS}q")  # BIGINT is signed on PostgreSQL
_SIGNATURE = struct.Struct(f"<{BINS}Q")
_U64 = np.dtype("<u8")


def _fold(text: str) -> str:
    # Syndicated copies differ in typography (quotes, diacritics, case) more than in words.
    text = text.casefold()
    return text if text.isascii() else _COMBINING.sub("", unicodedata.normalize("NFKD", text))


def _word_ids(text: str) -> list[int]:
    """crc32 of each folded word (zlib's C code; stable across processes, unlike Python's hash())."""
    folded = _fold(text)
    if folded.isascii():
        return list(map(zlib.crc32, folded.encode("ascii").translate(_ASCII_NON_WORD_TO_SPACE).split()))
    return [zlib.crc32(word.encode()) for word in _WORD.findall(folded)]


def _mix(ids: np.ndarray) -> np.ndarray:
    """The 64-bit hash of each 3-shingle starting at ids[i] (uint64 arithmetic wraps mod 2**64)."""
    # A multiplicative mix per shingle: a tenth of the cost of a cryptographic hash per shingle.
    h = ((ids[:-2] * _M1 + ids[1:-1]) * _M2 + ids[2:]) * _M3
    h ^= h >> _MIX_SHIFT
    return h


def _unique_hashes(text: str) -> np.ndarray:
    """The text's shingle hashes, sorted and without repeats (uint64)."""
    ids = np.array(_word_ids(text), dtype=np.uint64)
    if len(ids) < SHINGLE_WORDS:
        return np.empty(0, dtype=np.uint64)
    return np.unique(_mix(ids))


def shingles(text: str) -> frozenset[int]:
    """The 64-bit hashes of the text's word 3-shingles (stable across processes and runs)."""
    return frozenset(_unique_hashes(text).tolist())


def _densify(mins: np.ndarray, filled: np.ndarray) -> np.ndarray:
    """Rows of bin minima with empty bins filled by rotation: the next non-empty bin's value tagged with the distance.

    `filled` says which bins hold a value; every row has at least one. Shrivastava and Li (2014).
    """
    # The next non-empty bin at or after each column, circularly: a running minimum from the right over
    # the row written twice. Distance 0 keeps the bin's own value.
    twice = np.where(np.concatenate([filled, filled], axis=1), np.arange(2 * BINS), 2 * BINS)
    nearest = np.minimum.accumulate(twice[:, ::-1], axis=1)[:, ::-1][:, :BINS]
    distance = (nearest - _COLUMNS).astype(np.uint64)
    source = np.take_along_axis(mins, nearest % BINS, axis=1)
    return np.where(filled, mins, (source << _TAG_SHIFT) | distance)


def _signature_of_sorted(hashes: np.ndarray) -> np.ndarray:
    """The signature (uint64[BINS]) of sorted, unique, non-empty hashes."""
    # The bin is the top 5 bits, so sorted hashes are sorted by bin, then value: a bin's minimum is its first.
    starts = np.searchsorted(hashes, _BIN_STARTS)
    filled = np.diff(starts, append=len(hashes)) > 0
    mins = np.zeros(BINS, dtype=np.uint64)
    mins[filled] = hashes[starts[filled]] & _VALUE_MASK
    if filled.all():
        return mins
    return _densify(mins[None, :], filled[None, :])[0]


def signature(hashes: Iterable[int]) -> list[int]:
    """One-permutation MinHash: each hash falls in one bin, the bin keeps its minimum.

    O(n) instead of the O(n*k) of k hash functions; empty bins are filled by rotation
    (Shrivastava and Li, 2014): the next non-empty bin's value, tagged with the distance.
    """
    unique = np.unique(np.fromiter(hashes, dtype=np.uint64))
    if not len(unique):
        return [_EMPTY] * BINS
    return _signature_of_sorted(unique).tolist()  # type: ignore[no-any-return]


def band_keys(sig: Sequence[int]) -> list[int]:
    """One signed 64-bit key per LSH band (the band number is hashed in, so one column suffices)."""
    return list(_band_keys(sig))


def _band_keys(sig: Sequence[int]) -> tuple[int, ...]:
    # The key hashes the band's values as decimal text ("3:v6,v7"): stored keys depend on that exact text.
    blake2b = hashlib.blake2b
    digests = b"".join([
        blake2b(b"%d:%d,%d" % (band, first, second), digest_size=8).digest()
        for band, first, second in zip(range(BINS // ROWS), sig[0::ROWS], sig[1::ROWS], strict=True)
    ])
    return _KEYS.unpack(digests)  # type: ignore[return-value]


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
            shingles = frozenset(np.frombuffer(self._hashes, dtype=_U64).tolist())
            object.__setattr__(self, "_shingles", shingles)
        return shingles

    @property
    def hashes(self) -> bytes:
        """The shingle hashes packed: sorted, unique, little-endian uint64."""
        hashes: bytes | None = self._hashes
        if hashes is None:
            assert self._shingles is not None
            hashes = np.array(sorted(self._shingles), dtype=_U64).tobytes()
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


def fingerprint(text: str) -> Fingerprint:
    """Shingles, signature and band keys of a cluster text (pure: safe to compute in a pool process)."""
    hashes = _unique_hashes(text)
    packed = hashes.astype(_U64, copy=False).tobytes()
    if len(hashes) < MIN_SHINGLES:
        return Fingerprint.of_hashes(packed, ())
    sig = _signature_of_sorted(hashes)
    return Fingerprint.of_hashes(packed, _band_keys(sig.tolist()), sig.astype(_U64, copy=False).tobytes())


def fingerprints(texts: Sequence[str]) -> list[Fingerprint]:
    """`fingerprint` of each text, computed together: one numpy pass for a feed's articles instead of one each."""
    ids_per_text = [_word_ids(text) for text in texts]
    lengths = np.array([len(ids) for ids in ids_per_text], dtype=np.int64)
    ends = np.cumsum(lengths)
    ids = np.fromiter(itertools.chain.from_iterable(ids_per_text), dtype=np.uint64, count=int(ends[-1]) if len(ends) else 0)
    # A shingle starts at every word but a text's last two: it must not run into the next text.
    starts_ok = np.ones(len(ids), dtype=bool)
    starts_ok[ends[lengths > 0] - 1] = False
    starts_ok[ends[lengths > 1] - 2] = False
    position = np.flatnonzero(starts_ok[:-2]) if len(ids) >= SHINGLE_WORDS else np.empty(0, dtype=np.int64)
    hashes = _mix(ids)[position] if len(position) else np.empty(0, dtype=np.uint64)
    owner = np.searchsorted(ends, position, side="right")
    # Sorted by text, then hash; repeats within a text dropped.
    # (np.lexsort is 7x slower here: a sort by hash, then a stable radix sort by text on small integers.)
    by_hash = np.argsort(hashes)
    by_text = np.argsort(owner[by_hash].astype(np.uint16 if len(texts) <= 0xFFFF else np.int64), kind="stable")
    order = by_hash[by_text]
    hashes, owner = hashes[order], owner[order]
    keep = np.ones(len(hashes), dtype=bool)
    keep[1:] = (hashes[1:] != hashes[:-1]) | (owner[1:] != owner[:-1])
    hashes, owner = hashes[keep], owner[keep]
    bounds = np.searchsorted(owner, np.arange(len(texts) + 1))
    counts = np.diff(bounds)
    # A bin's minimum is the first hash of its (text, bin) run: the bin is the hash's top 5 bits.
    slot = owner * BINS + (hashes >> _BIN_SHIFT).astype(np.int64)
    first = np.ones(len(slot), dtype=bool)
    first[1:] = slot[1:] != slot[:-1]
    mins = np.zeros(len(texts) * BINS, dtype=np.uint64)
    filled = np.zeros(len(texts) * BINS, dtype=bool)
    mins[slot[first]] = hashes[first] & _VALUE_MASK
    filled[slot[first]] = True
    clustered = counts >= MIN_SHINGLES
    sigs = _densify(mins.reshape(-1, BINS)[clustered], filled.reshape(-1, BINS)[clustered]).astype(_U64, copy=False)
    # Each text's hashes stay packed (a slice of one buffer): most are never needed as a set.
    packed = hashes.astype(_U64, copy=False).tobytes()
    offsets = (bounds * _U64.itemsize).tolist()
    of_hashes = Fingerprint.of_hashes
    out = []
    row = 0
    for i, is_clustered in enumerate(clustered.tolist()):
        text_hashes = packed[offsets[i] : offsets[i + 1]]
        if is_clustered:
            sig = sigs[row]
            row += 1
            out.append(of_hashes(text_hashes, _band_keys(sig.tolist()), sig.tobytes()))
        else:
            out.append(of_hashes(text_hashes, ()))
    return out


def estimated_similarity(a: bytes, b: bytes) -> float:
    """The Jaccard similarity two packed signatures estimate: the share of bins with the same minimum."""
    # Both unpack to BINS values (a fixed struct); map over operator.eq is ~3x a generator's speed.
    return sum(map(operator.eq, _SIGNATURE.unpack(a), _SIGNATURE.unpack(b))) / BINS
