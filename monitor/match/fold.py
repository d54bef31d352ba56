"""Text folding and tokenisation, the same on both sides: watchlist terms and article text (DESIGN §3.3)."""

from __future__ import annotations

import html
import re
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from monitor.match import native

# Combining marks that belong inside a word. Python's \w does not include them, so without this a
# decomposed "é" or vocalised Arabic/Hebrew would be split in two.
_MARKS = (
    "\u00ad\u200c\u200d"  # soft hyphen, zero-width non-joiner and joiner: inside a word, never a break
    "\u0300-\u036f\u0483-\u0489\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7"
    "\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e4\u06e7\u06e8\u06ea-\u06ed"
    "\u0900-\u0dff\u0e31\u0e34-\u0e3a\u0e47-\u0e4e\u1ab0-\u1aff\u1dc0-\u1dff"
    "\u20d0-\u20ff\u3099\u309a\ufe20-\ufe2f"
)
# A token is a run of letters/digits (any script) and in-word marks; punctuation separates, so
# "Netanyahu’s" contains "Netanyahu" and "Hamas-run" contains "Hamas". "_" is a \w character, but is
# replaced by a space (same length, so offsets hold) before tokenizing: one character class is ~3x
# faster than an alternation excluding "_".
TOKEN_RE = re.compile(rf"[\w{_MARKS}]+")
SPLIT_RE = re.compile(rf"([\w{_MARKS}]+)")


def split_words(text: str) -> list[str]:
    """Separators and tokens alternating, `[sep, tok, sep, tok, ..., sep]`; tokens are `[1::2]`."""
    if "_" in text:
        text = text.replace("_", " ")
    if "\u02bc" in text:  # the modifier letter apostrophe is a \w character: make it the apostrophe it looks like
        text = text.replace("\u02bc", "'")
    return SPLIT_RE.split(text)



# Marks removed by folding: Latin/Greek/Cyrillic diacritics, Arabic harakat, Hebrew niqqud. Indic vowel
# signs and kana voicing marks are kept, since removing them changes the word, not its spelling.
_STRIPPED = (
    "\u00ad\u200c\u200d"  # so "cease\u00adfire" is "ceasefire", Persian "می‌خواهم" is "میخواهم"
    "\u0300-\u036f\u0483-\u0489\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7"
    "\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e4\u06e7\u06e8\u06ea-\u06ed"
    "\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
)
_STRIP = re.compile(f"[{_STRIPPED}]")
# A strippable mark that starts a token: the only way folding a whole text could drop a token ("_" is
# a \w character, but separates tokens: `split_words` makes it a space).
_LONE_MARK = re.compile(rf"(?:^|[^\w{_MARKS}]|_)[{_STRIPPED}]")
# Letters with no Unicode decomposition that readers still treat as accented Latin letters.
_LETTERS = str.maketrans(
    {"ı": "i", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ħ": "h", "Ħ": "H",
     "ŀ": "l", "Ŀ": "L", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "þ": "th", "Þ": "TH", "ð": "d",
     "Ð": "D", "ß": "ss", "ẞ": "SS"}
)
_SPECIAL = re.compile("[" + "".join(chr(c) for c in _LETTERS) + "]")
# Typographic apostrophes and quotes, unified so a query written with either kind behaves the same.
QUOTES = str.maketrans({"‘": "'", "’": "'", "‚": "'", "‛": "'", "ʼ": "'", "′": "'", "`": "'",
                        "“": '"', "”": '"', "„": '"', "‟": '"', "″": '"', "«": '"', "»": '"'})


