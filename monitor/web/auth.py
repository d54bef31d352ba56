"""Who may use the dashboard: bind policy, token or basic auth, CSRF tokens and security headers."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import re
import secrets
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qs, quote, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from monitor.errors import BindRefused, MonitorError
from monitor.web.identity import OPERATOR, WebUser
from monitor.web.sessions import SessionAuth

TOKEN_COOKIE = "monitor_token"
CSRF_COOKIE = "monitor_csrf"
CSRF_FIELD = "csrf_token"
# Paths anyone may reach: the health check (load balancers carry no credentials), the login form and
# the stylesheet it needs, unsubscribe links (their signed token is their authorisation), and the
# WebSub callback (its unguessable token and each delivery's HMAC signature are; monitor/web/websub.py).
OPEN_PREFIXES = ("/healthz", "/login", "/static/", "/unsubscribe/", "/websub/")
# Who the token and basic-auth modes, and an open loopback dashboard without accounts, act as.
OPERATOR_USER = WebUser(OPERATOR, "admin")
# Output feeds (monitor/web/output_feeds.py): their token is their authorisation, so feed readers reach them
# without credentials. Exactly `/feeds/<32 hex>.atom|.json`: the rest of /feeds/ (the admin pages) stays closed.
OPEN_PATHS = re.compile(r"^/feeds/[0-9a-f]{32}\.(atom|json)$")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


@dataclass(frozen=True)
class AuthSettings:
    """Credentials from the environment; none set means no authentication (loopback only)."""

    token: str | None = None
    username: str | None = None
    password: str | None = None
    # Signs CSRF cookies; a fresh one per process is enough (a restart only invalidates open forms).
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)

    def __post_init__(self) -> None:
        # A secret of spaces is no secret: refused here, so no way of building the settings can accept one.
        for name, value in (("token", self.token), ("username", self.username), ("password", self.password)):
            if value is not None and not value.strip():
                raise BindRefused(f"the dashboard {name} is blank; set a real one or leave it unset")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AuthSettings:
        """Read MONITOR_WEB_TOKEN, MONITOR_WEB_USERNAME and MONITOR_WEB_PASSWORD (empty means unset)."""
        for name in ("MONITOR_WEB_TOKEN", "MONITOR_WEB_USERNAME", "MONITOR_WEB_PASSWORD"):
            value = env.get(name)
            if value and not value.strip():
                raise BindRefused(f"{name} is set but holds only whitespace; set a real secret or unset it")
        username, password = env.get("MONITOR_WEB_USERNAME") or None, env.get("MONITOR_WEB_PASSWORD") or None
        if bool(username) != bool(password):
            raise BindRefused("set both MONITOR_WEB_USERNAME and MONITOR_WEB_PASSWORD for basic auth, or neither")
        # A bearer token is compared stripped (as the header is read): a stray newline from a secrets file
        # would otherwise make it impossible to present.
        token = (env.get("MONITOR_WEB_TOKEN") or "").strip() or None
        return cls(token=token, username=username, password=password)

    @property
    def enabled(self) -> bool:
        """True when requests must carry credentials."""
        return bool(self.token or self.username)

    def check_token(self, given: str) -> bool:
        """True when `given` is the configured token."""
        return bool(self.token) and _same(given, self.token or "")

    def check(self, request: Request) -> bool:
        """True when the request carries valid credentials (or none are required)."""
        if not self.enabled:
            return True
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        scheme = scheme.lower()
        if self.token:
            if scheme == "bearer" and _same(value.strip(), self.token):
                return True
            if _same(request.cookies.get(TOKEN_COOKIE, ""), self.token):
                return True
        if self.username and self.password and scheme == "basic":
            try:
                user, _, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return False
            # Both compared every time, so the timing does not tell which one was wrong.
            return _same(user, self.username) & _same(password, self.password)
        return False


def _same(given: str, expected: str) -> bool:
    # A blank credential is never a match, whatever is configured.
    return bool(given.strip()) and bool(expected.strip()) and hmac.compare_digest(
        given.encode("utf-8"), expected.encode("utf-8")
    )


def is_loopback(host: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, auth: AuthSettings, *, accounts: bool = False) -> None:
    """Refuse a non-loopback bind without credentials or accounts, saying why and what to set."""
    if is_loopback(host) or auth.enabled or accounts:
        return
    raise BindRefused(
        f"refusing to serve the dashboard on {host}: it would be reachable from the network without "
        "authentication. Add an account with `monitor users add NAME --role admin`, or set MONITOR_WEB_TOKEN "
        "(bearer token) or MONITOR_WEB_USERNAME and MONITOR_WEB_PASSWORD (basic auth) in the environment, "
        "or bind to 127.0.0.1 (the default)."
    )


# ------------------------------------------------------------------ Host check (DNS rebinding)

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
_WILDCARD_BINDS = frozenset({"0.0.0.0", "::", "[::]", ""})


def _host_pattern(host: str) -> str:
    """A host as the Host header spells it: lower case, an IPv6 address in brackets."""
    host = host.strip().lower()
    if ":" in host and not host.startswith("["):
        return f"[{host}]"
    return host


def trusted_hosts(bind_host: str, base_url: str, extra: Iterable[str] = ()) -> list[str]:
    """The names a browser may use for this dashboard (any port): loopback, the bind address, base_url's host.

    A page on another site whose name was rebound to 127.0.0.1 sends its own name in `Host`; answering
    only these names is what keeps it from reading the dashboard (DNS rebinding).
    """
    hosts = list(LOOPBACK_NAMES)
    if bind_host.strip().lower() not in _WILDCARD_BINDS:
        hosts.append(_host_pattern(bind_host))
    if name := urlsplit(base_url).hostname:
        hosts.append(_host_pattern(name))
    hosts.extend(_host_pattern(h) for h in extra)
    return list(dict.fromkeys(hosts))


# ------------------------------------------------------------------ CSRF (signed double-submit cookie)


def _sign(secret: bytes, nonce: str) -> str:
    return hmac.new(secret, nonce.encode("ascii"), hashlib.sha256).hexdigest()[:32]


def new_csrf_token(auth: AuthSettings) -> str:
    """A fresh token: a nonce plus its signature, so a cookie planted by someone else does not verify."""
    nonce = secrets.token_urlsafe(18)
    return f"{nonce}.{_sign(auth.secret, nonce)}"


def csrf_valid(auth: AuthSettings, cookie: str | None, submitted: str | None) -> bool:
    """True when the form's token equals the cookie's and the cookie is one we signed."""
    if not cookie or not submitted or not hmac.compare_digest(cookie, submitted):
        return False
    nonce, _, signature = cookie.partition(".")
    return bool(nonce) and hmac.compare_digest(signature, _sign(auth.secret, nonce))


async def read_form(request: Request) -> dict[str, str]:
    """An url-encoded form body as a dict (first value of each field), without python-multipart."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {}
    body = (await request.body())[:65536].decode("utf-8", "replace")
    return {key: values[0] for key, values in parse_qs(body, keep_blank_values=True).items()}


