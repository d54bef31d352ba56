"""`monitor users`: add (prompted or --password-stdin), list, set-role, disable, enable, passwd, remove."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from monitor.cli import main
from monitor.clock import CommandContext
from monitor.store.db import Database
from monitor.usecases.accounts import Accounts

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo configuration with its database in the test's directory."""
    shutil.copytree(ROOT / "config", tmp_path / "config")
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.setenv("MONITOR_DATABASE_URL", f"sqlite:///{tmp_path / 'monitor.db'}")
    return tmp_path / "config"


def users(config_dir: Path, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, ["users", *args, "--config", str(config_dir)], input=stdin,
                              obj=CommandContext(clock=lambda: NOW))


def test_users_commands_manage_accounts_end_to_end(config_dir: Path, tmp_path: Path) -> None:
    listed = users(config_dir, "list")
    assert listed.exit_code == 1 and "monitor db upgrade" in listed.output, "list never creates a database"
    added = users(config_dir, "add", "ana", "--role", "admin", "--password-stdin", stdin="a long password\n")
    assert added.exit_code == 0, added.output
    assert added.output.strip() == "added ana (admin)" and "a long password" not in added.output
    # Prompted twice, not echoed.
    prompted = users(config_dir, "add", "ben", "--role", "editor", stdin="another secret!\nanother secret!\n")
    assert prompted.exit_code == 0, prompted.output
    assert "another secret!" not in prompted.output and prompted.output.count("Password") == 1
    mismatch = users(config_dir, "add", "cy", stdin="one password!!\ntwo password!!\none password!!\none password!!\n")
    assert mismatch.exit_code == 0 and "do not match" in mismatch.output.lower()
    table = users(config_dir, "list")
    assert table.exit_code == 0
    assert [line.split()[:3] for line in table.output.splitlines()[2:]] == [
        ["ana", "admin", "active"], ["ben", "editor", "active"], ["cy", "viewer", "active"]]
    assert "2026-03-02 09:30 UTC" in table.output

    assert users(config_dir, "set-role", "cy", "editor").output.strip() == "cy is now editor"
    assert users(config_dir, "disable", "ben").output.strip() == "disabled ben"
    assert [r["disabled"] for r in listed_json(config_dir)] == [False, True, False]
    assert users(config_dir, "enable", "ben").exit_code == 0
    db = Database(f"sqlite:///{tmp_path / 'monitor.db'}")
    accounts = Accounts(db)
    assert accounts.authenticate("ben", "another secret!") is not None, "the prompted password was stored"
    assert users(config_dir, "passwd", "ben", "--password-stdin", stdin="a new long secret\n").exit_code == 0
    assert accounts.authenticate("ben", "a new long secret") is not None
    assert accounts.authenticate("ben", "another secret!") is None
    db.dispose()
    assert users(config_dir, "remove", "cy").output.strip() == "removed cy"
    assert [(r["name"], r["role"], r["disabled"]) for r in listed_json(config_dir)] == [
        ("ana", "admin", False), ("ben", "editor", False)]


def listed_json(config_dir: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in users(config_dir, "list", "--json").output.splitlines()]


REFUSALS = [
    (["add", "ana", "--password-stdin"], "short\n", "at least 10 characters"),
    (["add", "bad name", "--password-stdin"], "a long password\n", "is not allowed"),
    (["add", "operator", "--password-stdin"], "a long password\n", "reserved"),
    (["add", "boss", "--password-stdin"], "a long password\n", "already exists"),
    (["set-role", "ghost", "editor"], None, "no user named 'ghost'"),
    (["remove", "boss"], None, "last enabled admin"),
    (["disable", "boss"], None, "last enabled admin"),
    (["set-role", "boss", "viewer"], None, "last enabled admin"),
]


def test_refusals_say_why_and_exit_1(config_dir: Path) -> None:
    assert users(config_dir, "add", "boss", "--role", "admin", "--password-stdin", stdin="a long password\n").exit_code == 0
    for args, stdin, message in REFUSALS:
        result = users(config_dir, *args, stdin=stdin)
        assert result.exit_code == 1 and message in result.output, (args, result.output)
        assert "Traceback" not in result.output


def test_the_password_is_never_an_argument() -> None:
    result = CliRunner().invoke(main, ["users", "add", "ana", "--password", "x"])
    assert result.exit_code == 2 and "No such option" in result.output
    assert users(Path("/nonexistent"), "set-role", "ana", "root").exit_code == 2
