"""Dashboard accounts and their sessions: users with a role and a password hash, signed-in browsers.

The store keeps what it is given: hashing passwords and session tokens is the caller's
(monitor/usecases/accounts.py); only hashes ever reach the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from monitor.errors import AccountError
from monitor.store.db import Database, database_errors
from monitor.store.rows import UserRow, WebSessionRow


@dataclass(frozen=True, slots=True)
class UserInfo:
    """One account as stored (the hash is kept out of its repr, so it never lands in a log)."""

    id: int
    name: str
    role: str
    created_at: datetime
    disabled: bool
    password_hash: str = field(repr=False, default="")


class Users:
    """The `users` and `web_sessions` tables."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def any(self) -> bool:
        """True when at least one account exists (the dashboard then requires signing in)."""
        with database_errors(), self.db.sessions() as session:
            return session.execute(select(UserRow.id).limit(1)).first() is not None

    def add(self, name: str, role: str, password_hash: str, now: datetime) -> UserInfo:
        """Create an account; AccountError when the name is taken."""
        try:
            with self.db.guarded_transaction() as session:
                if session.execute(select(UserRow.id).where(UserRow.name == name)).first() is not None:
                    raise AccountError(f"a user named {name!r} already exists; see `monitor users list`")
                row = UserRow(name=name, role=role, password_hash=password_hash, created_at=now, disabled=False)
                session.add(row)
                session.flush()
                return _info(row)
        except IntegrityError:  # two adds of one name at once: the unique index decided
            raise AccountError(f"a user named {name!r} already exists; see `monitor users list`") from None

    def get(self, name: str) -> UserInfo | None:
        """The account with this name, or None."""
        with database_errors(), self.db.sessions() as session:
            row = session.scalars(select(UserRow).where(UserRow.name == name)).first()
            return _info(row) if row else None

    def all(self) -> list[UserInfo]:
        """Every account, by name."""
        with database_errors(), self.db.sessions() as session:
            return [_info(r) for r in session.scalars(select(UserRow).order_by(UserRow.name))]

    def active_admins(self) -> int:
        """How many admins are not disabled."""
        with database_errors(), self.db.sessions() as session:
            count = session.scalar(select(func.count()).select_from(UserRow)
                                   .where(UserRow.role == "admin", UserRow.disabled.is_(False)))
            return int(count or 0)

    def set_role(self, name: str, role: str) -> bool:
        """Change an account's role (its sessions see it on their next request); False if no such account."""
        with self.db.guarded_transaction() as session:
            return _changed(session.execute(update(UserRow).where(UserRow.name == name).values(role=role)))

    def set_disabled(self, name: str, disabled: bool) -> bool:
        """Disable (ending its sessions) or enable an account; False if no such account."""
        with self.db.guarded_transaction() as session:
            changed = _changed(session.execute(update(UserRow).where(UserRow.name == name).values(disabled=disabled)))
            if changed and disabled:
                _end_sessions_of(session, name)
            return changed

    def set_password_hash(self, name: str, password_hash: str, *, end_sessions: bool) -> bool:
        """Store a new hash; `end_sessions` signs the account out everywhere (a reset, not a rehash)."""
        with self.db.guarded_transaction() as session:
            changed = _changed(session.execute(
                update(UserRow).where(UserRow.name == name).values(password_hash=password_hash)))
            if changed and end_sessions:
                _end_sessions_of(session, name)
            return changed

    def remove(self, name: str) -> bool:
        """Delete an account and its sessions; False if no such account."""
        with self.db.guarded_transaction() as session:
            _end_sessions_of(session, name)
            return _changed(session.execute(delete(UserRow).where(UserRow.name == name)))

    # ---------------------------------------------------------------- sessions

    def create_session(self, token_hash: str, user_id: int, now: datetime, expires_at: datetime) -> None:
        """Record a signed-in browser, and drop sessions that have expired (they are never read again)."""
        with self.db.guarded_transaction() as session:
            session.execute(delete(WebSessionRow).where(WebSessionRow.expires_at <= now))
            session.add(WebSessionRow(token_hash=token_hash, user_id=user_id, created_at=now, expires_at=expires_at))

    def session_user(self, token_hash: str, now: datetime) -> UserInfo | None:
        """The enabled account a live session belongs to, or None (unknown, expired or disabled)."""
        with database_errors(), self.db.sessions() as session:
            row = session.scalars(
                select(UserRow).join(WebSessionRow, WebSessionRow.user_id == UserRow.id)
                .where(WebSessionRow.token_hash == token_hash, WebSessionRow.expires_at > now,
                       UserRow.disabled.is_(False))
            ).first()
            return _info(row) if row else None

    def end_session(self, token_hash: str) -> None:
        """Forget one session (sign out)."""
        with self.db.guarded_transaction() as session:
            session.execute(delete(WebSessionRow).where(WebSessionRow.token_hash == token_hash))

    def sessions_of(self, name: str, now: datetime) -> int:
        """How many live sessions an account has."""
        with database_errors(), self.db.sessions() as session:
            count = session.scalar(
                select(func.count()).select_from(WebSessionRow).join(UserRow, WebSessionRow.user_id == UserRow.id)
                .where(UserRow.name == name, WebSessionRow.expires_at > now))
            return int(count or 0)


def _end_sessions_of(session: Session, name: str) -> None:
    user_ids = select(UserRow.id).where(UserRow.name == name).scalar_subquery()
    session.execute(delete(WebSessionRow).where(WebSessionRow.user_id == user_ids))


def _changed(result: object) -> bool:
    return bool(getattr(result, "rowcount", 0))


def _info(row: UserRow) -> UserInfo:
    return UserInfo(row.id, row.name, row.role, row.created_at, row.disabled, row.password_hash)
