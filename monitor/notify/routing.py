"""Who gets a match: subscribers follow whole watchlists or single `watchlist/entry` entries.

The routing of a refresh (these followers, less those a near-duplicate already reached and those who
opted out) is decided by `route` in monitor/refresh/decide.py; the rows are stored by the outbox.
"""

from __future__ import annotations

from collections.abc import Sequence

from monitor.config.models import SubscriberConfig


class Router:
    """Maps a matched (watchlist, entry) to the ids of the subscribers that follow it."""

    def __init__(self, subscribers: Sequence[SubscriberConfig]) -> None:
        self._by_watchlist: dict[str, list[str]] = {}
        self._by_entry: dict[tuple[str, str], list[str]] = {}
        for subscriber in subscribers:
            for followed in subscriber.watchlists:
                watchlist, _, entry = followed.partition("/")
                if entry:
                    self._by_entry.setdefault((watchlist, entry), []).append(subscriber.id)
                else:
                    self._by_watchlist.setdefault(watchlist, []).append(subscriber.id)

    def subscribers_for(self, watchlist: str, entry_id: str) -> list[str]:
        """Subscriber ids following this entry, each once."""
        found = self._by_watchlist.get(watchlist, []) + self._by_entry.get((watchlist, entry_id), [])
        return list(dict.fromkeys(found))
