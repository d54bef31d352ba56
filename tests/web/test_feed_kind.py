"""The Feeds page shows each feed's kind, recorded from the format of its last parsed body."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.web.seed import BOTH_BACKENDS

pytestmark = BOTH_BACKENDS


def test_feeds_page_shows_the_kind(client: TestClient) -> None:
    html = client.get("/feeds?sort=id").text
    assert "<th>Kind</th>" in html
    # The seeded feeds are RSS files polled once: each row's kind cell says so.
    kinds = re.findall(r"<td>(rss|atom|rdf|json|sitemap|-)</td>", html)
    assert kinds and set(kinds) <= {"rss", "atom", "rdf"}
