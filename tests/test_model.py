"""The shared model (monitor/model.py): records cleaned and capped once, pickled as their values."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from datetime import UTC, datetime

import pytest

from monitor.model import TITLE_MAX_CHARS, URL_MAX_CHARS, Article, Highlight, Match, ParsedFeed


def _article(**changes: object) -> Article:
    values: dict[str, object] = {
        "id": "a1", "guid": "urn:1", "url": "https://e.org/1", "title": "Title", "summary_html": "<p>s</p>",
        "content_html": "", "summary_text": "s", "content_text": "", "author": "", "language": "en",
        "published_at": datetime(2024, 11, 20, 10, 0, tzinfo=UTC), "content_hash": "h",
    }
    values.update(changes)
    return Article(**values)  # type: ignore[arg-type]


def test_nuls_are_dropped_before_the_cap_and_only_text_fields_are_touched() -> None:
    article = _article(title="\x00" * 10 + "T" * (TITLE_MAX_CHARS + 5), guid=None, summary_text="a\x00b",
                       url="https://e.org/" + "p" * URL_MAX_CHARS)
    assert article.title == "T" * TITLE_MAX_CHARS
    assert article.summary_text == "ab" and article.guid is None and article.url == ""
    feed = ParsedFeed(title="F\x00", link="", language=None, ttl_minutes=5, articles=(article,), hubs=("h\x00",))
    assert feed.title == "F" and feed.hubs == ("h\x00",), "hubs are checked where they are read (parse/websub.py)"


def test_records_pickle_as_their_values_and_stay_frozen() -> None:
    highlight = Highlight("title", 0, 5, "Title")
    match = Match("w", "actor", "e", "E", (highlight,), "snippet", 2)
    feed = ParsedFeed(title="F", link="https://e.org/", language="en", ttl_minutes=None,
                      articles=(_article(), _article(id="a2", guid=None, published_at=None)), format="rss")
    for record in (highlight, match, feed, feed.articles[1]):
        for copied in (pickle.loads(pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL)),
                       pickle.loads(pickle.dumps(record, protocol=2)), copy.deepcopy(record), copy.copy(record)):
            assert copied == record and type(copied) is type(record)
            assert dataclasses.asdict(copied) == dataclasses.asdict(record)  # type: ignore[call-overload]
    restored = pickle.loads(pickle.dumps(feed))
    with pytest.raises(dataclasses.FrozenInstanceError):
        restored.title = "x"
    assert dataclasses.replace(restored.articles[0], title="a\x00b").title == "ab", "replace cleans as before"
