"""What an ad-hoc query highlights in a text: the shared check of the spelling and compound tables."""

from __future__ import annotations

from monitor.match import compile_adhoc
from monitor.model import Document


def highlighted(query: str, text: str) -> tuple[str, ...] | None:
    """The surface forms an ad-hoc query highlights in `text` (as the body), None when it does not match."""
    match = compile_adhoc(query).match(Document(body=text))
    return None if match is None else tuple(h.text for h in match.highlights)
