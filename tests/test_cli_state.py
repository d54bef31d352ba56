"""Where state lives: commands see the same data from any working directory; read-only ones never create it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import inspect

from monitor.cli import main
from monitor.store.db import Database
from tests.conftest import drop_postgres, postgres_or_skip

ROOT = Path(__file__).resolve().parent.parent
READ_ONLY = [["feeds"], ["deliveries"], ["deliveries", "--failed"], ["backtest", "hostages"], ["serve"]]


def project(tmp_path: Path) -> Path:
    """A copy of the repository's demo layout: config/ beside examples/, as `make run` uses it."""
    root = tmp_path / "project"
    shutil.copytree(ROOT / "config", root / "config")
    (root / "examples").symlink_to(ROOT / "examples")
    return root


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def assert_refused_cleanly(result: Result, config_arg: str) -> None:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), "a message and an exit status, not a traceback"
    text = result.output + str(result.exception.code or "")
    assert "Traceback" not in text
    assert f"monitor db upgrade --config {config_arg}" in text and f"monitor run --config {config_arg}" in text


def test_make_run_and_a_command_elsewhere_see_the_same_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = project(tmp_path)
    # What `make run` does (one cycle of it): from the project root, with a relative --config.
    subprocess.run([sys.executable, "-m", "monitor", "run", "--once", "--config", "config"], cwd=root, check=True,
                   capture_output=True, text=True, timeout=600)
    assert (root / "var" / "monitor.db").is_file() and list((root / "var" / "outbox").glob("*.eml"))
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    for config_arg in ("../../project/config", str(root / "config")):
        feeds = cli("feeds", "--config", config_arg)
        assert feeds.exit_code == 0, feeds.output
        for feed_id in ("levant-wire", "gulf-observer", "anatolia-haber"):
            line = next(line for line in feeds.output.splitlines() if line.startswith(feed_id))
            assert " 200 " in f" {line} ", line  # polled by the run above, not a fresh database
        deliveries = cli("deliveries", "--config", config_arg, "--json")
        assert deliveries.exit_code == 0 and deliveries.output.strip(), deliveries.output
        backtest = cli("backtest", "--config", config_arg, "Kalin")
        assert backtest.exit_code == 0 and "article(s) matched" in backtest.output, backtest.output
    assert not (elsewhere / "var").exists() and list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("command", READ_ONLY, ids=" ".join)
def test_a_read_only_command_never_creates_a_database(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.delenv("MONITOR_DATABASE_URL", raising=False)
    monkeypatch.delenv("MONITOR_DATABASE", raising=False)
    config_arg = "../project/config"
    result = cli(*command[:1], "--config", config_arg, *command[1:])
    assert_refused_cleanly(result, config_arg)
    assert f"no database at {root / 'var' / 'monitor.db'}" in result.output + str(result.exception)
    assert not (root / "var").exists() and not (elsewhere / "var").exists()
    # ... and after the suggested command, the same command works.
    assert cli("db", "upgrade", "--config", config_arg).exit_code == 0
    if command[0] != "serve":  # serve would start serving
        assert cli(*command[:1], "--config", config_arg, *command[1:]).exit_code == 0


def test_an_empty_database_file_is_not_filled_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = project(tmp_path)
    (root / "var").mkdir()
    (root / "var" / "monitor.db").write_bytes(b"")
    monkeypatch.delenv("MONITOR_DATABASE_URL", raising=False)
    monkeypatch.delenv("MONITOR_DATABASE", raising=False)
    result = cli("feeds", "--config", str(root / "config"))
    assert_refused_cleanly(result, str(root / "config"))
    assert "has no tables yet" in result.output
    assert (root / "var" / "monitor.db").stat().st_size == 0


def test_postgresql_empty_or_missing_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = postgres_or_skip()
    root = project(tmp_path)
    try:
        monkeypatch.setenv("MONITOR_DATABASE_URL", url)
        result = cli("deliveries", "--config", str(root / "config"))
        assert_refused_cleanly(result, str(root / "config"))
        assert "has no tables yet" in result.output
        db = Database(url)
        try:
            assert inspect(db.engine).get_table_names() == [], "no tables were created"
        finally:
            db.dispose()
        missing = url.rsplit("/", 1)[0] + "/monitor_no_such_database"
        monkeypatch.setenv("MONITOR_DATABASE_URL", missing)
        result = cli("feeds", "--config", str(root / "config"))
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
        assert "cannot open the database" in result.output and "monitor_no_such_database" in result.output
    finally:
        drop_postgres(url)
