"""From watchlist configuration to compiled nodes: aliases become patterns, @references are resolved."""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, assert_never

from monitor.errors import QuerySyntaxError
from monitor.match.evaluate import (
    DEFAULT_FIELDS,
    CActor,
    CAnd,
    CLang,
    CNear,
    CNode,
    CNot,
    COr,
    CPatterns,
    CTag,
)
from monitor.match.fold import QUOTES, fold_token_exact, fold_tokens, split_words
from monitor.match.joins import joined_spelling
from monitor.match.query import (
    ActorRef,
    And,
    Lang,
    Near,
    Node,
    Not,
    Or,
    Tag,
    Term,
    is_positional,
    parse_query,
    parse_query_with_warnings,
)
from monitor.match.scan import PatternTable

if TYPE_CHECKING:  # annotations only: a parse process matches without loading the configuration models
    from monitor.config.models import ActorConfig, WatchlistConfig


@dataclass(frozen=True, slots=True)
class QueryProblem:
    """A problem with one watchlist entry's query, exclude or aliases, or with one of the watchlist's tests.

    `column` is 1-based within the query text; `test_index` is the 0-based position in `tests:`, and
    `alias_index` in `aliases:` or `exact_case:`. A "warning" does not stop the configuration from loading.
    """

    watchlist: str
    entry_id: str
    field: Literal["query", "exclude", "tests", "aliases", "exact_case"]
    column: int | None
    message: str
    hint: str | None = None
    test_index: int | None = None
    severity: Literal["error", "warning"] = "error"
    alias_index: int | None = None

    def format(self) -> str:
        """One line, e.g. `mena: topic-id: query: column 3: unbalanced '(' (hint: ...)`."""
        where = f"column {self.column}: " if self.column is not None else ""
        test = f"test {self.test_index}: " if self.test_index is not None else ""
        hint = f" (hint: {self.hint})" if self.hint else ""
        warning = "warning: " if self.severity == "warning" else ""
        return f"{self.watchlist}: {self.entry_id}: {self.field}: {test}{where}{warning}{self.message}{hint}"


@dataclass(frozen=True, slots=True)
class Entry:
    """One compiled watchlist entry (actor or topic), in configuration order."""

    watchlist: str
    kind: Literal["actor", "topic"]
    id: str
    name: str
    node: CNode


class _Unchecked(QuerySyntaxError):
    """A reference into a watchlist (or entry) that could not be loaded: its own problem is reported."""


