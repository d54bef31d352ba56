"""The tokenizer of the query language, and the habits it recognises from other monitoring tools.

Analysts paste queries written for Google Alerts, Meltwater, Talkwalker or LexisNexis. Syntax that means
the same here is accepted (`-word` and `-"phrase"` are NOT); syntax that would silently mean something
else (`w/5`, `"a b"~5`, `wom?n`, a lower-case `or` between terms) is refused with the equivalent in this
language; a lower-case `and` between terms, which only adds the word "and", is a warning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from monitor.errors import QuerySyntaxError

FIELDS = ("title", "body", "author", "url", "source")
MAX_DISTANCE = 1000
_NEAR = re.compile(r"^(O?NEAR)(?:/(.*))?$")
_DIGITS = re.compile(r"^[0-9]+$")  # ASCII digits only: "²".isdigit() is true but int() refuses it
_ACTOR = re.compile(r"^@(?:([a-z0-9][a-z0-9_.-]*)/)?([a-z0-9][a-z0-9_.-]*)$")
# Proximity written the way other tools write it: w/5 (LexisNexis), pre/5, near/5, w/s (same sentence).
_FOREIGN_NEAR = re.compile(r"^(w|pre|near|onear)/([0-9]+|s|p|seg|sent|para)$", re.IGNORECASE)
_OPEN_QUOTES = '"“„‟«'
_CLOSE_QUOTES = '"”“‟»'
_QUOTES = set(_OPEN_QUOTES + _CLOSE_QUOTES)
_STOP = set("()") | _QUOTES
_LOWER_OPERATORS = ("and", "or", "not")
_VOWELS = re.compile("[AEIOUYÄÖÜÉÈÀÂÊÎÔÛ]")


@dataclass(frozen=True, slots=True)
class QueryWarning:
    """Something the query does that its author probably did not mean; it still runs."""

    message: str
    column: int
    hint: str


@dataclass(frozen=True, slots=True)
class Tok:
    """One token: kind is ( ) WORD PHRASE FIELD RAW AND OR NOT NEAR ACTOR LANG TAG EOF (RAW: `raw:`, exact case)."""

    kind: str
    value: str
    column: int
    distance: int = 0
    ordered: bool = False


def lex(text: str) -> tuple[list[Tok], list[QueryWarning]]:
    """The tokens of a query and the warnings about it; raises QuerySyntaxError with a 1-based column."""
    toks: list[Tok] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            toks.append(Tok(ch, ch, i + 1))
            i += 1
        elif ch in _CLOSE_QUOTES and ch not in _OPEN_QUOTES:
            # A closing quote with no phrase open: without this the word scanner below would stop
            # on it without consuming it, forever.
            raise QuerySyntaxError(f"unexpected closing quote {ch!r}", i + 1, 'open the phrase with " or remove it')
        elif ch in _OPEN_QUOTES:
            i = _phrase(text, i, toks)
        elif ch == "-" and i + 1 < n and not text[i + 1].isspace() and text[i + 1] not in ")-":
            # "-word", "-"phrase"", "-(group)", "-title:x": NOT, as in Google Alerts and Meltwater. Only at
            # the start of a term: inside a word ("cease-fire", "al-Qassam") it is part of the word.
            toks.append(Tok("NOT", "-", i + 1))
            i += 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in _STOP:
                j += 1
            _word(text[i:j], i + 1, toks, text[j:])
            i = j
    toks.append(Tok("EOF", "", n + 1))
    return toks, _lower_case_operators(toks)


def _phrase(text: str, i: int, toks: list[Tok]) -> int:
    """Read the phrase opening at `i`; returns the index after it."""
    end = next((j for j in range(i + 1, len(text)) if text[j] in _CLOSE_QUOTES), -1)
    if end < 0:
        raise QuerySyntaxError("unterminated phrase", i + 1, 'close the phrase with a matching "')
    if _opens_a_phrase(text, end) and sum(c in _QUOTES for c in text[i:]) % 2:
        # '"prisoner exchange OR "hostage deal"': the quote after OR opens a phrase rather than closing
        # this one, and the odd count says one is missing. Point at the phrase left open, not at the end.
        raise QuerySyntaxError("unterminated phrase", i + 1,
                               f'close the phrase with a matching " (the quote at column {end + 1} opens another)')
    toks.append(Tok("PHRASE", text[i + 1 : end], i + 1))
    after = end + 1
    if text[after:after + 1] == "~":
        words = text[i + 1 : end].split()
        near = re.match(r"~([0-9]+)", text[after:])
        distance = (near.group(1).lstrip("0") or "0")[:12] if near else "5"
        example = f"{words[0]} NEAR/{distance} {words[-1]}" if len(words) >= 2 else f"a NEAR/{distance} b"
        raise QuerySyntaxError(f"'~{distance if near else ''}' after a phrase is proximity syntax of other tools",
                               after + 1, f"here write {example}")
    return after


def _opens_a_phrase(text: str, at: int) -> bool:
    """True if the quote at `at` looks like the start of a phrase: after a space or '(', before a word."""
    before = text[at - 1] if at > 0 else " "
    after = text[at + 1] if at + 1 < len(text) else " "
    return (before.isspace() or before == "(") and not after.isspace() and after not in ")" and after not in _QUOTES


def _word(word: str, column: int, toks: list[Tok], following: str) -> None:
    # Field prefixes ("title:body:x") are peeled in a loop, not by recursion: a query may be long.
    while True:
        head, colon, rest = word.partition(":")
        if not (colon and head.isalpha() and head.lower() in FIELDS and rest):
            break
        toks.append(Tok("FIELD", head.lower(), column))
        word, column = rest, column + len(head) + 1
    if word in ("AND", "OR", "NOT"):
        toks.append(Tok(word, word, column))
        return
    near = _NEAR.match(word)
    if near:
        toks.append(_near(near.group(1), near.group(2), column))
        return
    head, colon, rest = word.partition(":")
    if colon and head.isalpha():
        key = head.lower()
        if key == "raw":  # `raw:WHO`, `raw:"World Health"`: the word or phrase in exactly this case
            toks.append(Tok("RAW", key, column))
            if rest:
                _word(rest, column + len(head) + 1, toks, following)
            return
        if key in FIELDS:
            toks.append(Tok("FIELD", key, column))
            if rest:
                _word(rest, column + len(head) + 1, toks, following)
            return
        if key in ("lang", "tag"):
            if not rest:
                raise QuerySyntaxError(f"'{head}:' needs a value", column, f"write e.g. {key}:ar")
            toks.append(Tok(key.upper(), rest, column))
            return
        _unknown_field(word, head, rest, column, following)
    if word.startswith("@"):
        if not _ACTOR.match(word):
            raise QuerySyntaxError(
                f"invalid actor reference '{word}'", column, "write @actor-id or @watchlist-id/actor-id"
            )
        toks.append(Tok("ACTOR", word, column))
        return
    _foreign_word(word, column)
    toks.append(Tok("WORD", word, column))


def _near(op: str, distance: str | None, column: int) -> Tok:
    digits = (distance or "").lstrip("0")
    if distance is None or not _DIGITS.match(distance) or not digits:
        raise QuerySyntaxError(f"{op} needs a distance", column, f"write {op}/5 for 'within 5 words'")
    # Compare lengths first: int() refuses strings of more than 4300 digits.
    if len(digits) > len(str(MAX_DISTANCE)) or int(digits) > MAX_DISTANCE:
        shown = digits if len(digits) <= 12 else digits[:6] + "…"
        raise QuerySyntaxError(f"{op} distance {shown} is above the cap of {MAX_DISTANCE} words", column,
                               f"write {op}/{MAX_DISTANCE} at most, or AND for 'anywhere in the article'")
    return Tok("NEAR", f"{op}/{int(digits)}", column, int(digits), op == "ONEAR")


def _unknown_field(word: str, head: str, rest: str, column: int, following: str) -> None:
    """`Gaza: ceasefire` pasted from a headline: `word:` is field syntax, and Gaza is no field."""
    if rest:
        quoted = f'"{word}"'
    else:
        nxt = following.split(maxsplit=1)
        quoted = f'"{word} {nxt[0]}"' if nxt and not nxt[0].startswith(("(", '"')) else f'"{word}"'
    raise QuerySyntaxError(
        f"unknown field '{head}': 'word:' is field syntax",
        column,
        f"to match the text, quote it: {quoted} (or drop the colon); "
        "the fields are title, body, author, url, source, lang:, tag:",
    )


def _foreign_word(word: str, column: int) -> None:
    """Refuse proximity, fuzzy and one-character wildcard syntax of other tools, with this language's own."""
    foreign = _FOREIGN_NEAR.match(word)
    if foreign:
        op, distance = foreign.group(1).lower(), foreign.group(2).lower()
        distance = (distance.lstrip("0") or "0")[:12]  # as written; never int(): it may have 5000 digits
        ours = "ONEAR" if op in ("pre", "onear") else "NEAR"
        if not distance.isdigit():
            raise QuerySyntaxError(f"'{word}' (same sentence or paragraph) is proximity syntax of other tools",
                                   column, f"here distances are in words: write {ours}/15 for a sentence, "
                                           f"{ours}/50 for a paragraph")
        if op in ("near", "onear"):
            raise QuerySyntaxError(f"'{word}': operators are written in capitals", column,
                                   f"write {ours}/{distance}")
        raise QuerySyntaxError(f"'{word}' is proximity syntax of other tools", column,
                               f"here write {ours}/{distance}"
                               + (" (the left side first)" if ours == "ONEAR" else " (either order)"))
    tilde = word.find("~")
    if tilde >= 0:
        stem = word[:tilde]
        if not stem or stem.strip("0123456789") == "":
            raise QuerySyntaxError(f"'{word}' is proximity syntax of other tools", column + tilde,
                                   "here write a NEAR/5 b for 'a within 5 words of b'")
        raise QuerySyntaxError(f"'{word}': '~' (fuzzy matching) is not supported", column + tilde,
                               f"list the spellings with OR, e.g. ({stem} OR ...)")
    mark = word.find("?")
    if mark >= 0:
        stem, tail = word[:mark], word[mark + 1:]
        wildcard = f"{stem}* for any ending" if len(stem) >= 3 else ""
        spellings = f"list the spellings: ({stem}a{tail} OR {stem}e{tail})" if tail else ""
        raise QuerySyntaxError(f"'{word}': '?' is not a wildcard here", column + mark,
                               "write " + " or ".join(filter(None, (wildcard, spellings))) if wildcard or spellings
                               else "remove it: punctuation is ignored")


