"""The pattern table: every distinct token sequence the compiled watchlists look for, and its lookup indexes.

Every alias, phrase and word of every compiled watchlist becomes a *pattern*: a sequence of folded
tokens, the last one possibly a prefix. `PatternTable.freeze` builds what one scan of an article
(monitor/match/scan.py) looks its tokens up in: sets of single words and sequence starts (set algebra
in C), wildcards by length and as a native automaton (ahocorasick_rs), and, where the optional
extension is built (monitor/match/_native.c), one native index of all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import chain, compress
from operator import itemgetter

from monitor.match import native
from monitor.match.compounds import split_spellings
from monitor.match.fieldtext import ASCII_WORD
from monitor.match.forms import LANGUAGES, Analyzer, has_forms, make_analyzer
from monitor.match.sequences import SequenceIndex

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
