"""Exports for reports: plain rows (title, outlets, date, entries, snippet, link) as CSV or a self-contained HTML file.

Takes plain rows, not store rows, so any list view (the inbox, a search) exports the same way. The HTML report
has its CSS inline and loads nothing (no script, image, font or stylesheet from anywhere), so it can be mailed,
archived or pasted into a briefing as it is; it prints to PDF from any browser (print styles included).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from markupsafe import escape
from starlette.responses import Response

from monitor.parse.urls import http_link
from monitor.web.render import marked_snippet

_MARKS = re.compile(r"\[\[(.+?)\]\]", re.S)
# A cell a spreadsheet would run as a formula (CSV injection): prefixed with an apostrophe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CSV_COLUMNS = ("published", "title", "outlets", "language", "entries", "snippet", "link")
# What the report's response may load: nothing but its own inline style.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"


@dataclass(frozen=True, slots=True)
class ExportRow:
    """One line of an export: a story or an article as a report shows it."""

    title: str
    url: str | None
    outlets: Sequence[str]
    published_at: datetime
    language: str
    entries: Sequence[str]  # "watchlist/entry (name)" or any label
    snippet: str  # matched words between [[ and ]]


def plain_snippet(snippet: str) -> str:
    """A snippet without its [[marks]]."""
    return _MARKS.sub(lambda m: m.group(1), snippet)


def _cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def to_csv(rows: Iterable[ExportRow], zone: tzinfo) -> str:
    """The rows as CSV (a header line, then one line per row; times ISO 8601 in `zone`)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        writer.writerow([_cell(v) for v in (
            r.published_at.astimezone(zone).isoformat(timespec="minutes"), r.title, "; ".join(r.outlets), r.language,
            "; ".join(r.entries), plain_snippet(r.snippet), http_link(r.url) or "",
        )])
    return out.getvalue()


_STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; color: #1d232b;
       margin: 1.5rem auto; max-width: 60rem; padding: 0 1rem; }
h1 { font-size: 1.4rem; margin: 0 0 .2rem; }
.sub { color: #5d6875; font-size: 12px; }
ol { padding-left: 1.4rem; }
li { margin: 0 0 1rem; break-inside: avoid; }
.title { font-weight: 600; font-size: 1.05rem; }
a { color: #2f6fb0; }
.entries span { font-size: 12px; padding: 0 .35rem; border-radius: 4px; background: #e8eef7; margin-right: .3rem; }
mark { background: #ffe066; color: inherit; }
p { margin: .25rem 0; overflow-wrap: anywhere; }
@media print { body { margin: 0; max-width: none; } a { color: inherit; } }
"""


def to_html(rows: Sequence[ExportRow], *, title: str, description: str, generated_at: datetime, zone: tzinfo) -> str:
    """A self-contained HTML report of the rows: inline CSS, no script, nothing loaded from anywhere."""
    items = []
    for r in rows:
        link = http_link(r.url)
        headline = (f'<a href="{escape(link)}" rel="noopener noreferrer">{escape(r.title or "(untitled)")}</a>'
                    if link else str(escape(r.title or "(untitled)")))
        meta = " · ".join(str(escape(p)) for p in (
            ", ".join(r.outlets) or "unknown outlet", r.published_at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z"),
            r.language) if p)
        entries = "".join(f"<span>{escape(e)}</span>" for e in r.entries)
        items.append(
            f'<li><div class="title">{headline}</div><p class="sub">{meta}</p>'
            f'<p class="entries">{entries}</p><p>{marked_snippet(r.snippet)}</p>'
            + (f'<p class="sub">{escape(link)}</p>' if link else "") + "</li>"
        )
    stamp = generated_at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
    return (
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<meta name=\"referrer\" content=\"no-referrer\">\n"
        f"<title>{escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{escape(title)}</h1>\n<p class=\"sub\">{escape(description)} · {len(rows)} item(s) · generated {stamp}</p>\n"
        f"<ol>\n{chr(10).join(items)}\n</ol>\n</body>\n</html>\n"
    )


def export_response(rows: Sequence[ExportRow], fmt: str, *, name: str, description: str, generated_at: datetime,
                    zone: tzinfo) -> Response:
    """The rows as a CSV or HTML report download named `<name>-<local date>.<fmt>` (`fmt` is csv or html)."""
    filename = f"{name}-{generated_at.astimezone(zone).strftime('%Y-%m-%d')}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if fmt == "csv":
        return Response(to_csv(rows, zone), media_type="text/csv; charset=utf-8", headers=headers)
    html = to_html(rows, title="Media monitoring report", description=description, generated_at=generated_at, zone=zone)
    return Response(html, media_type="text/html; charset=utf-8", headers={**headers, "Content-Security-Policy": REPORT_CSP})
