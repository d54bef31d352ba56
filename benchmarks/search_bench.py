"""Archive search at scale: p50/p95 of typical queries over N stored articles, on SQLite and PostgreSQL.

Builds (once, then reused) a store of synthetic multilingual articles: English, Russian, Arabic, Hebrew,
Turkish, German and French text drawn from Zipf-distributed vocabularies, with the names and words
analysts search for (Hamas, Kalın, Путин, חמאס, غزة, hostage deal, ...) at news-like rates, in the
languages' inflected and cliticised forms. Articles are bulk-inserted (the triggers queue them) and then
indexed by the product's own indexer (`index_articles`), timed. A database that already holds some
articles is topped up to `--articles`.

Then each query runs `search_archive` for its first page (20 hits), `--runs` times: p50/p95 per query and
over all, with the articles the index holds for it ("in index", a superset of its hits) and the candidates
the search read to fill the page ("read"). `--scan N` also times the matcher alone over
the newest N articles (what a search without the index costs per article), extrapolated to the store.

    .venv/bin/python benchmarks/search_bench.py --articles 1000000 --db /tmp/search-1m.db
    .venv/bin/python benchmarks/search_bench.py --articles 1000000 --postgres postgresql+psycopg://postgres@127.0.0.1/search1m
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, text

from monitor.config.models import Config
from monitor.match.documents import FeedLabel, document_for
from monitor.store.db import Database
from monitor.store.migrate import upgrade
from monitor.store.rows import ArticleRow
from monitor.store.search import SearchFilters, candidates
from monitor.usecases.backtest import matcher_for
from monitor.usecases.candidates import index_articles, index_query
from monitor.usecases.search import search_archive

NOW = datetime(2026, 12, 1, tzinfo=UTC)
CONFIG = Config(directory=Path("."))
QUERIES = [
    "Hamas", '"hostage deal"', "negotiat*", "Путин", "חמאס", "غزة", "(Kalin OR Fidan) AND Ankara",
    "ceasefire -Hamas", '"Ibrahim Kalin" NEAR/10 Bar', "title:(Erdoğan OR Erdogan)", "seçim", "Bundeskanzler",
    "lithium",  # rare
]
# Words analysts search for, per language, in the forms articles carry them (with a share of articles).
NEWS = {
    "en": ["Hamas", "hostage deal", "hostages", "negotiations", "negotiators", "ceasefire", "Ibrahim Kalin",
           "Ronen Bar", "Fidan", "Ankara", "Gaza", "Erdogan", "Doha", "prisoner exchange", "talks"],
    "ru": ["Путин", "Путина", "Путину", "Москвы", "выборы", "выборах", "заложников", "Хамас", "переговоры"],
    "ar": ["غزة", "بغزة", "لغزة", "الموساد", "حماس", "وقف إطلاق النار", "الحكومة", "حكومته", "أنقرة"],
    "he": ["חמאס", "וחמאס", "בחמאס", "עסקת החטופים", "החטופים", "רונן בר", "בעזה", "קהיר"],
    "tr": ["Erdoğan", "Kalın", "Kalın'ın", "Fidan", "Ankara", "seçim", "seçimlerde", "hükümetin", "Hamas"],
    "de": ["Bundeskanzler", "Bundeskanzlers", "Hamas", "Geiseln", "Waffenruhe", "Merkels"],
    "fr": ["élections", "Hamas", "otages", "cessez-le-feu", "négociations", "Macron"],
}
SHARE = {"en": 0.45, "ru": 0.13, "ar": 0.12, "he": 0.10, "tr": 0.10, "de": 0.05, "fr": 0.05}
ALPHABET = {
    "en": "abcdefghijklmnopqrstuvwxyz", "ru": "абвгдежзийклмнопрстуфхцчшщыьэюя", "ar": "ابتثجحخدذرزسشصضطظعغفقكلمنهوي",
    "he": "אבגדהוזחטיכלמנסעפצקרשת", "tr": "abcçdefgğhıijklmnoöprsştuüvyz", "de": "abcdefghijklmnopqrstuvwxyzäöüß",
    "fr": "abcdefghijklmnopqrstuvwxyzéèàç",
}


def vocabulary(language: str, size: int, rng: random.Random) -> tuple[list[str], list[float]]:
    """`size` pseudo-words of the language's alphabet and their Zipf cumulative weights."""
    letters = ALPHABET[language]
    words = sorted({"".join(rng.choices(letters, k=rng.randint(2, 10))) for _ in range(size)}, key=lambda w: (len(w), w))
    weights = [1 / (rank + 1) for rank in range(len(words))]
    total = 0.0
    cumulative = []
    for w in weights:
        total += w
        cumulative.append(total)
    return words, cumulative


