"""The article page's Snooze button: a CSRF-protected POST that snoozes the story or one of its entries."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from monitor.store.db import Database
from monitor.store.rows import MatchRow
from monitor.store.snoozes import Snoozes
from monitor.web.auth import CSRF_FIELD
from tests.web.seed import BOTH_BACKENDS, Seeded, seed_clock
from tests.web.test_pages import csrf_from

pytestmark = BOTH_BACKENDS


def a_matched_article(db: Database) -> MatchRow:
    """A stored match (its article matched at least one entry)."""
    with db.sessions() as session:
        match = session.scalars(select(MatchRow).order_by(MatchRow.id).limit(1)).first()
        assert match is not None
        return match


def test_snooze_the_story_from_the_article_page(client: TestClient, db: Database) -> None:
    match = a_matched_article(db)
    page = client.get(f"/articles/{match.article_id}").text
    assert f'action="/articles/{match.article_id}/snooze"' in page and ">Snooze</button>" in page
    assert f'value="entry:{match.watchlist}/{match.entry_id}"' in page
    response = client.post(f"/articles/{match.article_id}/snooze",
                           data={CSRF_FIELD: csrf_from(page), "target": "story", "for": "4h"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/articles/{match.article_id}?snoozed=4h#snooze"
    [snooze] = Snoozes(db).active_list(seed_clock())
    assert (snooze.kind, snooze.article_id, snooze.subscriber_id) == ("story", match.article_id, None)
    assert snooze.until >= seed_clock().replace(microsecond=0) + timedelta(hours=3, minutes=59)
    assert not Snoozes(db).active_list(seed_clock() + timedelta(hours=5))
    assert "Snoozed for 4h" in client.get(response.headers["location"]).text


def test_snooze_an_entry_for_one_subscriber(client: TestClient, db: Database, seeded: Seeded) -> None:
    match = a_matched_article(db)
    page = client.get(f"/articles/{match.article_id}").text
    subscriber = seeded.config.subscribers[0].id
    assert f'<option value="{subscriber}">' in page
    data = {CSRF_FIELD: csrf_from(page), "target": f"entry:{match.watchlist}/{match.entry_id}", "for": "1d",
            "subscriber": subscriber}
    assert client.post(f"/articles/{match.article_id}/snooze", data=data, follow_redirects=False).status_code == 303
    [snooze] = Snoozes(db).active_list(seed_clock())
    assert (snooze.kind, snooze.target, snooze.subscriber_id) == (
        "entry", f"{match.watchlist}/{match.entry_id}", subscriber)


def test_snooze_needs_a_valid_csrf_token_and_an_offered_choice(client: TestClient, db: Database) -> None:
    match = a_matched_article(db)
    token = csrf_from(client.get(f"/articles/{match.article_id}").text)
    url = f"/articles/{match.article_id}/snooze"
    assert client.post(url, data={"target": "story", "for": "4h"}).status_code == 403
    assert client.post(url, data={CSRF_FIELD: "forged.token", "target": "story", "for": "4h"}).status_code == 403
    assert client.post(url, data={CSRF_FIELD: token, "target": "story", "for": "99y"}).status_code == 409
    assert client.post(url, data={CSRF_FIELD: token, "target": "entry:no/such", "for": "4h"}).status_code == 409
    assert client.post(url, data={CSRF_FIELD: token, "target": "story", "for": "4h", "subscriber": "nobody"}).status_code == 409
    assert client.post("/articles/nope/snooze", data={CSRF_FIELD: token, "target": "story", "for": "4h"}).status_code == 409
    assert Snoozes(db).active_list(seed_clock()) == []
