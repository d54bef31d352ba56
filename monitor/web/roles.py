"""Who may do what: every route's required role, decided in one table and enforced for every route.

`enforce_role` is a dependency of the whole application (app.py), so a route added later is covered
without doing anything: a method other than GET/HEAD needs an editor, a path under /admin an admin.
Only the exceptions are listed here; tests/web/test_roles.py requests every route of the app as a viewer
and as an editor and checks the outcome against this table.
"""

from __future__ import annotations

import re

from starlette.requests import Request

from monitor.model import Role
from monitor.web.identity import WebUser

RANK: dict[Role, int] = {"viewer": 0, "editor": 1, "admin": 2}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ADMIN_PREFIX = "/admin"

# Routes whose authorisation is their own: signing in and out, and the signed unsubscribe links in emails.
PUBLIC: frozenset[str] = frozenset({
    "/login", "/logout", "/healthz", "/unsubscribe/{subscriber_id}/{token}", "/unsubscribe/{subscriber_id}",
    # Output feeds for feed readers: the unguessable token in the path is the authorisation.
    "/feeds/{token}.atom", "/feeds/{token}.json",
    # The WebSub callback: its unguessable token, and each delivery's HMAC signature (monitor/web/websub.py).
    "/websub/{token}",
})
# GET pages that exist only to change something (their forms post to editor routes): a viewer is refused
# them too, rather than shown a form that cannot be sent.
EDIT_FORMS: frozenset[str] = frozenset({
    "/feeds/new", "/feeds/{feed_id}/edit", "/feeds/import", "/watchlists/{watchlist}/new",
    "/watchlists/{watchlist}/entries/{entry_id}", "/articles/{article_id}/feedback",
})
# Writing routes that change only the caller's own state (e.g. read or starred marks), open to viewers.
# Add a (METHOD, path) here only for such a route; the role test lists what is here.
PERSONAL_WRITES: frozenset[tuple[str, str]] = frozenset({
    ("POST", "/inbox/mark"), ("POST", "/inbox/mark-all-read"),  # the caller's own read and star marks
})


class RoleRefused(Exception):
    """The request's user lacks the role the route needs (rendered as 403; 401 when nobody signed in)."""

    def __init__(self, needed: Role, user: WebUser | None) -> None:
        super().__init__(f"{needed} role needed")
        self.needed = needed
        self.user = user


def _patterns(templates: frozenset[str]) -> re.Pattern[str]:
    """One regex for route templates: a `{parameter}` matches one path segment (and itself)."""
    parts = [re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(t)) for t in sorted(templates)]
    return re.compile("|".join(f"(?:{p})" for p in parts) or "(?!)")


_PUBLIC = _patterns(PUBLIC)
_EDIT_FORMS = _patterns(EDIT_FORMS)


def required_role(method: str, path: str) -> Role | None:
    """The least role a request needs: `path` is the URL path or the route's template; None for public.

    Decided from the URL rather than the route FastAPI matched, so it does not depend on how FastAPI
    nests included routers (and a router's prefix cannot hide a path from the /admin rule).
    """
    method = method.upper()
    if _PUBLIC.fullmatch(path):
        return None
    if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
        return "admin"
    if method in SAFE_METHODS:
        return "editor" if _EDIT_FORMS.fullmatch(path) else "viewer"
    personal = any(m == method and re.fullmatch(_patterns(frozenset({p})), path) for m, p in PERSONAL_WRITES)
    return "viewer" if personal else "editor"


def allows(user: WebUser | None, needed: Role | None) -> bool:
    """True when `user` has at least the `needed` role (anyone for a public route)."""
    if needed is None:
        return True
    return user is not None and RANK[user.role] >= RANK[needed]


def enforce_role(request: Request) -> None:
    """Refuse the request when its user's role is below the route's (a dependency of every route)."""
    path, root = request.scope["path"], request.scope.get("root_path", "")
    needed = required_role(request.method, path.removeprefix(root) if root else path)
    user = getattr(request.state, "user", None)
    user = user if isinstance(user, WebUser) else None
    if not allows(user, needed):
        assert needed is not None
        raise RoleRefused(needed, user)
