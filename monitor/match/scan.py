"""One pass over an article's fields finds every alias and query-term occurrence (the presearch).

Every alias, phrase and word of every compiled watchlist becomes a *pattern*: a sequence of folded
tokens, the last one possibly a prefix. The cost of a scan grows with the article, not with the number
of rules: each article token is folded through a cache, the article's distinct tokens are intersected
with the patterns' first tokens (set algebra in C), and only the positions of tokens that start a
multi-token pattern are visited. Positions of single words are found later, and only for the words of
entries that matched (for NEAR and highlights).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import accumulate, compress

from monitor.match.fold import (
    Cleaned,
    fold_text_tokens,
    fold_token,
    fold_token_exact,
    split_words,
    strip_markup,
)
from monitor.match.types import Document

Span = tuple[str, int, int]  # field, first token, one past the last token
_PREFIX_KEY = 3  # wildcards need 3+ characters, so every prefix pattern has a 3-character key
_CACHE_LIMIT = 200_000


SINGLE, PREFIX, SEQUENCE = 0, 1, 2  # pattern kinds


class PatternTable:
    """Every distinct token sequence the compiled watchlists look for, with ids and lookup indexes."""

    def __init__(self) -> None:
        self._ids: dict[tuple[tuple[str, ...], bool, tuple[str, ...] | None], int] = {}
        self.tokens: list[tuple[str, ...]] = []
        self.prefix: list[bool] = []
        self.exact: list[tuple[str, ...] | None] = []
        self.kind: list[int] = []
        self.single: dict[str, int] = {}  # a word → its pattern (equal patterns share an id)
        self.by_prefix_key: dict[str, list[int]] = {}  # a wildcard's first 3 characters → patterns
        # first token → second token → phrases and aliases; under None: exact-case words, "word prefix*"
        self.sequences: dict[str, dict[str | None, list[int]]] = {}
        self.single_keys: frozenset[str] = frozenset()
        self.sequence_keys: frozenset[str] = frozenset()
        self._prefix_seen: set[str] = set()
        self._prefix_yes: dict[str, tuple[int, ...]] = {}
        self._prefix_yes_keys: set[str] = set()

    def add(self, tokens: tuple[str, ...], prefix: bool = False, exact: tuple[str, ...] | None = None) -> int:
        """The id of a pattern, adding it if new (equal patterns of different rules share one id)."""
        key = (tokens, prefix, exact)
        pid = self._ids.get(key)
        if pid is not None:
            return pid
        pid = self._ids[key] = len(self.tokens)
        self.tokens.append(tokens)
        self.prefix.append(prefix)
        self.exact.append(exact)
        if prefix and len(tokens) == 1:
            self.kind.append(PREFIX)
            self.by_prefix_key.setdefault(tokens[0][:_PREFIX_KEY], []).append(pid)
        elif len(tokens) == 1 and exact is None:
            self.kind.append(SINGLE)
            self.single[tokens[0]] = pid
        else:
            self.kind.append(SEQUENCE)
            second = tokens[1] if len(tokens) > 2 or (len(tokens) == 2 and not prefix) else None
            self.sequences.setdefault(tokens[0], {}).setdefault(second, []).append(pid)
        return pid

    def freeze(self) -> None:
        """Build the lookup sets once all patterns are added."""
        self.single_keys = frozenset(self.single)
        self.sequence_keys = frozenset(self.sequences)

    def __len__(self) -> int:
        return len(self.tokens)

    def prefix_tokens(self, present: set[str]) -> dict[str, tuple[int, ...]]:
        """The tokens of `present` that some wildcard matches, with the wildcards' pattern ids.

        Results are cached per token, so once the vocabulary is warm this is set algebra in C.
        """
        new = present - self._prefix_seen
        if new:
            if len(self._prefix_seen) >= _CACHE_LIMIT:  # bound memory; refilling is cheap
                self._prefix_seen.clear()
                self._prefix_yes.clear()
                self._prefix_yes_keys.clear()
                new = present
            self._prefix_seen.update(new)
            for t in new:
                hit = self.prefix_hits(t)
                if hit:
                    self._prefix_yes[t] = hit
                    self._prefix_yes_keys.add(t)
        yes = self._prefix_yes
        return {t: yes[t] for t in present & self._prefix_yes_keys}

    def prefix_hits(self, token: str) -> tuple[int, ...]:
        """Wildcard patterns that a folded token starts with."""
        cands = self.by_prefix_key.get(token[:_PREFIX_KEY], ())
        return tuple(p for p in cands if token.startswith(self.tokens[p][0]))


@dataclass(slots=True)
class FieldText:
    """One field of a document: its original text, split into separators and tokens, folded tokens."""

    text: str
    cleaned: Cleaned | None
    folded: list[str]
    present: set[str]
    _parts: list[str] | None = None
    _ends: list[int] | None = None

    _offset_parts: list[str] | None = None  # same lengths as the original's parts: offsets only

    @property
    def parts(self) -> list[str]:
        """Separators and original tokens alternating (tokens are `[1::2]`); split only when needed."""
        if self._parts is None:
            self._parts = split_words(self.cleaned.text if self.cleaned else self.text)
        return self._parts

    def char_span(self, start: int, end: int) -> tuple[int, int]:
        """Character offsets in the original text of tokens [start, end)."""
        if self._ends is None:  # only documents that matched need offsets: running sums, in C
            self._ends = list(accumulate(map(len, self._offset_parts or self.parts)))
        s, e = self._ends[2 * start], self._ends[2 * end - 1]
        if self.cleaned is not None:
            return self.cleaned.starts[s], self.cleaned.ends[e - 1]
        return s, e

    def positions(self, token: str) -> list[int]:
        """Indexes of a folded token (list.index runs in C and compares interned strings by identity)."""
        out: list[int] = []
        folded = self.folded
        i = -1
        try:
            while True:
                i = folded.index(token, i + 1)
                out.append(i)
        except ValueError:
            return out


@dataclass(slots=True)
class Scan:
    """The result of scanning a document: its fields, and which patterns occur where."""

    doc: Document
    table: PatternTable
    fields: dict[str, FieldText]
    found: set[int]  # every pattern that occurs in some scanned field
    sequence_hits: dict[int, list[Span]]
    prefix_hits: dict[int, list[tuple[str, str]]]  # wildcard → (field, matching token)
    memo: dict[int, object] = field(default_factory=dict)  # per-document cache of actor results
    scanned: frozenset[str] = frozenset()

    def has(self, pid: int, fields: frozenset[str]) -> bool:
        """Whether pattern `pid` occurs in one of `fields`."""
        if pid not in self.found:
            return False
        if fields is self.scanned or self.scanned <= fields:  # found somewhere, and all places count
            return True
        kind = self.table.kind[pid]
        if kind == SINGLE:
            tok = self.table.tokens[pid][0]
            return any(name in fields and tok in ft.present for name, ft in self.fields.items())
        if kind == PREFIX:
            return any(name in fields for name, _ in self.prefix_hits[pid])
        return any(s[0] in fields for s in self.sequence_hits[pid])

    def spans(self, pid: int, fields: frozenset[str]) -> list[Span]:
        """Where pattern `pid` occurs in `fields`, in field then token order."""
        if pid not in self.found:
            return []
        kind = self.table.kind[pid]
        if kind == SINGLE:
            tok = self.table.tokens[pid][0]
            return [
                (name, i, i + 1)
                for name, ft in self.fields.items()
                if name in fields and tok in ft.present
                for i in ft.positions(tok)
            ]
        if kind == PREFIX:
            return sorted(
                (name, i, i + 1) for name, tok in self.prefix_hits[pid] if name in fields
                for i in self.fields[name].positions(tok)
            )
        return [s for s in self.sequence_hits[pid] if s[0] in fields]


def scan(doc: Document, table: PatternTable, fields: tuple[str, ...]) -> Scan:
    """Tokenize the given fields of a document and find which patterns occur."""
    found: set[int] = set()
    sequence_hits: dict[int, list[Span]] = {}
    prefix_hits: dict[int, list[tuple[str, str]]] = {}
    texts: dict[str, FieldText] = {}
    has_prefix = bool(table.by_prefix_key)
    for name in fields:
        text: str = getattr(doc, name)
        if not text:
            continue
        cleaned = strip_markup(text)
        src = cleaned.text if cleaned else text
        folded, parts = fold_text_tokens(src)
        original = None
        if folded is None:  # rare text where only token-by-token folding keeps tokens aligned
            parts = original = split_words(src)
            folded = list(map(fold_token, parts[1::2]))
        present = set(folded)
        texts[name] = ft = FieldText(text, cleaned, folded, present, original, None, parts)
        found.update(map(table.single.__getitem__, present & table.single_keys))
        if has_prefix:
            for tok, pids in table.prefix_tokens(present).items():
                found.update(pids)
                for pid in pids:
                    prefix_hits.setdefault(pid, []).append((name, tok))
        starts = present & table.sequence_keys
        if not starts:
            continue
        sequences = table.sequences
        # Visit only the positions of tokens that start a sequence, found without a Python-level loop.
        n = len(folded)
        for i in compress(range(n), map(starts.__contains__, folded)):
            by_second = sequences[folded[i]]
            for group in (by_second.get(folded[i + 1]) if i + 1 < n else None, by_second.get(None)):
                for pid in group or ():
                    m = _check(table, pid, folded, ft, i)
                    if m:
                        found.add(pid)
                        sequence_hits.setdefault(pid, []).append((name, i, i + m))
    return Scan(doc, table, texts, found, sequence_hits, prefix_hits, scanned=frozenset(texts))


def _check(table: PatternTable, pid: int, folded: list[str], ft: FieldText, i: int) -> int:
    """The pattern's length if it occurs at token i (its first token is known to match), else 0."""
    seq = table.tokens[pid]
    m = len(seq)
    if i + m > len(folded):
        return 0
    last = m - 1
    for k in range(1, last):
        if folded[i + k] != seq[k]:
            return 0
    if last and not (folded[i + last].startswith(seq[last]) if table.prefix[pid] else folded[i + last] == seq[last]):
        return 0
    exact = table.exact[pid]
    if exact is not None:
        parts = ft.parts
        for k in range(m):
            if fold_token_exact(parts[2 * (i + k) + 1]) != exact[k]:
                return 0
    return m
