"""Rendering: golden digest HTML/text, snippet marks, local times, subjects, template overrides."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import jinja2.exceptions
import pytest

from monitor.config.models import EmailSettings
from monitor.notify.render import (
    PACKAGED_TEMPLATES,
    format_local_time,
    group_items,
    mark_html,
    mark_text,
    plain_text,
    render_email_html,
    render_email_text,
    safe_url,
    subject_line,
    template_environment,
)

UNSUB = "https://monitor.example.org/unsubscribe/mena-desk"
BASE = "https://monitor.example.org"


def test_digest_html_golden(digest_content, subscriber, email_settings, golden) -> None:
    html = render_email_html(digest_content, subscriber, email_settings, unsubscribe_url=UNSUB, base_url=BASE)
    golden("digest.html", html)


def test_digest_text_golden(digest_content, subscriber, email_settings, golden) -> None:
    text = render_email_text(digest_content, subscriber, email_settings, unsubscribe_url=UNSUB, base_url=BASE)
    golden("digest.txt", text)


def test_digest_html_content(digest_content, subscriber, email_settings) -> None:
    html = render_email_html(digest_content, subscriber, email_settings, unsubscribe_url=UNSUB)
    # CSS is inlined (mail clients drop <style>), snippets marked, text escaped.
    assert "<style" not in html
    assert 'style="' in html
    assert "<mark" in html and "İbrahim Kalın</mark>" in html
    assert "Qatar &amp; Egypt sign LNG deal &lt;2025&gt;" in html
    assert "<b>not</b>" not in html
    # 06:00 UTC is 09:00 in Istanbul.
    assert "19 Nov 2024, 09:00 +03" in html
    assert "Also reported by Middle East Eye, Times of Israel" in html
    assert 'href="https://news.example.org/a1"' in html
    assert f'href="{UNSUB}"' in html
    # Grouped by watchlist, then entry: MENA security before Energy; the two entries in order.
    assert html.index("MENA security") < html.index("Ibrahim Kalin") < html.index("Hostage / prisoner")
    assert html.index("Hostage / prisoner") < html.index(">Energy<")


def test_digest_text_content(digest_content, subscriber, email_settings) -> None:
    text = render_email_text(digest_content, subscriber, email_settings, unsubscribe_url=UNSUB)
    assert "*İbrahim Kalın*" in text
    assert "Qatar & Egypt sign LNG deal <2025>" in text  # plain text is not HTML-escaped
    assert "&amp;" not in text
    assert f"Unsubscribe: {UNSUB}" in text
    assert "== MENA security ==" in text and "-- Ibrahim Kalin (actor)" in text


def test_grouping_shows_an_article_once_per_watchlist(digest_content) -> None:
    groups = group_items(digest_content)
    assert [g.id for g in groups] == ["mena-security", "energy"]
    entries = groups[0].entries
    assert [e.id for e in entries] == ["ibrahim-kalin", "hostage-talks"]
    assert [i.title[:7] for i in entries[0].items] == ["Turkish"]
    assert entries[0].items[0].also_matched == ("Hostage / prisoner exchange talks",)
    assert [i.title[:7] for i in entries[1].items] == ["Egypt, "]


def test_mark_html_escapes_before_marking() -> None:
    out = mark_html('a "b" & [[c <d>]] [[e]]] [[open')
    assert str(out) == 'a &#34;b&#34; &amp; <mark>c </mark> <mark>e</mark>] [[open'
    assert mark_text("x [[y]] z [[w]]") == "x *y* z *w*"


def test_plain_text_strips_markup_and_keeps_characters() -> None:
    assert plain_text("a < b & c") == "a < b & c"
    assert plain_text("safe<script>alert(1)</script> description") == "safe description"
    assert plain_text("&lt;script&gt;alert(1)&lt;/script&gt;ok") == "ok"
    assert "<" not in plain_text("<img src=x onerror=alert(1)>hi")


def test_safe_url() -> None:
    assert safe_url("https://example.org/a?b=1") == "https://example.org/a?b=1"
    assert safe_url(" javascript:alert(1)") == ""
    assert safe_url("JaVaScRiPt:alert(1)") == ""
    assert safe_url("data:text/html,<script>") == ""
    assert safe_url("//evil.example") == ""


def test_local_time() -> None:
    when = datetime(2024, 7, 1, 23, 30, tzinfo=UTC)
    assert format_local_time(when, "America/New_York") == "1 Jul 2024, 19:30 EDT"
    assert format_local_time(when, "Asia/Kolkata") == "2 Jul 2024, 05:00 IST"


def test_subjects(digest_content, subscriber) -> None:
    # A digest (or several stories): the count and the top headline.
    assert subject_line(digest_content, subscriber) == (
        "[monitor] 3 new articles: Turkish intelligence chief Kalın meets Shin Bet head on Gaza captives — MENA security, Energy")
    alert = dataclasses.replace(digest_content, kind="alert", items=digest_content.items[1:2])
    assert subject_line(alert, subscriber) == (
        "[monitor] Alert: Egypt, not Turkiye, to mediate hostage exchange talks — MENA security")
    long = dataclasses.replace(alert, items=(dataclasses.replace(
        alert.items[0], article=dataclasses.replace(alert.items[0].article, title="word " * 40)),))
    subject = subject_line(long, subscriber)
    assert subject.endswith("… — MENA security") and len(subject) < 130
    several = dataclasses.replace(digest_content, kind="alert")
    assert subject_line(several, subscriber).startswith("[monitor] Alert: 3 new articles: Turkish intelligence chief")
    empty = dataclasses.replace(digest_content, items=())
    assert subject_line(empty, subscriber) == "[monitor] No new articles — MENA security, Energy"
    one = dataclasses.replace(digest_content, items=digest_content.items[2:])
    assert subject_line(one, subscriber) == "[monitor] 1 new article: Qatar & Egypt sign LNG deal <2025> — Energy"
    overflow = dataclasses.replace(digest_content, overflow=True, more_items=2)
    assert subject_line(overflow, subscriber).startswith("[monitor] 5 more alerts: Turkish intelligence chief")


def test_every_matched_entry_with_its_marked_words(digest_content, subscriber, email_settings) -> None:
    text = render_email_text(digest_content, subscriber, email_settings, unsubscribe_url=UNSUB)
    html = render_email_html(digest_content, subscriber, email_settings, unsubscribe_url=UNSUB)
    # The first story matched two entries: both named, each with the words that matched it.
    assert "Matched 2 entries:" in text
    assert "- MENA security > Hostage / prisoner exchange talks (topic)" in text
    assert "*captives* in Gaza & a possible *exchange*" in text
    assert "Also matched" not in text
    assert "captives</mark>" in html and "İbrahim Kalın</mark>" in html
    # The story shows once in the delivery.
    assert text.count("Turkish intelligence chief Kalın meets") == 1


def test_items_link_to_their_dashboard_page_when_base_url_is_set(digest_content, subscriber, email_settings) -> None:
    text = render_email_text(digest_content, subscriber, email_settings, unsubscribe_url=UNSUB, base_url=BASE + "/")
    html = render_email_html(digest_content, subscriber, email_settings, unsubscribe_url=UNSUB, base_url=BASE)
    for article_id in ("a1", "a2", "a3"):
        assert f"Why it matched, in monitor: {BASE}/articles/{article_id}\n" in text
        assert f'href="{BASE}/articles/{article_id}"' in html
    bare = render_email_text(digest_content, subscriber, email_settings, unsubscribe_url=UNSUB)
    assert "/articles/" not in bare and "Why it matched" not in bare
    unsafe = render_email_html(digest_content, subscriber, email_settings, base_url="javascript:alert(1)//")
    assert "/articles/" not in unsafe


def test_empty_digest_renders(digest_content, subscriber, email_settings) -> None:
    empty = dataclasses.replace(digest_content, items=())
    assert "Nothing new matched" in render_email_html(empty, subscriber, email_settings)
    assert "Nothing new matched" in render_email_text(empty, subscriber, email_settings)


def test_operator_templates_override_packaged(tmp_path: Path, digest_content, subscriber) -> None:
    (tmp_path / "email").mkdir()
    (tmp_path / "email" / "digest.txt").write_text("{{ count }} for {{ subscriber_name }}\n")
    settings = EmailSettings(templates_dir=tmp_path)
    assert render_email_text(digest_content, subscriber, settings) == "3 for MENA desk\n"
    # Files the operator did not provide still come from the package.
    assert "<mark" in render_email_html(digest_content, subscriber, settings)


def test_templates_are_sandboxed(tmp_path: Path, digest_content, subscriber) -> None:
    (tmp_path / "digest.txt").write_text("{{ groups.__class__.__mro__ }}\n")
    with pytest.raises(jinja2.exceptions.SecurityError):
        # Reaching through dunder attributes is what the sandbox forbids.
        template_environment(tmp_path).from_string("{{ ''.__class__.__mro__[1].__subclasses__() }}").render()
    with pytest.raises(jinja2.exceptions.SecurityError):
        render_email_text(digest_content, subscriber, EmailSettings(templates_dir=tmp_path))


def test_packaged_templates_exist() -> None:
    for name in ("layout.html", "layout.txt", "base.css", "digest.html", "digest.txt", "spike.html", "spike.txt",
                 "feed_health.html", "feed_health.txt"):
        assert (PACKAGED_TEMPLATES / name).is_file()
