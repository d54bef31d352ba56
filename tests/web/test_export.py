"""The export renderers (monitor/web/export.py): CSV cells and the self-contained HTML report, from plain rows."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from monitor.web.export import CSV_COLUMNS, ExportRow, plain_snippet, to_csv, to_html

WHEN = datetime(2024, 11, 20, 23, 30, tzinfo=UTC)


def row(**changes: object) -> ExportRow:
    values: dict[str, object] = {
        "title": "Kalın meets Bar", "url": "https://news.test/a", "outlets": ["Levant Wire", "Anatolia Haber"],
        "published_at": WHEN, "language": "en", "entries": ["mena/kalin"], "snippet": "[[İbrahim Kalın]] met <b>Bar</b>",
    }
    values.update(changes)
    return ExportRow(**values)  # type: ignore[arg-type]


def test_csv_has_a_header_and_one_line_per_row_in_the_zone() -> None:
    text = to_csv([row(), row(title="second", url="javascript:alert(1)")], ZoneInfo("Europe/Istanbul"))
    lines = list(csv.reader(io.StringIO(text)))
    assert tuple(lines[0]) == CSV_COLUMNS and len(lines) == 3
    first = dict(zip(CSV_COLUMNS, lines[1], strict=True))
    assert first["published"] == "2024-11-21T02:30+03:00"
    assert first["outlets"] == "Levant Wire; Anatolia Haber" and first["entries"] == "mena/kalin"
    assert first["snippet"] == "İbrahim Kalın met <b>Bar</b>" and first["link"] == "https://news.test/a"
    assert lines[2][-1] == "", "only http(s) links are exported"


def test_csv_cells_that_look_like_formulas_are_defused() -> None:
    text = to_csv([row(title='=HYPERLINK("http://evil.test","x")', outlets=["+cmd"], snippet="-2+3", entries=["@x"])], UTC)
    line = next(iter(list(csv.reader(io.StringIO(text)))[1:]))
    assert line[1].startswith("'=") and line[2] == "'+cmd" and line[4] == "'@x" and line[5] == "'-2+3"


def test_the_html_report_is_escaped_self_contained_and_marks_the_words() -> None:
    hostile = row(title='<script>alert(1)</script>"', snippet='[[x]] <img src=x onerror=alert(1)>',
                  outlets=['<iframe src="https://evil.test">'], url="javascript:alert(1)")
    html = to_html([row(), hostile], title="Report <1>", description="Inbox, all stories", generated_at=WHEN, zone=UTC)
    assert "<title>Report &lt;1&gt;</title>" in html and "2 item(s) · generated 2024-11-20 23:30 UTC" in html
    assert "<mark>İbrahim Kalın</mark>" in html and '<a href="https://news.test/a"' in html
    assert "&lt;script&gt;" in html and "&lt;img" in html and "&lt;iframe" in html
    assert not re.search(r"<(script|img|iframe|link)\b|javascript:alert\(1\)\"|@import|url\(", html)
    assert 'href="javascript' not in html
    assert plain_snippet("a [[b]] c [[d e]]") == "a b c d e"
