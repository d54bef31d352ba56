"""The article page links each match to its "not relevant?" feedback page (the fix offered as a watchlist test)."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient

from monitor.store.db import Database
from tests.web.seed import BOTH_BACKENDS
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
