"""The compiled matcher: all watchlists at once, and ad-hoc queries for `monitor match` and backtests."""

from __future__ import annotations

import gc
import re
from collections.abc import Collection, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from itertools import chain, compress, islice
from operator import ne, not_
from typing import TYPE_CHECKING

from monitor.config.gc_pause import paused_gc
from monitor.errors import WatchlistCompileError
from monitor.match.compile import Compiler, Entry, QueryProblem
from monitor.match.evaluate import CNode, best
from monitor.match.query import QueryWarning, parse_query_with_warnings
from monitor.match.scan import PatternTable, Scan, Span, scan
from monitor.model import Document, Highlight, Match

if TYPE_CHECKING:  # annotations only: a parse process matches without loading the configuration models
    from monitor.config.models import WatchlistConfig

_FIELD_ORDER = {"title": 0, "body": 1, "author": 2, "url": 3, "source": 4}
SNIPPET_WIDTH = 240
MAX_HIGHLIGHTS_PER_FIELD = 20
"""Highlights kept per field of one match (in text order); the others are only counted (`Match.more_highlights`)."""
MAX_HIGHLIGHT_CHARS = 200
"""A highlight longer than this (a huge token, or a phrase whose words are far apart) keeps its first characters.

With MAX_HIGHLIGHTS_PER_FIELD this bounds a stored match: at most 5 fields x 20 highlights of 200
characters, and a snippet of about SNIPPET_WIDTH + MAX_HIGHLIGHT_CHARS characters."""
_CONTEXT_BEFORE = 80  # characters of context kept before the first highlight
_LARGE = 5_000  # entries from which compiling pauses the garbage collector (see `compile`)


class CompiledWatchlists:
    """All watchlists compiled together; immutable, so a reload builds a new one and swaps it in."""

    def __init__(self, table: PatternTable, entries: list[Entry], fields: tuple[str, ...]) -> None:
        self._table = table
        self._entries = entries
        self._fields = fields
        # What `compile(strict=False)` let through: entries left out for their query problems (`monitor check`).
        self.problems: tuple[QueryProblem, ...] = ()
        self.broken: frozenset[tuple[str, str]] = frozenset()
        by_pattern: dict[str | int, list[int]] = {}
        always: list[int] = []
        # The presearch (Lucene Monitor's idea): an entry is indexed under the rarest set of patterns
        # of which one must occur for it to hold; its other such sets are checked before evaluating it.
        # Most candidates fail their first other set, so that one (`_check`) is tested for every
        # candidate at once in C; an entry with no other set checks its trigger, which always passes.
        self._check: list[tuple[str | int, ...]] = []
        self._rest: dict[int, tuple[tuple[str | int, ...], ...]] = {}  # the sets after the first, if any
        for index, entry in enumerate(entries):
            required = entry.node.required(table)
            trig = best(required, table)
            others = tuple(r for r in required if r is not trig)
            self._check.append(others[0] if others else trig or ())
            if len(others) > 1:
                self._rest[index] = others[1:]
            if trig is None:  # can hold without any word present (NOT, lang:, tag:): always evaluated
                always.append(index)
            else:
                for pid in trig:
                    by_pattern.setdefault(pid, []).append(index)
        self._by_pattern = {pid: tuple(ix) for pid, ix in by_pattern.items()}
        self._always = tuple(always)
        table.attach_triggers(self._by_pattern)  # the native scan, if built, gathers most candidates itself

    @classmethod
    def compile(cls, watchlists: Mapping[str, WatchlistConfig], *, strict: bool = True) -> CompiledWatchlists:
        """Compile watchlists; raises WatchlistCompileError on query problems unless `strict` is False."""
        compiler = Compiler(watchlists)
        compiled = cls.from_compiler(compiler)
        if compiler.problems and strict:
            raise WatchlistCompileError(compiler.problems)
        return compiled

    @classmethod
    def from_compiler(cls, compiler: Compiler) -> CompiledWatchlists:
        """Compile what `compiler` was given; its problems are kept on the result (`problems`, `broken`), not raised."""
        # Compiling 100k actors allocates millions of long-lived objects and no reference cycles: the
        # cyclic garbage collector would walk the growing heap again and again (half the compile time).
        # Paused, it runs once at the end instead, so that matching does not inherit that walk.
        large = sum(len(wl.actors) + len(wl.topics) for wl in compiler.watchlists.values()) >= _LARGE
        collect = large and gc.isenabled()
        with paused_gc() if large else nullcontext():
            entries = compiler.compile_all()
            compiled = cls(compiler.table, entries, ordered_fields(compiler.fields))
            compiled.problems, compiled.broken = tuple(compiler.problems), frozenset(compiler.broken)
        if collect:
            gc.collect()
        return compiled

    @property
    def entry_count(self) -> int:
        """How many actors and topics are compiled."""
        return len(self._entries)

    @property
    def pattern_count(self) -> int:
        """How many distinct token sequences are looked for."""
        return len(self._table)

    def match(self, doc: Document, only: Collection[str] | None = None) -> list[Match]:
        """Every entry matching the document, in configuration order; `only` restricts to watchlist ids."""
        sc = scan(doc, self._table, self._fields)
        found = sc.found
        # One dict lookup per found pattern (no set of indexed keys: at 100k entries it costs memory and a
        # second lookup per key), but for those whose entries the native scan gathered already.
        if sc.candidates is not None:
            candidates = sc.candidates
            candidates.update(chain.from_iterable(filter(None, map(self._by_pattern.get, found.difference(sc.covered)))))
        else:
            candidates = set(chain.from_iterable(filter(None, map(self._by_pattern.get, found))))
        # Keep the candidates whose first other pattern set occurs, without a Python-level loop.
        kept = list(compress(candidates, map(not_, map(found.isdisjoint, map(self._check.__getitem__, candidates)))))
        kept += self._always  # never indexed by a pattern, so never among the candidates already
        entries, rest = self._entries, self._rest
        matches = []
        for index in sorted(kept):
            entry = entries[index]
            if only is not None and entry.watchlist not in only:
                continue
            for required in rest.get(index, ()):
                if found.isdisjoint(required):
                    break
            else:
                if entry.node.true(sc):
                    matches.append(build_match(entry.watchlist, entry.kind, entry.id, entry.name, entry.node, sc))
        return matches


