"""Issue 13.3: a repetitive article cannot make a huge match (highlights, snippet, stored row, email).

Before, every occurrence became a stored highlight: 15 MiB of "word " against one topic made a
222 MB highlights row. Now each field of a match keeps its first MAX_HIGHLIGHTS_PER_FIELD highlights
(and counts the rest), a highlight is at most MAX_HIGHLIGHT_CHARS long, and the snippet is built
from the kept highlights only. Sizes are asserted, not time.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from monitor.config.models import WatchlistConfig
from monitor.match import CompiledWatchlists
from monitor.match.matcher import MAX_HIGHLIGHT_CHARS, MAX_HIGHLIGHTS_PER_FIELD, SNIPPET_WIDTH, compile_adhoc
from monitor.model import Document
from monitor.store.rows import MatchRow
from tests.notify.test_notify_flow_harness import Flow, Story, email_subscriber
from tests.support.feedserver import FeedServer

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
REPEATS = 18_000
"""Under TEXT_MAX_CHARS (1 MiB, monitor/parse/article.py), so every occurrence reaches the matcher."""
MATCH_BOUND = 5 * MAX_HIGHLIGHTS_PER_FIELD * (MAX_HIGHLIGHT_CHARS + 80)
"""Bytes of a stored match's highlights JSON at most: 5 fields x 20 highlights x (text + keys)."""
SNIPPET_BOUND = SNIPPET_WIDTH + MAX_HIGHLIGHT_CHARS + 4 * MAX_HIGHLIGHTS_PER_FIELD + 8
"""Characters of a snippet at most: its width, one long highlight, the [[ ]] marks and the "... "."""


def per_field(highlights: list[dict[str, object]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for h in highlights:
        counts[str(h["field"])] = counts.get(str(h["field"]), 0) + 1
    return counts


def test_a_repetitive_article_stores_bounded_matches_and_sends_a_bounded_email(
    tmp_path: Path, database_url: str, feed_server: FeedServer
) -> None:
    # 0.94 MB of text in which the topic's words and the actor's alias occur 18,000 times each.
    body = "hostages talks mediation Turkish intelligence chief " * REPEATS
    story = Story("flood", "A quiet day", body, datetime(2026, 11, 24, 6, 0, tzinfo=UTC))
    flow = Flow(tmp_path, database_url, feed_server, subscribers=[email_subscriber("desk")],
                feeds={"wire": [story]}, start=START)
    try:
        flow.poll()
        with flow.db.sessions() as session:
            rows = {m.entry_id: m for m in session.scalars(select(MatchRow))}
        assert set(rows) == {"hostage-talks", "ibrahim-kalin"}
        topic, actor = rows["hostage-talks"], rows["ibrahim-kalin"]
        # hostages, talks and mediat* (the true branches of both ORs) in the body: 54,000 highlights found.
        assert per_field(topic.highlights) == {"body": MAX_HIGHLIGHTS_PER_FIELD}
        assert topic.more_highlights == 3 * REPEATS - MAX_HIGHLIGHTS_PER_FIELD
        # A three-word alias: the path that drops spans inside longer ones, capped the same way.
        assert per_field(actor.highlights) == {"body": MAX_HIGHLIGHTS_PER_FIELD}
        assert actor.more_highlights == REPEATS - MAX_HIGHLIGHTS_PER_FIELD
        assert [h["text"] for h in actor.highlights[:2]] == ["Turkish intelligence chief"] * 2
        for row in (topic, actor):
            assert len(json.dumps(row.highlights)) <= MATCH_BOUND
            assert len(row.snippet) <= SNIPPET_BOUND
        # The kept highlights are the first ones, in text order.
        starts = [int(h["start"]) for h in topic.highlights]
        assert starts == sorted(starts) and starts[0] == 0

        summary = flow.deliver()
        assert summary.sent == 1
        [message] = list((tmp_path / "outbox").glob("*.eml"))
        assert message.stat().st_size < 64 * 1024, "the email holds snippets, not every occurrence"
    finally:
        flow.close()


def test_a_huge_token_or_a_far_apart_phrase_makes_a_short_highlight_and_snippet() -> None:
    giant = "wordy" + "a" * 100_000
    match = compile_adhoc("word*").match(Document(title="t", body=f"some {giant} text"))
    assert match is not None
    [h] = match.highlights
    assert h.start == 5 and len(h.text) == MAX_HIGHLIGHT_CHARS and h.text == giant[:MAX_HIGHLIGHT_CHARS]
    assert len(match.snippet) <= SNIPPET_BOUND

    # A phrase whose words are 100,000 separators apart is still the phrase (matching is unchanged).
    far = "hostage " + "-" * 100_000 + " talks"
    match = compile_adhoc('"hostage talks"').match(Document(body=far))
    assert match is not None
    [h] = match.highlights
    assert h.start == 0 and len(h.text) == MAX_HIGHLIGHT_CHARS
    assert len(match.snippet) <= SNIPPET_BOUND


def test_the_cap_keeps_the_first_highlights_of_each_field_and_counts_the_rest() -> None:
    watchlists = {"w": WatchlistConfig.model_validate(
        {"name": "W", "topics": [{"id": "t", "name": "T", "query": "word"}]})}
    matcher = CompiledWatchlists.compile(watchlists)
    [match] = matcher.match(Document(title="word " * 30, body="word " * 1_000))
    fields = [h.field for h in match.highlights]
    assert fields == ["title"] * MAX_HIGHLIGHTS_PER_FIELD + ["body"] * MAX_HIGHLIGHTS_PER_FIELD
    assert match.more_highlights == (30 - MAX_HIGHLIGHTS_PER_FIELD) + (1_000 - MAX_HIGHLIGHTS_PER_FIELD)
    assert [h.start for h in match.highlights[:3]] == [0, 5, 10]
    assert match.snippet.startswith("[[word]] [[word]]") and len(match.snippet) <= SNIPPET_WIDTH
    # Under the cap nothing changes: every highlight kept, none counted as more.
    [few] = matcher.match(Document(body="a word and a word"))
    assert [h.start for h in few.highlights] == [2, 13] and few.more_highlights == 0
