"""The article page links each match to its "not relevant?" feedback page (the fix offered as a watchlist test)."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from monitor.store.db import Database
from monitor.store.rows import MatchRow
from tests.web.seed import BOTH_BACKENDS, Seeded
from tests.web.test_article_snooze import a_matched_article

pytestmark = BOTH_BACKENDS


def test_each_match_links_to_its_feedback_page_which_opens(client: TestClient, db: Database) -> None:
    match = a_matched_article(db)
    page = client.get(f"/articles/{match.article_id}").text
    links = [html.unescape(h) for h in re.findall(r'<a class="feedback" href="([^"]+)"', page)]
    assert links, "no feedback link on the article page"
    [link] = [h for h in links if f"{match.watchlist}" in h and match.entry_id in h]
    assert link.startswith(f"/articles/{match.article_id}/feedback?entry=")
    response = client.get(link)
    assert response.status_code == 200
    assert match.entry_id in response.text


def db_matches(db: Database, article_id: str) -> list[MatchRow]:
    """The stored matches of one article."""
    with db.sessions() as session:
        return list(session.scalars(select(MatchRow).where(MatchRow.article_id == article_id)))


def test_the_missed_form_opens_the_missed_feedback_for_an_entry_that_did_not_match(
    client: TestClient, db: Database, seeded: Seeded
) -> None:
    match = a_matched_article(db)
    page = client.get(f"/articles/{match.article_id}").text
    form = re.search(r'<form method="get" action="([^"]+)" class="missed">(.*?)</form>', page, re.S)
    assert form, "no 'missed' form on the article page"
    action, fields = html.unescape(form.group(1)), form.group(2)
    assert action == f"/articles/{match.article_id}/feedback"
    assert re.search(r'name="verdict" value="missed"', fields) and 'name="entry"' in fields
    # What the browser sends when the analyst types an entry (one this article did not match) and submits.
    matched = {(m.watchlist, m.entry_id) for m in db_matches(db, match.article_id)}
    watchlist = next(w for w in seeded.config.watchlists.values() for e in (*w.actors, *w.topics) if (w.id, e.id) not in matched)
    entry = next(e for e in (*watchlist.actors, *watchlist.topics) if (watchlist.id, e.id) not in matched)
    response = client.get(action, params={"verdict": "missed", "entry": f"{watchlist.id}/{entry.id}"})
    assert response.status_code == 200, response.text[:300]
    assert "Missed by" in response.text and f"{watchlist.id}/{entry.id}" in response.text
