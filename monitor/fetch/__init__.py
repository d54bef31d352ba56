"""Fetch stage: HTTP fetching with limits, conditional GET, address policy, next-poll policy."""

from monitor.errors import FETCH_ERROR_KINDS, BlockedAddressError, FetchHTTPError
from monitor.fetch.addresses import (
    AddressPolicy,
    PolicyResolver,
    check_host,
    check_literal_host,
    is_blocked_address,
)
from monitor.fetch.fetcher import ACCEPT, Fetcher, is_local_url
from monitor.fetch.result import FetchResult, parse_max_age, parse_retry_after
from monitor.fetch.schedule import adaptive_interval, backoff_delay, next_poll_at

__all__ = [
    "ACCEPT",
    "FETCH_ERROR_KINDS",
    "AddressPolicy",
    "BlockedAddressError",
    "FetchHTTPError",
    "FetchResult",
    "Fetcher",
    "PolicyResolver",
    "adaptive_interval",
    "backoff_delay",
    "check_host",
    "check_literal_host",
    "is_blocked_address",
    "is_local_url",
    "next_poll_at",
    "parse_max_age",
    "parse_retry_after",
]
