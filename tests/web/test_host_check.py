"""DNS rebinding: the dashboard answers only the names it is reached by; blank credentials are never accepted.

A page on evil.example whose name an attacker rebinds to 127.0.0.1 is same-origin with itself: the
browser sends `Host: evil.example:PORT`, takes the CSRF cookie and form token the dashboard hands out,
and posts them back. Only the Host check stops it. These tests play the attack against `monitor serve`
in its own process on 127.0.0.1, with raw Host headers.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from monitor.cli import main
from monitor.config.models import Settings
from monitor.errors import BindRefused
from monitor.store.db import Database
from monitor.store.rows import Delivery
from monitor.web.auth import CSRF_COOKIE, CSRF_FIELD, TOKEN_COOKIE, AuthSettings, trusted_hosts
from tests.web.conftest import authed_client
from tests.web.seed import Seeded

AUTH_VARS = ("MONITOR_WEB_TOKEN", "MONITOR_WEB_USERNAME", "MONITOR_WEB_PASSWORD")


@dataclass
class Served:
    """`monitor serve` running in its own process on 127.0.0.1."""

    port: int
    database_url: str
    failed_delivery_id: str

    def request(self, method: str, path: str, host: str, headers: dict[str, str] | None = None,
                body: str | None = None) -> tuple[int, dict[str, str], str]:
        """One request with exactly this Host header (not the one http.client would write)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            connection.putheader("Host", host)
            for name, value in (headers or {}).items():
                connection.putheader(name, value)
            if body is not None:
                connection.putheader("Content-Type", "application/x-www-form-urlencoded")
                connection.putheader("Content-Length", str(len(body.encode())))
            connection.endheaders(body.encode() if body is not None else None)
            response = connection.getresponse()
            headers_out = {k.lower(): v for k, v in response.getheaders()}
            return response.status, headers_out, response.read().decode("utf-8", "replace")
        finally:
            connection.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(seeded: Seeded, tmp_path: Path) -> Iterator[Served]:
    """The seeded copy served by `python -m monitor serve` (the real bind, middleware and uvicorn)."""
    config_dir = tmp_path / "config"
    shutil.copytree(seeded.config_dir, config_dir)
    monitor_yaml = config_dir / "monitor.yaml"
    text = re.sub(r"(?m)^database: .*$", f"database: {seeded.database_url}", monitor_yaml.read_text(encoding="utf-8"))
    text = re.sub(r"(?m)^base_url: .*$", "", text)
    monitor_yaml.write_text(text + "\nbase_url: https://monitor.example.org/\nallowed_hosts: [desk.example.net]\n",
                            encoding="utf-8")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in AUTH_VARS and not k.startswith("MONITOR_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", "serve", "--config", str(config_dir), "--host", "127.0.0.1",
         "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        for _ in range(600):  # waits for the port to answer; the loop ends as soon as it does
            if process.poll() is not None:
                pytest.fail(f"monitor serve exited: {process.stderr.read() if process.stderr else ''}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield Served(port, seeded.database_url, seeded.failed_delivery_id)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_a_rebound_name_cannot_read_or_requeue_through_a_loopback_dashboard(served: Served) -> None:
    evil = f"evil.example:{served.port}"
    # The attacker's page reads the outbox ...
    status, _, body = served.request("GET", "/api/deliveries", evil)
    assert status == 400 and "delivery" not in body.lower()
    # ... and tries the dashboard's own form: no page, no CSRF cookie for evil.example.
    status, headers, body = served.request("GET", "/deliveries", evil)
    assert status == 400 and CSRF_COOKIE not in headers.get("set-cookie", "") and CSRF_FIELD not in body
    # Even holding a valid cookie and token (taken over 127.0.0.1), the same-origin post from evil.example fails.
    status, headers, page = served.request("GET", "/deliveries", f"127.0.0.1:{served.port}")
    assert status == 200
    cookie = re.search(rf"{CSRF_COOKIE}=([^;]+)", headers["set-cookie"])
    token = re.search(rf'name="{CSRF_FIELD}" value="([^"]+)"', page)
    assert cookie and token
    status, _, _ = served.request(
        "POST", f"/deliveries/{served.failed_delivery_id}/retry", evil,
        headers={"Cookie": f"{CSRF_COOKIE}={cookie.group(1)}", "Origin": f"http://{evil}"},
        body=f"{CSRF_FIELD}={token.group(1)}",
    )
    assert status == 400
    db = Database(served.database_url)
    try:
        with db.sessions() as session:
            row = session.get(Delivery, served.failed_delivery_id)
            assert row is not None and row.status == "failed", "the delivery must not be re-queued"
    finally:
        db.dispose()
    for host in ("evil.example", "127.0.0.1.evil.example", "localhost.evil.example", "monitor.example.org.evil"):
        assert served.request("GET", "/healthz", host)[0] == 400, host


def test_the_names_a_browser_uses_still_work(served: Served) -> None:
    port = served.port
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}", f"[::1]:{port}", "127.0.0.1",
                 "monitor.example.org", f"monitor.example.org:{port}", f"desk.example.net:{port}"):
        status, _, _ = served.request("GET", "/api/feeds", host)
        assert status == 200, host
    for malformed in ("", "[::1", "127.0.0.1:port", "a b"):
        assert served.request("GET", "/api/feeds", malformed)[0] == 400, repr(malformed)


