"""Accounts in headless Chromium: sign in, a viewer who sees no edit buttons and is refused, the admin page.

Screenshots go to docs/screenshots/ (login.png, viewer-feeds.png, admin-users.png; the README shows them).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

from monitor.store.db import Database
from monitor.usecases.accounts import Accounts
from monitor.web.app import create_app
from tests.support.dashboard import copy_database, serving
from tests.web.seed import Seeded, seed_clock
from tests.web.test_browser import ARTIFACTS, REASON, browser  # noqa: F401 (the browser fixture)

pytestmark = [pytest.mark.skipif(REASON is not None, reason=REASON or ""), pytest.mark.slow]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORD = "a long password"


@pytest.fixture(scope="module")
def served(seeded_template: Seeded, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Accounts]]:
    """The app with three accounts, under uvicorn on 127.0.0.1, on its own copy of the seeded demo."""
    config = copy_database(seeded_template.config, seeded_template.database_url,
                           tmp_path_factory.mktemp("accounts-browser"))
    db = Database(config.settings.database)
    accounts = Accounts(db, seed_clock, PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    for name, role in (("vera", "viewer"), ("ed", "editor"), ("ada", "admin")):
        accounts.add(name, role, PASSWORD)
    with serving(create_app(config, db, clock=seed_clock, accounts=accounts)) as base_url:
        yield base_url, accounts
    db.dispose()


def sign_in(page: Any, url: str, name: str, *, shoot: str = "") -> None:
    page.goto(url + "/feeds")
    assert page.url.startswith(url + "/login?next="), "the dashboard asks to sign in first"
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    if shoot:
        page.screenshot(path=str(SCREENSHOTS / shoot), full_page=True)
    page.click("#account-login button[type=submit]")
    page.wait_for_url(url + "/feeds")


def test_a_viewer_reads_sees_no_edit_buttons_and_is_refused(browser: Any, served: tuple[str, Accounts]) -> None:  # noqa: F811
    url, _ = served
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url + "/feeds")
    page.fill("#name", "vera")
    page.fill("#password", "not the password")
    page.click("#account-login button[type=submit]")
    assert page.inner_text("#login-error") == "That name and password do not match an account."
    sign_in(page, url, "vera", shoot="login.png")
    assert page.inner_text("#whoami") == "vera (viewer)"
    assert page.locator("#add-feed").count() == 0 and page.locator(".poll-now").count() == 0
    assert page.locator(".edit-feed").count() == 0 and page.locator("#nav-users").count() == 0
    page.screenshot(path=str(SCREENSHOTS / "viewer-feeds.png"), full_page=True)
    page.click("#feeds tbody tr a")  # a feed's matches, then an article: readable, without snooze or feedback
    page.locator("a[href^='/articles/']").first.click()
    assert page.locator("h1").count() == 1 and page.locator("#snooze").count() == 0
    assert page.locator("a.feedback").count() == 0
    for path in ("/feeds/new", "/admin/users"):
        response = page.goto(url + path)
        assert response is not None and response.status == 403, path
        assert page.inner_text("h1") == "Not allowed" and "you are signed in as vera (viewer)" in page.inner_text("main")
    feed_id = page.request.get(url + "/api/feeds").json()["items"][0]["id"]
    refused = page.request.post(url + f"/feeds/{feed_id}/poll", form={"csrf_token": "x"})
    assert refused.status == 403
    page.goto(url + "/")
    page.click("header .logout button")
    page.wait_for_url(url + "/login")
    assert page.goto(url + "/feeds") is not None and page.url.startswith(url + "/login?next=")
    assert errors == []
    context.close()


def test_an_admin_adds_a_user_and_changes_their_role(browser: Any, served: tuple[str, Accounts]) -> None:  # noqa: F811
    url, accounts = served
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    sign_in(page, url, "ada")
    page.click("#nav-users")
    page.wait_for_url(url + "/admin/users")
    page.fill("#new-name", "nina")
    page.select_option("#new-role", "editor")
    page.fill("#new-password", "nina's long password")
    page.click("#add-user button[type=submit]")
    assert page.inner_text("#users-done") == "Added nina."
    row = page.locator("tr[data-user='nina']")
    assert row.locator(".role").inner_text() == "editor"
    row.locator(".role-form select").select_option("viewer")
    row.locator(".role-form button").click()
    assert page.inner_text("#users-done") == "Changed the role of nina."
    assert page.locator("tr[data-user='nina'] .role").inner_text() == "viewer"
    assert page.evaluate("getComputedStyle(document.querySelector('#users')).display") == "table", "a table on a wide screen"
    page.screenshot(path=str(SCREENSHOTS / "admin-users.png"), full_page=True)
    assert (accounts.users.get("nina") or pytest.fail("nina was not added")).role == "viewer"
    context.close()


def test_the_users_page_is_usable_at_390_px(browser: Any, served: tuple[str, Accounts]) -> None:  # noqa: F811
    """Every account's forms and the add form fit a phone's width: nothing scrolls sideways, no control is cut off."""
    url, _ = served
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, url, "ada")
    page.goto(url + "/admin/users")
    # An error answer too (a name already taken), which shows the form again with the message.
    for view in ("list", "error"):
        if view == "error":
            page.fill("#new-name", "vera")
            page.fill("#new-password", "yet another long password")
            page.click("#add-user button[type=submit]")
            page.wait_for_selector("#users-error")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, f"no horizontal scrolling ({view})"
        controls = page.locator("#users button, #users select, #users input:not([type=hidden]), #add-user button")
        assert controls.count() >= 3 * 5
        for control in controls.all():
            box = control.bounding_box()
            assert box is not None and 0 <= box["x"] and box["x"] + box["width"] <= 390, f"{view}: a control is off the screen"
    assert page.locator("tr[data-user='vera'] .role").is_visible() and not page.locator("#users thead").is_visible()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin-users-390.png"), full_page=True)
    assert errors == []
    context.close()
