"""Full text (`full_text: true`): a new or changed entry's summary replaced by its linked page's main text."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace as dc_replace

from monitor.errors import FetchError
from monitor.fetch import Fetcher
from monitor.model import Article
from monitor.parse.fulltext import extract_main_text, needs_full_text, with_full_text
from monitor.refresh.parse_pool import Prepared
from monitor.store.articles import stored_content_hashes
from monitor.store.db import Database

log = logging.getLogger("monitor.pipeline")

MAX_FULL_TEXT_PAGES = 25
"""Linked pages fetched per feed poll at most (`full_text: true`); the rest keep their summary."""


async def add_full_text(db: Database, fetcher: Fetcher, prepared: Prepared) -> Prepared:
    """Replace summaries of new or changed entries by their linked page's main text."""
    parsed = prepared.feed
    stored = await asyncio.to_thread(stored_content_hashes, db, [a.id for a in parsed.articles])
    wanted = [
        a for a in parsed.articles if stored.get(a.id) != a.content_hash and needs_full_text(a)
    ][:MAX_FULL_TEXT_PAGES]

    async def page(article: Article) -> Article:
        try:
            # The same Fetcher: same deadline, size cap, redirect bound and address policy as feeds.
            fetched = await fetcher.fetch(article.url)
        except FetchError as exc:
            log.info("full_text_failed url=%s error_kind=%s message=%r", article.url, exc.kind, exc.message)
            return article
        if fetched.body is None:
            return article
        text = await asyncio.to_thread(
            extract_main_text, fetched.body, url=fetched.final_url, content_type=fetched.content_type
        )
        return with_full_text(article, text) if text else article

    enriched = {a.id: a for a in await asyncio.gather(*(page(a) for a in wanted))}
    # Fingerprints describe the feed's text; an enriched article's is computed again when stored.
    return Prepared(
        dc_replace(parsed, articles=tuple(enriched.get(a.id, a) for a in parsed.articles)),
        {i: fp for i, fp in prepared.fingerprints.items() if i not in enriched},
    )
