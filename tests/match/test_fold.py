"""Folding and tokenisation (DESIGN §3.3): every folding rule, several scripts, markup, offsets."""

from __future__ import annotations

import pytest

from monitor.match import fold, fold_exact, fold_tokens, tokenize
from monitor.match.fold import fold_text_tokens, fold_token, split_words


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Türkiye", "turkiye"),
        ("TURKIYE", "turkiye"),
        ("İbrahim", "ibrahim"),  # Turkish dotted capital I
        ("Kalın", "kalin"),  # Turkish dotless ı
        ("Erdoğan", "erdogan"),
        ("Beşiktaş", "besiktas"),
        ("Çavuşoğlu", "cavusoglu"),
        ("Søren", "soren"),
        ("Łódź", "lodz"),
        ("Straße", "strasse"),
        ("ﬁnance", "finance"),  # NFKC ligature
        ("ＭＩＴ", "mit"),  # NFKC full-width
        ("Ελλάδα", "ελλαδα"),  # Greek tonos removed
        ("ΟΔΥΣΣΕΥΣ", "οδυσσευσ"),  # Greek final sigma case-folds to σ
        ("Москва", "москва"),
        ("Ёлка", "елка"),  # Cyrillic diaeresis removed
        ("مُحَمَّد", "محمد"),  # Arabic harakat removed
        ("שָׁלוֹם", "שלום"),  # Hebrew niqqud removed
        ("東京", "東京"),
        ("e\u0301cole", "ecole"),  # decomposed accent
    ],
)
def test_fold_rules(text: str, folded: str) -> None:
    assert fold(text) == folded


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Netanyahu’s cabinet", ["netanyahu", "s", "cabinet"]),
        ("Netanyahu's cabinet", ["netanyahu", "s", "cabinet"]),
        ("Netanyahuʼs cabinet", ["netanyahu", "s", "cabinet"]),  # U+02BC, the modifier letter apostrophe (issue 20)
        ("cease\u00adfire e\u200dmail", ["ceasefire", "email"]),  # a soft hyphen, a ZWJ: inside the word
        ("Hamas-run ministry", ["hamas", "run", "ministry"]),
        ("snake_case", ["snake", "case"]),
        ("«Quoted» “text”", ["quoted", "text"]),
        ("Kalın'ın açıklaması", ["kalin", "in", "aciklamasi"]),
        ("في غزة اليوم", ["في", "غزة", "اليوم"]),
        ("בני ערובה בעזה", ["בני", "ערובה", "בעזה"]),
        ("Переговоры о заложниках", ["переговоры", "о", "заложниках"]),
        ("Διαπραγματεύσεις ομήρων", ["διαπραγματευσεισ", "ομηρων"]),  # final ς case-folds to σ
        ("R&D 2024", ["r", "d", "2024"]),
    ],
)
def test_tokens(text: str, tokens: list[str]) -> None:
    assert fold_tokens(text) == tokens


def test_exact_fold_keeps_case_but_not_diacritics() -> None:
    assert fold_exact("MİT") == "MIT"
    assert fold_exact("Mit") == "Mit"
    assert fold_exact("ＭＩＴ") == "MIT"


@pytest.mark.parametrize(
    "text",
    [
        "Plain ASCII text, with punctuation; and_underscores.",
        "Türkiye’s İbrahim Kalın met Ronen Bar — Straße, ﬁnance, ½ and ² too.",
        "مُحَمَّد في غزة، שָׁלוֹם, Москва, Ελλάδα, 東京 and a stray \u0301 mark",
        "Ǆemal ŉ İİİ ıı ß ẞ",
    ],
)
def test_whole_text_folding_equals_token_by_token(text: str) -> None:
    # The scanner folds whole texts at once for speed; it must agree with per-token folding.
    whole, _ = fold_text_tokens(text)
    per_token = [fold_token(t) for t in split_words(text)[1::2]]
    assert whole is None or whole == per_token


def test_offsets_point_into_the_original_text() -> None:
    text = "Meanwhile Netanyahu’s cabinet met İbrahim Kalın."
    for token, start, end in tokenize(text):
        assert fold(text[start:end]) == token
    assert [t for t, _, _ in tokenize(text)][-2:] == ["ibrahim", "kalin"]


@pytest.mark.parametrize(
    ("html", "tokens"),
    [
        ("<p>Kalin</p><p>met</p>", ["kalin", "met"]),  # block tags separate words
        ("Ka<b>lin</b> met", ["kalin", "met"]),  # inline tags do not split a word
        ("caf&eacute; &amp; bar", ["cafe", "bar"]),  # entities decode; &amp; never matches "amp"
        ("Ronen&nbsp;Bar", ["ronen", "bar"]),
        ('<a href="https://example.org/kalin">link</a>', ["link"]),  # attributes never match
        ("x &lt;script&gt; y", ["x", "script", "y"]),
        ("<!-- Kalin --> visible", ["visible"]),
    ],
)
def test_markup_never_matches_nor_joins_words(html: str, tokens: list[str]) -> None:
    got = tokenize(html)
    assert [t for t, _, _ in got] == tokens
    for _, start, end in got:  # offsets still point at the original characters
        assert "<" not in html[start:end] or ">" in html[start:end]
