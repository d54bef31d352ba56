"""Word forms per language (issue 20): a listed word also matches its inflected and cliticised forms.

Both sides are reduced to a *form key* in the document's language, and a form matches when the keys are
equal, so what remains after stripping is the listed word itself, never a longer word containing it:

- Russian, German, French, Spanish, Italian, Portuguese, Turkish: the Snowball stemmer of that language
  (PyStemmer, as Lucene's SnowballFilter); Ukrainian, which Snowball lacks, a light suffix stripper. A
  token's key is its stem; a listed word has two keys, its stem and itself ("Ankaraya" stems to
  "ankara", the listed "Ankara" to "ankar").
- Hebrew: proclitics (ו ה ב ל מ ש כ and their combinations, as HebMorph's prefix tree) are stripped
  only when what remains is a listed word (or the construct form of one: עסקת for עסקה, חטופי for
  חטופים), so the lexicon is the watchlists' own words, as HebMorph checks against hspell's.
- Arabic: Lucene's ArabicNormalizer (alef and hamza forms, ta marbuta, alef maqsura, tatweel, harakat)
  then the proclitics of its ArabicStemmer (و ف ب ل ك, ال and their combinations) and the common
  attached pronouns, again only when what remains is a listed word.

Short listed words (3 letters or fewer) are where look-alikes live (`כבר` is כ + `בר`), so they get a
stricter rule (see `HEBREW_SHORT`, `ARABIC_SHORT` and `MIN_STEMMED`), documented in docs/query-language.md.
"""

from __future__ import annotations

import re
from itertools import filterfalse

import Stemmer

from monitor.match import native
from monitor.match.fieldtext import FormStream
from monitor.match.fold import fold

MIN_STEMMED = 4  # listed words shorter than this are never stemmed: their stems collide with other words
# How many characters an inflected form may add to the listed word: inflection adds an ending, while a
# longer word with the same stem is usually a derivation (pt "governador" is not "governo", fr
# "macroniste" not "Macron"). Turkish stacks its suffixes (seçimlerinde = seçim + ler + in + de).
MAX_ADDED = {"tr": 8}
MAX_ADDED_DEFAULT = 2
_CACHE_LIMIT = 200_000

SNOWBALL = {"ru": "russian", "de": "german", "fr": "french", "es": "spanish", "it": "italian",
            "pt": "portuguese", "tr": "turkish"}
LANGUAGES = (*SNOWBALL, "uk", "he", "ar")

_CYRILLIC = re.compile("[\u0400-\u04ff]")
_LATIN = re.compile("[a-z\u00c0-\u024f]")
_HEBREW = re.compile("[\u05d0-\u05ea]")
_ARABIC = re.compile("[\u0620-\u064a]")
_SCRIPT = {"ru": _CYRILLIC, "uk": _CYRILLIC, "he": _HEBREW, "ar": _ARABIC,
           **{lang: _LATIN for lang in ("de", "fr", "es", "it", "pt", "tr")}}

# Ukrainian noun and adjective endings, folded as tokens are (ї → і, й → и), longest first.
_UK_ENDINGS = tuple(sorted({fold(s) for s in (
    "ями", "ами", "ого", "ому", "ими", "іми", "ове", "еві", "єві", "ові", "ою", "ею", "єю", "ий", "ій",
    "ої", "ом", "ем", "єм", "им", "ім", "ів", "їв", "ам", "ям", "ах", "ях", "ої", "а", "я", "у", "ю",
    "і", "ї", "е", "є", "о", "и", "ь")}, key=len, reverse=True))