class Compiler:
    """Compiles watchlists into a shared pattern table and per-entry nodes, collecting problems.

    For `monitor check` on a configuration with problems: references into `unloaded` watchlists, or to
    `dropped` entries, mark the referring entry broken without reporting it again; entries referring to a
    `repaired` actor (one changed so that the rest could be checked) are collected in `tainted`.
    """

    def __init__(self, watchlists: Mapping[str, WatchlistConfig], *, unloaded: Collection[str] = (),
                 dropped: Collection[tuple[str, str]] = (), repaired: Collection[tuple[str, str]] = ()) -> None:
        self.watchlists = watchlists
        self.table = PatternTable()
        self.problems: list[QueryProblem] = []
        self.warnings: list[QueryProblem] = []
        self.broken: set[tuple[str, str]] = set()
        self.unloaded = unloaded
        self.dropped = dropped
        self.repaired = repaired
        self.tainted: set[tuple[str, str]] = set(repaired)
        self._compiling: tuple[str, str] | None = None
        self.fields: set[str] = set(DEFAULT_FIELDS)
        self._actors: dict[tuple[str, str], CActor] = {}
        self._names: dict[tuple[str, str], CPatterns] = {}
        self._by_id: dict[str, dict[str, ActorConfig]] = {}
        self._inflect = True  # whether the entry being compiled matches word forms (`forms:`)

    def _config(self, wl_id: str, actor_id: str) -> ActorConfig | None:
        """An actor's configuration by id (a dict per list: lists may hold 100k actors)."""
        by_id = self._by_id.get(wl_id)
        if by_id is None:
            wl = self.watchlists.get(wl_id)
            by_id = self._by_id[wl_id] = {a.id: a for a in wl.actors} if wl else {}
        return by_id.get(actor_id)

    def compile_all(self) -> list[Entry]:
        """Every entry of every watchlist; broken entries are recorded in `problems` and left out."""
        entries: list[Entry] = []
        for wl_id, wl in self.watchlists.items():
            for actor in wl.actors:
                node = self.actor(wl_id, actor.id)
                if (wl_id, actor.id) not in self.broken:
                    entries.append(Entry(wl_id, "actor", actor.id, actor.name, node))
            for topic in wl.topics:
                self._compiling = (wl_id, topic.id)
                self._inflect = (topic.forms or wl.forms) == "inflected"
                try:
                    tnode = self._entry_query(wl_id, topic.id, "query", topic.query)
                except QuerySyntaxError as exc:
                    self._problem(wl_id, topic.id, "query", exc)
                    continue
                finally:
                    self._compiling = None
                    self._inflect = True
                entries.append(Entry(wl_id, "topic", topic.id, topic.name, tnode))
        self.table.freeze()
        return entries

    def query(self, text: str, watchlist: str | None, *, in_exclude: bool) -> CNode:
        """Parse and compile one query; @references resolve against `watchlist` (None: any list)."""
        return self.node(parse_query(text), watchlist, in_exclude)

    def _entry_query(self, wl: str, entry: str, field: Literal["query", "exclude"], text: str,
                     positional: bool = False) -> CNode:
        """Compile a topic's query or an actor's exclude, keeping the parser's warnings about it.

        `positional`: an occurrence-scoped exclude, which must have occurrences to veto with.
        """
        ast, warnings = parse_query_with_warnings(text)
        if positional and not is_positional(ast):
            raise QuerySyntaxError(
                "exclude_scope: occurrence needs an exclude made of words, phrases, wildcards, @actors, "
                "NEAR or OR-groups of those", 1,
                "AND, NOT, lang: and tag: say something about the whole article: use exclude_scope: article, "
                "or write the exclude as an OR of phrases")
        for w in warnings:
            self.warnings.append(QueryProblem(wl, entry, field, w.column, w.message, w.hint, severity="warning"))
        return self.node(ast, wl, field == "exclude")

    def _problem(self, wl: str, entry: str, field: Literal["query", "exclude"], exc: QuerySyntaxError) -> None:
        if not isinstance(exc, _Unchecked):
            self.problems.append(QueryProblem(wl, entry, field, exc.column, exc.message, exc.hint))
        self.broken.add((wl, entry))

    # ------------------------------------------------------------------ actors

    def names(self, wl_id: str, actor: ActorConfig) -> CPatterns:
        """The patterns of an actor's name, aliases and exact-case aliases."""
        key = (wl_id, actor.id)
        found = self._names.get(key)
        if found is None:
            pids: list[int] = []
            inflect = self._actor_forms(wl_id, actor)
            for alias in (actor.name, *actor.aliases):
                tokens = tuple(fold_tokens(alias))
                if tokens:
                    pids.append(self.table.add(tokens, forms=inflect, pinned=not inflect))
                    # A name written with a hyphen or dotted initials (`al-Qassam`, `U.N.`) also matches
                    # its one-word spelling; never across a space: names are not written run together.
                    joined = joined_spelling(alias.translate(QUOTES), spaced=False) if len(tokens) > 1 else None
                    if joined is not None:
                        pids.append(self.table.add((joined,), forms=inflect, pinned=not inflect))
            # Exact-case aliases pin a spelling: they inflect only when the actor asks (`forms: inflected`).
            asked = actor.forms == "inflected"
            for alias in actor.exact_case:
                exact = tuple(fold_token_exact(t) for t in split_words(alias.translate(QUOTES))[1::2])
                if exact:
                    pids.append(self.table.add(tuple(fold_tokens(alias)), False, exact, forms=asked))
            found = self._names[key] = CPatterns(list(dict.fromkeys(pids)), DEFAULT_FIELDS, self.table)
        return found

    def _actor_forms(self, wl_id: str, actor: ActorConfig) -> bool:
        """Whether an actor's names (and its exclude) match word forms: its `forms:`, else its list's."""
        wl = self.watchlists.get(wl_id)
        return (actor.forms or (wl.forms if wl is not None else "inflected")) == "inflected"

    def actor(self, wl_id: str, actor_id: str) -> CActor:
        """The compiled actor (names, minus its exclude query), built once and shared by references."""
        key = (wl_id, actor_id)
        found = self._actors.get(key)
        if found is None:
            config = self._config(wl_id, actor_id)
            assert config is not None  # callers resolved the id
            exclude = None
            if config.exclude is not None:
                outer, self._compiling = self._compiling, key
                inflect, self._inflect = self._inflect, self._actor_forms(wl_id, config)
                try:
                    exclude = self._entry_query(wl_id, actor_id, "exclude", config.exclude,
                                                config.exclude_scope == "occurrence")
                except QuerySyntaxError as exc:
                    self._problem(wl_id, actor_id, "exclude", exc)
                finally:
                    self._compiling = outer
                    self._inflect = inflect
            within = (config.exclude_within or 0) if config.exclude_scope == "occurrence" else None
            found = self._actors[key] = CActor(self.names(wl_id, config), exclude, len(self._actors), within)
        return found

    def _resolve(self, ref: ActorRef, watchlist: str | None) -> tuple[str, ActorConfig]:
        if ref.watchlist is not None:
            wl = self.watchlists.get(ref.watchlist)
            if ref.watchlist in self.unloaded:
                raise _Unchecked(f"watchlist '{ref.watchlist}' could not be loaded", ref.column)
            if wl is None:
                raise QuerySyntaxError(
                    f"unknown watchlist '{ref.watchlist}'{_did_you_mean(ref.watchlist, self.watchlists)}",
                    ref.column,
                    "a watchlist id is its file name without .yaml",
                )
            return ref.watchlist, self._find(ref, ref.watchlist, wl)
        if watchlist is not None:
            return watchlist, self._find(ref, watchlist, self.watchlists[watchlist])
        # An ad-hoc query has no home list: accept an actor id that is unique across lists.
        owners = [w for w in self.watchlists if self._config(w, ref.actor) is not None]
        if len(owners) == 1:
            return owners[0], self._find(ref, owners[0], self.watchlists[owners[0]])
        if len(owners) > 1:
            raise QuerySyntaxError(
                f"actor '@{ref.actor}' is in several watchlists", ref.column, f"write @{owners[0]}/{ref.actor}"
            )
        ids = [a.id for wl in self.watchlists.values() for a in wl.actors]
        raise QuerySyntaxError(
            f"unknown actor '@{ref.actor}'{_did_you_mean(ref.actor, ids, '@')}", ref.column, _ACTOR_HINT
        )

    def _find(self, ref: ActorRef, wl_id: str, wl: WatchlistConfig) -> ActorConfig:
        actor = self._config(wl_id, ref.actor)
        if actor is not None:
            return actor
        if (wl_id, ref.actor) in self.dropped:
            raise _Unchecked(f"actor '{ref.text}' could not be loaded", ref.column)
        prefix = "@" if ref.watchlist is None else f"@{wl_id}/"
        suggestion = _did_you_mean(ref.actor, [a.id for a in wl.actors], prefix)
        elsewhere = [w for w in self.watchlists if w != wl_id and self._config(w, ref.actor) is not None]
        hint = f"'{ref.actor}' is an actor of watchlist '{elsewhere[0]}': write @{elsewhere[0]}/{ref.actor}" if (
            elsewhere) else _ACTOR_HINT
        raise QuerySyntaxError(f"unknown actor '{ref.text}'{suggestion}", ref.column, hint)

    # ------------------------------------------------------------------ query nodes

    def node(self, ast: Node, wl: str | None, in_exclude: bool) -> CNode:
        """Compile one AST node; raises QuerySyntaxError for unresolvable references."""
        match ast:
            case Term():
                fields = self._fields(ast.field)
                if ast.exact is not None:  # `raw:WHO`: as written, never inflected (like an exact_case alias)
                    return CPatterns((self.table.add(ast.tokens, False, ast.exact),), fields, self.table)
                # A wildcard already says which forms it wants: `add` gives it none.
                pids = [self.table.add(ast.tokens, ast.prefix, forms=self._inflect, pinned=not self._inflect)]
                if ast.joined is not None:  # `cease-fire` also matches `ceasefire`
                    pids.append(self.table.add((ast.joined,), forms=self._inflect, pinned=not self._inflect))
                return CPatterns(pids, fields, self.table)
            case ActorRef():
                owner, config = self._resolve(ast, wl)
                fields = self._fields(ast.field)
                if in_exclude:  # an exclude sees other actors' names only, so excludes can never form a cycle
                    self._taint((owner, config.id))
                    return CPatterns(self.names(owner, config).pids, fields, self.table)
                actor = self.actor(owner, config.id)
                self._taint((owner, config.id))
                return actor if ast.field is None else actor.with_fields(fields, self.table)
            case Lang():
                return CLang(ast.code)
            case Tag():
                return CTag(ast.name)
            case And():
                return CAnd([self.node(c, wl, in_exclude) for c in ast.children])
            case Or():
                return COr([self.node(c, wl, in_exclude) for c in ast.children])
            case Not():
                return CNot(self.node(ast.child, wl, in_exclude))
            case Near():
                left, right = self.node(ast.left, wl, in_exclude), self.node(ast.right, wl, in_exclude)
                return CNear(left, right, ast.distance, ast.ordered)
            case _:
                assert_never(ast)

    def _taint(self, referenced: tuple[str, str]) -> None:
        """The entry being compiled refers to `referenced`: if that was changed, so is what it matches."""
        if self._compiling is not None and referenced in self.tainted:
            self.tainted.add(self._compiling)

    def _fields(self, field: str | None) -> frozenset[str]:
        if field is None:
            return DEFAULT_FIELDS
        self.fields.add(field)
        return frozenset({field})


_ACTOR_HINT = "use an actor id from this watchlist, or @watchlist-id/actor-id for another list"


def _did_you_mean(name: str, choices: object, prefix: str = "") -> str:
    """ " — did you mean '@a', '@b' or '@c'?" with the nearest ids, or nothing when none is near."""
    close = [f"'{prefix}{c}'" for c in difflib.get_close_matches(name, list(choices), n=3)]  # type: ignore[call-overload]
    if not close:
        return ""
    listed = close[0] if len(close) == 1 else ", ".join(close[:-1]) + " or " + close[-1]
    return f" — did you mean {listed}?"
