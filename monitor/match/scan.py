"""One pass over an article's fields finds every alias and query-term occurrence (the presearch).

Every alias, phrase and word of every compiled watchlist is a *pattern* of the pattern table
(monitor/match/patterns.py): a sequence of folded tokens, the last one possibly a prefix. The cost of a scan grows with the article, not with the number
of rules: text that is ASCII but for quotes and dashes (most of it) is folded and split in C
(`bytes.translate`, `str.split`), other text by one regex split and a per-token fold cache; the
article's tokens are looked up once among the patterns' words and sequence starts (set algebra in C),
wildcards are found by a native automaton over the lower-cased text (ahocorasick_rs; without it, or for
text that is not ASCII, by cutting every token to each wildcard length, in C), and only the positions of
tokens that start a multi-token pattern are visited. Offsets and positions of single words are found later, and
only for the entries that matched (for NEAR and highlights).

Where the optional extension is built (monitor/match/_native.c, `PatternTable.native`), an ASCII field
takes one native pass instead: its tokens, their offsets, the single words, the wildcards and the
sequence starts whose next token may continue a sequence, from compact hash tables; same results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import compress, repeat

from monitor.match.compounds import record_spaced
from monitor.match.fieldtext import ASCII_WORD, FieldText, FormStream, words_with_prefix
from monitor.match.fold import (
    ascii_folded,
    fold_token,
    split_words,
    strip_markup,
)
from monitor.match.forms import primary
from monitor.match.joins import joins, record_joins
from monitor.match.sequences import find_sequences
from monitor.model import Document

try:  # a native multi-pattern automaton finds wildcard prefixes in one pass over ASCII text
    import ahocorasick_rs
except ImportError:  # pragma: no cover - without it, wildcards are found by cutting tokens (below)
    ahocorasick_rs = None  # type: ignore[assignment]

from monitor.match.patterns import PREFIX, SINGLE, PatternTable, Span

__all__ = ["PatternTable", "Scan", "Span", "scan"]


@dataclass(slots=True)
class Scan:
    """The result of scanning a document: its fields, and which patterns occur where."""

    doc: Document
    table: PatternTable
    fields: dict[str, FieldText]
    found: set[str | int]  # the key of every pattern that occurs in some scanned field
    sequence_hits: dict[int, list[Span]]
    memo: dict[int, object] = field(default_factory=dict)  # per-document cache of actor results
    scanned: frozenset[str] = frozenset()
    analysed: dict[str, FormStream] = field(default_factory=dict)  # per field, its stream of forms (`forms`)
    canonical: dict[str, str] = field(default_factory=dict)  # a listed word → the one its forms stand for
    joined: dict[str, list[Span]] = field(default_factory=dict)  # a listed word → the pairs that spell it
    _prefix: dict[tuple[int, str], list[str]] = field(default_factory=dict)
    # After `PatternTable.attach_triggers`: the entries triggered by the keys of `covered`, which the native
    # scan found (the matcher looks up only the other keys of `found`).
    candidates: set[int] | None = None
    covered: set[str | int] = field(default_factory=set)

    def prefix_tokens(self, pid: int, name: str) -> list[str]:
        """The distinct tokens of field `name` that wildcard `pid` matches."""
        key = (pid, name)
        out = self._prefix.get(key)
        if out is None:
            ft = self.fields[name]
            prefix = self.table.tokens[pid][0]
            if ft.lower is not None and ft.present is None:  # ASCII: find the words in the text (C)
                words = words_with_prefix(ft.padded(), prefix) if ASCII_WORD.fullmatch(prefix) else []
                out = list(dict.fromkeys(words))
            else:
                present = ft.words()
                out = list(compress(present, map(str.startswith, present, repeat(prefix))))
            self._prefix[key] = out
            self._prefix_joined(prefix, name, out)
        return out

    def _prefix_joined(self, prefix: str, name: str, out: list[str]) -> None:
        """Add to `out` the joined spellings of field `name` that start with a wildcard's `prefix`."""
        if self.joined:
            out += [w for w, spans in self.joined.items()
                    if w.startswith(prefix) and w not in out and any(s[0] == name for s in spans)]

    def _joined_spans(self, word: str, fields: frozenset[str]) -> list[Span]:
        return [s for s in self.joined.get(word, ()) if s[0] in fields]

    def has(self, pid: int, fields: frozenset[str]) -> bool:
        """Whether pattern `pid` occurs in one of `fields`."""
        if self.table.keys[pid] not in self.found:
            return False
        if fields is self.scanned or self.scanned <= fields:  # found somewhere, and all places count
            return True
        kind = self.table.kind[pid]
        if kind == SINGLE:
            tok = self.table.tokens[pid][0]
            if any(name in fields and tok in ft.words() for name, ft in self.fields.items()):
                return True
            if self.joined and self._joined_spans(tok, fields):
                return True
            tok = self.canonical.get(tok, tok)
            return any(name in fields and tok in ft.words() for name, ft in self.analysed.items())
        if kind == PREFIX:
            return any(name in fields and self.prefix_tokens(pid, name) for name in self.fields)
        return any(s[0] in fields for s in self.sequence_hits[pid])

    def spans(self, pid: int, fields: frozenset[str]) -> list[Span]:
        """Where pattern `pid` occurs in `fields`, in field then token order."""
        if self.table.keys[pid] not in self.found:
            return []
        kind = self.table.kind[pid]
        if kind == SINGLE:
            tok = self.table.tokens[pid][0]
            if self.joined and tok in self.joined:  # one-word spellings (`cease-fire`) too: rare, so not fast
                return sorted({*self._single_spans(tok, fields), *self._joined_spans(tok, fields)})
            return self._single_spans(tok, fields)
        if kind == PREFIX:
            spans = [(name, i, i + 1) for name, ft in self.fields.items() if name in fields
                     for tok in self.prefix_tokens(pid, name) for i in ft.positions(tok)]
            if self.joined:  # the joined spellings among the wildcard's words (`prefix_tokens`) sit at two tokens
                spans += [s for name in self.fields if name in fields
                          for tok in self.prefix_tokens(pid, name) for s in self._joined_spans(tok, fields)
                          if s[0] == name]
                return sorted(set(spans))
            return sorted(spans)
        return [s for s in self.sequence_hits[pid] if s[0] in fields]

    def _single_spans(self, tok: str, fields: frozenset[str]) -> list[Span]:
        """Where the single word `tok` stands in `fields` (and, in an article with word forms, its forms)."""
        # Without a set of the field's tokens (ASCII text), `positions` (in C) says whether it is there.
        spans = [
            (name, i, i + 1)
            for name, ft in self.fields.items()
            if name in fields and (ft.present is None or tok in ft.present)
            for i in ft.positions(tok)
        ]
        if self.analysed:  # and its forms, which stand as its canonical word in the stream of forms
            form = self.canonical.get(tok, tok)
            forms = [(name, i, i + 1) for name, fs in self.analysed.items() if name in fields and form in fs.words()
                     for i in fs.positions(form)]
            if forms:
                return sorted({*spans, *forms})
        return spans