# Hebrew proclitic sequences (conjunction, relative, prepositions, article), HebMorph's valid ones.
HEBREW_PREFIXES = (
    "ו", "ה", "ב", "ל", "מ", "ש", "כ",
    "וה", "וב", "ול", "ומ", "וש", "וכ", "שה", "שב", "של", "שמ", "שכ", "מה", "כש", "מש", "לכש",
    "ושה", "ושב", "ושל", "ושמ", "ומה", "וכש", "שמה", "ולכש",
)
HEBREW_SHORT = ("ו", "ה", "וה")  # the only ones before a listed word of 2 letters: כבר, שבר stay words
# Before 3 letters: one proclitic, or "and" and one (בעזה, ולעזה), never longer chains such as שמה.
HEBREW_SHORT3 = ("ו", "ה", "ב", "ל", "מ", "ש", "כ", "וה", "וב", "ול", "ומ", "וש", "וכ")
_HEBREW_BY_LENGTH = sorted(HEBREW_PREFIXES, key=len)

# Arabic proclitics: conjunctions و ف, prepositions ب ل ك, the article ال (ل + ال is written لل).
_AR_ARTICLE = ("ال", "وال", "فال", "بال", "كال", "لل", "ولل", "فلل", "وبال", "فبال", "وكال")
ARABIC_PREFIXES = (*_AR_ARTICLE, "و", "ف", "ب", "ل", "ك", "وب", "فب", "ول", "فل", "وك", "فك")
ARABIC_SHORT = _AR_ARTICLE  # before a listed word of 2 letters, only the article and its combinations
ARABIC_SUFFIXES = ("ه", "ها", "هم", "هما", "هن", "كم", "كما", "كن", "نا")  # attached pronouns
_AR_PREFIXES_BY_LENGTH = ("", *sorted(ARABIC_PREFIXES, key=len))
_AR_NORMAL = str.maketrans({"ة": "ه", "ى": "ي", "ٱ": "ا", "أ": "ا", "إ": "ا", "آ": "ا", "ـ": None})


def arabic_normal(token: str) -> str:
    """ArabicNormalizer on a folded token (folding already removed harakat and the hamza above alef)."""
    return token.translate(_AR_NORMAL)


def primary(language: str | None) -> str | None:
    """The primary subtag of a language tag ("ar-EG" → "ar"), lower-cased; None if there is none."""
    if not language:
        return None
    return language.lower().replace("_", "-").split("-")[0] or None


_RU_FINAL_I = re.compile("(?<=[аеиоуыэюя])и$")


def _uk_stem(token: str) -> str:
    for end in _UK_ENDINGS:
        if token.endswith(end) and len(token) - len(end) >= 3:
            return token[: -len(end)]
    return token


def has_forms(word: str) -> bool:
    """Whether a folded listed word has forms in some language (its script has an analyzer, it is long enough)."""
    if word.isascii():  # the commonest case, without a regex: a word of 4+ characters, not only digits
        return len(word) >= MIN_STEMMED and not word.isdigit()
    if _HEBREW.search(word) or _ARABIC.search(word):
        return len(word) >= 2
    return len(word) >= MIN_STEMMED and bool(_LATIN.search(word) or _CYRILLIC.search(word))


