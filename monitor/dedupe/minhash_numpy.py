"""Clustering fingerprints with numpy: where the C extension (monitor/dedupe/_minhash.c) is not built.

Bit for bit what the extension computes (tests/dedupe/test_numpy_minhash.py runs both against the
pure-Python reference). Imported only when needed, so a process with the extension never loads numpy.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

import numpy as np

from monitor.dedupe.minhash_base import (
    BINS,
    EMPTY,
    MIN_SHINGLES,
    SHINGLE_WORDS,
    Fingerprint,
    keys_of_signature,
    word_ids,
)

_M1, _M2, _M3 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F), np.uint64(0x165667B19E3779F9)
_BIN_BITS = BINS.bit_length() - 1
_BIN_SHIFT = np.uint64(64 - _BIN_BITS)
_VALUE_MASK = np.uint64((1 << (64 - _BIN_BITS)) - 1)
_TAG_SHIFT = np.uint64(5)  # a rotated bin is (value << 5) | distance: values are < 2**59, so it fits 64 bits
_MIX_SHIFT = np.uint64(31)
_BIN_STARTS = np.arange(BINS, dtype=np.uint64) << _BIN_SHIFT
_COLUMNS = np.arange(BINS)
_U64 = np.dtype("<u8")


def _mix(ids: np.ndarray) -> np.ndarray:
    """The 64-bit hash of each 3-shingle starting at ids[i] (uint64 arithmetic wraps mod 2**64)."""
    # A multiplicative mix per shingle: a tenth of the cost of a cryptographic hash per shingle.
    h = ((ids[:-2] * _M1 + ids[1:-1]) * _M2 + ids[2:]) * _M3
    h ^= h >> _MIX_SHIFT
    return h


def _unique_hashes(text: str) -> np.ndarray:
    """The text's shingle hashes, sorted and without repeats (uint64)."""
    ids = np.array(word_ids(text), dtype=np.uint64)
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
        return [EMPTY] * BINS
    return _signature_of_sorted(unique).tolist()  # type: ignore[no-any-return]


def fingerprint(text: str) -> Fingerprint:
    """Shingles, signature and band keys of a cluster text (pure: safe to compute in a pool process)."""
    hashes = _unique_hashes(text)
    packed = hashes.astype(_U64, copy=False).tobytes()
    if len(hashes) < MIN_SHINGLES:
        return Fingerprint.of_hashes(packed, ())
    sig = _signature_of_sorted(hashes)
    return Fingerprint.of_hashes(packed, keys_of_signature(sig.tolist()), sig.astype(_U64, copy=False).tobytes())


def fingerprints(texts: Sequence[str]) -> list[Fingerprint]:
    """`fingerprint` of each text, computed together: one numpy pass for a feed's articles instead of one each."""
    ids_per_text = [word_ids(text) for text in texts]
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
            out.append(of_hashes(text_hashes, keys_of_signature(sig.tolist()), sig.tobytes()))
        else:
            out.append(of_hashes(text_hashes, ()))
    return out
