"""Feed autodiscovery: when a feed URL returns an HTML page, tell the user which feed links it offers."""

from __future__ import annotations

from html.parser import HTMLParser

from monitor.parse.urls import canonical_url

_FEED_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/feed+json"}
)
# Autodiscovery links live in <head>; a page without one need not be read to the end.
_SCAN_LIMIT = 512 * 1024


class _LinkFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("link", "a"):
            return
        values = {k: (v or "") for k, v in attrs}
        rels = values.get("rel", "").lower().split()
        media = values.get("type", "").split(";", 1)[0].strip().lower()
        if "alternate" in rels and media in _FEED_TYPES and values.get("href"):
            self.links.append(values["href"])


def find_feed_links(page: bytes, base_url: str) -> list[str]:
    """Return the absolute URLs of the feeds an HTML page advertises with <link rel="alternate">."""
    finder = _LinkFinder()
    try:
        finder.feed(page[:_SCAN_LIMIT].decode("utf-8", errors="replace"))
        finder.close()
    except (AssertionError, ValueError):
        pass
    found: list[str] = []
    for href in finder.links:
        url = canonical_url(href, base_url)
        if url and url not in found:
            found.append(url)
    return found


def html_not_a_feed_message(page: bytes, base_url: str) -> str:
    """Return the not_a_feed message for an HTML page, naming the feeds it links to when it has any."""
    links = find_feed_links(page, base_url)
    if links:
        return (
            "the URL returned an HTML page, not RSS/Atom; use the page's feed link "
            f"(<link rel=alternate> found: {', '.join(links[:5])})"
        )
    return (
        "the URL returned an HTML page, not RSS/Atom, and the page advertises no feed "
        "(no <link rel=alternate type=application/rss+xml or atom+xml>); find the site's feed URL"
    )
