"""The inbox in headless Chromium: one row per story, read and star state kept, filters, keyboard, export, 390 px."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from monitor.store.db import Database
from monitor.store.inbox import Inbox, InboxFilter
from monitor.web.identity import OPERATOR
from tests.web.seed import Seeded
from tests.web.test_browser import ARTIFACTS, REASON, Live, assert_quiet, live_copy, shot
from tests.web.test_browser import browser as browser  # noqa: F401  (the module-scoped Chromium fixture)

pytestmark = [pytest.mark.skipif(REASON is not None, reason=REASON or ""), pytest.mark.slow]


@pytest.fixture
def live(seeded_template: Seeded, tmp_path: Path) -> Iterator[Live]:
    """The app on its own copy of the seeded database per test (these tests change read state)."""
    with live_copy(seeded_template, tmp_path) as running:
        yield running


def _open(browser: Any, live: Live, width: int = 1280, **options: Any) -> Any:
    context = browser.new_context(viewport={"width": width, "height": 844 if width < 500 else 900}, accept_downloads=True, **options)
    tab = context.new_page()
    tab.on("dialog", lambda d: (live.dialogs.append(d.message), d.dismiss()))
    tab.on("console", lambda m: live.console_errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: live.page_errors.append(str(e)))
    tab.on("request", lambda r: None if r.url.startswith((live.url, "data:")) else live.foreign_requests.append(r.url))
    return tab


def _stories(live: Live, **filters: Any) -> list[str]:
    db = Database(live.seeded.database_url)
    try:
        return [s.story_id for s in Inbox(db).stories(OPERATOR, InboxFilter(**filters), limit=50)]
    finally:
        db.dispose()


def _rows(tab: Any) -> list[str]:
    return [str(r) for r in tab.eval_on_selector_all("ol.inbox li.story", "rows => rows.map(r => r.dataset.story)")]


def _row(tab: Any, story: str) -> Any:
    return tab.locator(f"li.story[data-story='{story}']")


def test_keyboard_read_and_star_persist(browser: Any, live: Live) -> None:
    tab = _open(browser, live)
    tab.goto(live.url + "/inbox")
    expected = _stories(live)
    assert _rows(tab) == expected and len(set(expected)) == len(expected) > 3, "one row per story, newest first"
    assert tab.locator("li.story.unread").count() == len(expected)
    tab.keyboard.press("j")
    tab.keyboard.press("j")
    tab.keyboard.press("j")
    tab.keyboard.press("k")
    second = expected[1]
    assert "current" in (_row(tab, second).get_attribute("class") or "")
    tab.keyboard.press("s")
    tab.wait_for_selector(f"li.story.starred[data-story='{second}']")
    tab.keyboard.press("x")
    assert _row(tab, second).locator("input.select").is_checked()
    tab.keyboard.press("o")
    tab.wait_for_url("**/articles/*")
    assert tab.locator("#article-text").count() == 1
    tab.goto(live.url + "/inbox")
    tab.reload()
    row_class = _row(tab, second).get_attribute("class") or ""
    assert "unread" not in row_class and "starred" in row_class, "read on open and starred, after a reload"
    assert _row(tab, expected[0]).get_attribute("class") == "story unread"
    assert _row(tab, second).locator("button.star").get_attribute("aria-pressed") == "true"
    # The show filter keeps them apart.
    tab.goto(live.url + "/inbox?show=starred")
    assert _rows(tab) == [second]
    # The README's picture: one watchlist, the keyboard on the third row.
    tab.goto(live.url + "/inbox?watchlist=mena-security")
    for key in "jjj":
        tab.keyboard.press(key)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / "inbox.png"))
    assert_quiet(live)


def test_filters_and_mark_all_read_without_javascript(browser: Any, live: Live) -> None:
    tab = _open(browser, live, java_script_enabled=False)
    tab.goto(live.url + "/inbox")
    watchlist = tab.locator("select[name=watchlist] option").nth(1).get_attribute("value")
    tab.select_option("select[name=watchlist]", str(watchlist))
    tab.click("#inbox-filters button[type=submit]")
    tab.wait_for_url(f"**/inbox?*watchlist={watchlist}*")
    shown = _rows(tab)
    assert shown == _stories(live, watchlist=watchlist) and shown
    for story in shown:
        assert _row(tab, story).locator(f".chips a:has-text('{watchlist}/')").count() >= 1
    shot(tab, "inbox-filtered")
    _row(tab, shown[0]).locator("form.read button").click()
    tab.wait_for_load_state()
    assert "unread" not in (_row(tab, shown[0]).get_attribute("class") or "")
    tab.click("#mark-all-read button")
    tab.wait_for_selector("#inbox-marked")
    assert f"Marked {len(shown) - 1} stor" in tab.inner_text("#inbox-marked")
    assert tab.locator("li.story.unread").count() == 0
    tab.goto(live.url + "/inbox")
    assert tab.locator("li.story.unread").count() == len(_stories(live)) - len(shown), "other watchlists stay unread"
    assert_quiet(live)


def test_export_csv_and_html_report(browser: Any, live: Live, tmp_path: Path) -> None:
    tab = _open(browser, live)
    tab.goto(live.url + "/inbox")
    expected = _stories(live)
    with tab.expect_download() as info:
        tab.click("#export-csv")
    download = info.value
    assert download.suggested_filename == "inbox-2024-11-21.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert len(rows) == len(expected) and set(rows[0]) >= {"title", "outlets", "published", "entries", "snippet", "link"}
    with tab.expect_download() as info:
        tab.click("#export-html")
    html = Path(info.value.path()).read_text(encoding="utf-8")
    report = _open(browser, live)
    requests: list[str] = []
    report.on("request", lambda r: requests.append(r.url))
    report.set_content(html)
    assert report.locator("ol > li").count() == len(expected) and report.locator("mark").count() > 0
    assert report.evaluate("getComputedStyle(document.querySelector('mark')).backgroundColor") == "rgb(255, 224, 102)"
    assert requests == [], "the report loads nothing"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    report.screenshot(path=str(ARTIFACTS / "export-report.png"))
    assert_quiet(live)


def test_usable_at_390_px(browser: Any, live: Live) -> None:
    tab = _open(browser, live, width=390)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for path, name in (("/inbox", "inbox-390"), (f"/articles/{_rows_article(live)}", "article-390"), ("/", "overview-390")):
        tab.goto(live.url + path)
        assert tab.evaluate("document.documentElement.scrollWidth") <= 390, f"no horizontal scrolling on {path}"
        assert tab.locator("header.top nav a").count() >= 8
        assert tab.locator("header.top nav a:has-text('Inbox')").is_visible()
        tab.screenshot(path=str(ARTIFACTS / f"{name}.png"))  # one phone screen, as a person sees it
    assert_quiet(live)


def _rows_article(live: Live) -> str:
    """The article with the most matches on the demo (the longest article page)."""
    db = Database(live.seeded.database_url)
    try:
        stories = Inbox(db).stories(OPERATOR, InboxFilter(), limit=50)
        return max(stories, key=lambda s: (len(s.entries), s.articles)).article_id
    finally:
        db.dispose()
