"""Dashboard accounts: add and change users, check a password, open and close sessions.

What `monitor users` and the dashboard's /login and /admin/users share. Passwords are hashed with
argon2id (argon2-cffi's defaults, RFC 9106's low-memory profile); a hash made with older parameters is
replaced at the next successful sign-in. A session is a random token in the browser's cookie; the
database keeps only its SHA-256, so a copy of the database signs no one in.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from monitor.clock import Clock, system_clock
from monitor.errors import AccountError
from monitor.model import ROLES, Role
from monitor.store.db import Database
from monitor.store.users import UserInfo, Users

log = logging.getLogger(__name__)

SESSION_LIFETIME = timedelta(hours=12)
"""How long a sign-in lasts: a working day; then the browser signs in again."""
MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # argon2 takes any length; a cap keeps one request from hashing megabytes
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
# The name per-user state is kept under for the token and basic-auth modes (monitor/web/identity.py):
# an account of that name would share the operator's read and star state.
RESERVED_NAMES = frozenset({"operator"})


def check_name(name: str) -> str:
    """The name when it is acceptable, else AccountError saying what is allowed."""
    if not NAME.fullmatch(name):
        raise AccountError(f"user name {name!r} is not allowed: 1 to 64 letters, digits and . _ @ -, "
                           "starting with a letter or digit")
    if name.lower() in RESERVED_NAMES:
        raise AccountError(f"user name {name!r} is reserved for the token and basic-auth modes; choose another")
    return name


def check_role(role: str) -> Role:
    """The role when it is one of viewer, editor, admin, else AccountError."""
    for known in ROLES:
        if role == known:
            return known
    raise AccountError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")


def check_password(password: str) -> str:
    """The password when it is long enough (and not absurdly long), else AccountError."""
    if len(password) < MIN_PASSWORD or not password.strip():
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"the password must have at most {MAX_PASSWORD} characters")
    return password


def token_hash(token: str) -> str:
    """What the database keeps of a session token: its SHA-256 (the token is random, no salt needed)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Accounts:
    """Accounts and sessions over the database, with the password hasher and the clock injected."""

    def __init__(self, db: Database, clock: Clock = system_clock, hasher: PasswordHasher | None = None) -> None:
        self.users = Users(db)
        self.clock = clock
        self.hasher = hasher or PasswordHasher()
        self._dummy: str | None = None

    def any(self) -> bool:
        """True when an account exists: the dashboard then requires signing in."""
        return self.users.any()

    def list(self) -> list[UserInfo]:
        """Every account, by name."""
        return self.users.all()

    def add(self, name: str, role: str, password: str) -> UserInfo:
        """Create an account (AccountError for a bad or taken name, an unknown role, a short password)."""
        check_name(name), check_role(role), check_password(password)
        user = self.users.add(name, role, self.hasher.hash(password), self.clock())
        log.info("user_added name=%s role=%s", name, role)
        return user

    def set_role(self, name: str, role: str) -> None:
        """Change a role; refused for the last enabled admin (nobody could manage accounts on the web)."""
        check_role(role)
        user = self._existing(name)
        if user.role == "admin" and role != "admin" and not user.disabled:
            self._not_last_admin(name, "take the admin role from")
        self.users.set_role(name, role)
        log.info("user_role_set name=%s role=%s", name, role)

    def set_disabled(self, name: str, disabled: bool) -> None:
        """Disable (signing the account out) or enable an account; the last enabled admin stays."""
        user = self._existing(name)
        if disabled and user.role == "admin" and not user.disabled:
            self._not_last_admin(name, "disable")
        self.users.set_disabled(name, disabled)
        log.info("user_%s name=%s", "disabled" if disabled else "enabled", name)

    def remove(self, name: str) -> None:
        """Delete an account and its sessions; the last enabled admin stays."""
        user = self._existing(name)
        if user.role == "admin" and not user.disabled:
            self._not_last_admin(name, "remove")
        self.users.remove(name)
        log.info("user_removed name=%s", name)

    def set_password(self, name: str, password: str) -> None:
        """Set a new password and sign the account out everywhere."""
        check_password(password)
        self._existing(name)
        self.users.set_password_hash(name, self.hasher.hash(password), end_sessions=True)
        log.info("user_password_set name=%s", name)

    def authenticate(self, name: str, password: str) -> UserInfo | None:
        """The enabled account when the password is right, else None, without telling which part was wrong.

        An unknown or disabled name still costs one argon2 verification, so the time taken does not
        tell whether the name exists. A right password whose hash used older parameters is rehashed.
        """
        user = self.users.get(name) if NAME.fullmatch(name) else None
        if user is None or user.disabled or len(password) > MAX_PASSWORD:
            self._verify(self._dummy_hash(), password[:MAX_PASSWORD])
            log.info("login_failed name=%r reason=%s", name[:64], "disabled" if user else "unknown_or_invalid")
            return None
        if not self._verify(user.password_hash, password):
            log.info("login_failed name=%s reason=password", name)
            return None
        if self.hasher.check_needs_rehash(user.password_hash):
            self.users.set_password_hash(name, self.hasher.hash(password), end_sessions=False)
            log.info("user_password_rehashed name=%s", name)
        return user

    def start_session(self, user: UserInfo) -> str:
        """A new session for the account: the token for the browser's cookie (the database keeps its hash)."""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        self.users.create_session(token_hash(token), user.id, now, now + SESSION_LIFETIME)
        log.info("login name=%s", user.name)
        return token

    def session_user(self, token: str) -> UserInfo | None:
        """The enabled account a live session token belongs to, else None."""
        if not token or len(token) > 100:
            return None
        return self.users.session_user(token_hash(token), self.clock())

    def end_session(self, token: str) -> None:
        """Sign a browser out: its session is forgotten."""
        if token and len(token) <= 100:
            self.users.end_session(token_hash(token))

    def _verify(self, stored: str, password: str) -> bool:
        try:
            return self.hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def _dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = self.hasher.hash(secrets.token_urlsafe(16))
        return self._dummy

    def _existing(self, name: str) -> UserInfo:
        user = self.users.get(name)
        if user is None:
            raise AccountError(f"no user named {name!r}; see `monitor users list`")
        return user

    def _not_last_admin(self, name: str, action: str) -> None:
        if self.users.active_admins() <= 1:
            raise AccountError(f"cannot {action} {name!r}: it is the last enabled admin; "
                               "make another user admin first (`monitor users set-role NAME admin`)")