class Analyzer:
    """One language's word forms: maps an article token to the listed word it is a form of.

    `words` are the folded listed words that have forms (`has_forms`); a token that is a form of one
    becomes that word in the document's stream of forms, where the ordinary patterns are sought again,
    so no pattern is added for forms. The lexicon (a key of this language → listed word) is built on
    the first document in the language, so a deployment pays only for the languages it reads.
    """

    def __init__(self, language: str, words: frozenset[str]) -> None:
        self.language = language
        self.words = words
        self._script = _SCRIPT[language]
        # Tokens analysed so far that are no form of a listed word: every token of a field is looked up
        # there, so the native extension's set made for that pass if built (`Memo`), else a set.
        self._plain: set[str] = native.extension.Memo() if native.extension is not None else set()
        self._forms: dict[str, str] = {}  # those that are, each → that word
        self.lexicon: dict[str, str] = {}
        # Listed words that share a key with another (fr "ministre" and it "ministro" both stem to
        # "ministr" in Italian): a token stands in the stream for the first (`canonical`, in sorted
        # order, so that every process agrees), and is a form of each of them.
        self.canonical: dict[str, str] = {}
        self.sharing: dict[str, tuple[str, ...]] = {}  # a canonical word → the words that share its key
        mine = sorted(w for w in words if self._script.search(w))
        for word, keys in zip(mine, self.listed_all(mine), strict=True):
            for key in keys:
                first = self.lexicon.setdefault(key, word)
                if first != word and word not in self.canonical and word not in self.sharing:
                    self.canonical[word] = first
                    self.sharing[first] = (*self.sharing.get(first, ()), word)

    def listed_all(self, words: list[str]) -> list[tuple[str, ...]]:
        """`listed` of each word."""
        return [self.listed(w) for w in words]

    def listed(self, word: str) -> tuple[str, ...]:
        """The lexicon keys of a folded listed word of this language's script."""
        raise NotImplementedError

    def stream(self, tokens: list[str], distinct: set[str] | None = None) -> FormStream | None:
        """The field's stream of forms (each token's listed word if it is a form of one, made when first
        needed) and the listed words met so; None when no token is a form, without a Python loop."""
        plain = self._plain
        # One pass over the tokens leaves the few that are forms or were never seen (most are plain words);
        # building the set of distinct tokens first to look each up once was measured 6 % slower at 100k/10k.
        if isinstance(plain, set):
            rest = distinct - plain if distinct is not None else set(filterfalse(plain.__contains__, tokens))
        else:  # the native Memo: one C pass, the lookups of tokens a few apart overlapping
            rest = plain.unknown(tokens if distinct is None else distinct)
        forms = self._forms
        missing = rest - forms.keys()
        if missing:
            if len(plain) > _CACHE_LIMIT:  # bound memory on adversarial input; refilling is cheap
                plain.clear()
                forms.clear()
            script = self._script
            self._fill([t for t in missing.difference(self.words) if script.search(t)])
            if isinstance(plain, set):
                plain |= missing - forms.keys()
            else:
                plain.add(missing - forms.keys())
        met = rest & forms.keys()
        if not met:
            return None
        words = {forms[t] for t in met}
        if self.sharing and not words.isdisjoint(self.sharing):
            words.update(*(self.sharing[w] for w in words.intersection(self.sharing)))
        return FormStream(tokens, forms, words)

    def _fill(self, tokens: list[str]) -> None:
        """Record in `_forms` which of these new tokens are forms of a listed word."""
        raise NotImplementedError


class SnowballAnalyzer(Analyzer):
    """Inflection by a stemmer: a token is a form of a listed word when its stem is that word's stem or the word."""

    def __init__(self, language: str, words: frozenset[str]) -> None:
        self._stem = _make_stemmer(language)
        super().__init__(language, words)

    def listed(self, word: str) -> tuple[str, ...]:
        return self.listed_all([word])[0]

    def listed_all(self, words: list[str]) -> list[tuple[str, ...]]:
        # All at once (one call into C): a lexicon of 200k words is built in a fraction of a second.
        long = [w for w in words if len(w) >= MIN_STEMMED]
        stems = dict(zip(long, self._stem(long), strict=True))
        # "ankaraya" stems to "ankara", the listed "ankara" to "ankar": both keys lead to the word.
        return [(stems[w], w) if w in stems else () for w in words]

    def _fill(self, tokens: list[str]) -> None:
        tokens = [t for t in tokens if len(t) >= MIN_STEMMED]
        lexicon, cache, added = self.lexicon, self._forms, MAX_ADDED.get(self.language, MAX_ADDED_DEFAULT)
        for token, stem in zip(tokens, self._stem(tokens), strict=True):
            # A token that is its own stem is no inflection: "Зеленск" (a town) is not "Зеленский".
            if stem != token:
                word = lexicon.get(stem)
                if word is not None and len(token) <= len(word) + added:
                    cache[token] = word


