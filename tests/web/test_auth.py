"""Authentication: loopback without credentials, token and basic auth beyond it, login, bind refusal."""

from __future__ import annotations

import base64
import re

import pytest
from click.testing import CliRunner

from monitor.errors import BindRefused
from monitor.store.db import Database
from monitor.web.app import serve
from monitor.web.auth import CSRF_FIELD, TOKEN_COOKIE, AuthSettings, check_bind, is_loopback
from tests.web.conftest import authed_client
from tests.web.seed import Seeded

PROTECTED = ["/", "/feeds", "/matches", "/articles", "/deliveries", "/query", "/api/feeds", "/api/matches",
             "/api/deliveries", "/api/articles", "/api/query?q=x", "/metrics", "/openapi.json"]
TOKEN = "s3cret-token-for-tests"


def basic(user: str, password: str) -> dict[str, str]:
    """An Authorization header for basic auth."""
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"])
def test_loopback_binds_need_no_credentials(host: str) -> None:
    assert is_loopback(host)
    check_bind(host, AuthSettings())


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.org"])
def test_other_binds_are_refused_without_credentials(host: str) -> None:
    with pytest.raises(BindRefused, match="MONITOR_WEB_TOKEN"):
        check_bind(host, AuthSettings())
    check_bind(host, AuthSettings(token="t"))
    check_bind(host, AuthSettings(username="u", password="p"))


def test_half_basic_credentials_are_refused() -> None:
    with pytest.raises(BindRefused, match="both"):
        AuthSettings.from_env({"MONITOR_WEB_USERNAME": "u"})


def test_serve_refuses_to_start_and_says_why(seeded: Seeded) -> None:
    with pytest.raises(SystemExit) as stopped:
        serve(seeded.config, seeded.config_dir, host="0.0.0.0", port=1, env={})
    assert "refusing to serve" in str(stopped.value.code) and "MONITOR_WEB_PASSWORD" in str(stopped.value.code)


def test_cli_serve_refuses_a_public_bind_without_credentials(seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    from monitor.cli import main

    for name in ("MONITOR_WEB_TOKEN", "MONITOR_WEB_USERNAME", "MONITOR_WEB_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(main, ["serve", "--config", str(seeded.config_dir), "--host", "0.0.0.0"])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "refusing to serve the dashboard on 0.0.0.0" in str(result.exception.code)


def test_no_auth_in_loopback_mode(client: object) -> None:
    from fastapi.testclient import TestClient

    assert isinstance(client, TestClient)
    for path in PROTECTED:
        assert client.get(path).status_code == 200, path


def test_token_auth_protects_pages_api_and_metrics(seeded: Seeded, db: Database) -> None:
    client = authed_client(seeded, db, token=TOKEN)
    for path in PROTECTED:
        response = client.get(path, follow_redirects=False)
        if path.startswith(("/api/", "/metrics", "/openapi.json")):
            assert response.status_code == 401, path
            assert response.headers["www-authenticate"].startswith("Bearer")
        else:
            assert response.status_code == 303, path
            assert response.headers["location"].startswith("/login?next=")
        ok = client.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200, path
        assert client.get(path, headers={"Authorization": "Bearer wrong"}, follow_redirects=False).status_code in (
            303, 401)
    assert client.get("/healthz").status_code == 200  # load balancers carry no credentials
    assert client.get("/static/dashboard.css").status_code == 200


def test_login_sets_a_cookie_that_opens_the_pages(seeded: Seeded, db: Database) -> None:
    client = authed_client(seeded, db, token=TOKEN)
    form = client.get("/login?next=/feeds").text
    token = re.search(rf'name="{CSRF_FIELD}" value="([^"]+)"', form)
    assert token
    wrong = client.post("/login", data={CSRF_FIELD: token.group(1), "token": "nope", "next": "/feeds"})
    assert wrong.status_code == 401 and "not right" in wrong.text
    assert client.post("/login", data={"token": TOKEN}).status_code == 403  # no CSRF token
    response = client.post("/login", data={CSRF_FIELD: token.group(1), "token": TOKEN, "next": "/feeds"},
                           follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/feeds"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{TOKEN_COOKIE}=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert client.get("/feeds").status_code == 200
    assert client.get("/api/feeds").status_code == 200
    logout_token = re.search(rf'name="{CSRF_FIELD}" value="([^"]+)"', client.get("/").text)
    assert logout_token
    client.post("/logout", data={CSRF_FIELD: logout_token.group(1)})
    assert client.get("/feeds", follow_redirects=False).status_code == 303


def test_login_never_redirects_off_site(seeded: Seeded, db: Database) -> None:
    client = authed_client(seeded, db, token=TOKEN)
    token = re.search(rf'name="{CSRF_FIELD}" value="([^"]+)"', client.get("/login").text)
    assert token
    response = client.post("/login", data={CSRF_FIELD: token.group(1), "token": TOKEN,
                                           "next": "//evil.example/"}, follow_redirects=False)
    assert response.headers["location"] == "/"


def test_basic_auth(seeded: Seeded, db: Database) -> None:
    client = authed_client(seeded, db, username="analyst", password="pa:ss wörd")
    for path in PROTECTED:
        denied = client.get(path, follow_redirects=False)
        assert denied.status_code == 401, path
        assert denied.headers["www-authenticate"].startswith("Basic")
        assert client.get(path, headers=basic("analyst", "wrong")).status_code == 401
        assert client.get(path, headers=basic("analyst", "pa:ss wörd")).status_code == 200, path
    assert client.get("/", headers={"Authorization": "Basic !!!"}).status_code == 401
    assert client.get("/healthz").status_code == 200


def test_auth_from_the_environment() -> None:
    settings = AuthSettings.from_env({"MONITOR_WEB_TOKEN": "t", "MONITOR_WEB_USERNAME": "u",
                                      "MONITOR_WEB_PASSWORD": "p"})
    assert settings.enabled and settings.token == "t" and settings.username == "u"
    assert not AuthSettings.from_env({}).enabled