@dataclass(frozen=True, slots=True)
class AdhocQuery:
    """A query typed on the command line or used for a backtest, compiled on its own."""

    text: str
    node: CNode
    table: PatternTable
    fields: tuple[str, ...]
    warnings: tuple[QueryWarning, ...] = ()

    def match(self, doc: Document) -> Match | None:
        """The match (kind "topic", id "query", watchlist "") or None."""
        sc = scan(doc, self.table, self.fields)
        if not self.node.true(sc):
            return None
        return build_match("", "topic", "query", self.text, self.node, sc)


def compile_adhoc(query_text: str, watchlists: Mapping[str, WatchlistConfig] | None = None) -> AdhocQuery:
    """Compile one query; `@list/actor` (or an `@actor` unique across lists) resolves in `watchlists`."""
    compiler = Compiler(watchlists or {})
    ast, warnings = parse_query_with_warnings(query_text)
    node = compiler.node(ast, None, False)
    compiler.table.freeze()
    return AdhocQuery(query_text, node, compiler.table, ordered_fields(compiler.fields), tuple(warnings))


def ordered_fields(fields: Collection[str]) -> tuple[str, ...]:
    """Field names in document order (title, body, author, url, source)."""
    return tuple(sorted(fields, key=_FIELD_ORDER.__getitem__))


# ------------------------------------------------------------------ explanation


def build_match(watchlist: str, kind: str, entry_id: str, name: str, node: CNode, sc: Scan) -> Match:
    """A Match with the highlights of the node's positive spans and a snippet around the first ones."""
    spans: list[Span] = []
    node.highlight(sc, spans)
    highlights, more = _highlights(spans, sc)
    snippet = make_snippet(sc.doc, highlights)  # from the kept highlights only: bounded work
    return Match(watchlist, kind, entry_id, name, highlights, snippet, more)  # type: ignore[arg-type]


