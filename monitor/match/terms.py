"""Full-text index terms: what an article is indexed under, and which index terms a query needs (archive search).

The database's full-text index (SQLite FTS5, PostgreSQL tsvector) must never miss an article the matcher
would match, so it does not tokenise the text itself: it stores the product's own terms, computed here
with the matcher's tokenisation and folding, and a query is reduced to the terms it requires. Its
answer is then a superset of the query's matches, and the matcher decides on each candidate (exact
semantics and highlights, as `/query`).

An article's terms are its folded title and body tokens, plus, in a language with word forms
(docs/query-language.md), a *form key* per token: `~` and what the matcher could reduce it to (its
Snowball stem; a Hebrew or Arabic token without each of its possible clitics). A query word is sought
as itself or as the keys a form of it would have, in every language whose script it is written in
(the article's language is not known before the index is asked). Keys cannot collide with tokens,
which never contain `~`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import assert_never
from unicodedata import ucd_3_2_0

from monitor.match.compounds import MIN_HEAD, is_tail
from monitor.match.fold import ascii_folded, fold_token, split_words, strip_markup
from monitor.match.forms import (
    _AR_ARTICLE,
    _AR_PREFIXES_BY_LENGTH,
    _HEBREW_BY_LENGTH,
    _SCRIPT,
    ARABIC_SUFFIXES,
    MIN_STEMMED,
    SNOWBALL,
    _make_stemmer,
    arabic_normal,
    has_forms,
    hebrew_listed,
    primary,
)
from monitor.match.joins import joins
from monitor.match.query import ActorRef, And, Lang, Near, Node, Not, Or, Tag, Term
from monitor.model import IndexAll, IndexAny, IndexQuery, IndexWord

KEY = "~"
MAX_TERM_CHARS = 64
"""Longer tokens are indexed by their first 64 characters (PostgreSQL caps a lexeme at 2 KiB); a
query token that long is then sought as a prefix, so nothing is missed."""
INDEXED_FIELDS = frozenset({"title", "body"})
_STEMMED = (*SNOWBALL, "uk")
_STEMMERS = {language: _make_stemmer(language) for language in _STEMMED}
_HEBREW = _SCRIPT["he"]


def text_tokens(text: str) -> list[str]:
    """The folded tokens of one field, exactly as the matcher's scan splits and folds them."""
    if not text:
        return []
    cleaned = strip_markup(text)
    src = cleaned.text if cleaned else text
    lower = ascii_folded(src)
    if lower is not None:
        return lower.split()
    return [fold_token(t) for t in split_words(src)[1::2]]


def spelled_words(text: str, tokens: list[str]) -> set[str]:
    """The one-word spellings of a field's word pairs that the matcher may read as one word (docs/query-language.md).

    `cease-fire`, `U.S.` (monitor/match/joins.py) and `cease fire` (monitor/match/compounds.py): a superset,
    since a pair is joined here whatever separates it when its second word is a compound ending.
    """
    if not text:
        return set()
    cleaned = strip_markup(text)
    src = cleaned.text if cleaned else text
    words = {w for _, spelled, _, _ in joins(src, fold_token) for w in spelled if w}
    words.update(a + b for a, b in zip(tokens, tokens[1:], strict=False) if len(a) >= MIN_HEAD and is_tail(b))
    return words


def index_terms(title: str, body: str, language: str | None) -> list[str]:
    """The distinct terms an article is indexed under: its title and body tokens, their one-word spellings and form keys."""
    title_tokens, body_tokens = text_tokens(title), text_tokens(body)
    tokens = {*title_tokens, *body_tokens}
    # Spellings (`cease-fire` for `ceasefire`) are indexed as words, not as tokens to stem: the matcher
    # joins them only to compare with listed words as written.
    terms = {t[:MAX_TERM_CHARS] for t in tokens}
    terms.update(w[:MAX_TERM_CHARS] for w in spelled_words(title, title_tokens) | spelled_words(body, body_tokens))
    lang = primary(language)
    if lang in _STEMMERS:
        script = _SCRIPT[lang]
        long = [t for t in tokens if len(t) >= MIN_STEMMED and script.search(t)]
        terms.update(KEY + s[:MAX_TERM_CHARS] for t, s in zip(long, _STEMMERS[lang](long), strict=True) if s != t)
    elif lang == "he":
        terms.update(k for t in tokens if _HEBREW.search(t) for k in _keys(_HEBREW_KEYS, t, _hebrew_rests))
    elif lang == "ar":
        script = _SCRIPT["ar"]
        terms.update(k for t in tokens if script.search(t) for k in _keys(_ARABIC_KEYS, t, _arabic_rests))
    return sorted(terms)


