"""Dashboard accounts: users, their sessions, and each user's read and star state of stories."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from monitor.store.rows.base import Base, UTCDateTime, utcnow


class UserRow(Base):
    """A dashboard account (`monitor users`, /admin/users): a role and an argon2 password hash."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # viewer | editor | admin
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class WebSessionRow(Base):
    """A signed-in browser: the SHA-256 of its cookie's random token, whose user, until when."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class InboxState(Base):
    """One user's read and star state of one story (the inbox): absent means unread and not starred."""

    __tablename__ = "inbox_state"

    # The user's name (monitor/web/identity.py current_user); text, so accounts need no foreign key here.
    user_name: Mapped[str] = mapped_column(String(200), primary_key=True)
    # The story: its cluster id, else the article id (an article without a cluster is its own story).
    story_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    starred_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
