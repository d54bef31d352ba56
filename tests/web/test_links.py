"""Issue 13.4: an article link that is not http(s) (old rows: javascript:, data:) is never an href on any
page, and the API gives null for it."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from monitor.store.db import Database
from monitor.store.rows import ArticleRow, MatchRow
from tests.web.seed import BOTH_BACKENDS

pytestmark = BOTH_BACKENDS

HOSTILE_LINKS = ["javascript:alert(1)", " JaVaScRiPt:alert(document.domain)", "java\tscript:alert(1)",
                 "data:text/html,<script>alert(1)</script>"]


class _Hrefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hrefs += [value or "" for name, value in attrs if name in ("href", "src", "action", "formaction")]


def hrefs(html: str) -> list[str]:
    parser = _Hrefs()
    parser.feed(html)
    parser.close()
    return parser.hrefs


def link_a_matched_article(db: Database, link: str) -> tuple[str, str, str]:
    """Give a matched article of the seeded database `link` (as an old row may hold it); its id and match."""
    with db.sessions() as session, session.begin():
        match = session.scalars(select(MatchRow).order_by(MatchRow.id)).first()
        assert match is not None
        session.execute(update(ArticleRow).where(ArticleRow.id == match.article_id).values(url=link))
        return match.article_id, match.watchlist, match.entry_id


@pytest.mark.parametrize("link", HOSTILE_LINKS)
def test_a_stored_non_http_link_is_text_on_every_page(client: TestClient, db: Database, link: str) -> None:
    article_id, watchlist, entry = link_a_matched_article(db, link)
    pages = {
        "article": client.get(f"/articles/{article_id}"),
        "matches": client.get(f"/matches?watchlist={watchlist}&entry={entry}"),
        "query": client.get("/query", params={"q": f"{watchlist}/{entry}", "days": 3650}),
    }
    for name, response in pages.items():
        assert response.status_code == 200, name
        assert f"/articles/{article_id}" in response.text or name == "article", f"{name} does not show the article"
        # ("data:," is base.html's empty favicon, which stops the browser asking for /favicon.ico.)
        bad = [h for h in hrefs(response.text) if h != "data:," and not h.startswith(("/", "http", "?", "#"))]
        assert not bad, f"{name} page links to {bad}"
        shown = response.text.lower()
        assert "script:alert" in shown or "data:text/html" in shown, f"{name}: link not shown as text"


@pytest.mark.parametrize("link", HOSTILE_LINKS)
def test_the_api_gives_null_for_a_non_http_link(client: TestClient, db: Database, link: str) -> None:
    article_id, watchlist, entry = link_a_matched_article(db, link)
    assert client.get(f"/api/articles/{article_id}").json()["url"] is None
    listed = client.get("/api/articles?limit=500").json()["items"]
    assert [a["url"] for a in listed if a["id"] == article_id] == [None]
    matches = client.get("/api/matches", params={"watchlist": watchlist, "entry": entry, "limit": 500}).json()
    assert [m["article"]["url"] for m in matches["items"] if m["article"]["id"] == article_id]
    assert all(m["article"]["url"] is None for m in matches["items"] if m["article"]["id"] == article_id)
    hits = client.get("/api/query", params={"q": f"{watchlist}/{entry}", "days": 3650, "limit": 500}).json()["items"]
    assert [h["url"] for h in hits if h["article_id"] == article_id] == [None]


def test_an_http_link_stays_a_link(client: TestClient, db: Database) -> None:
    article_id, _, _ = link_a_matched_article(db, "https://news.example/story?id=1")
    assert "https://news.example/story?id=1" in hrefs(client.get(f"/articles/{article_id}").text)
    assert client.get(f"/api/articles/{article_id}").json()["url"] == "https://news.example/story?id=1"
