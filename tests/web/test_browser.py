"""The dashboard in headless Chromium (Debian's, driven by Playwright): pages, click-through, query, retry, XSS."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from monitor.store.db import Database
from tests.support.dashboard import dashboard_on_copy
from tests.web.seed import Seeded, seed_clock

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _unavailable() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright's Python package is not installed (pip install playwright; no browser download needed)"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install -y chromium)"
    return None


REASON = _unavailable()
if REASON and IN_CI:
    pytest.fail(f"CI=true but the browser tests cannot run: {REASON}", pytrace=False)
pytestmark = [pytest.mark.skipif(REASON is not None, reason=REASON or ""), pytest.mark.slow]


@dataclass
class Live:
    """A running dashboard and what the browser saw on it."""

    url: str
    seeded: Seeded
    dialogs: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)


@contextmanager
def live_copy(template: Seeded, directory: Path) -> Iterator[Live]:
    """The real app under uvicorn in a thread, on 127.0.0.1, with its own copy of the seeded database."""
    with dashboard_on_copy(template.config, template.database_url, directory, clock=seed_clock) as (base_url, config):
        yield Live(base_url, replace(template, config=config, database_url=config.settings.database))


@pytest.fixture(scope="module")
def live(seeded_template: Seeded, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The app on one copy of the seeded database for the module (these tests leave each other's data alone)."""
    with live_copy(seeded_template, tmp_path_factory.mktemp("browser")) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Any, live: Live) -> Iterator[Any]:
    """A fresh page that records dialogs, console errors, script errors and requests leaving the server."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    live.dialogs.clear(), live.console_errors.clear(), live.page_errors.clear(), live.foreign_requests.clear()

    def on_dialog(dialog: Any) -> None:
        live.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    tab.on("dialog", on_dialog)
    tab.on("console", lambda msg: live.console_errors.append(msg.text) if msg.type == "error" else None)
    tab.on("pageerror", lambda exc: live.page_errors.append(str(exc)))
    tab.on("request", lambda req: None if req.url.startswith((live.url, "data:")) else
           live.foreign_requests.append(req.url))
    yield tab
    context.close()


def shot(page: Any, name: str) -> None:
    """Save a full-page screenshot under test-artifacts/screenshots/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def assert_quiet(live: Live) -> None:
    """Nothing executed, nothing complained, nothing was fetched from elsewhere."""
    assert live.dialogs == [], live.dialogs
    assert live.page_errors == [], live.page_errors
    assert live.console_errors == [], live.console_errors
    assert live.foreign_requests == [], live.foreign_requests


@pytest.mark.parametrize("path,name,heading", [
    ("/", "overview", "Overview"), ("/feeds", "feeds", "Feeds"), ("/matches", "matches", "Matches"),
    ("/articles", "articles", "Articles"), ("/deliveries", "deliveries", "Deliveries"),
    ("/query", "query-empty", "Try a query"),
])
def test_each_page_loads(page: Any, live: Live, path: str, name: str, heading: str) -> None:
    response = page.goto(live.url + path)
    assert response is not None and response.status == 200
    assert page.locator("h1").first.inner_text() == heading
    assert page.evaluate("getComputedStyle(document.body).margin") == "0px", "the stylesheet was applied"
    shot(page, name)
    assert_quiet(live)


def test_click_through_feeds_article_deliveries(page: Any, live: Live) -> None:
    page.goto(live.url + "/feeds")
    page.click("#feeds >> text=Levant Wire")
    page.wait_for_url("**/matches?feed=levant-wire")
    page.locator("ol.matches a.title").first.click()
    page.wait_for_url("**/articles/*")
    assert page.locator("#article-text mark").count() > 0, "the matched words are marked in the text"
    shot(page, "article")
    page.click("text=All deliveries")
    page.wait_for_url("**/deliveries")
    assert page.locator("#deliveries tbody tr").count() >= 2
    assert_quiet(live)


def test_try_a_query(page: Any, live: Live) -> None:
    page.goto(live.url + "/query")
    page.fill("#q", '("prisoner exchange" OR hostages OR captives) AND (negotiat* OR mediat* OR talks)')
    page.fill("input[name=days]", "3650")
    page.click("form.query button[type=submit]")
    page.wait_for_selector("#query-count")
    assert "article(s) matched" in page.inner_text("#query-count")
    assert page.locator("#query-hits li").count() > 0
    assert page.locator("#query-hits mark").count() > 0
    assert page.locator("svg.chart rect").count() > 0
    shot(page, "query")
    page.fill("#q", 'hostages AND (talks OR "deal')
    page.click("form.query button[type=submit]")
    page.wait_for_selector("#query-error")
    assert "column" in page.inner_text("#query-error")
    shot(page, "query-error")
    assert_quiet(live)


