"""`monitor output-feeds`: the Atom and JSON Feed address of every watchlist and subscriber (README, "Output feeds")."""

from __future__ import annotations

import json
from collections.abc import Callable

from monitor.commands.tables import render_table
from monitor.config.models import Config
from monitor.store.db import Database
from monitor.usecases.output_feeds import feeds_secret, output_feeds


def print_output_feeds(config: Config, db: Database, *, as_json: bool, out: Callable[[str], None]) -> None:
    """One line per output feed: its scope, its id and its two URLs (the key is made on first use)."""
    base_url = config.settings.base_url
    feeds = output_feeds(config, feeds_secret(db))
    if as_json:
        for feed in feeds:
            out(json.dumps({"scope": feed.kind, "id": feed.id, "title": feed.title,
                            "atom": feed.url(base_url, "atom"), "json": feed.url(base_url, "json")}))
        return
    out(render_table(["scope", "id", "atom", "json feed"],
                     [[f.kind, f.id, f.url(base_url, "atom"), f.url(base_url, "json")] for f in feeds]))
    out("\nEach URL is its own authorisation (no sign-in): share it only with whoever may read those matches.")
