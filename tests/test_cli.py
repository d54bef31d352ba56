"""The command line: every command has help and is documented in the README; packaging works."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from monitor.cli import main
from monitor.config.env import documented_env_vars

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def all_commands(group: click.Group, prefix: str = "monitor") -> list[tuple[str, click.Command]]:
    """Every command path of the CLI, e.g. ('monitor db upgrade', <Command>)."""
    found = []
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            found.extend(all_commands(command, path))
        else:
            found.append((path, command))
    return found


@pytest.mark.parametrize("path,command", all_commands(main), ids=lambda v: v if isinstance(v, str) else "")
def test_every_command_has_help_and_is_documented(path: str, command: click.Command) -> None:
    args = path.split()[1:] + ["--help"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert f"`{path}" in README, f"README does not document `{path}`"
    options = [p for p in command.params if isinstance(p, click.Option) and p.name != "help"]
    if path != "monitor":
        assert any(o.opts[0] == "--config" for o in options) or path == "monitor db", path


def test_every_environment_variable_is_documented() -> None:
    missing = [name for name, _ in documented_env_vars() if name not in README]
    assert not missing, f"README does not mention {missing}"


def test_python_dash_m_works() -> None:
    result = subprocess.run([sys.executable, "-m", "monitor", "--version"], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and "monitor" in result.stdout


def test_check_demo_configuration() -> None:
    result = CliRunner().invoke(main, ["check", "--config", str(ROOT / "config")])
    assert result.exit_code == 0, result.output
    assert "configuration OK" in result.output


def test_plain_install_ships_templates_and_migrations(tmp_path: Path) -> None:
    """`pip install .` (not editable) gives a package with its templates and migrations."""
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target", str(target),
         str(ROOT)],
        check=True, capture_output=True,
    )
    package = target / "monitor"
    assert (package / "templates" / "email").is_dir() and list((package / "templates" / "email").iterdir())
    assert list((package / "store" / "migrations" / "versions").glob("*.py"))
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run(
        [sys.executable, "-c", "import monitor, monitor.notify.render as r; print(monitor.__file__)"],
        capture_output=True, text=True, env=env, cwd=tmp_path, check=True,
    )
    assert str(target) in out.stdout


def test_run_stops_cleanly_on_sigint(tmp_path: Path) -> None:
    """`monitor run` on the demo writes an email, then exits 0 on Ctrl-C."""
    config = tmp_path / "config"
    subprocess.run(["cp", "-r", str(ROOT / "config"), str(config)], check=True)
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", "run", "--config", str(config)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        outbox = tmp_path / "var" / "outbox"
        for _ in range(600):  # polls for an outcome, not a time bound: the loop ends as soon as it appears
            if list(outbox.glob("*.eml")) or process.poll() is not None:
                break
            time.sleep(0.1)
        assert list(outbox.glob("*.eml")), "the demo produces an email"
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert "feed_polled" in output and "service_stopped" in output
