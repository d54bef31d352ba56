"""What the matcher takes (a Document) and returns (Matches with their explanation)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Field = Literal["title", "body", "author", "url", "source"]


@dataclass(frozen=True, slots=True)
class Document:
    """The text of one article as the matcher sees it; it knows nothing of feeds, HTTP or SQL."""

    title: str = ""
    body: str = ""
    author: str = ""
    url: str = ""
    source: str = ""
    language: str | None = None
    tags: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class Highlight:
    """A span of the original (unfolded) text of one field that made a match true."""

    field: str
    start: int
    end: int
    text: str

    def to_json(self) -> dict[str, object]:
        """The highlight as in the JSON of DESIGN §4/§5."""
        return {"field": self.field, "start": self.start, "end": self.end, "text": self.text}


@dataclass(frozen=True, slots=True)
class Match:
    """One watchlist entry (actor or topic) that matched a document, with why."""

    watchlist: str
    kind: Literal["actor", "topic"]
    id: str
    name: str
    highlights: tuple[Highlight, ...]
    snippet: str
    more_highlights: int = 0  # highlights found beyond those kept (matcher.MAX_HIGHLIGHTS_PER_FIELD per field)

    @property
    def entry_key(self) -> str:
        """`watchlist/entry`, the key subscribers use to follow a single entry."""
        return f"{self.watchlist}/{self.id}"

    def to_json(self) -> dict[str, object]:
        """The match as in the JSON of DESIGN §4/§5."""
        return {
            "watchlist": self.watchlist,
            "kind": self.kind,
            "id": self.id,
            "name": self.name,
            "highlights": [h.to_json() for h in self.highlights],
            "snippet": self.snippet,
        }
