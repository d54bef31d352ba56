"""The query language of DESIGN §3.3: a tokenizer and a recursive-descent parser to an AST.

Precedence, tightest first: NOT, NEAR/ONEAR, AND (explicit or by juxtaposition), OR.
Operators are written in capitals; a lowercase "and" is an ordinary word.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypeAlias

from monitor.errors import QuerySyntaxError
from monitor.match.fold import QUOTES, fold_tokens

FIELDS = ("title", "body", "author", "url", "source")
_NEAR = re.compile(r"^(O?NEAR)(?:/(.*))?$")
_DISTANCE = re.compile(r"^[0-9]{1,4}$")  # ASCII digits only: "²".isdigit() is true but int() refuses it
_MAX_DISTANCE = 1000
_ACTOR = re.compile(r"^@(?:([a-z0-9][a-z0-9_.-]*)/)?([a-z0-9][a-z0-9_.-]*)$")
_MAX_DEPTH = 64  # deeper nesting is a mistake, and would exhaust Python's recursion limit
_OPEN_QUOTES = '"“„‟«'
_CLOSE_QUOTES = '"”“‟»'
_STOP = set("()" + _OPEN_QUOTES + _CLOSE_QUOTES)


# ------------------------------------------------------------------ AST


@dataclass(frozen=True, slots=True)
class Term:
    """A word, "a phrase" or a wildcard: folded tokens in sequence; with `prefix` the last is a prefix."""

    tokens: tuple[str, ...]
    prefix: bool
    field: str | None
    text: str
    column: int


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
    if isinstance(node, And | Or):
        for child in node.children:
            yield from walk(child)
    elif isinstance(node, Not):
        yield from walk(node.child)
    elif isinstance(node, Near):
        yield from walk(node.left)
        yield from walk(node.right)


def is_positional(node: Node) -> bool:
    """True if the node has token positions, so NEAR can measure distances to it."""
    if isinstance(node, Term | ActorRef | Near):
        return True
    return isinstance(node, Or) and all(is_positional(c) for c in node.children)


# ------------------------------------------------------------------ tokenizer


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # ( ) WORD PHRASE FIELD AND OR NOT NEAR ACTOR LANG TAG EOF
    value: str
    column: int
    distance: int = 0
    ordered: bool = False


def _lex(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            toks.append(_Tok(ch, ch, i + 1))
            i += 1
        elif ch in _CLOSE_QUOTES and ch not in _OPEN_QUOTES:
            # A closing quote with no phrase open: without this the word scanner below would stop
            # on it without consuming it, forever.
            raise QuerySyntaxError(f"unexpected closing quote {ch!r}", i + 1, 'open the phrase with " or remove it')
        elif ch in _OPEN_QUOTES:
            end = next((j for j in range(i + 1, n) if text[j] in _CLOSE_QUOTES), -1)
            if end < 0:
                raise QuerySyntaxError("unterminated phrase", i + 1, 'close the phrase with a matching "')
            toks.append(_Tok("PHRASE", text[i + 1 : end], i + 1))
            i = end + 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in _STOP:
                j += 1
            _word(text[i:j], i + 1, toks)
            i = j
    toks.append(_Tok("EOF", "", n + 1))
    return toks


def _word(word: str, column: int, toks: list[_Tok]) -> None:
    # Field prefixes ("title:body:x") are peeled in a loop, not by recursion: a query may be long.
    while True:
        head, colon, rest = word.partition(":")
        if not (colon and head.isalpha() and head.lower() in FIELDS and rest):
            break
        toks.append(_Tok("FIELD", head.lower(), column))
        word, column = rest, column + len(head) + 1
    if word in ("AND", "OR", "NOT"):
        toks.append(_Tok(word, word, column))
        return
    near = _NEAR.match(word)
    if near:
        distance = near.group(2)
        if distance is None or not _DISTANCE.match(distance) or int(distance) < 1:
            raise QuerySyntaxError(
                f"{near.group(1)} needs a distance", column, f"write {near.group(1)}/5 for 'within 5 words'"
            )
        if int(distance) > _MAX_DISTANCE:
            raise QuerySyntaxError(
                f"{near.group(1)} distance must be at most {_MAX_DISTANCE}", column, "use AND for 'anywhere'"
            )
        toks.append(_Tok("NEAR", word, column, int(near.group(2)), near.group(1) == "ONEAR"))
        return
    head, colon, rest = word.partition(":")
    if colon and head.isalpha():
        key = head.lower()
        if key in FIELDS:
            toks.append(_Tok("FIELD", key, column))
            if rest:
                _word(rest, column + len(head) + 1, toks)
            return
        if key in ("lang", "tag"):
            if not rest:
                raise QuerySyntaxError(f"'{head}:' needs a value", column, f"write e.g. {key}:ar")
            toks.append(_Tok(key.upper(), rest, column))
            return
        raise QuerySyntaxError(
            f"unknown field '{head}'", column, "fields are title, body, author, url, source; and lang:, tag:"
        )
    if word.startswith("@"):
        if not _ACTOR.match(word):
            raise QuerySyntaxError(
                f"invalid actor reference '{word}'", column, "write @actor-id or @watchlist-id/actor-id"
            )
        toks.append(_Tok("ACTOR", word, column))
        return
    toks.append(_Tok("WORD", word, column))


# ------------------------------------------------------------------ parser


_STARTS = {"(", "WORD", "PHRASE", "FIELD", "NOT", "ACTOR", "LANG", "TAG"}


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _lex(text)
        self.pos = 0
        self.depth = 0

    def peek(self) -> _Tok:
        return self.toks[self.pos]

    def take(self) -> _Tok:
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

    def expect_operand(self, op: _Tok) -> None:
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
            if nxt.kind not in ("(", "WORD", "PHRASE", "ACTOR"):
                raise QuerySyntaxError(
                    f"'{tok.value}:' needs a word, phrase or group", tok.column, f"write e.g. {tok.value}:hostage"
                )
            return self.primary(tok.value)
        if tok.kind in ("WORD", "PHRASE"):
            return _term(tok, field)
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


def _term(tok: _Tok, field: str | None) -> Term:
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
    return Term(tokens, prefix, field, text, tok.column)


def parse_query(text: str) -> Node:
    """Parse a query to its AST; raises QuerySyntaxError with a 1-based column and a hint."""
    return _Parser(text).parse()