def fold(text: str) -> str:
    """Fold text for comparison: NFKC, case-folded, diacritics removed, special letters mapped."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return _strip(text)


def fold_exact(text: str) -> str:
    """Fold like `fold` but keep letter case (for `exact_case` aliases such as "MIT")."""
    return _strip(unicodedata.normalize("NFKC", text))


def _strip(text: str) -> str:
    text = text.translate(_LETTERS)
    if text.isascii():
        return text
    # NFD exposes the base letter; NFC afterwards keeps e.g. Korean syllables composed.
    return unicodedata.normalize("NFC", _STRIP.sub("", unicodedata.normalize("NFD", text)))


class _FoldCache(dict[str, str]):
    """Token → folded token; articles reuse a small vocabulary, so each distinct token is folded once."""

    def __init__(self, func: object, limit: int = 500_000) -> None:
        super().__init__()
        self._func = func
        self._limit = limit

    def __missing__(self, token: str) -> str:
        if len(self) >= self._limit:  # bound memory on adversarial input; refilling is cheap
            self.clear()
        value: str = self._func(token)  # type: ignore[operator]
        # Intern so equal folded tokens are the same object: dict/set lookups then compare by identity.
        value = self[token] = sys.intern(value)
        return value


FOLD_CACHE = _FoldCache(fold)
EXACT_CACHE = _FoldCache(fold_exact)
fold_token = FOLD_CACHE.__getitem__
fold_token_exact = EXACT_CACHE.__getitem__


def fold_text_tokens(text: str) -> tuple[list[str] | None, list[str] | None]:
    """(folded tokens, split parts usable for offsets) of a whole text folded in one go (C speed).

    Equal to folding token by token as long as folding cannot change the number of tokens: true for
    ASCII (whose lowercase split also has the original's offsets), and for NFKC-normal text with no
    token made only of strippable marks. Otherwise (None, None): fold token by token.
    """
    if text.isascii():
        parts = split_words(text.lower())
        return parts[1::2], parts
    if not unicodedata.is_normalized("NFKC", text):
        return None, None
    # Precomposed (NFC) text rarely has marks at all: search cheaply before searching precisely.
    if _STRIP.search(text) and _LONE_MARK.search(text):
        return None, None
    folded = text.casefold()
    if _SPECIAL.search(folded):  # str.translate with a dict costs ~40 ns a character: only if needed
        folded = folded.translate(_LETTERS)
    folded = unicodedata.normalize("NFC", _STRIP.sub("", unicodedata.normalize("NFD", folded)))
    return split_words(folded)[1::2], None


# Non-ASCII characters common in otherwise ASCII text (typographic quotes and dashes, no-break and
# thin spaces, ellipsis, bullets...): none is a word character, so replacing each by a space changes
# neither the tokens nor any offset, and lets most English text take the ASCII path below.
_SEPARATORS = "".join(
    ch for ch in "\u00a0\u00ab\u00b7\u00bb\u2002\u2003\u2009\u200a\u200b\u2010\u2011\u2012\u2013\u2014"
    "\u2015\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f\u2022\u2026\u2032\u2033\u2039\u203a\u202f"
    if not TOKEN_RE.match(ch)
)
_SEPARATOR_RE = re.compile(f"[{_SEPARATORS}]")
# ASCII letters lower-cased, digits kept, every other ASCII character (and "_") a space: after
# `bytes.translate`, str.split() yields exactly the folded tokens of an ASCII text, ~4x faster than
# a regex split, and the result has the original's length, so offsets can be found in it later.
_ASCII_FOLD = bytes(
    (c + 32 if 65 <= c <= 90 else c) if (48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122) else 32
    for c in range(256)
)


# Windows-1252 holds the commonest separators (’ “ ” – — … • « » no-break space) as single bytes, so
# text encoded to it keeps its offsets; encoding runs in C, ~2x faster than the regex substitution.
# Every other non-ASCII byte becomes 0x80, the mark of a letter or symbol outside ASCII.
_NOT_ASCII = 0x80
_CP1252_FOLD = bytes(
    _ASCII_FOLD[c] if c < 128 else 32 if bytes([c]).decode("cp1252", "replace") in _SEPARATORS else _NOT_ASCII
    for c in range(256)
)


# ’ “ ” — – no-break space … ‘, in rough order of frequency in English news.
_COMMON_SEPARATORS = tuple(ch for ch in "\u2019\u201c\u201d\u2014\u2013\u00a0\u2026\u2018" if ch in _SEPARATORS)


def ascii_folded_python(text: str) -> str | None:
    """The text lower-cased with every separator a space, if it is ASCII but for separators; else None.

    `ascii_folded(text).split()` are then the folded tokens of `text`, and each token sits at the same
    offsets in both strings.
    """
    if not text.isascii():
        # Most such text is English with a few typographic separators: if counting the commonest ones
        # accounts for every non-ASCII character, the ASCII encoder (each replaced by "?", itself a
        # separator) does the work in C, ~3x faster than the Windows-1252 charmap below.
        raw = text.encode("ascii", "replace")
        left = raw.count(b"?") - text.count("?")
        for sep in _COMMON_SEPARATORS:
            left -= text.count(sep)
            if not left:
                return raw.translate(_ASCII_FOLD).decode("ascii")
        try:
            raw = text.encode("cp1252")
        except UnicodeEncodeError:  # a character outside Windows-1252: the regex decides
            text = _SEPARATOR_RE.sub(" ", text)
            if not text.isascii():
                return None
        else:
            folded = raw.translate(_CP1252_FOLD)
            return None if _NOT_ASCII in folded else folded.decode("ascii")
    return text.encode("ascii").translate(_ASCII_FOLD).decode("ascii")


# The native extension's one pass does the same (tests/match/test_native.py compares them on every character
# up to U+3000): 2-6x faster on text with typographic separators, and it stops at the first letter outside
# ASCII instead of encoding the whole text.
ascii_folded: Callable[[str], str | None] = (
    native.extension.Folder(_SEPARATORS) if native.extension is not None else ascii_folded_python)


def fold_tokens(text: str) -> list[str]:
    """The folded tokens of a text, as a query term or alias is compared with an article."""
    return [fold_token(t) for t in split_words(text.translate(QUOTES))[1::2]]


# ------------------------------------------------------------------ fields with HTML markup

_MARKUP = re.compile(r"<!--.*?-->|<[A-Za-z/!?][^<>]*>|&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});?")
# Tags that sit inside a word without separating it ("Ka<b>lin</b>" is still one word).
_INLINE = {"a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "dfn", "em", "font", "i", "kbd", "mark",
           "q", "s", "samp", "small", "span", "strike", "strong", "sub", "sup", "time", "tt", "u", "var", "wbr"}
_TAG_NAME = re.compile(r"</?([A-Za-z][A-Za-z0-9]*)")


@dataclass(frozen=True, slots=True)
class Cleaned:
    """A field's text with markup removed, and for each character its span in the original text."""

    text: str
    starts: list[int]
    ends: list[int]


def strip_markup(text: str) -> Cleaned | None:
    """Remove HTML tags and decode entities so they neither match nor join/split words; None if none."""
    if "<" not in text and "&" not in text:
        return None
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    pos = 0
    for m in _MARKUP.finditer(text):
        s, e = m.span()
        out.append(text[pos:s])  # plain text between markup: one piece, its offsets in C
        starts.extend(range(pos, s))
        ends.extend(range(pos + 1, s + 1))
        pos = e
        piece = m.group()
        if piece.startswith("&"):
            decoded = html.unescape(piece)
            if decoded == piece:  # not a real entity: keep the text as written
                decoded = piece
            elif not decoded.strip() or not decoded.isalnum():
                decoded = " "  # &nbsp;, &amp;, &quot;... separate words but never match
            for ch in decoded:
                out.append(ch)
                starts.append(s)
                ends.append(e)
            continue
        name = _TAG_NAME.match(piece)
        if name is None or name.group(1).lower() not in _INLINE:
            out.append(" ")  # block tags, comments: a word boundary, as a browser would render it
            starts.append(s)
            ends.append(e)
    out.append(text[pos:])
    starts.extend(range(pos, len(text)))
    ends.extend(range(pos + 1, len(text) + 1))
    return Cleaned("".join(out), starts, ends)


def tokenize(text: str) -> list[tuple[str, int, int]]:
    """(folded token, start, end) for each token, offsets into the original text (markup skipped)."""
    cleaned = strip_markup(text)
    parts = split_words(cleaned.text if cleaned else text)
    out = []
    pos = 0
    for i, part in enumerate(parts):
        if i % 2:
            s, e = pos, pos + len(part)
            if cleaned is not None:
                s, e = cleaned.starts[s], cleaned.ends[e - 1]
            out.append((fold_token(part), s, e))
        pos += len(part)
    return out
