"""Shared fixtures: the MENA watchlist of DESIGN §3.2 and the 2024-11-19 story of DESIGN §1."""

from __future__ import annotations

import pytest

from monitor.config.models import WatchlistConfig

MENA = {
    "name": "MENA security",
    "actors": [
        {"id": "ibrahim-kalin", "name": "Ibrahim Kalin", "kind": "person",
         "aliases": ["İbrahim Kalın", "Kalin", "Turkish intelligence chief"]},
        {"id": "mit", "name": "National Intelligence Organization (MIT)", "kind": "organization",
         "aliases": ["National Intelligence Organization"], "exact_case": ["MIT", "MİT"],
         "exclude": '"Massachusetts Institute of Technology" OR Cambridge'},
        {"id": "ronen-bar", "name": "Ronen Bar", "kind": "person"},
        {"id": "shin-bet", "name": "Shin Bet", "kind": "organization",
         "aliases": ["Israel Security Agency", "Shabak"]},
        {"id": "netanyahu", "name": "Benjamin Netanyahu", "kind": "person", "aliases": ["Netanyahu"]},
        {"id": "david-barnea", "name": "David Barnea", "kind": "person", "aliases": ["Barnea"]},
        {"id": "mossad", "name": "Mossad", "kind": "organization"},
        {"id": "qatar", "name": "Qatar", "kind": "place"},
        {"id": "turkey", "name": "Turkey", "kind": "place", "aliases": ["Türkiye", "Turkiye"]},
    ],
    "topics": [
        {"id": "hostage-talks", "name": "Hostage and prisoner-exchange talks",
         "query": '("prisoner exchange" OR "hostage deal" OR captives OR hostages) '
                  'AND (negotiat* OR mediat* OR talks)'},
        {"id": "turkey-israel-intel", "name": "Turkish-Israeli intelligence contacts",
         "query": "@ibrahim-kalin NEAR/25 (@shin-bet OR @ronen-bar)"},
    ],
}

@pytest.fixture
def mena() -> dict[str, WatchlistConfig]:
    """The DESIGN §3.2 watchlist, as the config loader would produce it."""
    return {"mena-security": WatchlistConfig.model_validate({"id": "mena-security", **MENA})}