# Token → its form keys: articles reuse a small vocabulary, so each distinct token is analysed once.
_HEBREW_KEYS: dict[str, tuple[str, ...]] = {}
_ARABIC_KEYS: dict[str, tuple[str, ...]] = {}
_KEYS_LIMIT = 200_000


def _keys(cache: dict[str, tuple[str, ...]], token: str, rests: Callable[[str], Iterable[str]]) -> tuple[str, ...]:
    found = cache.get(token)
    if found is None:
        if len(cache) >= _KEYS_LIMIT:  # bound memory on adversarial input; refilling is cheap
            cache.clear()
        found = cache[token] = tuple({KEY + k[:MAX_TERM_CHARS] for k in rests(token)})
    return found


def _hebrew_rests(token: str) -> Iterable[str]:
    """What remains of a Hebrew token without each proclitic sequence it starts with (HebrewAnalyzer)."""
    for p in _HEBREW_BY_LENGTH:
        if len(p) >= len(token) - 1:
            break
        if token.startswith(p):
            yield token[len(p):]


def _arabic_rests(token: str) -> Iterable[str]:
    """What ArabicAnalyzer could look up for an Arabic token: without clitics and attached pronouns."""
    token = arabic_normal(token)
    for p in _AR_PREFIXES_BY_LENGTH:
        if len(p) >= len(token) - 1:
            break
        if not token.startswith(p):
            continue
        rest = token[len(p):]
        yield rest
        if p in _AR_ARTICLE:
            continue
        for s in ARABIC_SUFFIXES:
            if rest.endswith(s) and len(rest) - len(s) >= 4:
                stem = rest[: -len(s)]
                yield stem
                if stem.endswith("ت"):
                    yield stem[:-1] + "ه"


def word_alternatives(word: str) -> IndexQuery:
    """A query word as index terms: itself, or a form key an inflected or cliticised form of it has."""
    cut = word[:MAX_TERM_CHARS]
    alternatives: list[IndexQuery] = [IndexWord(cut, prefix=len(word) > MAX_TERM_CHARS)]
    if has_forms(word):
        keys: set[str] = set()
        for language in _STEMMED:
            if len(word) >= MIN_STEMMED and _SCRIPT[language].search(word):
                keys.add(word)
                keys.update(_STEMMERS[language]([word]))
        if _HEBREW.search(word):
            listed = hebrew_listed(word)
            keys.update(listed)
            alternatives.extend(IndexWord(k[:MAX_TERM_CHARS]) for k in listed if k != word)
        if _SCRIPT["ar"].search(word):
            keys.add(arabic_normal(word))
        alternatives.extend(IndexWord(KEY + k[:MAX_TERM_CHARS], prefix=len(k) > MAX_TERM_CHARS) for k in sorted(keys))
    return alternatives[0] if len(alternatives) == 1 else IndexAny(tuple(alternatives))


def _known(token: str) -> bool:
    """Every character a letter, digit or mark already in Unicode 3.2, so SQLite's FTS5 tokeniser (whose
    tables are older than Python's) keeps it inside a term: a token made only of characters it does not
    know would become an empty phrase there, which matches nothing."""
    return all(ucd_3_2_0.category(c)[0] in "LNM" for c in token)


def _term(node: Term) -> IndexQuery | None:
    if node.field is not None and node.field not in INDEXED_FIELDS:
        return None  # author, url, source are not indexed
    if not all(map(_known, node.tokens)):
        return None  # the matcher scans for it instead
    parts: list[IndexQuery] = []
    for i, token in enumerate(node.tokens):
        if node.prefix and i == len(node.tokens) - 1:
            parts.append(IndexWord(token[:MAX_TERM_CHARS], prefix=True))
        else:
            # A phrase is sought as all of its words (the index holds no positions): a superset.
            parts.append(word_alternatives(token))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else IndexAll(tuple(parts))


def candidate_query(node: Node) -> IndexQuery | None:
    """Index terms every match of the query has (a superset of its matches), or None if no term is required.

    NOT, `lang:`, `tag:`, `@actor` and the author, url and source fields are not indexed: they
    select nothing (the matcher applies them to the candidates).
    """
    match node:
        case Term():
            return _term(node)
        case ActorRef() | Lang() | Tag() | Not():
            return None
        case And():
            return _all([candidate_query(c) for c in node.children])
        case Near():
            return _all([candidate_query(node.left), candidate_query(node.right)])
        case Or():
            children = [candidate_query(c) for c in node.children]
            if any(c is None for c in children):
                return None  # one branch needs no term: any article may match
            return IndexAny(tuple(c for c in children if c is not None))
        case _:
            assert_never(node)


def _all(children: Sequence[IndexQuery | None]) -> IndexQuery | None:
    required = tuple(c for c in children if c is not None)
    if not required:
        return None
    return required[0] if len(required) == 1 else IndexAll(required)
