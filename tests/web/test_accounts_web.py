"""Signing in with an account: the session cookie, sign-out, expiry, the throttle, the admin page, what a viewer sees."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient

from monitor.store.db import Database
from monitor.usecases.accounts import SESSION_LIFETIME, Accounts
from monitor.web.app import create_app
from monitor.web.auth import CSRF_COOKIE, CSRF_FIELD, AuthSettings, check_bind
from monitor.web.sessions import SESSION_COOKIE, LoginThrottle
from tests.web.conftest import LOCAL_BASE_URL
from tests.web.seed import Seeded, seed_clock

FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PASSWORD = "a long password"


class Clock:
    """The seed's time, moved by the test."""

    def __init__(self) -> None:
        self.now = seed_clock()

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(seeded: Seeded, db: Database, clock: Clock) -> FastAPI:
    accounts = Accounts(db, clock, FAST)
    for name, role in (("vera", "viewer"), ("ed", "editor"), ("ada", "admin")):
        accounts.add(name, role, PASSWORD)
    return create_app(seeded.config, db, clock=seed_clock, accounts=accounts)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url=LOCAL_BASE_URL) as test_client:
        yield test_client


def csrf(client: TestClient) -> str:
    if not client.cookies.get(CSRF_COOKIE):
        client.get("/login")
    return str(client.cookies.get(CSRF_COOKIE))


def sign_in(client: TestClient, name: str, password: str = PASSWORD, next: str = "/") -> object:
    return client.post("/login", data={CSRF_FIELD: csrf(client), "name": name, "password": password, "next": next},
                       follow_redirects=False)


def test_sign_in_opens_a_session_in_a_strict_httponly_cookie(client: TestClient, app: FastAPI) -> None:
    response = sign_in(client, "vera", next="/feeds")
    assert response.status_code == 303 and response.headers["location"] == "/feeds"  # type: ignore[attr-defined]
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))  # type: ignore[attr-defined]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert f"Max-Age={int(SESSION_LIFETIME.total_seconds())}" in cookie and "Secure" not in cookie
    page = client.get("/feeds")
    assert page.status_code == 200 and re.search(r'id="whoami">vera <span class="sub">\(viewer\)', page.text)
    assert 'action="/logout"' in page.text and 'id="nav-users"' not in page.text


def test_over_https_the_cookie_is_secure(app: FastAPI) -> None:
    with TestClient(app, base_url="https://127.0.0.1") as client:
        response = sign_in(client, "vera")
        cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))  # type: ignore[attr-defined]
        assert "Secure" in cookie


def test_a_failure_does_not_say_which_part_was_wrong(client: TestClient) -> None:
    answers = {(r.status_code, re.search(r'id="login-error">([^<]*)<', r.text).group(1))  # type: ignore[union-attr, attr-defined]
               for r in (sign_in(client, "vera", "wrong password"), sign_in(client, "nobody"),
                         sign_in(client, "", "x"))}
    assert answers == {(401, "That name and password do not match an account.")}
    assert SESSION_COOKIE not in client.cookies


