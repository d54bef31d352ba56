"""Spellings that are one word to a reader (issue 20): `cease-fire`, `cease fire` and `ceasefire`, `e-mail` and `email`, `U.S.` and `US`.

Two tokens count as the one word they spell together when what separates them is

- a hyphen (`-`, U+2010, U+2011): `cease-fire`, `e-mail`, `al-Qassam`;
- a dot between two capital initials: `U.S.`, `U.K.` (not `e.g.`);
- in an article, one space between a word and a common English compound ending (`cease fire`, `air strike`):
  monitor/match/compounds.py;
- in a query only (a word or a phrase the analyst wrote apart), a space between two tokens of at least
  `MIN_SPACED` letters each: `"cease fire"` also matches `ceasefire`.

The query side: a query word, phrase or alias written with such a separator also matches the joined
spelling (the compiler adds it as an alternative pattern). The article side: the pairs joined by a hyphen
or a dot are looked up among the listed single words and wildcards (`ceasefire` and `ceasefir*` match
`cease-fire`), visiting only the hyphens and dotted initials (found in C).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from operator import add, itemgetter, methodcaller
from typing import Protocol

from monitor.match.fieldtext import FieldText
from monitor.match.fold import fold_token, split_words

Span = tuple[str, int, int]  # as monitor/match/scan.py's: field, first token, one past the last
# (separator, the word each of its occurrences spells, in text order, the (folded) word before it, the offset of
# each occurrence: None when it is the k-th occurrence of the separator)
Join = tuple[str, list[str], list[str], list[int] | None]
HYPHENS = ("-", "\u2010", "\u2011")
MIN_SPACED = 3  # letters on each side of a space for the two words of a query to count as one
_JOINERS = frozenset({*HYPHENS, "."})
_INITIAL = re.compile(r"\.(?=[A-Z]\.)")  # the first "." of "U.S.": capital initials (not "e.g.")


def _joins(sep: str, left: str, right: str, spaced: bool) -> bool:
    """Whether the separator `sep` between the tokens `left` and `right` joins them into one word."""
    if sep in HYPHENS:
        return True
    if sep == ".":
        return len(left) == 1 and len(right) == 1 and left.isalpha() and right.isalpha()
    return spaced and sep.isspace() and len(left) >= MIN_SPACED and len(right) >= MIN_SPACED


def joined_spelling(text: str, *, spaced: bool) -> str | None:
    """The folded one-word spelling of a query word, phrase or alias, if its separators join its tokens.

    `spaced`: a space joins too, between exactly two tokens of `MIN_SPACED`+ letters (query terms).
    """
    parts = split_words(text)
    tokens = parts[1::2]
    seps = parts[2:-1:2]
    if len(tokens) < 2 or (len(tokens) > 2 and any(s.isspace() for s in seps)):
        return None
    for k, sep in enumerate(seps):
        if not _joins(sep, tokens[k], tokens[k + 1], spaced):
            return None
    return "".join(map(fold_token, tokens))


def joins(src: str, fold: Callable[[str], str], initials: bool = True) -> list[Join]:
    """The words that the pairs of a field's text joined by a hyphen or a dot between initials spell.

    A Python step per hyphen costs as much as the rest of the scan on text with many: the words on both
    sides of every hyphen are cut, joined, stripped and folded by C-level maps over `src.split("-")`, and
    only those that spell a listed word are located (`record_joins`). `fold` is `str.lower` for ASCII text;
    `initials`: whether some listed word has two letters (`U.S.` can spell nothing else).
    """
    out: list[Join] = []
    for hyphen in HYPHENS:
        if hyphen in src:
            pieces = src.split(hyphen)
            # Cut to the ends first: (r)partition of a whole piece would copy it.
            lefts = list(map(_LSTRIP, map(_LAST, map(_RPARTITION, map(_TAIL, pieces[:-1])))))
            rights = map(_FIRST, map(_PARTITION, map(_HEAD, pieces[1:])))
            out.append((hyphen, list(map(fold, map(_RSTRIP, map(add, lefts, rights)))), list(map(fold, lefts)), None))
    if initials and "." in src:
        offsets = [m.start() for m in _INITIAL.finditer(src)]
        offsets = [p for p in offsets if p >= 1 and src[p - 1].isalpha() and (p == 1 or not src[p - 2].isalnum())]
        if offsets:
            out.append((".", [fold(src[p - 1] + src[p + 1]) for p in offsets], [fold(src[p - 1]) for p in offsets],
                        offsets))
    return out


def _nth(src: str, sep: str, k: int) -> int:
    """The offset of the k-th (from 0) `sep` of `src`."""
    p = -1
    for _ in range(k + 1):
        p = src.find(sep, p + 1)
    return p


_TAIL = itemgetter(slice(-64, None))  # a word longer than this is no listed word
_HEAD = itemgetter(slice(0, 64))
_RPARTITION = methodcaller("rpartition", " ")
_PARTITION = methodcaller("partition", " ")
_LAST = itemgetter(2)
_FIRST = itemgetter(0)
# What may stand around a hyphenated word: "(cease-fire)," is still the word "cease-fire".
_PUNCTUATION = ("\t\n\r\f\v!\"#$%&'()*+,./:;<=>?@[\\]^_`{|}~\u00a0\u2018\u2019\u201c\u201d\u00ab\u00bb\u2026")
_LSTRIP = methodcaller("lstrip", _PUNCTUATION)
_RSTRIP = methodcaller("rstrip", _PUNCTUATION)


def _token_before(ft: FieldText, src: str, offset: int) -> int | None:
    """The index of the token that ends right at `offset` of the field's text, None if none does."""
    if offset < 1 or offset + 1 >= len(src) or not (src[offset - 1].isalnum() and src[offset + 1].isalnum()):
        return None
    if ft.lower is not None:
        return len(ft.lower[:offset].split()) - 1
    return len(split_words(src[:offset])) // 2 - 1


