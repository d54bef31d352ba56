"""Accounts on SQLite and PostgreSQL: argon2 hashes, sign-in, rehash, sessions and their expiry, the last admin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from monitor.errors import AccountError
from monitor.store.db import Database
from monitor.store.rows import UserRow, WebSessionRow
from monitor.usecases.accounts import SESSION_LIFETIME, Accounts, token_hash

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# Cheap parameters keep the tests fast; the production parameters are argon2-cffi's defaults.
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def test_passwords_are_argon2_hashes_and_sign_in_says_nothing_more_than_no(db: Database) -> None:
    """Also: every change is checked, and the last enabled admin stays."""
    accounts = Accounts(db, Clock(), FAST)
    added = accounts.add("ana", "editor", "correct horse battery")
    assert "correct horse" not in repr(added)
    with db.sessions() as session:
        stored = session.scalar(select(UserRow.password_hash).where(UserRow.name == "ana"))
    assert stored is not None and stored.startswith("$argon2id$") and "correct" not in stored
    assert accounts.authenticate("ana", "correct horse battery") is not None
    # A wrong password, an unknown name and a disabled account all give the same answer: None.
    assert accounts.authenticate("ana", "wrong horse battery") is None
    assert accounts.authenticate("nobody", "correct horse battery") is None
    assert accounts.authenticate("ana\n", "correct horse battery") is None
    accounts.add("boss", "admin", "another long secret")
    accounts.set_disabled("ana", True)
    assert accounts.authenticate("ana", "correct horse battery") is None
    accounts.set_disabled("ana", False)
    assert accounts.authenticate("ana", "correct horse battery") is not None
    assert [(u.name, u.role, u.disabled) for u in accounts.list()] == [("ana", "editor", False), ("boss", "admin", False)]
    assert accounts.list()[0].created_at == START

    for name, role, password, message in [
        ("boss", "viewer", "a long password", "already exists"),
        ("", "viewer", "a long password", "not allowed"),
        ("two words", "viewer", "a long password", "not allowed"),
        ("x" * 65, "viewer", "a long password", "not allowed"),
        ("Operator", "viewer", "a long password", "reserved"),
        ("cy", "superuser", "a long password", "unknown role"),
        ("cy", "viewer", "short", "at least 10"),
        ("cy", "viewer", " " * 12, "at least 10"),
    ]:
        with pytest.raises(AccountError, match=message):
            accounts.add(name, role, password)
    for change in (lambda: accounts.set_role("boss", "editor"), lambda: accounts.set_disabled("boss", True),
                   lambda: accounts.remove("boss")):
        with pytest.raises(AccountError, match="last enabled admin"):
            change()
    with pytest.raises(AccountError, match="no user named 'ghost'"):
        accounts.set_role("ghost", "viewer")
    accounts.set_role("ana", "admin")
    accounts.set_role("boss", "editor")
    assert accounts.users.active_admins() == 1
    assert accounts.any()


def test_sessions_are_stored_hashed_expire_and_end_and_old_hashes_are_replaced(db: Database) -> None:
    clock = Clock()
    accounts = Accounts(db, clock, FAST)
    user = accounts.add("ana", "viewer", "a long password")
    accounts.add("boss", "admin", "another long secret")
    token = accounts.start_session(user)
    assert len(token) >= 40
    with db.sessions() as session:
        hashes = list(session.scalars(select(WebSessionRow.token_hash)))
    assert hashes == [token_hash(token)] and token not in hashes
    found = accounts.session_user(token)
    assert found is not None and found.name == "ana"
    assert accounts.session_user(token + "x") is None and accounts.session_user("") is None
    # A role change is seen by the open session; disabling ends it.
    accounts.set_role("ana", "editor")
    assert (accounts.session_user(token) or user).role == "editor"
    accounts.set_disabled("ana", True)
    assert accounts.session_user(token) is None
    accounts.set_disabled("ana", False)
    assert accounts.session_user(token) is None, "re-enabling does not revive ended sessions"
    # Expiry: alive just before the lifetime ends, gone at it.
    token = accounts.start_session(user)
    clock.now = START + SESSION_LIFETIME - timedelta(seconds=1)
    assert accounts.session_user(token) is not None
    clock.now = START + SESSION_LIFETIME
    assert accounts.session_user(token) is None
    # A new password ends every session; signing out ends one.
    first, second = accounts.start_session(user), accounts.start_session(user)
    accounts.end_session(first)
    assert accounts.session_user(first) is None and accounts.session_user(second) is not None
    accounts.set_password("ana", "a brand new password")
    assert accounts.session_user(second) is None
    assert accounts.authenticate("ana", "a long password") is None
    assert accounts.authenticate("ana", "a brand new password") is not None
    # Removing an account removes its sessions with it.
    token = accounts.start_session(user)
    accounts.remove("ana")
    assert accounts.session_user(token) is None and accounts.users.get("ana") is None
    with db.sessions() as session:
        assert session.scalar(select(WebSessionRow.token_hash).where(WebSessionRow.user_id == user.id)) is None
    # A hash made with older parameters is replaced at the next successful sign-in, not at a failed one.
    Accounts(db, Clock(), PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)).add("old", "viewer", "a long password")
    stronger = Accounts(db, Clock(), PasswordHasher(time_cost=2, memory_cost=16, parallelism=1))
    before = stronger.users.get("old")
    assert before is not None and stronger.hasher.check_needs_rehash(before.password_hash)
    assert stronger.authenticate("old", "wrong password!") is None
    assert stronger.users.get("old") == before, "a failed sign-in rehashes nothing"
    assert stronger.authenticate("old", "a long password") is not None
    after = stronger.users.get("old")
    assert after is not None and after.password_hash != before.password_hash
    assert "m=16,t=2" in after.password_hash and not stronger.hasher.check_needs_rehash(after.password_hash)
    assert stronger.authenticate("old", "a long password") is not None
