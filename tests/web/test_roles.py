"""Roles, for every route of the app: a viewer is refused every writing route, an editor the admin routes.

The routes are not listed here: the test walks `app.routes`, so a route added later is covered (and
one that should be open to viewers must say so in monitor/web/roles.py, where this test reads it).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.routing import Mount

from monitor.store.db import Database
from monitor.store.rows import ArticleRow
from monitor.usecases.accounts import Accounts
from monitor.web.app import create_app
from monitor.web.auth import CSRF_COOKIE, CSRF_FIELD
from monitor.web.roles import EDIT_FORMS, PERSONAL_WRITES, PUBLIC, SAFE_METHODS, required_role
from monitor.web.sessions import SESSION_COOKIE
from tests.web.conftest import LOCAL_BASE_URL
from tests.web.seed import Seeded, seed_clock

FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PASSWORD = "a long password"
PLAIN_ROUTES = {"/openapi.json"}


def routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, full path template) the app answers, mounts (static files) apart."""
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, Mount):
            assert route.path == "/static", f"a mount other than the static files: {route.path}"
            continue
        if not isinstance(route, APIRoute):
            # A plain Starlette route has no dependencies: only FastAPI's own read-only schema may be one.
            assert context.path in PLAIN_ROUTES and (context.methods or set()) <= {"GET", "HEAD"}, context
        assert context.path is not None
        found.extend((method, context.path) for method in sorted(context.methods or ()))
    return found


def concrete(path: str, values: dict[str, str]) -> str:
    """The template with each parameter filled in (a real id where the seeded demo has one)."""
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: values.get(m.group(1), "x"), path)


@pytest.fixture
def app(seeded: Seeded, db: Database) -> FastAPI:
    accounts = Accounts(db, seed_clock, FAST)
    for name, role in (("vera", "viewer"), ("ed", "editor"), ("ada", "admin")):
        accounts.add(name, role, PASSWORD)
    return create_app(seeded.config, db, clock=seed_clock, accounts=accounts)


@pytest.fixture
def values(seeded: Seeded, db: Database) -> dict[str, str]:
    with db.sessions() as session:
        article_id = session.scalar(select(ArticleRow.id).limit(1))
    watchlist_id, watchlist = next(iter(seeded.config.watchlists.items()))
    return {"feed_id": seeded.config.feeds[0].id, "article_id": str(article_id), "watchlist": watchlist_id,
            "entry_id": watchlist.entry_ids()[0], "delivery_id": seeded.failed_delivery_id, "name": "ada",
            "subscriber_id": "nobody", "token": "x"}


def signed_in(app: FastAPI, name: str) -> TestClient:
    """A client with the account's session cookie and a CSRF cookie."""
    client = TestClient(app, base_url=LOCAL_BASE_URL)
    accounts: Accounts = app.state.accounts
    user = accounts.users.get(name)
    assert user is not None
    client.cookies.set(SESSION_COOKIE, accounts.start_session(user))
    assert client.get("/").status_code == 200
    return client


def send(client: TestClient, method: str, path: str) -> int:
    """The request with a valid CSRF token and a plausible form, so only the role can refuse it."""
    form = {CSRF_FIELD: client.cookies.get(CSRF_COOKIE) or "", "confirm": "yes", "role": "viewer",
            "password": "another long password", "name": "newbie", "target": "story", "for": "1h"}
    data = None if method in SAFE_METHODS else form
    return client.request(method, path, data=data, follow_redirects=False, headers={"accept": "text/html"}).status_code


