"""Fuzz folding and tokenising: token offsets always map back into the original string."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.match import fold, tokenize
from monitor.match.fold import fold_text_tokens, fold_token, split_words
from tests.fuzz.support import TEST_TIMEOUT, fuzz_settings

pytestmark = pytest.mark.timeout(TEST_TIMEOUT)

MARKUP = ["<b>", "</b>", "<p>", "<br/>", "&amp;", "&nbsp;", "&#x4b;", "&#1114112;", "&lt;", "<!-- x -->", "<!--",
          "&eacute;", "&bogus;", "<", "&", ">", "<a href='x'>", "&#0;", "&#x110000;", "&AElig", "&notin;"]
TEXT = st.text(max_size=80) | st.lists(
    st.text(max_size=5) | st.sampled_from(MARKUP + ["İ", "ı", "ß", "ﬁ", "e\u0301", "\u0301", "_", "’s", "Ǆ", "ǅ"]),
    max_size=25,
).map("".join)


@fuzz_settings(600)
@given(TEXT)
def test_tokenize_offsets_map_back(text: str) -> None:
    tokens = tokenize(text)
    last_end = 0
    for token, start, end in tokens:
        assert 0 <= start < end <= len(text), (token, start, end, len(text))
        assert start >= last_end, "tokens overlap or go backwards"
        last_end = end
        # A token of lone combining marks folds to "" (fold strips them): allowed, see README.md.
        if "<" not in text and "&" not in text:  # no markup: the span is exactly the token, unfolded
            assert fold_token(text[start:end].replace("_", " ")) == token, (token, text[start:end])


@fuzz_settings(400)
@given(TEXT)
def test_fast_folding_equals_token_by_token(text: str) -> None:
    """fold_text_tokens (whole text in one go) agrees with folding token by token, as it promises."""
    folded, parts = fold_text_tokens(text)
    if folded is None:
        return
    assert folded == [fold_token(t) for t in split_words(text)[1::2]]
    if parts is not None:  # usable for offsets: same lengths as the original's split
        assert [len(p) for p in parts] == [len(p) for p in split_words(text)]


@fuzz_settings(400)
@given(TEXT)
def test_fold_is_total(text: str) -> None:
    assert isinstance(fold(text), str)