def scan(doc: Document, table: PatternTable, fields: tuple[str, ...]) -> Scan:
    """Tokenize the given fields of a document and find which patterns occur."""
    found: set[str | int] = set()
    sequence_hits: dict[int, list[Span]] = {}
    texts: dict[str, FieldText] = {}
    analysed: dict[str, FormStream] = {}
    joined: dict[str, list[Span]] = {}
    index = table._sequence_index
    analyzer = table.analyzer(primary(doc.language)) if doc.language else None
    covered: set[str | int] = set()  # what the native scan finds, with the entries it triggers if attached
    candidates: set[int] | None = set() if table.triggers_attached else None
    for name in fields:
        text: str = getattr(doc, name)
        if not text:
            continue
        cleaned = strip_markup(text)
        src = cleaned.text if cleaned else text
        lower = ascii_folded(src)
        if lower is not None:  # the common case: tokens split in C, offsets found later if needed
            if table.native is not None:  # words and wildcards into `found`, where sequences may start (and
                # not where the next token can continue none), each token's offset, and the tokens
                at, offsets, folded = table.native.scan(lower, covered, candidates)  # type: ignore[attr-defined]
                texts[name] = ft = FieldText(text, cleaned, folded, None, lower, None, offsets=memoryview(offsets).cast("I"))
                if at:
                    find_sequences(table, index, frozenset(), folded, ft, name, found, sequence_hits, None, at)
                starts: frozenset[str] = frozenset()  # visited already
            else:
                folded = lower.split()
                texts[name] = ft = FieldText(text, cleaned, folded, None, lower, None)
                hits, starts = table.hits_ascii(lower, folded)
                found |= hits
        else:  # one regex split keeps the original tokens and offsets; tokens fold through a cache
            parts = split_words(src)
            folded = list(map(fold_token, parts[1::2]))
            present = set(folded)
            texts[name] = ft = FieldText(text, cleaned, folded, present, None, parts)
            found |= table.hits(present)
            starts = frozenset(present & table.sequence_keys)
        if starts:
            find_sequences(table, index, starts, folded, ft, name, found, sequence_hits, None)
        cands = joins(src, str.lower if lower is not None else fold_token, table.initials)
        if cands:  # pairs that may spell one word (`cease-fire`, `U.S.`): most spell no listed word
            record_joins(table, cands, ft, src, name, found, joined, sequence_hits)
        if analyzer is not None:  # the document's language has word forms: seek the patterns in them too
            forms = analyzer.stream(folded, ft.present)
            if forms is None:
                continue
            analysed[name] = forms
            met = forms.words()
            found |= met & table.single_keys
            # Sequences again only if a form stands for one of their words (most forms are of single names).
            if not met.isdisjoint(table.sequence_words):
                stream = forms.stream()
                starts = frozenset(table.sequence_keys.intersection(stream))
                # The field's own text: exact-case patterns compare a form's original, never its word.
                find_sequences(table, index, starts, stream, ft, name, found, sequence_hits, table.pinned)
    if table.spaced and not table.spaced.isdisjoint(sequence_hits):  # a listed word written apart (`cease fire`)
        record_spaced(table, texts, found, joined, sequence_hits, table.spaced)
    found |= covered
    return Scan(doc, table, texts, found, sequence_hits, scanned=frozenset(texts), analysed=analysed, joined=joined,
                canonical=analyzer.canonical if analyzer is not None else {}, candidates=candidates,
                covered=covered)
