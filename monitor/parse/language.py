"""detect_language: ISO 639-1 code of an article's text when its feed declares none.

Backed by CLD2 (pycld2): a compiled n-gram detector whose tables are inside the wheel, so it is
deterministic, loads in ~5 ms, adds ~7 MB of RSS once its tables are touched and never downloads. See
docs/feeds.md for the measurements behind the choice.
"""

from __future__ import annotations

import re

import pycld2

__all__ = ["MIN_LETTERS", "NEWS_LANGUAGES", "detect_language", "normalise_language"]

# Below ~20 letters CLD2 mislabels some headline prefixes (ru->bg, fr->crs, es->en on our table);
# from 20 on it made no mistake. Han, kana and Hangul carry about a word per character, so they
# count double: ten characters of Chinese are as telling as twenty Latin letters.
MIN_LETTERS = 20

# Title plus summary decides the language; more text costs time (CLD2 is linear) and adds nothing.
_MAX_CHARS = 3000

# Languages a news monitor is expected to see. CLD2 knows ~160; what it reports outside this set
# on short or noisy text is mostly noise (Frisian, Corsican, Haitian, Seychellois Creole, Volapük,
# Interlingua, Klingon), so those answers become None rather than a wrong `lang:` value.
NEWS_LANGUAGES = frozenset(
    """
    af am ar az be bg bn bs ca cs cy da de el en es et eu fa fi fr ga gl gu ha he hi hr hu hy id is
    it ja ka kk km ko ku ky lo lt lv mk ml mn mr ms my ne nl no pa pl ps pt ro ru si sk sl so sq sr
    sv sw ta te tg th tl tr uk ur uz vi yo zh
    """.split()
)

# A declared language tag: primary subtag, then any subtags ("en", "en-US", "zh_Hant_TW").
_LANGUAGE_TAG = re.compile(r"^([a-zA-Z]{2,3})(?:[-_][a-zA-Z0-9]{1,8})*$")

# CLD2 still uses the withdrawn code for Hebrew.
_ALIASES = {"iw": "he"}

# CLD2 rejects input containing C0/C1 controls, surrogates or noncharacters ("invalid UTF-8").
# They carry no language, so they become spaces; that substitution is as slow as CLD2 itself, so
# it runs only for the rare text CLD2 refuses.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef"
    + "".join(chr(plane << 16 | 0xFFFE) + chr(plane << 16 | 0xFFFF) for plane in range(17))
    + "]"
)
# URLs and e-mail addresses are ASCII that CLD2 reads as English.
_ADDRESSES = re.compile(r"(?:https?://|www\.)\S+|[\w.+-]+@[\w-]+\.[\w.-]+", re.IGNORECASE)
_LETTER_RUN = re.compile(r"[^\W\d_]+")


def _is_ideographic(char: str) -> bool:
    code = ord(char)
    return (
        0x2E80 <= code <= 0x9FFF  # CJK radicals, kana, CJK unified ideographs
        or 0xAC00 <= code <= 0xD7AF  # Hangul syllables
        or 0xF900 <= code <= 0xFAFF  # CJK compatibility ideographs
        or 0x20000 <= code <= 0x3FFFF  # CJK extensions B and later
    )


def _enough_letters(text: str) -> bool:
    # Stops at the first few words of normal text, so the check stays cheap on long input.
    seen = 0
    for run in _LETTER_RUN.finditer(text):
        word = run.group()
        seen += len(word) * (2 if _is_ideographic(word[0]) else 1)
        if seen >= MIN_LETTERS:
            return True
    return False


def normalise_language(value: object) -> str | None:
    """Return the primary language subtag, lowercased ("en-US" -> "en"), or None when unusable."""
    if not isinstance(value, str):
        return None
    match = _LANGUAGE_TAG.match(value.strip())
    return match.group(1).lower() if match else None


def detect_language(text: str) -> str | None:
    """Return the ISO 639-1 code of text's language, or None when it is too short or uncertain."""
    text = text[:_MAX_CHARS]
    # The substring tests keep the regex (several times slower than CLD2) off text with no address.
    if "@" in text or "://" in text or "www." in text:
        text = _ADDRESSES.sub(" ", text)
    if not _enough_letters(text):
        return None
    try:
        reliable, _bytes_found, details = _cld2(text)
    except (pycld2.error, UnicodeEncodeError):
        try:
            reliable, _bytes_found, details = _cld2(_UNSAFE.sub(" ", text))
        except (pycld2.error, UnicodeEncodeError):
            # _UNSAFE covers every character this CLD2 build refuses; stay total if a later one differs.
            return None
    # CLD2's own reliability flag: the top language clearly beats the runner-up over enough text.
    if not reliable:
        return None
    code = str(details[0][1]).split("-")[0]
    code = _ALIASES.get(code, code)
    return code if code in NEWS_LANGUAGES else None


def _cld2(text: str) -> tuple[bool, int, tuple[tuple[str, str, int, float], ...]]:
    # isPlainText: callers pass extracted text; CLD2's HTML mode would also skip anything tag-like.
    reliable, bytes_found, details = pycld2.detect(text, isPlainText=True)
    return bool(reliable), int(bytes_found), details
