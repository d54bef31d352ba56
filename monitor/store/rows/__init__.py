"""SQLAlchemy 2 models of every table, imported from here (`from monitor.store.rows import Feed`).

Each group of tables has its module: `feeds` (feeds, WebSub, service facts), `articles` (articles,
sightings, cluster keys, matches, the search index), `delivery` (the outbox, routed items, subscriber
state, snoozes, spike and feed-health alerts), `accounts` (users, sessions, inbox state); `base` holds
the declarative base and the UTC column type. Importing this package registers every table on
`Base.metadata`, which the migrations compare against.
"""

from monitor.store.rows.accounts import InboxState, UserRow, WebSessionRow
from monitor.store.rows.articles import (
    NOT_IN_METADATA,
    ArticleRow,
    ClusterKey,
    MatchRow,
    SearchPending,
    SearchTerms,
    Sighting,
    in_metadata,
)
from monitor.store.rows.base import Base, UTCDateTime, utcnow
from monitor.store.rows.delivery import (
    Delivery,
    FeedHealthAlertRow,
    FeedHealthStateRow,
    RoutedItem,
    Snooze,
    SpikeAlertRow,
    SpikeStateRow,
    StoredSecret,
    SubscriberState,
)
from monitor.store.rows.feeds import Feed, ServiceState, WebSubPush, WebSubSubscription

__all__ = [
    "NOT_IN_METADATA",
    "ArticleRow",
    "Base",
    "ClusterKey",
    "Delivery",
    "Feed",
    "FeedHealthAlertRow",
    "FeedHealthStateRow",
    "InboxState",
    "MatchRow",
    "RoutedItem",
    "SearchPending",
    "SearchTerms",
    "ServiceState",
    "Sighting",
    "Snooze",
    "SpikeAlertRow",
    "SpikeStateRow",
    "StoredSecret",
    "SubscriberState",
    "UTCDateTime",
    "UserRow",
    "WebSessionRow",
    "WebSubPush",
    "WebSubSubscription",
    "in_metadata",
    "utcnow",
]
