"""Multi-token patterns (phrases, names of several words) found at the positions of their first tokens.

Split from monitor/match/scan.py, which calls `find_sequences` for each field. A possessive `'s` between the
words of a phrase is no word between them (`"hamas talks"` matches `Hamas's talks`): it is looked at only where
a comparison fails on an `s`, so text without one pays nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import compress, count
from typing import Protocol

from monitor.match.fieldtext import FieldText
from monitor.match.fold import fold_token_exact

Span = tuple[str, int, int]  # as monitor/match/scan.py's: field, first token, one past the last
SequenceIndex = dict[str, tuple[dict[str, tuple[int, ...]], tuple[int, ...]]]
_APOSTROPHES = ("'", "\u2019", "\u02bc")


class SequenceTable(Protocol):
    """What sequences need of the pattern table (monitor/match/scan.py's `PatternTable`)."""

    tokens: list[tuple[str, ...]]
    prefix: list[bool]
    exact: list[tuple[str, ...] | None]
    exact_forms: set[int]


def find_sequences(table: SequenceTable, index: SequenceIndex, starts: frozenset[str], folded: list[str],
               ft: FieldText, name: str, found: set[str | int], sequence_hits: dict[int, list[Span]],
               skip: set[int] | None, at: list[int] | None = None) -> None:
    """Find the sequences of `index` in a field's tokens (`starts`: those of its tokens that begin one).

    `at`: the indexes of those tokens, if known already (the native scan), instead of `starts`.
    In a stream of forms (`skip`: the pinned patterns, which are not sought there), a sequence found in
    the tokens already is not added again, and exact-case patterns compare the tokens as written.
    """
    # Visit only the positions of tokens that start a sequence, each with the token after it, found
    # without a Python-level loop ("" after the last token: never a token, so never a second one).
    walk: Iterable[tuple[int, str, str]]
    if at is not None:
        last = len(folded) - 1
        walk = [(i, folded[i], folded[i + 1] if i < last else "") for i in at]
    else:
        nexts = folded[1:]
        nexts.append("")
        walk = compress(zip(count(), folded, nexts), map(starts.__contains__, folded))
    for i, first, second in walk:
        by_second, loose = index[first]
        group = by_second.get(second)
        if skip is not None:  # a stream of forms
            for pid in group + loose if group is not None else loose:
                if pid not in skip:
                    m = _check(table, pid, folded, ft, i, True)
                    if m:
                        found.add(pid)
                        spans = sequence_hits.setdefault(pid, [])
                        if (name, i, i + m) not in spans:
                            spans.append((name, i, i + m))
            continue
        if group is not None:  # the tokens themselves: the hot loop of matching, as lean as can be
            for pid in group:
                m = _check(table, pid, folded, ft, i)
                if m:
                    found.add(pid)
                    sequence_hits.setdefault(pid, []).append((name, i, i + m))
        elif second == "s":  # "Hamas's talks": a possessive s after the first word is no word between
            _after_possessive(table, by_second.get(folded[i + 2]) if i + 2 < len(folded) else None,
                              folded, ft, name, i, found, sequence_hits)
        for pid in loose:
            m = _check(table, pid, folded, ft, i)
            if m:
                found.add(pid)
                sequence_hits.setdefault(pid, []).append((name, i, i + m))


def _check(table: SequenceTable, pid: int, folded: list[str], ft: FieldText, i: int, forms: bool = False) -> int:
    """The pattern's length if it occurs at token i (its first token is known to match), else 0.

    `forms`: `folded` is a stream of forms, where an exact-case pattern that asked for forms needs its
    spelling at the start of each original token, and any other one the original token itself.
    """
    seq = table.tokens[pid]
    m = len(seq)
    if i + m > len(folded):
        return _skipping(table, pid, folded, ft, i, forms)
    last = m - 1
    for k in range(1, last):
        if folded[i + k] != seq[k]:
            return _skipping(table, pid, folded, ft, i, forms) if folded[i + k] == "s" else 0
    if last and not (folded[i + last].startswith(seq[last]) if table.prefix[pid] else folded[i + last] == seq[last]):
        return _skipping(table, pid, folded, ft, i, forms) if folded[i + last] == "s" else 0
    exact = table.exact[pid]
    if exact is not None:
        if forms and pid in table.exact_forms:
            for k in range(m):
                if not fold_token_exact(ft.original(i + k)).startswith(exact[k]):
                    return 0
            return m
        for k in range(m):
            if fold_token_exact(ft.original(i + k)) != exact[k]:
                return 0
    return m


def _possessive(ft: FieldText, j: int) -> bool:
    """Whether token j (an `s`) follows an apostrophe right after a word."""
    if ft.parts is not None:
        return ft.parts[2 * j] in _APOSTROPHES
    text = ft.cleaned.text if ft.cleaned is not None else ft.text
    start = ft.token_span(j)[0]
    return start >= 2 and text[start - 1] in _APOSTROPHES and text[start - 2].isalnum()


def _skipping(table: SequenceTable, pid: int, folded: list[str], ft: FieldText, i: int, forms: bool) -> int:
    """`_check` with the possessive `s` tokens inside the sequence left out (`"prime minister office"` in
    `Prime Minister's office`): the length it then spans, or 0. Exact case compares the tokens as written, and
    is not sought across a possessive."""
    if table.exact[pid] is not None:
        return 0
    m = len(table.tokens[pid])
    kept: list[str] = []
    j = i
    while len(kept) < m and j < len(folded):
        if j > i and folded[j] == "s" and _possessive(ft, j):
            j += 1
            continue
        kept.append(folded[j])
        j += 1
    if len(kept) < m or j - i == m:  # no possessive left out: `_check` said no already
        return 0
    return j - i if _check(table, pid, kept, ft, 0, forms) == m else 0


def _after_possessive(table: SequenceTable, group: tuple[int, ...] | None, folded: list[str], ft: FieldText,
                      name: str, i: int, found: set[str | int], sequence_hits: dict[int, list[Span]]) -> None:
    """Record the sequences of `group` (those whose second word follows the `s` at i + 1) that occur."""
    for pid in group or ():
        m = _skipping(table, pid, folded, ft, i, False)
        if m:
            found.add(pid)
            sequence_hits.setdefault(pid, []).append((name, i, i + m))
