"""Unsubscribe links over HTTP: GET confirms and changes nothing, POST (RFC 8058 one-click) opts out, bad links are refused."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from monitor.notify.channels.email_message import unsubscribe_url
from monitor.store.db import Database
from monitor.store.rows import Delivery, RoutedItem, StoredSecret
from monitor.store.subscriptions import Subscriptions
from tests.web.conftest import authed_client
from tests.web.seed import BOTH_BACKENDS, Seeded

pytestmark = BOTH_BACKENDS
ONE_CLICK = {"content-type": "application/x-www-form-urlencoded"}


def link_path(seeded: Seeded, db: Database, subscriber_id: str) -> str:
    """The path of the unsubscribe link the subscriber's emails carry."""
    subscriber = next(s for s in seeded.config.subscribers if s.id == subscriber_id)
    url = unsubscribe_url(subscriber, seeded.config.settings.email, seeded.config.settings.base_url,
                          Subscriptions(db).unsubscribe_secret())
    return urlsplit(url).path


def waiting_items(db: Database, subscriber_id: str) -> int:
    """Items routed to the subscriber and not yet in a delivery."""
    with db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(RoutedItem).where(
            RoutedItem.subscriber_id == subscriber_id, RoutedItem.delivery_id.is_(None))) or 0)


def statuses(db: Database, subscriber_id: str) -> dict[str, int]:
    """The subscriber's deliveries counted by status."""
    with db.sessions() as session:
        rows = session.execute(select(Delivery.status, func.count()).where(Delivery.subscriber_id == subscriber_id)
                               .group_by(Delivery.status)).all()
    return {status: int(count) for status, count in rows}


def test_the_link_opens_a_confirm_page_and_changes_nothing(seeded: Seeded, db: Database, client: TestClient) -> None:
    path = link_path(seeded, db, "energy-analyst")
    before = (waiting_items(db, "energy-analyst"), statuses(db, "energy-analyst"))
    assert before[0] > 0, "the demo leaves matches waiting for the energy analyst's digest"
    for _ in range(2):  # a mail scanner, then the person
        page = client.get(path)
        assert page.status_code == 200
        assert "energy-analyst@demo.example" in page.text and ">Unsubscribe</button>" in page.text
        assert 'name="List-Unsubscribe" value="One-Click"' in page.text
        assert page.headers["cache-control"] == "no-store" and page.headers["referrer-policy"] == "no-referrer"
        assert "Overview" not in page.text, "a page for recipients, not the dashboard's navigation"
    assert Subscriptions(db).opt_out("energy-analyst") is None
    assert (waiting_items(db, "energy-analyst"), statuses(db, "energy-analyst")) == before


def test_one_click_post_unsubscribes_without_sign_in_or_cookie(seeded: Seeded, db: Database) -> None:
    """The mail provider's POST carries no credentials and no CSRF cookie: the signed token is the authorisation."""
    path = link_path(seeded, db, "energy-analyst")
    waiting = waiting_items(db, "energy-analyst")
    with authed_client(seeded, db, token="dashboard-token") as client:
        assert client.get("/feeds", follow_redirects=False).status_code == 303, "the dashboard itself needs sign-in"
        done = client.post(path, content="List-Unsubscribe=One-Click", headers=ONE_CLICK, follow_redirects=False)
        assert done.status_code == 200, "answered directly: RFC 8058 senders must not redirect"
        assert "You are unsubscribed" in done.text and "energy-analyst@demo.example" in done.text
        opt_out = Subscriptions(db).opt_out("energy-analyst")
        assert opt_out is not None and opt_out.address == "energy-analyst@demo.example"
        # What was waiting is cancelled, visibly: one cancelled delivery holds the items, with the reason.
        assert waiting_items(db, "energy-analyst") == 0
        with db.sessions() as session:
            [cancelled] = session.scalars(select(Delivery).where(Delivery.subscriber_id == "energy-analyst",
                                                                 Delivery.status == "cancelled")).all()
            held = session.scalar(select(func.count()).select_from(RoutedItem)
                                  .where(RoutedItem.delivery_id == cancelled.id))
        assert held == waiting and "energy-analyst@demo.example unsubscribed" in (cancelled.last_error or "")

        again = client.post(path, content="List-Unsubscribe=One-Click", headers=ONE_CLICK)
        assert again.status_code == 200 and "You are unsubscribed" in again.text
        assert Subscriptions(db).opt_out("energy-analyst") == opt_out, "a second click keeps the first opt-out"
        assert statuses(db, "energy-analyst")["cancelled"] == 1
        page = client.get(path)
        assert page.status_code == 200 and "You are unsubscribed" in page.text and "<button" not in page.text
    assert Subscriptions(db).opt_out("mena-desk") is None, "nobody else is touched"


def test_multipart_one_click_body_is_accepted(seeded: Seeded, db: Database, client: TestClient) -> None:
    """RFC 8058 says the POST SHOULD be multipart/form-data; some providers send it so."""
    response = client.post(link_path(seeded, db, "mena-desk"), files={"List-Unsubscribe": (None, "One-Click")})
    assert response.status_code == 200 and "You are unsubscribed" in response.text
    assert Subscriptions(db).opt_out("mena-desk") is not None


def test_a_tampered_or_foreign_token_is_refused_with_a_clear_page(seeded: Seeded, db: Database) -> None:
    path = link_path(seeded, db, "mena-desk")
    token = path.rsplit("/", 1)[1]
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    other = link_path(seeded, db, "energy-analyst").rsplit("/", 1)[1]
    bad = [
        f"/unsubscribe/mena-desk/{flipped}",  # one character changed
        f"/unsubscribe/mena-desk/{token[:-3]}",  # cut short by a mail program
        f"/unsubscribe/mena-desk/{other}",  # another subscriber's token
        f"/unsubscribe/energy-analyst/{token}",  # this token on another subscriber
        f"/unsubscribe/nobody/{token}",  # no such subscriber
        "/unsubscribe/mena-desk/mena-desk",  # made up from the id
    ]
    with authed_client(seeded, db, token="dashboard-token") as client:
        for url in bad:
            for method in ("GET", "POST"):
                response = client.request(method, url, content="List-Unsubscribe=One-Click", headers=ONE_CLICK,
                                          follow_redirects=False)
                assert response.status_code == 403, (method, url)
                assert "This unsubscribe link is not valid" in response.text and "Nothing was changed" in response.text
                assert "<button" not in response.text
        incomplete = client.post("/unsubscribe/mena-desk", follow_redirects=False)
        assert incomplete.status_code == 404 and "This unsubscribe link is incomplete" in incomplete.text
        assert client.get("/unsubscribe/mena-desk").status_code == 404
    assert Subscriptions(db).opted_out() == {}


def test_before_any_email_no_link_is_valid(seeded: Seeded, db: Database, client: TestClient) -> None:
    """The key is made when the first email is built; until then no token verifies, and a GET does not make one."""
    with db.transaction() as session:
        session.query(StoredSecret).delete()
    response = client.get("/unsubscribe/mena-desk/AAAAAAAAAAAAAAAAAAAAAA")
    assert response.status_code == 403
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(StoredSecret)) == 0
