"""The exception hierarchy users of the package can catch."""

from __future__ import annotations


class MonitorError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigurationError(MonitorError):
    """The configuration is invalid; `problems` holds every problem found."""

    def __init__(self, problems: list) -> None:  # list[ConfigProblem], untyped to avoid an import cycle
        self.problems = problems
        super().__init__("\n".join(p.format() for p in problems))


class QuerySyntaxError(MonitorError):
    """A watchlist query does not parse; `column` is 1-based within the query text."""

    def __init__(self, message: str, column: int, hint: str | None = None) -> None:
        self.message = message
        self.column = column
        self.hint = hint
        super().__init__(f"{message} at column {column}")


class FetchError(MonitorError):
    """A feed could not be fetched; `kind` is one of the documented error kinds."""

    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind
        self.message = message
        super().__init__(f"{kind}: {message}")


class ParseError(MonitorError):
    """Fetched bytes are not a usable feed."""

    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind
        self.message = message
        super().__init__(f"{kind}: {message}")


class DeliveryError(MonitorError):
    """A delivery attempt failed; `permanent` says whether retrying can help."""

    def __init__(self, message: str, *, permanent: bool, retry_after: float | None = None) -> None:
        self.permanent = permanent
        self.retry_after = retry_after
        super().__init__(message)


class StorageError(MonitorError):
    """The database cannot be used as asked (e.g. a second writer on SQLite)."""