def generate(db: Database, wanted: int, seed: int, batch: int = 5000) -> int:
    """Top the store up to `wanted` articles; returns how many were inserted."""
    with db.sessions() as session:
        have = session.scalar(select(func.count()).select_from(ArticleRow)) or 0
    rng = random.Random(seed + have)
    vocab = {lang: vocabulary(lang, 30_000, rng) for lang in SHARE}
    languages, shares = list(SHARE), list(SHARE.values())
    insert = text(
        "INSERT INTO articles (id, url, title, summary_html, content_html, summary_text, content_text, author, "
        "language, published_at, first_seen_at, updated_at, content_hash, first_feed_id) VALUES "
        "(:id, :url, :title, '', '', :body, '', '', :lang, :at, :at, :at, 'h', :feed)")
    done = have
    while done < wanted:
        rows = []
        for i in range(done, min(done + batch, wanted)):
            lang = rng.choices(languages, shares)[0]
            words, cum = vocab[lang]
            title = rng.choices(words, cum_weights=cum, k=rng.randint(6, 12))
            body = rng.choices(words, cum_weights=cum, k=rng.randint(60, 160))
            for _ in range(rng.choices((0, 1, 2, 3), (0.55, 0.25, 0.12, 0.08))[0]):
                word = rng.choice(NEWS[lang])
                (title if rng.random() < 0.3 else body).insert(rng.randrange(len(body)), word)
            at = NOW - timedelta(seconds=i * 30)  # one article every 30 s: 1M articles span ~347 days
            rows.append({"id": f"bench-{i:08d}", "url": f"https://news.test/{i}", "title": " ".join(title).capitalize(),
                         "body": " ".join(body) + ".", "lang": lang, "at": at, "feed": f"feed-{i % 500}"})
        with db.transaction() as session:
            session.execute(insert, rows)
        done += len(rows)
    return done - have


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def measure(db: Database, runs: int) -> None:
    """p50/p95 of each query's first page, and over all of them."""
    every: list[float] = []
    print(f"{'query':34} {'in index':>9} {'read':>6} {'hits':>5} {'p50 ms':>8} {'p95 ms':>8}")
    for query in QUERIES:
        times = []
        outcome = None
        for _ in range(runs):
            started = time.perf_counter()
            outcome = search_archive(CONFIG, db, query, SearchFilters(), limit=20)
            times.append((time.perf_counter() - started) * 1000)
        every += times
        assert outcome is not None
        wanted = index_query(CONFIG, query)
        in_index = len(candidates(db, wanted, SearchFilters())) if wanted is not None else "-"
        print(f"{query:34} {in_index:>9} {outcome.candidates:>6} {len(outcome.hits):>5} {percentile(times, 50):>8.1f} "
              f"{percentile(times, 95):>8.1f}")
    print(f"{'all queries':34} {'':>9} {'':>6} {'':>5} {percentile(every, 50):>8.1f} {percentile(every, 95):>8.1f}")


def scan(db: Database, sample: int, total: int) -> None:
    """The matcher alone over the newest `sample` articles per query, extrapolated to `total`."""
    with db.sessions() as session:
        rows = session.scalars(select(ArticleRow).order_by(ArticleRow.published_at.desc()).limit(sample)).all()
    docs = [document_for(r, FeedLabel(r.first_feed_id or "")) for r in rows]
    print(f"full scan (matcher over every article, no index), measured on the newest {len(docs)}:")
    for query in QUERIES:
        matcher = matcher_for(CONFIG, query)
        started = time.perf_counter()
        hits = sum(matcher(d) is not None for d in docs)
        took = time.perf_counter() - started
        print(f"  {query:34} {hits:>6} hits  {took * 1000:8.0f} ms  -> {took * total / len(docs):7.1f} s for {total}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=Path("/tmp/monitor-search-bench.db"), help="SQLite file (reused)")
    parser.add_argument("--postgres", help="a PostgreSQL URL instead of SQLite (the database must exist; reused)")
    parser.add_argument("--runs", type=int, default=7, help="runs per query")
    parser.add_argument("--scan", type=int, default=0, help="also time the matcher over the newest N articles")
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()
    db = Database(args.postgres or f"sqlite:///{args.db}")
    upgrade(db)
    started = time.perf_counter()
    added = generate(db, args.articles, args.seed)
    generated = time.perf_counter() - started
    started = time.perf_counter()
    indexed = index_articles(db)
    indexing = time.perf_counter() - started
    print(f"backend={'postgresql' if args.postgres else 'sqlite'} articles={args.articles} inserted={added} "
          f"in {generated:.0f} s; indexed={indexed} in {indexing:.0f} s"
          + (f" ({indexed / indexing:.0f} articles/s)" if indexed and indexing else ""))
    if args.postgres:  # the statistics autovacuum would have gathered by then
        with db.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    measure(db, args.runs)
    if args.scan:
        scan(db, args.scan, args.articles)
    db.dispose()


if __name__ == "__main__":
    main()
