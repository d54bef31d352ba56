"""An English compound written apart in an article (`cease fire`, `air strike`) matches the listed word (`ceasefire`).

Two words one space apart spell a listed single word (or a wildcard's word) when the first has at least
`MIN_HEAD` letters and the second is a common English compound ending (`COMPOUND_TAILS`, or its plural in
`s`): `cease fire`, `air strike`, `health care`, `peace keeping`, `crack down`, `take over`. The ending list
is what keeps this precise and cheap:

- precise: two words side by side can spell many listed words ("I ran" is Iran, `the rapist` is
  therapist, `war saw` is Warsaw, `a good year` is Goodyear, `green land` is Greenland); an ending of
  the list is a word that forms compounds, and endings that mostly make names or common phrases are left
  out on purpose (`land`, `man`, `year`, `book`, `water`, `stone`, `wood`, `week`, `way`; `port`, `town`,
  `market` for `a new port`, `a new town`, `a new market`; `time` for `over time`). The particles (`down`,
  `out`, `off`, `over`, `back`) make a noun compound match its phrasal verb too: `crack down` is a
  `crackdown`, `take over` a `takeover`;
- cheap: every cut of every listed word is a two-word pattern found by the walk over sequence starts that
  runs anyway (`split_spellings`), so nothing is done per pair of words; without the list the first
  words of the cuts were most of an article's short words (the benchmark lost 24 %: 200 extra
  positions visited per article), with it they are a few rare words (`cease`, `crack`, `air`).

`record_spaced` then keeps the occurrences separated by exactly one space (not `cease, fire`, not a line
break) as occurrences of the listed word, with the highlight on both words. A wildcard is cut only where its
prefix holds 3+ letters of the ending (`ceasefir*`, not `ceasef*`). Exact-case patterns are never cut.
"""

from __future__ import annotations

from typing import Protocol

from monitor.match.fieldtext import FieldText
from monitor.match.joins import JoinTable, Span, record, spelled_by

MIN_HEAD = 3  # letters of the first word: `air strike`, `gun fire`, `war zone`; never `e mail` nor "I ran"
MIN_REACH = 3  # letters of the ending a wildcard's prefix must hold to be cut (`ceasefir*`)
_SPACES = (" ", "\u00a0", "\u202f")  # what may separate them: one space (not a line break, not punctuation)

# Second parts of English compounds that news writes apart as often as joined or hyphenated. Each is also
# matched with a plural `s` (`cease fires` for `ceasefires`).
COMPOUND_TAILS = frozenset("""
    arms attack back base blower bomb border bot breaker bullying care cast chain check coin craft crime
    down drop fall field fight fighter fire flow force gate ground guard head hold holder house keeper
    keeping leak lift light line liner mail maker making mark mine night off out over pile place plane point
    post power quake quarters room security shot side site slide space spill storm strike terrorism through
    wall war ware wave wide word work worker zone
""".split())
_TAIL_STARTS = frozenset(t[:k] for w in COMPOUND_TAILS for t in (w, w + "s") for k in range(1, len(t) + 1))


def is_tail(word: str) -> bool:
    """Whether a folded word is a compound ending (`COMPOUND_TAILS`) or its plural."""
    return word in COMPOUND_TAILS or (word[-1:] == "s" and word[:-1] in COMPOUND_TAILS)


class SplitTable(JoinTable, Protocol):
    """What `split_spellings` needs of the pattern table (monitor/match/scan.py's `PatternTable`)."""

    prefix: list[bool]
    exact: list[tuple[str, ...] | None]
    spaced: set[int]  # the two-word patterns that are a listed word cut before a compound ending
    spaced_upto: int  # the patterns before this one have been cut already

    def add(self, tokens: tuple[str, ...], prefix: bool = False, exact: tuple[str, ...] | None = None, *,
            forms: bool = False, pinned: bool = False) -> int: ...


def split_spellings(table: SplitTable) -> None:
    """Add each listed single word (or wildcard), cut before a compound ending, as a two-word pattern
    (`cease fire`, or `cease fir*` for `ceasefir*`) that the sequence walk finds; called when freezing."""
    for pid in range(table.spaced_upto, len(table.tokens)):
        tokens = table.tokens[pid]
        if len(tokens) != 1 or table.exact[pid] is not None or not tokens[0].isalpha():
            continue
        word = tokens[0]
        prefix = table.prefix[pid]
        for k in range(MIN_HEAD, len(word) - MIN_REACH + 1):
            tail = word[k:]
            if tail in _TAIL_STARTS if prefix else is_tail(tail):
                table.spaced.add(table.add((word[:k], tail), prefix))
    table.spaced_upto = len(table.tokens)


def record_spaced(table: JoinTable, fields: dict[str, FieldText], found: set[str | int],
                  joined: dict[str, list[Span]], sequence_hits: dict[int, list[Span]], spaced: set[int]) -> None:
    """Record the cut words (`split_spellings`) that the sequence walk found, when the two words stand one
    space apart, as occurrences of the listed words and wildcards they spell."""
    for pid in spaced.intersection(sequence_hits):
        for span in list(sequence_hits[pid]):
            name, i, end = span
            if end != i + 2:  # a possessive `s` between them (`cease's fire`)
                continue
            ft = fields[name]
            head, tail = ft.folded[i], ft.folded[i + 1]  # the tokens (the walk may have seen their forms)
            if len(head) < MIN_HEAD or not head.isalpha() or not is_tail(tail) or not _one_space(ft, i):
                continue
            keys, pids = spelled_by(table, head + tail, len(head), MIN_REACH)
            record(keys, pids, head + tail, span, found, joined, sequence_hits)


def _one_space(ft: FieldText, i: int) -> bool:
    """Whether tokens i and i + 1 of a field are separated by exactly one space."""
    if ft.parts is not None:
        return ft.parts[2 * i + 2] in _SPACES
    end = ft.token_span(i)[1]
    text = ft.cleaned.text if ft.cleaned is not None else ft.text
    return ft.token_span(i + 1)[0] == end + 1 and text[end] in _SPACES