def test_trusted_hosts() -> None:
    loopback = ["localhost", "127.0.0.1", "[::1]"]
    assert trusted_hosts("127.0.0.1", "http://127.0.0.1:8080") == loopback
    assert trusted_hosts("0.0.0.0", "https://Monitor.Example.org/x", ["a.example", "*.corp.example"]) == [
        *loopback, "monitor.example.org", "a.example", "*.corp.example"]
    assert trusted_hosts("::", "http://[2001:db8::1]:8080") == [*loopback, "[2001:db8::1]"]
    assert trusted_hosts("192.168.1.10", "http://127.0.0.1:8080") == [*loopback, "192.168.1.10"]


def test_allowed_hosts_setting_is_checked_and_read_from_the_environment() -> None:
    assert Settings.model_validate({"allowed_hosts": "a.example, b.example c.example"}).allowed_hosts == (
        "a.example", "b.example", "c.example")
    assert Settings.model_validate({"allowed_hosts": ["*.corp.example", "10.0.0.5", "::1"]}).allowed_hosts
    for bad in ("*", "a.*.example", "monitor.example.org:8080", "https://monitor.example.org", "a b/c"):
        with pytest.raises(ValidationError):
            Settings.model_validate({"allowed_hosts": [bad]})


@pytest.mark.parametrize("name", AUTH_VARS)
def test_a_whitespace_secret_in_the_environment_is_refused(name: str) -> None:
    env = {"MONITOR_WEB_USERNAME": "analyst", "MONITOR_WEB_PASSWORD": "secret", name: " \t "}
    with pytest.raises(BindRefused, match=f"{name} is set but holds only whitespace"):
        AuthSettings.from_env(env)


@pytest.mark.parametrize("field", ["token", "username", "password"])
def test_a_blank_secret_is_refused_however_the_settings_are_built(field: str) -> None:
    values = {"username": "analyst", "password": "secret"} if field != "token" else {}
    with pytest.raises(BindRefused, match="blank"):
        AuthSettings(**{**values, field: "   "})  # type: ignore[arg-type]


def test_serve_with_a_whitespace_token_stops_with_a_message(seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in AUTH_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MONITOR_WEB_TOKEN", "   ")
    result = CliRunner().invoke(main, ["serve", "--config", str(seeded.config_dir), "--host", "0.0.0.0"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "MONITOR_WEB_TOKEN is set but holds only whitespace" in str(result.exception.code)


def test_a_token_read_with_a_trailing_newline_still_works() -> None:
    assert AuthSettings.from_env({"MONITOR_WEB_TOKEN": "s3cret\n"}).token == "s3cret"


def test_blank_presented_credentials_are_refused(seeded: Seeded, db: Database) -> None:
    client = authed_client(seeded, db, token="t0ken")
    for headers in ({"Authorization": "Bearer "}, {"Authorization": "Bearer    "}, {"Authorization": "Basic Og=="}):
        assert client.get("/api/feeds", headers=headers).status_code == 401, headers
    client.cookies.set(TOKEN_COOKIE, " ")
    assert client.get("/api/feeds").status_code == 401
    basic = authed_client(seeded, db, username="analyst", password="pw")
    for user, password in (("", ""), (" ", " "), ("analyst", " ")):
        header = "Basic " + __import__("base64").b64encode(f"{user}:{password}".encode()).decode()
        assert basic.get("/api/feeds", headers={"Authorization": header}).status_code == 401
