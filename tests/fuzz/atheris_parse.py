"""Coverage-guided fuzzing of parse_feed with atheris (libFuzzer). Not collected by pytest.

    .venv/bin/pip install atheris
    mkdir -p /tmp/fuzz-parse-corpus
    .venv/bin/python tests/fuzz/atheris_parse.py /tmp/fuzz-parse-corpus /work/shared/corpora/feedparser-tests \
        -max_total_time=300 -timeout=10 -rss_limit_mb=2048

libFuzzer writes new inputs to the FIRST corpus directory only: keep the shared corpus second (read-only).
Anything but a ParsedFeed or a ParseError, a broken invariant (tests/fuzz/support.py), an input taking over
-timeout seconds or the process exceeding -rss_limit_mb is a crash, saved as crash-*/timeout-*/oom-*.
Reproduce one with: .venv/bin/python tests/fuzz/atheris_parse.py crash-<sha1>
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

with atheris.instrument_imports(include=["monitor", "feedparser", "html", "xml"]):
    from monitor.errors import ParseError
    from monitor.parse import parse_feed

from tests.fuzz.support import check_article, markup_only_as_markup  # noqa: E402

CONTENT_TYPES = [None, "application/rss+xml", "application/atom+xml", "text/xml", "text/html",
                 "application/xml; charset=utf-16", "text/plain", "text/xml; charset=iso-8859-1"]
BASES = ["https://example.org/feed/", "", "http://[bad/"]


def test_one_input(data: bytes) -> None:
    if len(data) < 2:
        return
    content_type = CONTENT_TYPES[data[0] % len(CONTENT_TYPES)]
    base_url = BASES[data[1] % len(BASES)]
    body = data[2:]
    try:
        parsed = parse_feed(body, base_url=base_url, content_type=content_type)
    except ParseError:
        return
    plain = markup_only_as_markup(body)
    for article in parsed.articles:
        check_article(article, plain_title=plain)
    again = parse_feed(body, base_url=base_url, content_type=content_type)
    assert [a.id for a in again.articles] == [a.id for a in parsed.articles]


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
