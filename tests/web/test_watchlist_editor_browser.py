"""The entry editor in headless Chromium: a bad query shows its error and column, the fix previews, the save keeps comments.

Screenshots go to docs/screenshots/ (the README shows them).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from monitor.store.db import Database
from monitor.web.app import create_app
from tests.support.dashboard import serving
from tests.web.editor_fixtures import Editable, editable_copy
from tests.web.seed import Seeded, seed_clock
from tests.web.test_browser import REASON, browser  # noqa: F401 (the browser fixture)

pytestmark = [pytest.mark.skipif(REASON is not None, reason=REASON or ""), pytest.mark.slow]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
BAD = '"Red Sea" AND (insur* OR'
GOOD = '"Red Sea" AND (insur* OR premium*)'


@pytest.fixture
def served(seeded_template: Seeded, tmp_path: Path) -> Iterator[tuple[str, Editable]]:
    """The app on an editable copy of the demo, under uvicorn on 127.0.0.1."""
    editable = editable_copy(seeded_template, tmp_path)
    db = Database(editable.database_url)
    with serving(create_app(editable.config, db, clock=seed_clock)) as base_url:
        yield base_url, editable
    db.dispose()


def test_create_a_topic_fix_its_query_preview_and_save(browser: Any, served: tuple[str, Editable]) -> None:  # noqa: F811
    url, editable = served
    path = editable.watchlist("energy-shipping")
    before = path.read_text(encoding="utf-8")
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    page.goto(url + "/watchlists")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "watchlists.png"), full_page=True)
    page.fill("#wl-q", "red sea")  # the live filter hides the other rows
    assert 0 < page.locator("#watchlists tbody tr:not(.hidden)").count() < page.locator("#watchlists tbody tr").count()

    page.goto(url + "/watchlists/energy-shipping/new?kind=topic")
    page.fill("#entry-id", "red-sea-insurance")
    page.fill("#entry-name", "Red Sea war-risk insurance")
    page.fill("#entry-query", BAD)
    page.wait_for_selector("#editor-problems")
    problem = page.inner_text("#editor-problems")
    line = before.split("\ntests:")[0].count("\n") + 4  # where the new topic's query line will be
    assert f"watchlists/energy-shipping.yaml, line {line}, column 35" in problem, problem
    assert "'OR' needs a word, phrase or group after it" in problem
    assert "^" in problem  # the caret under the column, as `monitor check` prints it
    page.screenshot(path=str(SCREENSHOTS / "editor-error.png"), full_page=True)

    page.fill("#entry-query", GOOD)
    page.wait_for_selector("#editor-ok")
    page.wait_for_selector("#editor-count")
    assert "article(s) matched" in page.inner_text("#editor-count")
    assert "added" in page.inner_text("#editor-added")
    assert page.locator("#editor-hits mark").count() > 0
    assert page.locator("svg.chart rect").count() > 0
    page.screenshot(path=str(SCREENSHOTS / "editor.png"), full_page=True)

    page.click("#entry-save")
    page.wait_for_selector("#editor-saved")
    after = path.read_text(encoding="utf-8")
    assert "  - id: red-sea-insurance\n" in after and f"    query: '{GOOD}'\n" in after
    for comment in (line for line in before.splitlines() if line.lstrip().startswith("#")):
        assert comment in after, f"lost the comment {comment!r}"
    assert errors == [], errors
    context.close()


def test_a_concurrent_edit_is_refused_in_the_browser(browser: Any, served: tuple[str, Editable]) -> None:  # noqa: F811
    url, editable = served
    path = editable.watchlist()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(url + "/watchlists/mena-security/entries/mit")
    path.write_text(path.read_text(encoding="utf-8") + "# someone else saved\n", encoding="utf-8")
    changed = path.read_text(encoding="utf-8")
    page.fill("#entry-aliases", "National Intelligence Organization\nTurkish spy agency")
    page.click("#entry-save")
    page.wait_for_selector("#editor-refused")
    assert "changed on disk since you opened it" in page.inner_text("#editor-refused")
    assert path.read_text(encoding="utf-8") == changed
    context.close()


def test_not_relevant_from_the_preview_writes_a_test_after_review(browser: Any,  # noqa: F811
                                                                  served: tuple[str, Editable]) -> None:
    url, editable = served
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.goto(url + "/watchlists/mena-security/entries/turkiye")
    page.wait_for_selector("#editor-hits li")
    page.locator("#editor-hits a", has_text="not relevant?").first.click()
    page.wait_for_url(re.compile(r".*/articles/[^/]+/feedback\?entry=mena-security.*turkiye$"))
    page.wait_for_selector("#feedback-ok")
    assert "not_matches: [turkiye]" in page.inner_text("#feedback-diff")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "feedback.png"), full_page=True)
    page.click("#feedback-accept")
    page.wait_for_selector("#editor-saved")
    assert editable.watchlist().read_text(encoding="utf-8").rstrip().endswith("not_matches: [turkiye]")
    context.close()
