"""Archive search in headless Chromium (Debian's, driven by Playwright): query, highlights, filters, paging."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from monitor.store.db import Database
from monitor.usecases.candidates import index_articles
from tests.web.test_browser import Live, assert_quiet, browser, live, page, pytestmark, shot

__all__ = ["browser", "live", "page", "pytestmark"]  # the fixtures and marks of the dashboard's browser tests


def test_search_with_highlights_filters_and_paging(page: Any, live: Live) -> None:
    db = Database(live.seeded.database_url)
    assert index_articles(db) > 0, "what the service's search-index tick does"
    db.dispose()
    page.goto(live.url + "/")
    page.click("header nav >> text=Search")
    page.wait_for_url("**/search")
    page.fill("#q", '("prisoner exchange" OR hostage* OR captives) AND (negotiat* OR talks)')
    page.click("form.search button[type=submit]")
    page.wait_for_selector("#search-count")
    assert page.inner_text("#search-count").startswith("Results 1–")
    assert page.locator("#search-hits li").count() > 0
    assert page.locator("#search-hits mark").count() > 0, "the matched words are marked, as on /query"
    assert "contain the query's words" in page.inner_text("#search-count")
    assert page.locator("#search-unindexed").count() == 0
    shot(page, "search")
    # A broad query fills more than one page: next, then back.
    page.fill("#q", "the OR of OR and")
    page.click("form.search button[type=submit]")
    page.wait_for_selector("#search-next")
    first = page.locator("#search-hits a.title").all_inner_texts()
    page.click("#search-next")
    page.wait_for_selector("#search-prev")
    assert page.inner_text("#search-count").startswith("Results 21–")
    assert len(first) == 20 and page.locator("#search-hits a.title").all_inner_texts() != first
    page.click("#search-prev")
    page.wait_for_selector("#search-next")
    assert page.locator("#search-hits a.title").all_inner_texts() == first
    # A language filter that nothing has, then a date range that ends before it starts.
    page.fill("#search-lang", "zz")
    page.click("form.search button[type=submit]")
    page.wait_for_selector("#search-count")
    assert page.inner_text("#search-count").startswith("No results")
    page.fill("#search-lang", "")
    page.fill("#search-from", "2024-11-20")
    page.fill("#search-to", "2024-11-01")
    page.click("form.search button[type=submit]")
    page.wait_for_selector("#search-error")
    assert "before it starts" in page.inner_text("#search-error")
    assert_quiet(live)


def test_search_usable_at_390_px(page: Any, live: Live) -> None:
    """Results, a long query's error with its caret, a scan warning and the export links fit a phone's width."""
    db = Database(live.seeded.database_url)
    assert index_articles(db) >= 0
    db.dispose()
    page.set_viewport_size({"width": 390, "height": 844})
    long_query = "(" + " OR ".join(f"negotiat* NEAR/5 hostage{n}" for n in range(12)) + ") AND (talks"
    views = {
        "/search": "#q",
        "/search?q=the+OR+of+OR+and": "#search-next",
        "/search?q=" + quote(long_query): "#search-error",
        "/search?q=" + quote("lang:en NOT zzzz-not-a-word"): "#search-scan",
    }
    for path, shown in views.items():
        page.goto(live.url + path)
        page.wait_for_selector(shown)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, f"no horizontal scrolling on {path}"
        assert page.locator("header.top nav a:has-text('Search')").is_visible()
        for button in page.locator("form.search button, #search-pager a").all():
            box = button.bounding_box()
            assert box is not None and box["x"] + box["width"] <= 390, f"{path}: a control is off the screen"
    page.goto(live.url + "/search?q=the+OR+of+OR+and")
    shot(page, "search-390")
    assert_quiet(live)