def same_origin(request: Request) -> bool:
    """False when the browser says the request came from another site."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin and origin != "null":
        host = request.headers.get("host", "")
        return origin.split("://", 1)[-1] == host
    return True


async def verify_csrf(request: Request, auth: AuthSettings) -> dict[str, str] | None:
    """The form when its CSRF token is valid and the request is same-origin, else None."""
    form = await read_form(request)
    if not same_origin(request):
        return None
    if not csrf_valid(auth, request.cookies.get(CSRF_COOKIE), form.get(CSRF_FIELD)):
        return None
    return form


# ------------------------------------------------------------------ the middleware


def make_middleware(auth: AuthSettings, sessions: SessionAuth | None = None) -> Callable[
        [Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    """Authentication (setting `request.state.user`), a CSRF cookie for every visitor, and security headers.

    Who a request is: the operator (every right) when it carries the token or basic-auth credentials, or
    when nothing is configured and no account exists (an open loopback dashboard, as before accounts);
    else the account of its session cookie; else nobody, and only the open paths answer.
    """

    async def middleware(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        cookie = request.cookies.get(CSRF_COOKIE)
        fresh = None if cookie and csrf_valid(auth, cookie, cookie) else new_csrf_token(auth)
        request.state.csrf_token = fresh or cookie
        path = request.url.path
        is_open = path.startswith(OPEN_PREFIXES) or OPEN_PATHS.match(path) is not None
        try:
            user, accounts_on = await _identify(request, auth, sessions, needed=not is_open)
        except MonitorError as exc:
            if not is_open:
                return _headers(request, auth, fresh, JSONResponse(
                    {"detail": f"cannot check who you are: the database is unavailable ({exc})"}, status_code=503))
            user, accounts_on = None, False
        request.state.user = user
        request.state.signed_in = user is not None and user.name != OPERATOR
        if user is None and not is_open:
            response = _unauthorized(request, auth, accounts_on)
        else:
            response = await call_next(request)
        return _headers(request, auth, fresh, response, private=auth.enabled or accounts_on)

    return middleware


async def _identify(request: Request, auth: AuthSettings, sessions: SessionAuth | None, *,
                    needed: bool) -> tuple[WebUser | None, bool]:
    """The request's user (None: nobody), and whether accounts exist (sign-in by name and password)."""
    if auth.enabled and auth.check(request):
        return OPERATOR_USER, False
    if not needed:  # an open path (health, login form, static files, unsubscribe links) asks no database
        return None, False
    if sessions is not None and (user := await sessions.user(request)) is not None:
        return user, True
    accounts_on = sessions is not None and await sessions.required()
    if not auth.enabled and not accounts_on:
        return OPERATOR_USER, False
    return None, accounts_on


def _headers(request: Request, auth: AuthSettings, fresh: str | None, response: Response, *,
             private: bool = True) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if private:
        response.headers.setdefault("Cache-Control", "no-store")
    if fresh:
        response.set_cookie(CSRF_COOKIE, fresh, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", path="/")
    return response


def _unauthorized(request: Request, auth: AuthSettings, accounts_on: bool) -> Response:
    path = request.url.path
    wants_page = not path.startswith(("/api/", "/metrics", "/openapi.json"))
    if wants_page and (accounts_on or (auth.token and not auth.username)):
        target = path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    challenge = 'Basic realm="monitor", charset="UTF-8"' if auth.username else 'Bearer realm="monitor"'
    return JSONResponse({"detail": "authentication required"}, status_code=401,
                        headers={"WWW-Authenticate": challenge})


def safe_next(target: str | None) -> str:
    """A local path to go to after login (never another site)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"
