"""Every exception this package raises on purpose, in one tree (httpx's `_exceptions.py` is the model).

    MonitorError
    ├── ConfigurationError ............ the configuration is invalid (`problems`, each located)
    │   └── WatchlistCompileError ..... a watchlist query does not compile (`problems`)
    ├── QuerySyntaxError .............. one query does not parse (`message`, `column`, `hint`)
    ├── FetchError .................... a feed or page could not be fetched (`kind`: FetchErrorKind)
    │   ├── FetchHTTPError ............ answered with an HTTP error status (`status`, `retry_after`)
    │   └── BlockedAddressError ....... a host resolved only to refused addresses (also an OSError)
    ├── ParseError .................... fetched bytes are not a usable feed (`kind`: ParseErrorKind)
    ├── DeliveryError ................. a delivery attempt failed (`permanent`, `retry_after`)
    │   └── EndpointGone .............. 410 Gone from a webhook receiver: disable, never retry
    ├── StorageError .................. the database cannot be used as asked
    │   ├── DatabaseUnavailable ....... the database server did not answer or dropped the connection (`connection_lost`)
    │   ├── NoDatabase ................ a reading command found no database where configured
    │   └── ServiceRunning ............ another process holds the SQLite single-writer lock
    ├── BindRefused ................... the dashboard would be reachable from the network without credentials
    ├── AccountError .................. a dashboard account change was refused (name, role, password, last admin)
    └── EditRefused ................... a configuration edit was not written (`problems` when it would not load)
        └── StaleFile ................. the file changed on disk since the editor opened it

Error kinds are `Literal`s (the feed-health table of docs/feeds.md lists each with what to do). Every
error pickles with its attributes, so parse processes raise them across the pool as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Protocol, get_args

FetchErrorKind = Literal[
    "timeout", "too_large", "not_a_feed", "http_4xx", "http_5xx", "gone", "rate_limited", "blocked_address",
    "dns", "tls", "connection", "too_many_redirects", "bad_redirect", "local_not_allowed",
]
"""Why a fetch failed (docs/feeds.md, "Feed health: error kinds")."""
ParseErrorKind = Literal["not_a_feed", "parse_error"]
"""Why fetched bytes gave no feed."""
FeedErrorKind = FetchErrorKind | ParseErrorKind | Literal["internal"]
"""What a feed's health records: a fetch or parse kind, or `internal` (a bug; the log has the traceback)."""

FETCH_ERROR_KINDS: frozenset[str] = frozenset(get_args(FetchErrorKind))
PARSE_ERROR_KINDS: frozenset[str] = frozenset(get_args(ParseErrorKind))


class Problem(Protocol):
    """A located problem that formats itself for a person (config.ConfigProblem, match.QueryProblem)."""

    def format(self) -> str: ...


def _restore(cls: type[BaseException], args: tuple[Any, ...], state: dict[str, Any]) -> BaseException:
    error = cls.__new__(cls, *args)
    BaseException.__init__(error, *args)
    error.__dict__.update(state)
    return error


class MonitorError(Exception):
    """Base class of every error this package raises on purpose."""

    def __reduce__(self) -> tuple[Any, ...]:
        # Subclasses take keyword-only and extra arguments that Exception's own pickling would drop:
        # rebuild from the message arguments and the attributes instead.
        return (_restore, (type(self), self.args, dict(self.__dict__)))


class ConfigurationError(MonitorError):
    """The configuration is invalid; `problems` holds every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(p.format() for p in self.problems))


class WatchlistCompileError(ConfigurationError):
    """Watchlists could not be compiled; `problems` lists every query problem found (match.QueryProblem)."""


class QuerySyntaxError(MonitorError):
    """A watchlist query does not parse; `column` is 1-based within the query text."""

    def __init__(self, message: str, column: int, hint: str | None = None) -> None:
        self.message = message
        self.column = column
        self.hint = hint
        super().__init__(f"{message} at column {column}")


class FetchError(MonitorError):
    """A feed could not be fetched; `kind` says why (`status` and `retry_after` when the server answered)."""

    status: int | None = None
    retry_after: float | None = None

    def __init__(self, kind: FetchErrorKind, message: str) -> None:
        self.kind: FetchErrorKind = kind
        self.message = message
        super().__init__(f"{kind}: {message}")


class FetchHTTPError(FetchError):
    """A fetch answered by an HTTP error status; carries the status and any Retry-After (seconds)."""

    def __init__(self, kind: FetchErrorKind, message: str, *, status: int, retry_after: float | None = None) -> None:
        super().__init__(kind, message)
        self.status = status
        self.retry_after = retry_after


class BlockedAddressError(FetchError, OSError):
    """A host resolved only to addresses the policy refuses.

    Also an OSError, so that aiohttp wraps it in its connector error, from which the fetcher unwraps it
    into a FetchError of kind `blocked_address` (this one).
    """

    def __init__(self, host: str, addresses: list[str]) -> None:
        self.host = host
        self.addresses = addresses
        shown = ", ".join(addresses) or "no address"
        super().__init__(
            "blocked_address",
            f"{host} resolves to {shown}, a loopback/private/link-local/reserved address that feeds may "
            "not reach; set fetch.allow_private_networks: true if this host is meant to be internal",
        )

    def __str__(self) -> str:
        return self.message


class ParseError(MonitorError):
    """Fetched bytes are not a usable feed."""

    def __init__(self, kind: ParseErrorKind, message: str) -> None:
        self.kind: ParseErrorKind = kind
        self.message = message
        super().__init__(f"{kind}: {message}")


class DeliveryError(MonitorError):
    """A delivery attempt failed; `permanent` says whether retrying can help."""

    def __init__(self, message: str, *, permanent: bool, retry_after: float | None = None) -> None:
        self.permanent = permanent
        self.retry_after = retry_after
        super().__init__(message)


class EndpointGone(DeliveryError):
    """410 Gone: the receiver asks us to stop; the endpoint should be disabled, not retried."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)


class StorageError(MonitorError):
    """The database cannot be used as asked (e.g. a second writer on SQLite)."""


class DatabaseUnavailable(StorageError):
    """The database server did not answer, refused the connection or dropped it mid-transaction.

    `connection_lost`: the session's connection itself was lost (not one statement refused on a live
    one), so whatever runs next on the database fails too.
    """

    def __init__(self, message: str, *, connection_lost: bool = False) -> None:
        self.connection_lost = connection_lost
        super().__init__(message)


class NoDatabase(StorageError):
    """A command that only reads found no database (or one without tables) where the configuration points."""

    def advice(self, config_dir: Path) -> str:
        """The message with where the path comes from and the commands that create the database."""
        return (
            f"{self} (database: in {config_dir / 'monitor.yaml'}); nothing has been collected there yet. "
            f"Create it with `monitor db upgrade --config {config_dir}`, or start collecting with "
            f"`monitor run --config {config_dir}`."
        )


class ServiceRunning(StorageError):
    """Another process holds the SQLite database's single-writer lock (a `monitor run` is running on it)."""


class BindRefused(MonitorError):
    """The dashboard would be reachable from the network without credentials."""


class AccountError(MonitorError):
    """A dashboard account change was refused: unknown or taken name, bad role or password, the last admin."""


class EditRefused(MonitorError):
    """A configuration edit was not written; `problems` holds what the full check found, if that was why."""

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)


class StaleFile(EditRefused):
    """The file changed on disk since the editor opened it: saving would overwrite someone else's edit."""
