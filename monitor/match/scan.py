"""One pass over an article's fields finds every alias and query-term occurrence (the presearch).

Every alias, phrase and word of every compiled watchlist becomes a *pattern*: a sequence of folded
tokens, the last one possibly a prefix. The cost of a scan grows with the article, not with the number
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

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import chain, compress, repeat
from operator import itemgetter

from monitor.match import native
from monitor.match.compounds import record_spaced, split_spellings
from monitor.match.fieldtext import ASCII_WORD, FieldText, FormStream, words_with_prefix
from monitor.match.fold import (
    ascii_folded,
    fold_token,
    split_words,
    strip_markup,
)
from monitor.match.forms import LANGUAGES, Analyzer, has_forms, make_analyzer, primary
from monitor.match.joins import joins, record_joins
from monitor.match.sequences import SequenceIndex, find_sequences
from monitor.model import Document

try:  # a native multi-pattern automaton finds wildcard prefixes in one pass over ASCII text
    import ahocorasick_rs
except ImportError:  # pragma: no cover - without it, wildcards are found by cutting tokens (below)
    ahocorasick_rs = None  # type: ignore[assignment]

Span = tuple[str, int, int]  # field, first token, one past the last token
_PREFIX_KEY = 3  # wildcards need 3+ characters, so every prefix pattern has a 3-character key


SINGLE, PREFIX, SEQUENCE = 0, 1, 2  # pattern kinds
_SequenceIndex = SequenceIndex


class PatternTable:
    """Every distinct token sequence the compiled watchlists look for, with ids and lookup indexes."""

    def __init__(self) -> None:
        self._ids: dict[tuple[tuple[str, ...], bool, tuple[str, ...] | None, int], int] = {}
        self.tokens: list[tuple[str, ...]] = []
        self.prefix: list[bool] = []
        self.exact: list[tuple[str, ...] | None] = []
        self.kind: list[int] = []
        # What `Scan.found` holds for a pattern: a single word is the word itself (the set of an
        # article's words that are patterns is then one set intersection), any other pattern its id.
        self.keys: list[str | int] = []
        self.single: dict[str, int] = {}  # a word → its pattern (equal patterns share an id)
        self.by_prefix_key: dict[str, list[int]] = {}  # a wildcard's first 3 characters → patterns
        # first token → second token → phrases and aliases; under None: exact-case words, "word prefix*"
        self.sequences: dict[str, dict[str | None, list[int]]] = {}
        self.sequence_keys: frozenset[str] = frozenset()
        self.sequence_words: frozenset[str] = frozenset()  # every word of a sequence that has forms
        # first token → (second token → patterns, patterns checked whatever the second token)
        self._sequence_index: _SequenceIndex = {}
        # Word forms (monitor/match/forms.py): the listed words that have forms, and per language (made
        # on its first document) the analyzer that maps a token to the listed word it is a form of. The
        # patterns are sought again in that stream of forms, but for `pinned` ones (`forms: exact`).
        self.form_words: set[str] = set()
        self.pinned: set[int] = set()
        self.exact_forms: set[int] = set()  # exact-case patterns whose forms count (asked for)
        self._analyzers: dict[str, Analyzer] = {}
        self.single_keys: frozenset[str] = frozenset()
        # Wildcards by length: (cut a token to that length, prefix → wildcard ids); with several
        # lengths, the first 3 characters of every wildcard, to skip most tokens in one pass.
        self._prefixes: list[tuple[Callable[[str], str], dict[str, tuple[int, ...]]]] = []
        self._prefix3: frozenset[str] | None = None
        # Single words and first tokens of sequences together: one lookup per token of ASCII text.
        self.first_keys: frozenset[str] = frozenset()
        self.initials = False
        self.spaced: set[int] = set()  # listed words cut before a compound ending (monitor/match/compounds.py)
        self.spaced_upto = 0
        # Wildcards on ASCII text: an automaton of " prefix" over " " + the lower-cased text (tokens
        # separated by spaces), so each match is a token start; its longest match at a token implies
        # every shorter wildcard that is a prefix of it, hence the tuple of ids per automaton pattern.
        self._prefix_automaton: object | None = None
        self._prefix_ids: list[tuple[int, ...]] = []
        # The native scan (`_native.Index`) of ASCII fields, if built: it replaces `hits_ascii` and the
        # walk of every token for sequence starts with one pass over the text's bytes.
        self.native: object | None = None
        self.triggers_attached = False  # `attach_triggers`: the native scan also gathers the matcher's candidates

    def add(self, tokens: tuple[str, ...], prefix: bool = False, exact: tuple[str, ...] | None = None, *,
            forms: bool = False, pinned: bool = False) -> int:
        """The id of a pattern, adding it if new (equal patterns of different rules share one id).

        With `forms`, its words also match their forms in an article's language (`forms: inflected`);
        `pinned` (`forms: exact`), a word that has forms is a pattern apart, sought only as written.
        An exact-case pattern has forms only when asked: then a form's original starts with its spelling.
        """
        if forms and not prefix:
            self.form_words.update(t for t in tokens if has_forms(t))
        pinned = pinned and not prefix and exact is None and any(map(has_forms, tokens))
        exact_forms = forms and exact is not None
        key = (tokens, prefix, exact, 1 if pinned else 2 if exact_forms else 0)
        pid = self._ids.get(key)
        if pid is not None:
            return pid
        pid = self._ids[key] = len(self.tokens)
        self.tokens.append(tokens)
        self.prefix.append(prefix)
        self.exact.append(exact)
        single = len(tokens) == 1 and not prefix and exact is None and not pinned
        self.keys.append(tokens[0] if single else pid)
        if pinned:
            self.pinned.add(pid)
        if exact_forms:
            self.exact_forms.add(pid)
        if prefix and len(tokens) == 1:
            self.kind.append(PREFIX)
            self.by_prefix_key.setdefault(tokens[0][:_PREFIX_KEY], []).append(pid)
        elif single:
            self.kind.append(SINGLE)
            self.single[tokens[0]] = pid
        else:  # a pinned word too: its id, not the word (found in the stream of forms), says it occurs
            self.kind.append(SEQUENCE)
            second = tokens[1] if len(tokens) > 2 or (len(tokens) == 2 and not prefix) else None
            self.sequences.setdefault(tokens[0], {}).setdefault(second, []).append(pid)
        return pid

    def analyzer(self, language: str | None) -> Analyzer | None:
        """The word forms of a language (primary subtag), None if it has none or no listed word does."""
        if language not in LANGUAGES or not self.form_words:
            return None
        found = self._analyzers.get(language)  # type: ignore[arg-type]
        if found is None:
            found = self._analyzers[language] = make_analyzer(language, frozenset(self.form_words))  # type: ignore[index,arg-type]
        return found

    def freeze(self) -> None:
        """Build the lookup sets once all patterns are added."""
        split_spellings(self)
        self.sequence_words = frozenset(
            t for pid, kind in enumerate(self.kind) if kind == SEQUENCE and pid not in self.pinned
            for t in self.tokens[pid] if t in self.form_words)
        _index(self.sequences, self._sequence_index)
        self.sequence_keys = frozenset(self._sequence_index)
        # Sharing ids between equal patterns is for compiling; a pattern added later gets a new id.
        self._ids.clear()
        self._analyzers.clear()  # made again for the words added since
        self.single_keys = frozenset(self.single)
        prefixes: dict[int, dict[str, tuple[int, ...]]] = {}
        for pids in self.by_prefix_key.values():
            for pid in pids:
                word = self.tokens[pid][0]
                by_prefix = prefixes.setdefault(len(word), {})
                by_prefix[word] = (*by_prefix.get(word, ()), pid)
        self._prefixes = [(itemgetter(slice(0, n)), d) for n, d in sorted(prefixes.items())]
        self._prefix3 = frozenset(self.by_prefix_key) if len(prefixes) > 1 else None
        self.first_keys = self.single_keys | self.sequence_keys
        self.initials = any(len(k) == 2 and k.isalpha() for k in self.first_keys)  # `U.S.` may spell one
        self._build_automaton()

    def attach_triggers(self, by_key: dict[str | int, tuple[int, ...]]) -> None:
        """Give the native index the matcher's trigger index, so a scan gathers the entries its words trigger."""
        if self.native is not None:
            self.native.attach(by_key)  # type: ignore[attr-defined]
            self.triggers_attached = True

    def _build_native(self) -> None:
        self.native = None
        self.triggers_attached = False
        if native.extension is None:  # not built: `hits_ascii` and a walk of every token for sequences
            return
        ascii_word = ASCII_WORD.fullmatch  # only such words can be a token of ASCII text
        starts = [w for w in self.sequence_keys if ascii_word(w)]
        index = self._sequence_index
        self.native = native.extension.Index(
            [w for w in self.single_keys if ascii_word(w)],
            starts,
            {w: pids for _, d in self._prefixes for w, pids in d.items() if ascii_word(w)},
            [w for w in starts if index[w][1]],  # sequences checked whatever the second token (`word prefix*`)
            [(w, second) for w in starts for second in index[w][0]],
        )

    def _build_automaton(self) -> None:
        self._build_native()
        self._prefix_automaton = None
        self._prefix_ids = []
        if ahocorasick_rs is None or not self._prefixes:
            return
        by_word = {w: pids for _, d in self._prefixes for w, pids in d.items()}
        # An ASCII token is [a-z0-9]+: a wildcard with any other character never matches one.
        words = [w for w in by_word if ASCII_WORD.fullmatch(w)]
        if words:
            self._prefix_ids = [
                tuple(chain.from_iterable(by_word[w[:k]] for k in range(1, len(w) + 1) if w[:k] in by_word))
                for w in words
            ]
            self._prefix_automaton = ahocorasick_rs.AhoCorasick(
                [" " + w for w in words],
                matchkind=ahocorasick_rs.MatchKind.LeftmostLongest,
                implementation=ahocorasick_rs.Implementation.DFA,
            )

    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()  # the automaton does not pickle: rebuilt on loading
        state["_prefix_automaton"] = None
        state["native"] = None
        state["_analyzers"] = {}  # made again, on each process's first document in a language
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._build_automaton()

    def __len__(self) -> int:
        return len(self.tokens)

    def any_hit(self, words: list[str]) -> bool:
        """Whether one of `words` is a single-word pattern or a sequence start, or a wildcard matches it (in C)."""
        if not self.first_keys.isdisjoint(words):
            return True
        return any(not by_prefix.keys().isdisjoint(map(cut, words)) for cut, by_prefix in self._prefixes)

    def lone_words(self, word: str) -> list[int]:
        """The patterns of one token, sought as sequences (pinned words), whose token is `word`."""
        entry = self._sequence_index.get(word)
        return [p for p in entry[1] if len(self.tokens[p]) == 1 and self.exact[p] is None] if entry else []

    def hits(self, present: set[str]) -> set[str | int]:
        """The keys of the single-word and wildcard patterns that the tokens of `present` make occur.

        Words that are patterns are their own keys: one set intersection. Wildcards: per wildcard
        length, every token is cut to that length and looked up, in C (no per-token Python code, and no
        cache that would grow with the vocabulary).
        """
        found: set[str | int] = present & self.single_keys  # type: ignore[assignment]
        if self._prefixes:
            tokens: Iterable[str] = present
            if self._prefix3 is not None:  # several lengths: first drop tokens no wildcard can start
                tokens = list(compress(present, map(self._prefix3.__contains__, map(_CUT3, present))))
            for cut, by_prefix in self._prefixes:
                found.update(chain.from_iterable(map(by_prefix.__getitem__,
                                                     filter(by_prefix.__contains__, map(cut, tokens)))))
        return found

    def hits_ascii(self, lower: str, folded: list[str]) -> tuple[set[str | int], frozenset[str]]:
        """(`hits` of the tokens, the tokens that start a sequence) for ASCII text (`ascii_folded`).

        One lookup per token finds words and sequence starts (no set of the tokens is built), and the
        wildcard automaton runs over the text itself.
        """
        keys = self.first_keys.intersection(folded)
        found: set[str | int] = set(keys & self.single_keys)
        if self._prefixes:
            automaton = self._prefix_automaton
            if automaton is None:
                found |= self.hits(set(folded))
            else:
                matches = automaton.find_matches_as_indexes(" " + lower)  # type: ignore[attr-defined]
                found.update(chain.from_iterable(map(self._prefix_ids.__getitem__, map(_FIRST, matches))))
        return found, keys & self.sequence_keys


def _index(pending: dict[str, dict[str | None, list[int]]], index: _SequenceIndex) -> None:
    """Move the sequences added since the last freeze to the index (memory: 100k actors make 200k+)."""
    for first, by_second in pending.items():
        seconds, loose = index.get(first, ({}, ()))
        for second, pids in by_second.items():
            if second is None:
                loose += tuple(pids)
            else:
                seconds[second] = seconds.get(second, ()) + tuple(pids)
        index[first] = (seconds, loose)
    pending.clear()


_CUT3 = itemgetter(slice(0, _PREFIX_KEY))
_FIRST = itemgetter(0)


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
