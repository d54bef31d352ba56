"""WebSub's rules without a service: discovery, signatures, challenges, callbacks, the slower polling."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.config.models import Config, FeedDefaults, Settings, WebSubSettings
from monitor.fetch import FetchResult
from monitor.fetch.websub import challenge_ok, link_header_targets, sign, signature_problem
from monitor.parse import parse_feed
from monitor.refresh.decide import poll_intervals, websub_target
from monitor.refresh.websub import callback_base, hubs_to_keep

SECRET = "a per-subscription secret"
BODY = b"<rss version='2.0'><channel><title>t</title></channel></rss>"


@pytest.mark.parametrize("method", ["sha1", "sha256", "sha384", "sha512"])
def test_each_recognised_method_verifies_and_a_wrong_key_does_not(method: str) -> None:
    good = f"{method}=" + hmac.new(SECRET.encode(), BODY, getattr(hashlib, method)).hexdigest()
    assert signature_problem(good, BODY, SECRET) is None
    assert signature_problem(good.upper().replace(method.upper(), method), BODY, SECRET) is None  # hex case
    assert signature_problem(sign(BODY, "another secret", method), BODY, SECRET) == "mismatch"
    assert signature_problem(good, BODY + b" ", SECRET) == "mismatch", "the signature covers every byte"


@pytest.mark.parametrize(("header", "reason"), [
    (None, "missing"), ("", "missing"), ("sha256", "malformed"), ("sha256=", "malformed"),
    ("md5=" + "0" * 32, "unknown_method"), ("sha256=zz", "mismatch"),
])
def test_a_missing_or_malformed_signature_is_named(header: str | None, reason: str) -> None:
    assert signature_problem(header, BODY, SECRET) == reason


def test_only_short_challenges_of_the_allowed_characters_are_echoed() -> None:
    assert challenge_ok("aZ09-._+=/")
    for bad in (None, "", "a" * 257, "<script>alert(1)</script>", "two words", "caf\u00e9"):
        assert not challenge_ok(bad)


def test_link_headers_give_hubs_and_self_resolved_against_the_feed() -> None:
    hubs, self_url = link_header_targets(
        ['<https://hub.one/>; rel="hub", </feed.xml>; rel="self"', "<https://hub.two/>; rel=hub",
         '<javascript:alert(1)>; rel="hub"', '<https://x.test/n>; rel="next"'],
        "https://x.test/rss",
    )
    assert hubs == ("https://hub.one/", "https://hub.two/") and self_url == "https://x.test/feed.xml"
    assert link_header_targets(['<https://h/>; rel="self hub"'], "https://x/") == (("https://h/",), "https://h/")


RSS = b"""<?xml version="1.0"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>
<title>Wire</title><atom:link href="https://hub.test/?a=1&amp;b=2" rel="hub"/>
<atom:link rel='self' href='/rss.xml' type='application/rss+xml'/><atom:link rel="hub" href="ftp://no/"/>
<item><title>x</title><link>https://x.test/1</link><atom:link rel="hub" href="https://planted.test/"/></item>
</channel></rss>"""


def test_the_feed_head_names_its_hub_and_self_and_an_entry_cannot_plant_one() -> None:
    feed = parse_feed(RSS, base_url="https://x.test/feed")
    assert feed.hubs == ("https://hub.test/?a=1&b=2",) and feed.self_url == "https://x.test/rss.xml"
    atom = parse_feed(b"<feed xmlns='http://www.w3.org/2005/Atom'><title>t</title><link rel='hub' href='https://h/'/>"
                      b"<entry><id>1</id><title>x</title></entry></feed>", base_url="https://x.test/atom")
    assert atom.hubs == ("https://h/",) and atom.self_url == ""
    json_feed = parse_feed(
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "j", "feed_url": "https://j.test/feed.json",'
        b' "hubs": [{"type": "rssCloud", "url": "https://cloud/"}, {"type": "WebSub", "url": "https://h/"}],'
        b' "items": []}', base_url="https://j.test/feed.json", content_type="application/feed+json")
    assert json_feed.hubs == ("https://h/",) and json_feed.self_url == "https://j.test/feed.json"
    assert parse_feed(BODY, base_url="https://x.test/").hubs == ()


def test_link_headers_win_over_the_document_and_the_feed_url_is_the_topic_without_self() -> None:
    feed = parse_feed(RSS, base_url="https://x.test/feed")
    result = FetchResult(
        requested_url="https://x.test/feed", final_url="https://x.test/feed", status=200, body=RSS, body_hash="h",
        content_type=None, etag=None, last_modified=None, retry_after=None, max_age=None, permanent_redirect=None,
        not_modified=False, unchanged=False, elapsed=0.0,
    )
    assert websub_target(result, feed) == (("https://hub.test/?a=1&b=2",), "https://x.test/rss.xml")
    headers = replace(result, hubs=("https://header-hub/", "https://hub.two/"), self_url="https://x.test/canonical")
    assert websub_target(headers, feed) == (("https://header-hub/", "https://hub.two/"), "https://x.test/canonical")
    assert websub_target(result, replace(feed, self_url="")) == (("https://hub.test/?a=1&b=2",), "https://x.test/feed")
    assert websub_target(result, replace(feed, hubs=())) == ((), None)


def test_a_pushed_feed_is_polled_poll_factor_times_slower() -> None:
    config = Config(directory=Path("."), feed_defaults=FeedDefaults(interval=timedelta(minutes=15),
                                                                      max_interval=timedelta(hours=6)),
                    settings=Settings(websub=WebSubSettings(poll_factor=4)))
    assert poll_intervals(config, None, pushed=True) == (timedelta(hours=1), timedelta(hours=24))
    assert poll_intervals(config, None) == (timedelta(minutes=15), timedelta(hours=6))


@pytest.mark.parametrize(("base_url", "allow_private", "expected"), [
    ("https://monitor.example.org", False, "https://monitor.example.org/websub/"),
    ("https://monitor.example.org/desk/", False, "https://monitor.example.org/desk/websub/"),
    ("http://127.0.0.1:8080", False, None),
    ("http://localhost:8080", False, None),
    ("http://10.1.2.3", False, None),
    ("http://[::1]:8080", False, None),
    ("http://127.0.0.1:8080", True, "http://127.0.0.1:8080/websub/"),
    ("ftp://monitor.example.org", True, None),
])
def test_callbacks_need_a_base_url_a_hub_can_reach(base_url: str, allow_private: bool, expected: str | None) -> None:
    assert callback_base(base_url, allow_private)[0] == expected


@pytest.mark.parametrize(("states", "kept"), [
    ({}, ["h1", "h2", "h3"]),
    ({"h1": "subscribed", "h2": "pending", "h3": "subscribed", "h4": "subscribed"}, ["h1", "h2", "h3"]),
    ({"h1": "denied"}, ["h1", "h2", "h3", "h4"]),
    ({"h1": "failed", "h3": "expired"}, ["h1", "h2", "h3", "h4", "h5"]),
    ({"h1": "denied", "h2": "failed", "h3": "denied", "h4": "failed", "h5": "denied"}, ["h1", "h2", "h3", "h4", "h5"]),
])
def test_hubs_are_kept_in_the_publishers_order_until_three_work(states: dict[str, str], kept: list[str]) -> None:
    assert hubs_to_keep(["h1", "h2", "h3", "h4", "h5"], states) == kept
    assert hubs_to_keep(["h1"], states) == ["h1"] and hubs_to_keep([], states) == []
