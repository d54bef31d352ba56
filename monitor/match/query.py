"""The query language of DESIGN §3.3: a tokenizer and a recursive-descent parser to an AST.

Precedence, tightest first: NOT (or a leading '-'), NEAR/ONEAR, AND (explicit or by juxtaposition), OR.
Operators are written in capitals; see monitor.match.lexer for the lower-case forms it warns about.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TypeAlias, assert_never

from monitor.errors import QuerySyntaxError
from monitor.match.fold import QUOTES, fold_token_exact, fold_tokens, split_words
from monitor.match.joins import joined_spelling
from monitor.match.lexer import FIELDS, MAX_DISTANCE, QueryWarning, Tok, lex

__all__ = ["FIELDS", "MAX_DISTANCE", "ActorRef", "And", "Lang", "Near", "Node", "Not", "Or", "QueryWarning", "Tag",
           "Term", "is_positional", "parse_query", "parse_query_with_warnings", "walk"]

_ACTOR = re.compile(r"^@(?:([a-z0-9][a-z0-9_.-]*)/)?([a-z0-9][a-z0-9_.-]*)$")
_MAX_DEPTH = 64  # deeper nesting is a mistake, and would exhaust Python's recursion limit


# ------------------------------------------------------------------ AST


@dataclass(frozen=True, slots=True)
class Term:
    """A word, "a phrase" or a wildcard: folded tokens in sequence; with `prefix` the last is a prefix."""

    tokens: tuple[str, ...]
    prefix: bool
    field: str | None
    text: str
    column: int
    joined: str | None = None  # the one-word spelling of `cease-fire`, `"cease fire"`, `U.S.` (joins.py)
    exact: tuple[str, ...] | None = None  # `raw:`: the tokens folded but for case, compared as written


@dataclass(frozen=True, slots=True)
class ActorRef:
    """`@actor` or `@list/actor`: any name or alias of that actor."""

    watchlist: str | None
    actor: str
    field: str | None
    text: str
    column: int


@dataclass(frozen=True, slots=True)
class Lang:
    """`lang:ar`: the article's language (its primary subtag)."""

    code: str
    column: int


@dataclass(frozen=True, slots=True)
class Tag:
    """`tag:mena`: a tag of the feed the article came from."""

    name: str
    column: int


@dataclass(frozen=True, slots=True)
class And:
    """All children."""

    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """Any child."""

    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """The child is false."""

    child: Node
    column: int


@dataclass(frozen=True, slots=True)
class Near:
    """`left NEAR/n right`: at most n tokens between them, in the same field; `ordered`: left first."""

    left: Node
    right: Node
    distance: int
    ordered: bool
    column: int


Node: TypeAlias = Term | ActorRef | Lang | Tag | And | Or | Not | Near


def walk(node: Node) -> Iterator[Node]:
    """Every node of a tree, parents before children."""
    yield node
    match node:
        case And() | Or():
            for child in node.children:
                yield from walk(child)
        case Not():
            yield from walk(node.child)
        case Near():
            yield from walk(node.left)
            yield from walk(node.right)
        case Term() | ActorRef() | Lang() | Tag():
            pass  # leaves
        case _:
            assert_never(node)


def is_positional(node: Node) -> bool:
    """True if the node has token positions, so NEAR can measure distances to it."""
    match node:
        case Term() | ActorRef() | Near():
            return True
        case Or():
            return all(is_positional(c) for c in node.children)
        case Lang() | Tag() | And() | Not():
            return False
        case _:
            assert_never(node)


# ------------------------------------------------------------------ parser