def test_sign_in_needs_the_forms_csrf_token(client: TestClient) -> None:
    response = client.post("/login", data={"name": "vera", "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 403 and SESSION_COOKIE not in client.cookies


def test_repeated_failures_are_throttled_even_for_the_right_password(client: TestClient, app: FastAPI) -> None:
    now = [0.0]
    app.state.login_throttle = LoginThrottle(clock=lambda: now[0])
    for _ in range(10):
        assert sign_in(client, "ed", "wrong password").status_code == 401  # type: ignore[attr-defined]
    blocked = sign_in(client, "ed")
    assert blocked.status_code == 429 and "Too many failed sign-ins; try again in 15 minutes" in blocked.text  # type: ignore[attr-defined]
    assert SESSION_COOKIE not in client.cookies
    # Another name from the same address is not locked out by them; the name is again after the window.
    assert sign_in(client, "vera").status_code == 303  # type: ignore[attr-defined]
    now[0] += 15 * 60
    assert sign_in(client, "ed").status_code == 303  # type: ignore[attr-defined]
    # Many names tried from one address: that address waits (50 by default, 5 here).
    app.state.login_throttle = LoginThrottle(clock=lambda: now[0], per_address=5)
    for n in range(5):
        sign_in(client, f"guess{n}", "wrong password")
    assert sign_in(client, "ada").status_code == 429  # type: ignore[attr-defined]


def test_attempts_sent_at_once_are_throttled_as_one_after_another(app: FastAPI) -> None:
    """Each password check takes a while: parallel attempts must not all pass the throttle before one failed."""

    async def run() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=LOCAL_BASE_URL) as client:
            await client.get("/login")
            form = {CSRF_FIELD: str(client.cookies.get(CSRF_COOKIE)), "name": "ed", "password": "wrong password"}
            answers = await asyncio.gather(*(client.post("/login", data=form) for _ in range(30)))
            right = await client.post("/login", data={**form, "password": PASSWORD})
            return [a.status_code for a in answers] + [right.status_code]

    statuses = asyncio.run(run())
    assert sorted(statuses[:30]) == [401] * 10 + [429] * 20, "ten passwords tried, the rest refused unchecked"
    assert statuses[30] == 429, "the right password too, once the name is throttled"


def test_sign_out_ends_the_session_for_good(client: TestClient) -> None:
    sign_in(client, "ed")
    token = client.cookies.get(SESSION_COOKIE)
    response = client.post("/logout", data={CSRF_FIELD: csrf(client)}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert SESSION_COOKIE not in client.cookies
    client.cookies.set(SESSION_COOKIE, str(token))  # a copy of the old cookie opens nothing
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_session_expires(client: TestClient, clock: Clock) -> None:
    sign_in(client, "vera")
    clock.now += SESSION_LIFETIME - timedelta(minutes=1)
    assert client.get("/", follow_redirects=False).status_code == 200
    clock.now += timedelta(minutes=1)
    response = client.get("/feeds?sort=id", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=%2Ffeeds%3Fsort%3Did"


def test_a_viewer_sees_no_edit_buttons_an_editor_does(app: FastAPI) -> None:
    marks = ['id="add-feed"', "poll-now", "edit-feed"]
    for name, sees in (("vera", False), ("ed", True)):
        with TestClient(app, base_url=LOCAL_BASE_URL) as client:
            sign_in(client, name)
            feeds = client.get("/feeds").text
            assert all((mark in feeds) is sees for mark in marks), name
            assert ('id="export-opml"' in feeds), "export is reading"
            watchlists = client.get("/watchlists").text
            assert ("/watchlists/" in watchlists.split("<table", 1)[1].split("</table>")[0]) is sees
            matches = client.get("/matches").text
            article_link = re.search(r'href="(/articles/[^"?]+)"', matches)
            assert article_link is not None
            article_page = client.get(article_link.group(1)).text
            assert ('id="snooze"' in article_page) is sees and ("not relevant?" in article_page) is sees
            deliveries = client.get("/deliveries").text
            assert ('class="retry"' in deliveries) is sees


def test_an_admin_manages_users_on_the_admin_page(client: TestClient, app: FastAPI) -> None:
    sign_in(client, "ada")
    page = client.get("/admin/users")
    assert page.status_code == 200 and 'id="nav-users"' in page.text
    assert [m for m in re.findall(r'data-user="([^"]+)"', page.text)] == ["ada", "ed", "vera"]
    token = csrf(client)

    def post(path: str, **form: str) -> object:
        return client.post(path, data={CSRF_FIELD: token, **form}, follow_redirects=True)

    added = post("/admin/users", name="nina", role="editor", password="nina's long password")
    assert "Added nina." in added.text and 'data-user="nina"' in added.text  # type: ignore[attr-defined]
    refused = post("/admin/users", name="nina", role="viewer", password="secret-that-must-not-echo")
    assert refused.status_code == 422 and "already exists" in refused.text  # type: ignore[attr-defined]
    assert "secret-that-must-not-echo" not in refused.text  # type: ignore[attr-defined]
    assert "Changed the role of nina." in post("/admin/users/nina/role", role="viewer").text  # type: ignore[attr-defined]
    accounts: Accounts = app.state.accounts
    assert (accounts.users.get("nina") or object()).role == "viewer"  # type: ignore[attr-defined]
    assert "Disabled nina" in post("/admin/users/nina/disable").text  # type: ignore[attr-defined]
    assert accounts.authenticate("nina", "nina's long password") is None
    post("/admin/users/nina/enable")
    assert "Set a new password for nina" in post("/admin/users/nina/password", password="a fresh long one").text  # type: ignore[attr-defined]
    assert accounts.authenticate("nina", "a fresh long one") is not None
    assert post("/admin/users/nina/remove").status_code == 422, "not without the confirmation box"
    assert "Removed nina." in post("/admin/users/nina/remove", confirm="yes").text  # type: ignore[attr-defined]
    assert accounts.users.get("nina") is None
    last = post("/admin/users/ada/role", role="editor")
    assert last.status_code == 422 and "last enabled admin" in last.text  # type: ignore[attr-defined]
    forged = client.post("/admin/users", data={"name": "evil", "role": "admin", "password": "x" * 12})
    assert forged.status_code == 403 and accounts.users.get("evil") is None


def test_the_login_page_offers_what_is_configured(seeded: Seeded, db: Database) -> None:
    accounts = Accounts(db, seed_clock, FAST)
    token_app = create_app(seeded.config, db, clock=seed_clock, auth=AuthSettings(token="tok"), accounts=accounts)
    with TestClient(token_app, base_url=LOCAL_BASE_URL) as client:
        page = client.get("/login").text
        assert 'id="token-login"' in page and 'id="account-login"' not in page
        accounts.add("ana", "admin", PASSWORD)
        page = client.get("/login").text
        assert 'id="token-login"' in page and 'id="account-login"' in page
        # Both ways in work side by side: the token (the operator) and an account.
        assert client.get("/admin/users", headers={"Authorization": "Bearer tok"}).status_code == 200
        assert sign_in(client, "ana").status_code == 303  # type: ignore[attr-defined]
        assert 'id="whoami">ana' in client.get("/").text


def test_accounts_count_as_credentials_for_a_public_bind() -> None:
    check_bind("0.0.0.0", AuthSettings(), accounts=True)


def test_an_editors_save_is_signed_with_the_account_name() -> None:
    from starlette.requests import Request

    from monitor.web.editor import editor_name
    from monitor.web.identity import WebUser

    request = Request({"type": "http", "method": "POST", "path": "/", "headers": [], "state": {}})
    assert editor_name(request) == "monitor dashboard"
    request.state.user, request.state.signed_in = WebUser("ed", "editor"), True
    assert editor_name(request) == "ed"


def test_when_the_database_cannot_say_who_you_are_the_answer_is_503_not_a_traceback(seeded: Seeded, tmp_path: object) -> None:
    from pathlib import Path

    empty = Database(f"sqlite:///{Path(str(tmp_path)) / 'empty.db'}")  # no tables: every lookup fails
    with TestClient(create_app(seeded.config, empty, clock=seed_clock), base_url=LOCAL_BASE_URL) as client:
        response = client.get("/feeds")
        assert response.status_code == 503 and "database is unavailable" in response.json()["detail"]
        login = client.get("/login")
        assert login.status_code == 503 and "the database is unavailable" in login.text
        posted = client.post("/login", data={CSRF_FIELD: csrf(client), "name": "ana", "password": PASSWORD})
        assert posted.status_code == 503 and "Try again shortly" in posted.text
        assert client.get("/static/dashboard.css").status_code == 200
    empty.dispose()
