"""The entry page in headless Chromium: the series with the spike marked, the alert list; the README screenshot."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from monitor.store.db import Database
from monitor.web.app import create_app
from tests.support.dashboard import serving
from tests.web.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, REASON
from tests.web.test_entry import NOW, seed_entry

pytestmark = [pytest.mark.skipif(REASON is not None, reason=REASON or ""), pytest.mark.slow]


@pytest.fixture
def live_url(tmp_path: Path) -> Iterator[str]:
    db = Database(f"sqlite:///{tmp_path / 'entry.db'}")
    cfg = seed_entry(db, tmp_path)
    with serving(create_app(cfg, db, clock=lambda: NOW)) as base_url:
        yield base_url
    db.dispose()


def test_the_entry_page_in_a_browser(live_url: str) -> None:
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            tab: Any = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            tab.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            tab.on("pageerror", lambda exc: errors.append(str(exc)))
            response = tab.goto(live_url + "/entries/w/fidan")
            assert response is not None and response.status == 200
            assert tab.locator("h1").first.inner_text() == "Fidan"
            assert tab.locator("svg.volume").count() == 2
            assert tab.locator("svg.volume rect.spike").count() == 2, "the surge hour and its day, in red"
            assert tab.locator("#spikes tbody tr").count() == 1
            assert "13 stories in the hour" in tab.locator("#spikes").inner_text()
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            tab.screenshot(path=str(ARTIFACTS / "entry.png"), full_page=True)
        finally:
            browser.close()
    assert errors == [], errors  # test-artifacts/screenshots/entry.png is README's docs/screenshots/entry.png
