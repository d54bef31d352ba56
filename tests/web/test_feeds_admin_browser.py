"""Add a feed from a site URL in headless Chromium: the page's feed link, the preview with its matches, the save.

The screenshot goes to docs/screenshots/feed-add.png (the README links it).
"""

from __future__ import annotations

from typing import Any

import pytest

from monitor.config import load_config
from tests.support.feedserver import Route, running_feed_server
from tests.web.editor_fixtures import Editable
from tests.web.test_browser import REASON, browser  # noqa: F401 (the browser fixture)
from tests.web.test_feeds_admin import FEED, PAGE
from tests.web.test_watchlist_editor_browser import SCREENSHOTS, served  # noqa: F401 (the served fixture)

pytestmark = [pytest.mark.skipif(REASON is not None, reason=REASON or ""), pytest.mark.slow]


def test_add_a_feed_from_a_site_url(browser: Any, served: tuple[str, Editable]) -> None:  # noqa: F811
    url, editable = served
    before = (editable.config_dir / "feeds.yaml").read_text(encoding="utf-8")
    with running_feed_server() as site:
        site.routes["/"] = Route(PAGE, content_type="text/html; charset=utf-8")
        site.routes["/feed.xml"] = Route(FEED)
        context = browser.new_context(viewport={"width": 1300, "height": 1000})
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(url + "/feeds")
        page.click("#add-feed")
        page.fill("#feed-url", site.url("/"))
        page.click("#feed-look")
        page.click("a.feed-link")  # the feed the page advertises
        page.wait_for_selector("#feed-preview")
        assert "Ibrahim Kalin meets envoys" in page.inner_text("#feed-items")
        assert "mena-security/ibrahim-kalin" in page.inner_text("#feed-items")
        assert page.input_value("#feed-id") == "anatolia-daily-news"
        page.fill("#feed-tags", "turkey, english")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "feed-add.png"), full_page=True)
        page.click("#feed-save")
        page.wait_for_selector("#feed-saved")
        context.close()
    after = (editable.config_dir / "feeds.yaml").read_text(encoding="utf-8")
    assert after.startswith(before.rstrip("\n")) and "anatolia-daily-news" in after
    feed = next(f for f in load_config(editable.config_dir, {}).config.feeds if f.id == "anatolia-daily-news")
    assert feed.tags == ("turkey", "english") and feed.url == site.url("/feed.xml")
    assert errors == []


def test_opml_round_trip_of_the_demo_feeds(browser: Any, served: tuple[str, Editable], tmp_path: Any) -> None:  # noqa: F811
    url, editable = served
    context = browser.new_context()
    page = context.new_page()
    page.goto(url + "/feeds")
    exported = page.request.get(url + "/feeds/export.opml")
    assert exported.ok and "levant-wire" in exported.text()
    # Remove a demo feed by hand, then import the export: it comes back, the others are skipped.
    feeds_yaml = editable.config_dir / "feeds.yaml"
    text = feeds_yaml.read_text(encoding="utf-8")
    start = text.rindex("  - url: ", 0, text.index("gulf-observer.atom"))
    feeds_yaml.write_text(text[:start] + text[text.index("  - url:", start + 1):], encoding="utf-8")
    opml = tmp_path / "demo.opml"
    opml.write_bytes(exported.body())
    page.click("#import-opml")
    page.set_input_files("#opml-file", str(opml))
    page.click("#opml-import-button")
    page.wait_for_selector("#import-result")
    assert "Added 1 feed(s)" in page.inner_text("#import-result")
    assert page.locator("li.skipped").count() >= 2
    context.close()
    assert "gulf-observer.atom" in feeds_yaml.read_text(encoding="utf-8")
