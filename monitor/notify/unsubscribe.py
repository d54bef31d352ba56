"""Unsubscribe links: an HMAC of the subscriber and their address, so a link cannot be made up from an id."""

from __future__ import annotations

import base64
import hashlib
import hmac

TOKEN_BYTES = 16
"""128 bits of the HMAC-SHA256: unguessable, and short enough for a link (22 characters)."""


def unsubscribe_token(secret: bytes, subscriber_id: str, address: str) -> str:
    """The token of one subscriber at one address (a changed address gets a new token)."""
    # The NUL separators keep ("a", "b\0c") and ("a\0b", "c") apart; the address is compared as
    # mail systems do, case-insensitively.
    message = b"\0".join([b"monitor-unsubscribe-v1", subscriber_id.encode(), address.strip().lower().encode()])
    digest = hmac.new(secret, message, hashlib.sha256).digest()[:TOKEN_BYTES]
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def token_valid(secret: bytes, subscriber_id: str, address: str, token: str) -> bool:
    """True when `token` is the one we made for this subscriber and address (compared in constant time)."""
    expected = unsubscribe_token(secret, subscriber_id, address)
    return hmac.compare_digest(expected.encode("ascii"), token.encode("utf-8", "replace"))