class JoinTable(Protocol):
    """What `record_joins` needs of the pattern table (monitor/match/scan.py's `PatternTable`)."""

    sequence_keys: frozenset[str]
    tokens: list[tuple[str, ...]]

    def any_hit(self, words: list[str]) -> bool: ...
    def hits(self, present: set[str]) -> set[str | int]: ...
    def lone_words(self, word: str) -> list[int]: ...


def record_joins(table: JoinTable, cands: list[Join], ft: FieldText, src: str, name: str, found: set[str | int],
                 joined: dict[str, list[Span]], sequence_hits: dict[int, list[Span]]) -> None:
    """Add the pairs of `cands` that spell a listed word (or a wildcard's word) to `found` and `joined`.

    Pinned words (`forms: exact`) are sequences of one token: their occurrences go to `sequence_hits`.
    """
    # The usual case, in C: no pair is a listed word or a wildcard's word.
    if not any(table.any_hit(c[1]) for c in cands):
        return
    for sep, spelled, lefts, offsets in cands:
        for k, word in enumerate(spelled):
            size = len(lefts[k])
            keys, pids = spelled_by(table, word, size, 1)
            if not keys and not pids:
                continue
            i = _token_before(ft, src, offsets[k] if offsets is not None else _nth(src, sep, k))
            if i is not None:
                record(keys, pids, word, (name, i, i + 2), found, joined, sequence_hits)


def spelled_by(table: JoinTable, word: str, size: int, reach: int) -> tuple[set[str | int], list[int]]:
    """(keys of the single words and wildcards, pinned words) that `word`, two tokens joined, spells.

    `size`: the length of the first token; a wildcard counts only if its prefix holds `reach`+ letters of the second.
    """
    keys = {key for key in table.hits({word}) if isinstance(key, str) or len(table.tokens[key][0]) >= size + reach}
    return keys, table.lone_words(word) if word in table.sequence_keys else []


def record(keys: set[str | int], pids: list[int], word: str, span: Span, found: set[str | int],
           joined: dict[str, list[Span]], sequence_hits: dict[int, list[Span]]) -> None:
    """Record the two tokens of `span` as an occurrence of the single words, wildcards and pinned words found."""
    found |= keys
    found.update(pids)
    for spans in [joined.setdefault(word, [])] * bool(keys) + [sequence_hits.setdefault(p, []) for p in pids]:
        if span not in spans:
            spans.append(span)
