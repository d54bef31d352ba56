"""One field of a scanned document: its folded tokens, and their offsets found lazily for highlights."""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass, field
from itertools import accumulate

from monitor.match.fold import Cleaned

ASCII_WORD = re.compile("[a-z0-9]+")  # a token of ASCII text (`ascii_folded`)
_ALL_STARTS_TOKENS = 20_000  # fields up to this many tokens find all of a token's offsets at once


@dataclass(slots=True)
class FieldText:
    """One field of a document: its original text, its folded tokens, and (lazily) their offsets.

    Most text is ASCII but for quotes and dashes: then `lower` is the text lower-cased with separators
    as spaces (tokens at their original offsets) and the tokens were split from it in C. Otherwise
    `parts` holds separators and original tokens alternating, as split once by the regex.
    """

    text: str
    cleaned: Cleaned | None
    folded: list[str]
    present: set[str] | None  # the distinct tokens, built on first use (`words`)
    lower: str | None
    parts: list[str] | None
    _ends: list[int] | None = None
    offsets: memoryview | None = None  # of ASCII text, each token's offset, if the native scan gave them
    _padded: str | None = None
    _positions: dict[str, list[int]] = field(default_factory=dict)
    _starts: dict[str, list[int]] = field(default_factory=dict)

    def words(self) -> set[str]:
        """The field's distinct folded tokens."""
        if self.present is None:
            self.present = set(self.folded)
        return self.present

    def padded(self) -> str:
        """The lower-cased ASCII text (`lower`) with a space at each end."""
        if self._padded is None:
            self._padded = f" {self.lower} "
        return self._padded

    def token_span(self, i: int) -> tuple[int, int]:
        """Offsets of token i in the field's text with markup removed."""
        if self.parts is not None:
            if self._ends is None:  # running sums, in C, only for documents that need offsets
                self._ends = list(accumulate(map(len, self.parts)))
            return self._ends[2 * i], self._ends[2 * i + 1]
        if self.offsets is not None:
            s = self.offsets[i]
            return s, s + len(self.folded[i])
        # ASCII: the k-th occurrence of a token is its k-th occurrence as a word in the lower-cased text.
        token = self.folded[i]
        starts = self._starts.get(token)
        if len(self.folded) <= _ALL_STARTS_TOKENS:
            if starts is None:
                starts = self._starts[token] = []
                _more_word_starts(self.padded(), token, starts, len(self.folded))
            # A word found once is token i itself; otherwise its rank among the token's positions says which.
            s = starts[0] if len(starts) == 1 else starts[bisect_left(self.positions(token), i)]
            return s, s + len(token)
        # A long text: occurrences are looked for only up to the rank wanted (highlights are the first
        # few of each field), not a list of a million offsets for a word repeated a million times.
        if starts is None:
            starts = self._starts[token] = []
        rank = bisect_left(self.positions(token), i)
        if len(starts) <= rank:
            _more_word_starts(self.padded(), token, starts, rank + 1)
        s = starts[rank]
        return s, s + len(token)

    def char_span(self, start: int, end: int) -> tuple[int, int]:
        """Character offsets in the original text of tokens [start, end)."""
        s, e = self.token_span(start)
        if end - start > 1:
            if self.offsets is not None:
                e = self.offsets[end - 1] + len(self.folded[end - 1])
            elif self.lower is not None:  # only spaces separate tokens there: find each one after the last
                lower, folded = self.lower, self.folded
                for k in range(start + 1, end):
                    e = lower.find(folded[k], e) + len(folded[k])
            else:
                e = self.token_span(end - 1)[1]
        if self.cleaned is not None:
            return self.cleaned.starts[s], self.cleaned.ends[e - 1]
        return s, e

    def original(self, i: int) -> str:
        """Token i as written (markup removed), for exact-case comparison."""
        if self.parts is not None:
            return self.parts[2 * i + 1]
        s, e = self.token_span(i)
        return (self.cleaned.text if self.cleaned is not None else self.text)[s:e]

    def positions(self, token: str) -> list[int]:
        """Indexes of a folded token (list.index runs in C), remembered per document."""
        out = self._positions.get(token)
        if out is not None:
            return out
        out = []
        folded = self.folded
        i = -1
        try:
            while True:
                i = folded.index(token, i + 1)
                out.append(i)
        except ValueError:
            pass
        self._positions[token] = out
        return out


def words_with_prefix(padded: str, prefix: str) -> list[str]:
    """The words of `padded` (words separated by spaces, one at each end) that start with `prefix`."""
    needle = " " + prefix
    out = []
    j = padded.find(needle)
    while j >= 0:
        end = padded.find(" ", j + 1)
        out.append(padded[j + 1 : end])
        j = padded.find(needle, end)
    return out


def _more_word_starts(padded: str, token: str, starts: list[int], wanted: int) -> None:
    """Extend `starts` (where `token` occurs as a whole word in `padded`, in order) to `wanted` entries if there are.

    `padded` has words separated by spaces and one at each end; the offsets are those of the space before
    each occurrence, i.e. of the word in the unpadded text.
    """
    needle = " " + token  # not also the space after: a needle ending in a common character searches slowly
    size = len(needle)
    j = padded.find(needle, starts[-1] + size if starts else 0)
    while j >= 0 and len(starts) < wanted:
        if padded[j + size] == " ":
            starts.append(j)
            j = padded.find(needle, j + size)
        else:
            j = padded.find(needle, j + 1)


class FormStream:
    """A field's stream of forms (monitor/match/forms.py): each token's listed word if it is a form of one.

    Most fields need only which listed words their forms stand for (`words`): the stream itself, a list
    as long as the field, is made on first use (positions for highlights and `NEAR`, sequences).
    """

    __slots__ = ("_tokens", "_forms", "_words", "_stream")

    def __init__(self, tokens: list[str], forms: dict[str, str], words: set[str]) -> None:
        self._tokens = tokens
        self._forms = forms
        self._words = words
        self._stream: FieldText | None = None

    def words(self) -> set[str]:
        """The listed words that forms in the field stand for."""
        return self._words

    def stream(self) -> list[str]:
        """The field's tokens with each form replaced by its listed word (same positions)."""
        return self._text().folded

    def positions(self, word: str) -> list[int]:
        """Indexes of the forms of a listed word."""
        return self._text().positions(word)

    def _text(self) -> FieldText:
        if self._stream is None:
            get = self._forms.get
            tokens = self._tokens
            self._stream = FieldText("", None, list(map(get, tokens, tokens)), None, None, None)
        return self._stream
