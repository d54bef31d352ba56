"""`monitor users`: the dashboard's accounts (add, list, set-role, disable, enable, remove, passwd).

A password is never an argument (it would sit in the shell history and the process list): it is asked
for twice on the terminal, or read as one line from standard input with `--password-stdin`.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from monitor.clock import CommandContext, system_clock
from monitor.commands.tables import render_table
from monitor.errors import ConfigurationError, MonitorError, NoDatabase
from monitor.model import ROLES

if TYPE_CHECKING:  # imported where used: `monitor --help` loads neither argon2 nor the database
    from monitor.usecases.accounts import Accounts


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)


def _config_option(func: Any) -> Any:
    return click.option(
        "--config", "config_dir", type=click.Path(path_type=Path, file_okay=False),
        default=lambda: os.environ.get("MONITOR_CONFIG", "config"), show_default="./config",
        help="Configuration directory (env MONITOR_CONFIG; default ./config).",
    )(func)


def _password_option(func: Any) -> Any:
    return click.option("--password-stdin", is_flag=True,
                        help="Read the password as one line from standard input instead of asking for it.")(func)


def _run(config_dir: Path, action: Callable[[Accounts], object], *, done: str = "", create: bool = False) -> None:
    """Open the configured database (created and migrated when `create`), run `action` on its Accounts, say `done`."""
    from monitor.config import load_config
    from monitor.store.db import Database
    from monitor.store.migrate import open_existing, upgrade
    from monitor.usecases.accounts import Accounts

    context = click.get_current_context().find_object(CommandContext)
    clock = context.clock if context is not None else system_clock
    try:
        config = load_config(config_dir, os.environ).config
    except ConfigurationError as exc:
        _fail(f"{exc}\nrun `monitor check` after fixing it.")
        return
    try:
        if create:
            db = Database(config.settings.database)
            upgrade(db)
        else:
            db = open_existing(config.settings.database)
        action(Accounts(db, clock))
        if done:
            click.echo(done)
    except NoDatabase as exc:
        _fail(exc.advice(config_dir))
    except MonitorError as exc:
        _fail(f"monitor users: {exc}")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@click.group("users")
def users() -> None:
    """Dashboard accounts: viewers read, editors also edit, admins also manage accounts."""


@users.command("add")
@_config_option
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), default="viewer", show_default=True, help="What the user may do.")
@_password_option
def add(config_dir: Path, name: str, role: str, password_stdin: bool) -> None:
    """Add an account (the password is asked for, or read with --password-stdin)."""
    password = _password(password_stdin)
    _run(config_dir, lambda accounts: accounts.add(name, role, password), done=f"added {name} ({role})", create=True)


@users.command("list")
@_config_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per account.")
def list_users(config_dir: Path, as_json: bool) -> None:
    """The accounts with their role, state and creation time."""

    def show(accounts: Accounts) -> None:
        found = accounts.list()
        if as_json:
            for u in found:
                click.echo(json.dumps({"name": u.name, "role": u.role, "disabled": u.disabled,
                                       "created_at": u.created_at.isoformat()}, ensure_ascii=False))
            return
        if not found:
            click.echo("no accounts: the dashboard uses the token, basic auth, or nothing (loopback). "
                       "Add one with `monitor users add NAME --role admin`.")
            return
        click.echo(render_table(["name", "role", "state", "created"], [
            [u.name, u.role, "disabled" if u.disabled else "active", f"{u.created_at:%Y-%m-%d %H:%M} UTC"]
            for u in found]))

    _run(config_dir, show)


@users.command("set-role")
@_config_option
@click.argument("name")
@click.argument("role", type=click.Choice(ROLES))
def set_role(config_dir: Path, name: str, role: str) -> None:
    """Give an account another role (its open sessions have it from their next request)."""
    _run(config_dir, lambda accounts: accounts.set_role(name, role), done=f"{name} is now {role}")


@users.command("disable")
@_config_option
@click.argument("name")
def disable(config_dir: Path, name: str) -> None:
    """Disable an account: it cannot sign in, and its open sessions end."""
    _run(config_dir, lambda accounts: accounts.set_disabled(name, True), done=f"disabled {name}")


@users.command("enable")
@_config_option
@click.argument("name")
def enable(config_dir: Path, name: str) -> None:
    """Enable a disabled account again."""
    _run(config_dir, lambda accounts: accounts.set_disabled(name, False), done=f"enabled {name}")


@users.command("remove")
@_config_option
@click.argument("name")
def remove(config_dir: Path, name: str) -> None:
    """Delete an account and its sessions."""
    _run(config_dir, lambda accounts: accounts.remove(name), done=f"removed {name}")


@users.command("passwd")
@_config_option
@click.argument("name")
@_password_option
def passwd(config_dir: Path, name: str, password_stdin: bool) -> None:
    """Set a new password for an account (asked for, or --password-stdin); it is signed out everywhere."""
    password = _password(password_stdin)
    _run(config_dir, lambda accounts: accounts.set_password(name, password),
         done=f"new password set for {name}; its sessions have ended")