def _highlights(spans: list[Span], sc: Scan) -> tuple[tuple[Highlight, ...], int]:
    """The first MAX_HIGHLIGHTS_PER_FIELD highlights of each field, and how many more there were."""
    kept: list[Span] = []
    more = 0
    if len(spans) == 1:  # the commonest case (an actor named once): nothing to sort or drop
        kept = spans
    elif len(spans) <= MAX_HIGHLIGHTS_PER_FIELD:  # a few: every one is kept, unless inside another
        for s in sorted(set(spans), key=lambda s: (_FIELD_ORDER[s[0]], s[1], -s[2])):
            # Drop spans inside a longer one ("Kalin" within "Ibrahim Kalin").
            if kept and kept[-1][0] == s[0] and kept[-1][1] <= s[1] and s[2] <= kept[-1][2]:
                continue
            kept.append(s)
    else:
        # Field by field, in comprehensions and sorts that run in C: a word repeated a million times must
        # not cost a Python call per occurrence. The spans come in sorted runs (one per pattern), which
        # timsort merges in linear time; a set of them would come in hash order and sort 20 times slower.
        nested = any(s[2] - s[1] > 1 for s in spans)  # only a span of several tokens can hold another
        for field in sorted({s[0] for s in spans}, key=_FIELD_ORDER.__getitem__):
            if not nested:  # single tokens: a span is its start, and equal starts are the same span
                starts = [s[1] for s in spans if s[0] == field]
                starts.sort()
                first = list(dict.fromkeys(starts[: MAX_HIGHLIGHTS_PER_FIELD * 4]))[:MAX_HIGHLIGHTS_PER_FIELD]
                if len(first) < MAX_HIGHLIGHTS_PER_FIELD and len(starts) > MAX_HIGHLIGHTS_PER_FIELD * 4:
                    first = list(dict.fromkeys(starts))[:MAX_HIGHLIGHTS_PER_FIELD]  # many repeats of few spans
                kept += [(field, a, a + 1) for a in first]
                distinct = 1 + sum(map(ne, starts, islice(starts, 1, None))) if starts else 0  # sorted: in C
                more += distinct - len(first)
                continue
            pairs = [(s[1], -s[2]) for s in spans if s[0] == field]
            pairs.sort()
            count, last_start, last_end = 0, -1, -1
            for a, minus_b in pairs:
                # Drop spans inside a longer one ("Kalin" within "Ibrahim Kalin"), and repeats.
                if last_start <= a and -minus_b <= last_end:
                    continue
                last_start, last_end = a, -minus_b
                count += 1
                if count > MAX_HIGHLIGHTS_PER_FIELD:
                    more += 1
                else:
                    kept.append((field, a, -minus_b))
    out = []
    for field, start, end in kept:
        ft = sc.fields[field]
        a, b = ft.char_span(start, end)
        if end - start > 1:  # only a span of several tokens can hold a bracket, or be initials
            a, b = _balance(ft.text, a, b)
            if ft.text.startswith(".", b) and _INITIALS.fullmatch(ft.text, a, b):
                b += 1  # "U.S." rather than "U.S" (joins.py)
        b = min(b, a + MAX_HIGHLIGHT_CHARS)
        out.append(Highlight(field, a, b, ft.text[a:b]))
    return tuple(out), more


_BRACKETS = (("(", ")"), ("[", "]"), ("{", "}"))
_INITIALS = re.compile(r"(?:[^\W\d_]\.)+[^\W\d_]")
_BRACKET = re.compile(r"[()\[\]{}]")


def _balance(text: str, a: int, b: int) -> tuple[int, int]:
    """Widen a highlight by a bracket that closes (or opens) one inside it, right next to it.

    "National Intelligence Organization (MIT)" matched in "... Organization (MİT) said" is highlighted
    with its ")" rather than as "[[National Intelligence Organization (MİT]])".
    """
    span = text[a:b]
    if _BRACKET.search(span) is None:  # the commonest case, in one call instead of six counts
        return a, b
    for left, right in _BRACKETS:
        opened = span.count(left) - span.count(right)
        while opened > 0 and text.startswith(right, b):
            b += 1
            opened -= 1
        while opened < 0 and a > 0 and text[a - 1] == left:
            a -= 1
            opened += 1
    return a, b


def make_snippet(doc: Document, highlights: tuple[Highlight, ...], width: int = SNIPPET_WIDTH) -> str:
    """Up to `width` characters of the body (or title) around the first highlights, marked [[like this]]."""
    marks = [h for h in highlights if h.field == "body"] or [h for h in highlights if h.field == "title"]
    text = doc.body if marks and marks[0].field == "body" else doc.title if marks else (doc.body or doc.title)
    if not marks:
        return _clip(text, width)
    # Room for the "... " and " ..." around the clipped text, and for the [[ ]] of the marks that
    # will likely be inside: most snippets then fit at the first try.
    reach = marks[0].start + width
    window = max(width // 2, width - 8 - 4 * sum(1 for h in marks if h.start < reach))
    while True:  # the [[ ]] marks count too: shrink the window until the whole snippet fits
        snippet = _window(text, marks, window)
        if len(snippet) <= width or window <= 40:
            return snippet
        window -= len(snippet) - width


def _window(text: str, marks: list[Highlight], width: int) -> str:
    first = marks[0]
    start = max(0, first.start - _CONTEXT_BEFORE)
    if start > 0:  # begin at a word boundary
        space = text.find(" ", start, first.start)
        start = space + 1 if space >= 0 else first.start
    end = max(min(len(text), start + width), first.end)
    if end < len(text):
        space = text.rfind(" ", first.end, end)
        end = space if space >= 0 else end
    pieces = ["... "] if start > 0 else []
    pos = start
    for h in marks:
        if h.start < pos or h.end > end:
            continue  # overlapping or outside the window
        pieces += [text[pos : h.start], "[[", text[h.start : h.end], "]]"]
        pos = h.end
    pieces.append(text[pos:end])
    if end < len(text):
        pieces.append(" ...")
    return " ".join("".join(pieces).split())  # whitespace runs as one space (str.split: C, no regex)


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    cut = text.rfind(" ", 0, width)
    return text[: cut if cut > 0 else width] + " ..."