def _lower_case_operators(toks: list[Tok]) -> list[QueryWarning]:
    """`Hamas or Hezbollah` is refused (it would need both and the word "or"); `Hamas and Fatah` warned."""
    warnings: list[QueryWarning] = []
    for index in range(1, len(toks) - 1):
        tok = toks[index]
        lower = tok.value.lower()
        if tok.kind != "WORD" or lower not in _LOWER_OPERATORS:
            continue
        before, after = toks[index - 1], toks[index + 1]
        if not (_ends_term(before) and _starts_term(after)):
            continue
        upper = lower.upper()
        if lower == "and":
            warnings.append(QueryWarning(
                f"'{tok.value}' is matched as a word: the article must also contain \"and\"", tok.column,
                "write AND (operators are capitals), or leave it out: words side by side must all match"))
            continue
        meaning = ("both terms and the word \"or\"" if lower == "or"
                   else "the word \"not\" and the term after it: the opposite of NOT")
        raise QuerySyntaxError(
            f"'{tok.value}' between two terms is matched as a word, so the query needs {meaning}", tok.column,
            f"operators are capitals: write {upper}; to match the word itself, quote it: \"{tok.value}\"")
    return warnings + _capitals(toks)


def _capitals(toks: list[Tok]) -> list[QueryWarning]:
    """`WHO` is matched in any case, so it also finds the pronoun: say so, with `raw:` as the way out."""
    warnings: list[QueryWarning] = []
    for index, tok in enumerate(toks):
        if tok.kind != "WORD" or not tok.value.isupper() or (index and toks[index - 1].kind == "RAW"):
            continue
        # An acronym that reads as a word (WHO, US, IT, IS): 2-4 letters with a vowel. LNG or HAMAS
        # in any case is still the acronym or the name, and a warning on every capital word is noise.
        letters = sum(c.isalpha() for c in tok.value)
        if 2 <= letters <= 4 and _VOWELS.search(tok.value) and not tok.value.endswith("*"):
            word = tok.value
            warnings.append(QueryWarning(
                f"'{word}' is matched in any case, so also as '{word.lower()}' and '{word.capitalize()}'",
                tok.column, f"to find only the capitals (the acronym, not the word), write raw:{word}"))
    return warnings


def _ends_term(tok: Tok) -> bool:
    return tok.kind in ("PHRASE", "ACTOR", "LANG", "TAG", ")") or (
        tok.kind == "WORD" and tok.value.lower() not in _LOWER_OPERATORS)


def _starts_term(tok: Tok) -> bool:
    return tok.kind in ("PHRASE", "ACTOR", "LANG", "TAG", "(", "FIELD", "RAW", "NOT") or (
        tok.kind == "WORD" and tok.value.lower() not in _LOWER_OPERATORS)