_STARTS = {"(", "WORD", "PHRASE", "FIELD", "RAW", "NOT", "ACTOR", "LANG", "TAG"}


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks, self.warnings = lex(text)
        self.pos = 0
        self.depth = 0

    def peek(self) -> Tok:
        return self.toks[self.pos]

    def take(self) -> Tok:
        tok = self.toks[self.pos]
        self.pos += 1
        return tok

    def parse(self) -> Node:
        if self.peek().kind == "EOF":
            raise QuerySyntaxError("empty query", 1, "write at least one word, phrase or @actor")
        node = self.or_expr(None)
        tok = self.peek()
        if tok.kind == ")":
            raise QuerySyntaxError("unbalanced ')'", tok.column, "remove it or add the matching '('")
        if tok.kind != "EOF":  # cannot happen with the grammar above; kept as a guard
            raise QuerySyntaxError(f"unexpected '{tok.value}'", tok.column, "remove it")
        return node

    def or_expr(self, field: str | None) -> Node:
        items = [self.and_expr(field)]
        while self.peek().kind == "OR":
            op = self.take()
            self.expect_operand(op)
            items.append(self.and_expr(field))
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self, field: str | None) -> Node:
        items = [self.near_expr(field)]
        while True:
            kind = self.peek().kind
            if kind == "AND":
                self.expect_operand(self.take())
            elif kind not in _STARTS:
                break
            items.append(self.near_expr(field))
        return items[0] if len(items) == 1 else And(tuple(items))

    def near_expr(self, field: str | None) -> Node:
        left = self.unary(field)
        while self.peek().kind == "NEAR":
            op = self.take()
            self.expect_operand(op)
            right = self.unary(field)
            if not (is_positional(left) and is_positional(right)):
                raise QuerySyntaxError(
                    f"{op.value.split('/')[0]} needs a word, phrase, @actor or OR-group on each side",
                    op.column,
                    "put AND, NOT, lang: and tag: outside the NEAR",
                )
            left = Near(left, right, op.distance, op.ordered, op.column)
        return left

    def unary(self, field: str | None) -> Node:
        if self.peek().kind == "NOT":
            op = self.take()
            self.expect_operand(op)
            self.depth += 1
            if self.depth > _MAX_DEPTH:
                raise QuerySyntaxError("NOT nested too deeply", op.column, "simplify the query")
            node = Not(self.unary(field), op.column)
            self.depth -= 1
            return node
        return self.primary(field)

    def expect_operand(self, op: Tok) -> None:
        tok = self.peek()
        if tok.kind not in _STARTS:
            where = "at the end" if tok.kind == "EOF" else f"before '{tok.value}'"
            raise QuerySyntaxError(
                f"'{op.value}' needs a word, phrase or group after it", op.column, f"something is missing {where}"
            )

    def primary(self, field: str | None) -> Node:
        tok = self.take()
        if tok.kind == "(":
            self.depth += 1
            if self.depth > _MAX_DEPTH:
                raise QuerySyntaxError("parentheses nested too deeply", tok.column, "simplify the query")
            if self.peek().kind == ")":
                raise QuerySyntaxError("empty parentheses", tok.column, "put a word, phrase or @actor inside")
            node = self.or_expr(field)
            if self.peek().kind != ")":
                raise QuerySyntaxError("unbalanced '('", tok.column, "close the parenthesis opened here")
            self.take()
            self.depth -= 1
            return node
        if tok.kind == "FIELD":
            nxt = self.peek()
            if nxt.kind in ("LANG", "TAG"):
                return self.primary(tok.value)  # reports that lang:/tag: cannot be inside a field
            if nxt.kind not in ("(", "WORD", "PHRASE", "ACTOR", "RAW"):
                raise QuerySyntaxError(
                    f"'{tok.value}:' needs a word, phrase or group", tok.column, f"write e.g. {tok.value}:hostage"
                )
            return self.primary(tok.value)
        if tok.kind in ("WORD", "PHRASE"):
            return _term(tok, field)
        if tok.kind == "RAW":
            nxt = self.take()
            if nxt.kind not in ("WORD", "PHRASE"):
                raise QuerySyntaxError("'raw:' needs a word or a phrase right after it", tok.column,
                                       'write e.g. raw:WHO or raw:"World Health Organization"; '
                                       "for a group, write raw: before each word")
            term = _term(nxt, field, exact=True)
            return replace(term, text=f"raw:{term.text}", column=tok.column)
        if tok.kind == "ACTOR":
            m = _ACTOR.match(tok.value)
            assert m is not None  # the tokenizer checked it
            return ActorRef(m.group(1), m.group(2), field, tok.value, tok.column)
        if tok.kind in ("LANG", "TAG"):
            if field is not None:
                raise QuerySyntaxError(
                    f"{tok.kind.lower()}: cannot be used inside {field}:", tok.column, "move it outside the field"
                )
            if tok.kind == "LANG":
                return Lang(tok.value.lower(), tok.column)
            return Tag(tok.value.casefold(), tok.column)
        if tok.kind == ")":
            raise QuerySyntaxError("unbalanced ')'", tok.column, "remove it or add the matching '('")
        if tok.kind == "EOF":
            raise QuerySyntaxError("the query ends too early", tok.column, "something is missing at the end")
        raise QuerySyntaxError(
            f"'{tok.value}' needs a word, phrase or group before it", tok.column, "something is missing here"
        )


def _term(tok: Tok, field: str | None, exact: bool = False) -> Term:
    raw = tok.value.translate(QUOTES)
    prefix = False
    if "*" in raw:
        if raw.count("*") > 1 or not raw.rstrip().endswith("*"):
            raise QuerySyntaxError("'*' is allowed only at the end of a word", tok.column, "write e.g. negotiat*")
        raw = raw.rstrip()[:-1]
        prefix = True
    tokens = tuple(fold_tokens(raw))
    if not tokens:
        kind = "phrase" if tok.kind == "PHRASE" else "term"
        raise QuerySyntaxError(
            f"{kind} '{tok.value}' has no letters or digits", tok.column, "punctuation alone never matches; remove it"
        )
    if prefix and (len(tokens[-1]) < 3 or raw.endswith((" ", "-", "'"))):
        raise QuerySyntaxError(
            "a wildcard needs at least 3 characters before '*'",
            tok.column,
            "short prefixes match too many words; write e.g. negotiat*",
        )
    text = f'"{tok.value}"' if tok.kind == "PHRASE" else tok.value
    if exact:
        if prefix:
            raise QuerySyntaxError("'raw:' cannot take a wildcard", tok.column,
                                   "an exact-case word is compared whole: remove the '*' or the raw:")
        return Term(tokens, False, field, text, tok.column, None,
                    tuple(fold_token_exact(t) for t in split_words(raw)[1::2]))
    joined = None if prefix else joined_spelling(raw, spaced=True)
    return Term(tokens, prefix, field, text, tok.column, joined)


def parse_query(text: str) -> Node:
    """Parse a query to its AST; raises QuerySyntaxError with a 1-based column and a hint."""
    return _Parser(text).parse()


def parse_query_with_warnings(text: str) -> tuple[Node, list[QueryWarning]]:
    """Parse a query; also return what it does that its author probably did not mean (it still runs)."""
    parser = _Parser(text)
    return parser.parse(), parser.warnings
