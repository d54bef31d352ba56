"""Near-duplicate hashing: MinHash over word 3-shingles with LSH banding (pure CPU, no I/O).

A text's `fingerprint` (shingle hashes, MinHash signature, LSH band keys) is computable anywhere: in a
parse process, in the write gate, in the store. The store (monitor/store/clusters.py) keeps the band
keys in `cluster_keys` and finds candidates with them; each candidate is confirmed here by the exact
Jaccard similarity of the two texts' shingle sets. See docs/feeds.md for the threshold and the parameters.

Fingerprints are computed in C (monitor/dedupe/_minhash.c, built at install when a C compiler is there)
or else with numpy (minhash_numpy.py, imported only then): the same bits either way. The C pass costs
about a fifth of the numpy one a feed, and a service process that has it never loads numpy.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable, Sequence
from types import ModuleType

from monitor.dedupe.minhash_base import (
    BINS,
    MIN_SHINGLES,
    PREFILTER,
    ROWS,
    SHINGLE_WORDS,
    THRESHOLD,
    Fingerprint,
    cluster_text,
    estimated_similarity,
    jaccard,
    keys_of_signature,
    unpack_hashes,
    word_ids,
)

__all__ = [
    "BINS", "MIN_SHINGLES", "PREFILTER", "ROWS", "SHINGLE_WORDS", "THRESHOLD", "Fingerprint", "band_keys",
    "cluster_text", "estimated_similarity", "fingerprint", "fingerprints", "jaccard", "shingles", "signature",
]

try:  # imported by name, as monitor/match/native.py does (an extension is no node of the import graph)
    native: ModuleType | None = importlib.import_module("monitor.dedupe._minhash")
except ImportError:  # not built: numpy computes the same fingerprints
    native = None
"""The C extension, or None; a test sets it to None to take the numpy path."""


def _items(texts: Sequence[str]) -> list[str | list[int]]:
    # The extension splits ASCII text itself; other text is folded and split here (Unicode's rules).
    return [text if text.isascii() else word_ids(text) for text in texts]


def fingerprints(texts: Sequence[str]) -> list[Fingerprint]:
    """`fingerprint` of each text, computed together (one call for a feed's articles)."""
    if native is None:
        from monitor.dedupe import minhash_numpy

        return minhash_numpy.fingerprints(texts)
    of_hashes = Fingerprint.of_hashes
    return [of_hashes(hashes, keys, sig) for hashes, keys, sig in native.prints(_items(texts), MIN_SHINGLES)]


def fingerprint(text: str) -> Fingerprint:
    """Shingles, signature and band keys of a cluster text (pure: safe to compute in a pool process)."""
    if native is None:
        from monitor.dedupe import minhash_numpy

        return minhash_numpy.fingerprint(text)
    return fingerprints([text])[0]


def shingles(text: str) -> frozenset[int]:
    """The 64-bit hashes of the text's word 3-shingles (stable across processes and runs)."""
    if native is None:
        from monitor.dedupe import minhash_numpy

        return minhash_numpy.shingles(text)
    return frozenset(unpack_hashes(native.prints(_items([text]), sys.maxsize)[0][0]))


def signature(hashes: Iterable[int]) -> list[int]:
    """One-permutation MinHash of any hashes: each falls in one bin, the bin keeps its minimum (numpy)."""
    from monitor.dedupe import minhash_numpy

    return minhash_numpy.signature(hashes)


def band_keys(sig: Sequence[int]) -> list[int]:
    """One signed 64-bit key per LSH band (the band number is hashed in, so one column suffices)."""
    return list(keys_of_signature(sig))
