"""The parse stage: fetched bytes -> sanitised Articles (DESIGN §2 step 3)."""

from monitor.parse.discovery import find_feed_links
from monitor.parse.document import parse_document
from monitor.parse.feed import parse_feed
from monitor.parse.urls import canonical_url

__all__ = [
    "canonical_url",
    "find_feed_links",
    "parse_document",
    "parse_feed",
]