def snapshot(db: Database, config_dir: Path) -> tuple[list[str], dict[str, str]]:
    """Everything a request could change: the database's rows and the configuration files."""
    import sqlite3

    with sqlite3.connect(db.url.removeprefix("sqlite:///")) as connection:
        # Not a viewer's doing: its own session, and the output feeds' key, made once by whoever first reads one.
        rows = [line for line in connection.iterdump()
                if not line.startswith(('INSERT INTO "web_sessions"', 'INSERT INTO "stored_secrets"'))]
    files = {str(p.relative_to(config_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in sorted(config_dir.rglob("*")) if p.is_file()}
    return rows, files


def test_the_exceptions_to_the_default_rule_are_the_known_ones(app: FastAPI) -> None:
    templates = {path for _, path in routes(app)}
    # Anyone: signing in and out, health, and the signed unsubscribe links (the token is the authorisation).
    # Output feeds and the WebSub callback: the unguessable token in the path is their authorisation too.
    assert PUBLIC == {"/login", "/logout", "/healthz", "/unsubscribe/{subscriber_id}/{token}",
                      "/unsubscribe/{subscriber_id}", "/feeds/{token}.atom", "/feeds/{token}.json",
                      "/websub/{token}"}
    assert PUBLIC <= templates and EDIT_FORMS <= templates, "the role table names routes that do not exist"
    assert {path for _, path in PERSONAL_WRITES} <= templates
    assert all(method not in SAFE_METHODS for method, _ in PERSONAL_WRITES)
    assert any(path.startswith("/admin/") for path in templates)


def test_a_viewer_is_refused_every_writing_route_and_its_reads_change_nothing(
        app: FastAPI, db: Database, seeded: Seeded, values: dict[str, str]) -> None:
    viewer = signed_in(app, "vera")
    before = snapshot(db, seeded.config_dir)
    refused, allowed = [], []
    for method, path in routes(app):
        if (method, path) == ("POST", "/logout"):
            continue  # it would end the viewer's session; signing out is the sessions tests' business
        needed = required_role(method, path)
        status = send(viewer, method, concrete(path, values))
        writes = method not in SAFE_METHODS and (method, path) not in PERSONAL_WRITES and path not in PUBLIC
        if writes or needed in ("editor", "admin"):
            assert status == 403, f"a viewer got {status} from {method} {path}"
            refused.append((method, path))
        elif method in SAFE_METHODS and path not in PUBLIC:  # an unsubscribe link's own check answers 403
            assert status not in (401, 403), f"a viewer was refused {method} {path}"
            allowed.append((method, path))
    # Every non-GET route was tried and refused, bar the public ones and the declared personal ones.
    assert {(m, p) for m, p in routes(app) if m not in SAFE_METHODS and p not in PUBLIC} - set(PERSONAL_WRITES) \
        <= set(refused)
    assert len(refused) >= 20 and len(allowed) >= 15
    # Her own read and star marks (PERSONAL_WRITES) are the only rows she may have written.
    own = 'INSERT INTO "inbox_state" VALUES(\'vera\','
    rows, files = snapshot(db, seeded.config_dir)
    assert [r for r in rows if not r.startswith(own)] == before[0] and files == before[1], \
        "a viewer's requests changed the database or the configuration"


def test_an_editor_is_refused_the_admin_routes_only(app: FastAPI, values: dict[str, str]) -> None:
    editor = signed_in(app, "ed")
    admin_routes = [(m, p) for m, p in routes(app) if required_role(m, p) == "admin"]
    assert len(admin_routes) >= 6
    for method, path in admin_routes:
        status = send(editor, method, concrete(path, values))
        assert status == 403, f"an editor got {status} from {method} {path}"
    # The pages a viewer is refused for being editors' own: the editor gets them (the viewer test covers the rest).
    for method, path in routes(app):
        if method == "GET" and required_role(method, path) == "editor":
            status = send(editor, method, concrete(path, values))
            assert status not in (401, 403), f"an editor was refused {method} {path}"
    assert app.state.accounts.users.get("newbie") is None and app.state.accounts.users.get("ada") is not None


def test_an_admin_and_the_operator_modes_reach_everything(seeded: Seeded, db: Database, app: FastAPI) -> None:
    admin = signed_in(app, "ada")
    assert admin.get("/admin/users").status_code == 200
    response = admin.post("/admin/users/ed/role", data={CSRF_FIELD: admin.cookies.get(CSRF_COOKIE), "role": "viewer"},
                          follow_redirects=False)
    assert response.status_code == 303 and app.state.accounts.users.get("ed").role == "viewer"
    # The token and basic-auth modes act as the operator, with every right, accounts or not.
    import base64

    from monitor.web.auth import AuthSettings

    for auth, headers in (
        (AuthSettings(token="tok-for-tests"), {"Authorization": "Bearer tok-for-tests"}),
        (AuthSettings(username="u", password="p"), {"Authorization": "Basic " + base64.b64encode(b"u:p").decode()}),
    ):
        operator_app = create_app(seeded.config, db, clock=seed_clock, auth=auth, accounts=app.state.accounts)
        with TestClient(operator_app, base_url=LOCAL_BASE_URL) as client:
            assert client.get("/admin/users", headers=headers).status_code == 200
            assert client.get("/feeds/new", headers=headers).status_code == 200
            assert client.get("/admin/users", follow_redirects=False).status_code in (303, 401)


def test_role_refusals_answer_json_to_the_api_and_a_page_to_browsers(app: FastAPI, values: dict[str, str]) -> None:
    viewer = signed_in(app, "vera")
    page = viewer.get("/admin/users", headers={"accept": "text/html"})
    assert page.status_code == 403 and "needs the admin role" in page.text and "vera (viewer)" in page.text
    api = viewer.post(f"/feeds/{values['feed_id']}/poll", headers={"accept": "application/json"})
    assert api.status_code == 403 and api.json()["detail"].startswith("This needs the editor role")


@pytest.fixture
def anonymous(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url=LOCAL_BASE_URL) as client:
        yield client


def test_with_accounts_nobody_gets_in_without_signing_in(anonymous: TestClient) -> None:
    for path in ("/", "/feeds", "/admin/users", "/watchlists"):
        response = anonymous.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next="), path
    for path in ("/api/feeds", "/metrics", "/openapi.json"):
        assert anonymous.get(path).status_code == 401, path
    assert anonymous.post("/feeds/x/poll", follow_redirects=False).status_code == 303
    assert anonymous.get("/healthz").status_code == 200
    login = anonymous.get("/login")
    assert login.status_code == 200 and 'id="account-login"' in login.text and 'id="token-login"' not in login.text
