"""While a feed is pushed, its polls are the safety net: websub.poll_factor times slower (a real poll)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from monitor.store.rows import Feed
from tests.refresh.test_sitemap import NOW, Setup
from tests.support.feedserver import Route, running_feed_server

RSS = (b"<?xml version='1.0'?><rss version='2.0' xmlns:atom='http://www.w3.org/2005/Atom'><channel><title>W</title>"
       b"<atom:link rel='hub' href='https://hub.test/'/><item><title>Story</title><link>https://w.test/1</link>"
       b"</item></channel></rss>")


def test_a_pushed_feed_is_polled_four_times_slower_and_normally_once_push_lapsed(tmp_path: Path) -> None:
    with running_feed_server() as server:
        server.routes["/w.xml"] = Route(RSS)
        setup = Setup(tmp_path, f"sqlite:///{tmp_path / 'm.db'}", {"wire": server.url("/w.xml")})
        try:
            setup.poll()
            with setup.db.sessions() as session:
                row = session.scalars(select(Feed)).one()
                assert (row.hub_urls, row.hub_topic) == (["https://hub.test/"], server.url("/w.xml"))
                assert row.next_poll_at == NOW + timedelta(minutes=15), "not pushed: the normal interval"
            with setup.db.transaction() as session:
                session.execute(update(Feed).values(push_until=NOW + timedelta(hours=6)))
            setup.poll()
            with setup.db.sessions() as session:
                assert session.scalars(select(Feed.next_poll_at)).one() == NOW + timedelta(hours=1)
            with setup.db.transaction() as session:
                session.execute(update(Feed).values(push_until=NOW))  # lapsed (the tick clears it)
            setup.poll()
            with setup.db.sessions() as session:
                assert session.scalars(select(Feed.next_poll_at)).one() == NOW + timedelta(minutes=15)
        finally:
            setup.close()
