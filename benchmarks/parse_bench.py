"""Parse CPU per feed, variants side by side in one process, alternating rounds.

Run: .venv/bin/python benchmarks/parse_bench.py [--feeds 200] [--rounds 7]

The feeds are peers.py's (ingest_bench.py's realistic 20-item RSS feeds). The variants:
- expat: the default (ElementTree's XMLPullParser over expat, URIs taken as written when they are);
- lxml: the fast path's opt-in libxml2 tree (fastpath.XML_BACKEND = "lxml");
- no-shortcut: expat with the shortcuts off (fastpath_common._AS_WRITTEN and
  urls._CANONICAL_AS_WRITTEN match nothing, htmltext._bare_markup_text always declines), i.e. the
  parse stage before they were added.
Every round measures each variant in turn (the order alternates between rounds), the process CPU
per feed of:
- tree: the XML parse alone (ElementTree's XMLPullParser over expat, or lxml.etree.fromstring);
- extract: fastpath.extract (decode check, parse, namespace checks, the walk replaying feedparser);
- parse_feed: the whole parse stage (prolog scrub, extract, sanitising, plain text, ids, caps);
and for reference feedparser alone (feedparser.parse with its sanitiser and URI resolution off, as
formats/syndication.py calls it when the fast path declines). Figures are ranges over the rounds,
and each variant's ratio to expat in each round (the two ran back to back, so a shared machine's drift
cancels out better than in the ranges).
"""

from __future__ import annotations

import argparse
import io
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import feedparser  # noqa: E402
from ingest_bench import _feed  # noqa: E402

from monitor.parse import fastpath, fastpath_common, parse_feed, urls  # noqa: E402
from monitor.parse.prolog import UTF8_XML, neutralise_prolog  # noqa: E402
from monitor.text import htmltext  # noqa: E402

BASE = "http://127.0.0.1:8080/feed/"
VARIANTS = ("expat", "lxml", "no-shortcut")
_NOTHING = re.compile(r"(?!)")


def _cpu_ms_per_feed(fn: Callable[[bytes, int], object], bodies: list[bytes]) -> float:
    start = time.process_time()
    for i, body in enumerate(bodies):
        fn(body, i)
    return (time.process_time() - start) / len(bodies) * 1000


def _use(variant: str) -> None:
    fastpath.XML_BACKEND = "lxml" if variant == "lxml" else "expat"
    shortcuts = variant != "no-shortcut"
    fastpath_common._AS_WRITTEN = AS_WRITTEN if shortcuts else _NOTHING  # type: ignore[assignment]
    urls._CANONICAL_AS_WRITTEN = CANONICAL_AS_WRITTEN if shortcuts else _NOTHING  # type: ignore[assignment]
    htmltext._bare_markup_text = BARE_MARKUP_TEXT if shortcuts else (lambda html: None)  # type: ignore[assignment]


AS_WRITTEN = fastpath_common._AS_WRITTEN
CANONICAL_AS_WRITTEN = urls._CANONICAL_AS_WRITTEN
BARE_MARKUP_TEXT = htmltext._bare_markup_text


def main() -> None:
    """Measure and print CPU ms per feed, as ranges over alternating rounds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    raw = [_feed(i) for i in range(args.feeds)]
    scrubbed = [neutralise_prolog(body, base_url=BASE + str(i)).body for i, body in enumerate(raw)]
    trees = {"expat": fastpath._expat_tree, "lxml": fastpath._lxml_tree}
    results: dict[str, list[float]] = {}
    outputs: dict[str, list[object]] = {}

    def record(label: str, value: float) -> None:
        results.setdefault(label, []).append(value)

    for round_no in range(args.rounds):
        order = VARIANTS if round_no % 2 == 0 else VARIANTS[::-1]
        for variant in order:
            _use(variant)
            if variant in trees:
                tree = trees[variant]

                def build_tree(body: bytes, i: int, tree: Callable[[bytes], object] = tree) -> object:
                    return tree(body)

                record(f"tree {variant}", _cpu_ms_per_feed(build_tree, scrubbed))
            record(
                f"extract {variant}",
                _cpu_ms_per_feed(lambda body, i: fastpath.extract(body, base_url=BASE + str(i)), scrubbed),
            )
            record(
                f"parse_feed {variant}",
                _cpu_ms_per_feed(
                    lambda body, i: parse_feed(body, base_url=BASE + str(i), content_type="application/rss+xml"),
                    raw,
                ),
            )
            if round_no == 0:  # the variants must agree, or their timings compare nothing
                outputs[variant] = [
                    parse_feed(body, base_url=BASE + str(i), content_type="application/rss+xml")
                    for i, body in enumerate(raw)
                ]
        _use("expat")
        record(
            "feedparser alone",
            _cpu_ms_per_feed(
                lambda body, i: feedparser.parse(
                    io.BytesIO(body),
                    response_headers={"content-location": BASE + str(i), "content-type": UTF8_XML},
                    sanitize_html=False,
                    resolve_relative_uris=False,
                ),
                scrubbed,
            ),
        )
    assert all(outputs[variant] == outputs["expat"] for variant in VARIANTS), "the variants disagree"
    print(f"{args.feeds} feeds x {args.rounds} rounds, CPU ms per 20-item feed (min-max, median)")
    for label, values in results.items():
        print(f"  {label:24s} {min(values):6.3f}-{max(values):6.3f}  median {statistics.median(values):6.3f}")
    print("variant / expat, paired by round (run back to back; > 1 means slower than expat)")
    for label, values in results.items():
        stage, _, variant = label.partition(" ")
        if variant in VARIANTS and variant != "expat" and f"{stage} expat" in results:
            ratios = [new / old for new, old in zip(values, results[f"{stage} expat"], strict=True)]
            print(f"  {label:24s} {min(ratios):6.2f}-{max(ratios):6.2f}  median {statistics.median(ratios):6.2f}")


if __name__ == "__main__":
    main()
