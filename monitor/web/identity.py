"""Who is asking: the signed-in user and their role, for per-user state (read, star) and role checks."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from monitor.model import ROLES, Role

__all__ = ["OPERATOR", "ROLES", "Role", "WebUser", "current_user"]

# What the token and basic-auth modes (automation, a single operator) and an open loopback dashboard act as:
# one user with every right, as before accounts existed.
OPERATOR = "operator"


@dataclass(frozen=True)
class WebUser:
    """A person (or automation) using the dashboard: a stable name for per-user state and a role."""

    name: str
    role: Role

    @property
    def can_edit(self) -> bool:
        """True for editors and admins: they may change watchlists, feeds and feedback."""
        return self.role in ("editor", "admin")

    @property
    def is_admin(self) -> bool:
        """True for admins: they may manage users."""
        return self.role == "admin"


def current_user(request: Request) -> WebUser:
    """The request's user, set by the authentication middleware; the operator when none was set."""
    user = getattr(request.state, "user", None)
    return user if isinstance(user, WebUser) else WebUser(OPERATOR, "admin")
