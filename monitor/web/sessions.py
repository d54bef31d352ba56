"""Signed-in accounts on the dashboard: who a session cookie belongs to, and the sign-in throttle.

The session token lives in an HttpOnly, SameSite=Strict cookie (Secure over https); the database keeps its
hash (monitor/usecases/accounts.py). The middleware (monitor/web/auth.py) asks `SessionAuth` who a request
is when the token and basic-auth modes did not answer.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from monitor.usecases.accounts import SESSION_LIFETIME, Accounts, check_role
from monitor.web.identity import WebUser

SESSION_COOKIE = "monitor_session"


class SessionAuth:
    """The accounts as the middleware sees them: a request's session user, and whether sign-in is required."""

    def __init__(self, accounts: Accounts) -> None:
        self.accounts = accounts

    async def user(self, request: Request) -> WebUser | None:
        """The enabled account behind the request's session cookie, else None."""
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        found = await run_in_threadpool(self.accounts.session_user, token)
        return WebUser(found.name, check_role(found.role)) if found else None

    async def required(self) -> bool:
        """True when an account exists: then nobody uses the dashboard without signing in."""
        return await run_in_threadpool(self.accounts.any)


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    """Give the browser its session: HttpOnly, SameSite=Strict, Secure over https, for the session's lifetime."""
    response.set_cookie(SESSION_COOKIE, token, max_age=int(SESSION_LIFETIME.total_seconds()), httponly=True,
                        samesite="strict", secure=request.url.scheme == "https", path="/")


class LoginThrottle:
    """Failed sign-ins counted per key over a sliding `window` (seconds); a key at its limit waits.

    In memory, per process. The keys (see `throttle_keys`) are one name from one address, which stops
    guessing one account's password, and the address alone with a higher limit, which stops trying
    many names; no key is a name alone, so nobody can lock an account out from another address. A
    refused attempt is not checked at all (so it cannot tell a right password either).
    """

    def __init__(self, window: float = 900.0, clock: Callable[[], float] = time.monotonic, *,
                 per_name_and_address: int = 10, per_address: int = 50) -> None:
        self.window, self.clock = window, clock
        self.per_name_and_address, self.per_address = per_name_and_address, per_address
        self._failures: dict[str, deque[float]] = {}

    def keys(self, request: Request, name: str) -> list[tuple[str, int]]:
        """What a failed sign-in counts against, with each key's limit: the name from this address, the address."""
        client = request.client.host if request.client else "unknown"
        return [(f"name:{name.lower()[:64]}@{client}", self.per_name_and_address), (f"addr:{client}", self.per_address)]

    def wait(self, keys: Iterable[tuple[str, int]]) -> float:
        """Seconds until these (key, limit) pairs may try again (0 when they may now)."""
        now = self.clock()
        longest = 0.0
        for key, limit in keys:
            times = self._recent(key, now)
            if len(times) >= limit:
                longest = max(longest, times[-limit] + self.window - now)
        return longest

    def attempt(self, keys: Iterable[tuple[str, int]]) -> float:
        """Count a sign-in against each key as failed before it is checked; `forgive(keys, at)` if it succeeds.

        Counted first because checking a password takes a while (argon2): attempts sent at once would
        otherwise all pass `wait` before the first failure was counted, and try any number of passwords.
        """
        now = self.clock()
        if len(self._failures) > 10_000:  # bound the memory a flood of names can take
            self._failures = {k: v for k, v in self._failures.items() if v and v[-1] > now - self.window}
        for key, _ in keys:
            self._failures.setdefault(key, deque(maxlen=1000)).append(now)
        return now

    def forgive(self, keys: Iterable[tuple[str, int]], at: float) -> None:
        """Take back an attempt counted at `at` (it signed in, or could not be checked)."""
        for key, _ in keys:
            times = self._failures.get(key)
            if times is not None and at in times:
                times.remove(at)

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times


def accounts_of(request: Request) -> Accounts:
    """The application's accounts (set by create_app)."""
    return request.app.state.accounts  # type: ignore[no-any-return]


def throttle_of(request: Request) -> LoginThrottle:
    """The application's sign-in throttle (set by create_app)."""
    return request.app.state.login_throttle  # type: ignore[no-any-return]