def test_retry_a_failed_delivery(page: Any, live: Live) -> None:
    page.goto(live.url + "/deliveries?status=failed")
    row = page.locator(f"tr[id='{live.seeded.failed_delivery_id}']")
    assert "mailbox unavailable" in row.inner_text()
    shot(page, "deliveries-failed")
    row.locator("button.retry").click()
    page.wait_for_selector("p.notice")
    assert live.seeded.failed_delivery_id in page.inner_text("p.notice")
    assert "pending" in page.locator(f"tr[id='{live.seeded.failed_delivery_id}']").inner_text()
    assert_quiet(live)


def test_script_injection_in_feed_items_does_not_execute(page: Any, live: Live) -> None:
    if not live.seeded.hostile_feed_ids:
        pytest.skip("the feedparser sanitize corpus (../shared/corpora) is not on this machine")
    page.goto(live.url + "/matches?watchlist=sanitizer-probe")
    assert page.locator("ol.matches li mark").count() > 0
    shot(page, "hostile-matches")
    page.goto(live.url + "/articles")
    rows = page.locator("#articles tbody tr").filter(has_text="sanitize-")
    links = [rows.nth(i).locator("a").first.get_attribute("href") for i in range(rows.count())]
    assert len(links) >= len(live.seeded.hostile_feed_ids), "every hostile item was stored as its own article"
    for href in links:
        page.goto(live.url + str(href))
        for details in page.locator("details").all():
            details.locator("summary").click()  # show the feed's own (sanitised) HTML too
        page.mouse.move(200, 300)  # the "crazy" vector fires on mouseover
        page.wait_for_timeout(100)
        assert page.url == live.url + str(href), "a script navigated away"
        assert page.evaluate("document.scripts.length") == 0
    shot(page, "hostile-article")
    assert_quiet(live)


def test_unsubscribe_from_the_email_link(page: Any, live: Live) -> None:
    """The link of an email: a confirm page (nothing changes), the button opts out; a tampered link is refused."""
    from urllib.parse import urlsplit

    from monitor.notify.channels.email_message import unsubscribe_url
    from monitor.store.subscriptions import Subscriptions

    db = Database(live.seeded.database_url)
    try:
        subscriptions = Subscriptions(db)
        subscriber = next(s for s in live.seeded.config.subscribers if s.id == "energy-analyst")
        settings = live.seeded.config.settings
        link = urlsplit(unsubscribe_url(subscriber, settings.email, settings.base_url,
                                        subscriptions.unsubscribe_secret())).path
        response = page.goto(live.url + link)
        assert response is not None and response.status == 200
        assert page.locator("h1").inner_text() == "Unsubscribe"
        assert "energy-analyst@demo.example" in page.inner_text("main")
        shot(page, "unsubscribe")
        assert subscriptions.opt_out("energy-analyst") is None, "loading the page changed nothing"
        page.click("button.unsubscribe")
        page.wait_for_selector("p.notice")
        assert page.locator("h1").inner_text() == "You are unsubscribed"
        assert "nothing further will be sent" in page.inner_text("p.notice")
        shot(page, "unsubscribed")
        assert subscriptions.opt_out("energy-analyst") is not None
        assert_quiet(live)

        tampered = link[:-2] + ("xy" if not link.endswith("xy") else "zz")
        response = page.goto(live.url + tampered)
        assert response is not None and response.status == 403
        assert page.locator("h1").inner_text() == "Link not valid"
        assert "not valid" in page.inner_text("p.problem")
        shot(page, "unsubscribe-invalid")
        # The browser reports the 403 answer itself as a console error; nothing else may appear.
        assert [e for e in live.console_errors if "status of 403" not in e] == []
        live.console_errors.clear()
        assert_quiet(live)
    finally:
        db.dispose()


def test_poll_now_button(page: Any, live: Live) -> None:
    page.goto(live.url + "/feeds")
    row = page.locator("#feeds tbody tr").filter(has_text="levant-wire")
    row.locator("button.poll-now").click()
    page.wait_for_selector("p.notice")
    assert "levant-wire" in page.inner_text("p.notice") and "next poll tick" in page.inner_text("p.notice")
    assert "ago" in page.locator("#feeds tbody tr").filter(has_text="levant-wire").locator("td").nth(6).inner_text()
    assert_quiet(live)