def _make_stemmer(language: str):  # type: ignore[no-untyped-def]
    if language == "uk":
        return lambda words: [_uk_stem(w) for w in words]
    stemmer = Stemmer.Stemmer(SNOWBALL[language])
    stemmer.maxCacheSize = 0  # the analyzer caches tokens itself; PyStemmer's cache would only churn
    if language == "ru":
        # Folding made й an и; after a vowel at the end of a word it was a й (-ой, -ий, -ей endings),
        # which Russian Snowball needs to see: "москвои" stems as "москвой", to "москв" (and a й
        # left in a stem is folded back).
        return lambda words: [s.replace("й", "и") for s in stemmer.stemWords([_RU_FINAL_I.sub("й", w) for w in words])]
    # The tokens are folded (no diacritics, lower case): their stems are too.
    return stemmer.stemWords


class _CliticAnalyzer(Analyzer):
    """Clitics stripped only when what remains is a listed word: the lexicon is the watchlists' words."""

    def _fill(self, tokens: list[str]) -> None:
        cache = self._forms
        for token in tokens:
            word = self._word(token)
            if word is not None:
                cache[token] = word

    def _word(self, token: str) -> str | None:
        raise NotImplementedError


def hebrew_listed(word: str) -> tuple[str, ...]:
    """A listed Hebrew word and its construct forms, the keys its forms are looked up by."""
    keys = [word]
    if len(word) >= 4 and word.endswith("ה"):  # construct state: עסקה → עסקת
        keys.append(word[:-1] + "ת")
    if len(word) >= 5 and word.endswith("ים"):  # plural construct: חטופים → חטופי
        keys.append(word[:-2] + "י")
    return tuple(keys)


class HebrewAnalyzer(_CliticAnalyzer):
    """Hebrew proclitics and construct forms (HebMorph's prefixes, checked against the lexicon)."""

    def listed(self, word: str) -> tuple[str, ...]:
        return hebrew_listed(word)

    def _word(self, token: str) -> str | None:
        lexicon = self.lexicon
        found = lexicon.get(token)
        if found is not None:
            return found
        for p in _HEBREW_BY_LENGTH:  # shortest clitic first: the longest remainder wins
            if len(p) >= len(token) - 1:
                break
            if token.startswith(p):
                rest = token[len(p):]
                found = lexicon.get(rest)
                if found is not None and (len(rest) > 3 or p in (HEBREW_SHORT3 if len(rest) == 3 else HEBREW_SHORT)):
                    return found
        return None


class ArabicAnalyzer(_CliticAnalyzer):
    """Lucene's ArabicNormalizer, then proclitics and attached pronouns checked against the lexicon."""

    def listed(self, word: str) -> tuple[str, ...]:
        return (arabic_normal(word),)

    def _word(self, token: str) -> str | None:
        token = arabic_normal(token)
        lexicon = self.lexicon
        for p in _AR_PREFIXES_BY_LENGTH:
            if len(p) >= len(token) - 1:
                break
            if not token.startswith(p):
                continue
            rest = token[len(p):]
            found = lexicon.get(rest)
            if found is not None and (len(rest) > 2 or not p or p in ARABIC_SHORT):
                return found
            if p in _AR_ARTICLE:  # a noun with the article takes no possessive pronoun
                continue
            for s in ARABIC_SUFFIXES:
                if rest.endswith(s) and len(rest) - len(s) >= 4:
                    stem = rest[: -len(s)]
                    if stem.endswith("ت"):  # ta marbuta is written ت before a pronoun: حكومته → حكومة
                        found = lexicon.get(stem[:-1] + "ه")
                        if found is not None:
                            return found
                    found = lexicon.get(stem)
                    if found is not None:
                        return found
        return None


def make_analyzer(language: str, words: frozenset[str]) -> Analyzer:
    """The analyzer of one of `LANGUAGES` for these listed words."""
    if language == "he":
        return HebrewAnalyzer(language, words)
    if language == "ar":
        return ArabicAnalyzer(language, words)
    return SnowballAnalyzer(language, words)
