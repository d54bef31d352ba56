"""Matching throughput on a generated workload (issue 4): articles/s on one core, compile time, RSS.

    python benchmarks/match_bench.py                       # 10k and 100k actors, 1k and 10k topics
    python benchmarks/match_bench.py --actors 2000 --topics 200 --articles 200   # a quick run
    python benchmarks/match_bench.py --side-by-side HEAD --articles 300   # this tree against a commit
    python benchmarks/match_bench.py --side-by-side HEAD --language de    # articles in a language with word forms

`--side-by-side REV` compiles the same watchlists with `monitor/match` as of git revision REV and with
the working tree, checks that both give the same matches (highlights and snippets included), and times
them alternately in one process (median of `--passes`): on a shared, noisy machine this compares the two
far more reliably than separate runs. Peak RSS is not meaningful in that mode (two matchers).

The workload is synthetic but shaped like the real one: a Zipf-distributed vocabulary, actors with
1-3 aliases (full name, surname, an organisation-style phrase), boolean topics with phrases, wildcards,
NEAR, NOT and @actor references, and ~5 KB articles that mention a few actors and topic words.
"""

from __future__ import annotations

import argparse
import bisect
import gc
import importlib
import itertools
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.config.models import WatchlistConfig  # noqa: E402
from monitor.match import CompiledWatchlists  # noqa: E402
from monitor.model import Document  # noqa: E402

_SYLLABLES = [c + v for c in "bcdfghjklmnprstvwz" for v in ("a", "e", "i", "o", "u", "ai", "ou")]


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4)))


class Workload:
    """A reproducible vocabulary, watchlists and articles."""

    def __init__(self, actors: int, topics: int, vocab: int = 200_000, seed: int = 4, per_list: int = 5_000,
                 language: str = "en") -> None:
        rng = random.Random(seed)
        self.language = language  # of the articles: "en" has no word forms, "de" etc. stem every token
        self.rng = rng
        words = list(dict.fromkeys(_word(rng) for _ in range(int(vocab * 1.3))))
        self.vocab = words[:vocab]
        weights = [1.0 / (rank + 1) for rank in range(len(self.vocab))]  # Zipf, as word frequencies are
        self._cum = list(itertools.accumulate(weights))
        # Personal names are mostly not common words: they come from their own pool (which also
        # holds the rarest "words" of the generator, so a few names are words too).
        names = words[vocab - vocab // 10 :]
        firsts = [w.capitalize() for w in names[:3_000]]
        lasts = [w.capitalize() for w in names[3_000:]]
        self.names: list[str] = []
        # Actors are spread over several watchlists (5,000 each), as a large deployment would be.
        lists: dict[str, dict[str, list[dict[str, object]]]] = {}
        for i in range(actors):
            full = f"{rng.choice(firsts)} {rng.choice(lasts)}"
            aliases = [f"{full.split()[1]} {rng.choice(lasts)}", f"{rng.choice(lasts)} {rng.choice(self.vocab)}"]
            actor: dict[str, object] = {"id": f"a{i}", "name": full, "aliases": aliases[: rng.randint(0, 2)]}
            self.names.append(full)
            lists.setdefault(f"list{i // per_list}", {"actors": [], "topics": []})["actors"].append(actor)
        wl_ids = list(lists) or ["list0"]
        for i in range(topics):
            wl = wl_ids[i % len(wl_ids)]
            lists.setdefault(wl, {"actors": [], "topics": []})["topics"].append(
                {"id": f"t{i}", "name": f"topic {i}", "query": self._query(rng, lists[wl]["actors"])}
            )
        self.bodies = {wl: {"name": wl, **body} for wl, body in lists.items()}  # as a watchlist file holds them
        self.watchlists = {wl: WatchlistConfig.model_validate({"id": wl, **body}) for wl, body in self.bodies.items()}

    def _term(self, rng: random.Random) -> str:
        # Query words are content words: anything but the ~300 most frequent (function) words.
        w = self.vocab[rng.randint(300, len(self.vocab) - 1)]
        kind = rng.random()
        if kind < 0.25:
            return f'"{w} {self.vocab[rng.randint(50, len(self.vocab) - 1)]}"'
        if kind < 0.35 and len(w) > 5:
            return w[:5] + "*"
        return w

    def _query(self, rng: random.Random, actors: list[dict[str, object]]) -> str:
        a = " OR ".join(self._term(rng) for _ in range(rng.randint(1, 4)))
        b = " OR ".join(self._term(rng) for _ in range(rng.randint(1, 3)))
        shape = rng.random()
        if shape < 0.15 and actors:
            return f"@{rng.choice(actors)['id']} NEAR/10 ({b})"
        if shape < 0.3:
            return f"({a}) AND ({b}) AND NOT {self._term(rng)}"
        if shape < 0.4:
            return f"{self._term(rng)} NEAR/5 {self._term(rng)}"
        return f"({a}) AND ({b})"

    def article(self, size: int = 5_000) -> Document:
        """About `size` characters of Zipf-distributed words with a few actor names mixed in."""
        rng = self.rng
        words: list[str] = []
        length = 0
        while length < size:
            if rng.random() < 0.004 and self.names:
                w = rng.choice(self.names)
            else:
                w = self.vocab[bisect.bisect(self._cum, rng.random() * self._cum[-1])]
                if rng.random() < 0.05:
                    w += rng.choice([",", ".", "'s", "’s", "-based"])  # some articles are not ASCII
            words.append(w)
            length += len(w) + 1
        body = " ".join(words)
        return Document(title=" ".join(words[:10]).capitalize(), body=body, language=self.language)


def naive_match(patterns: list[tuple[str, re.Pattern[str]]], doc: Document) -> list[str]:
    """The baseline: every alias compiled to its own regex, each tried on every article."""
    return [aid for aid, rx in patterns if rx.search(doc.title) or rx.search(doc.body)]


def rss_mb() -> float:
    """Peak resident set size of this process in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    """Resident set size of this process now, in MB (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def run(actors: int, topics: int, n_articles: int, vocab: int) -> dict[str, float]:
    """Generate, compile and match one configuration; returns its figures."""
    gc.collect()
    work = Workload(actors, topics, vocab)
    docs = [work.article() for _ in range(n_articles)]
    before = current_rss_mb()  # the workload itself: configuration models, articles, vocabulary
    t0 = time.perf_counter()
    c0 = time.process_time()
    compiled = CompiledWatchlists.compile(work.watchlists)
    compile_s = time.perf_counter() - t0
    compile_cpu = time.process_time() - c0
    t0 = time.process_time()
    matches = sum(len(compiled.match(d)) for d in docs)
    cpu = time.process_time() - t0
    return {
        "actors": actors,
        "topics": topics,
        "patterns": compiled.pattern_count,
        "articles": n_articles,
        "articles_per_s": n_articles / cpu,
        "compile_s": compile_s,
        "compile_cpu_s": compile_cpu,
        "matches_per_article": matches / n_articles,
        "peak_rss_mb": rss_mb(),
        "workload_rss_mb": before,
        "matcher_rss_mb": current_rss_mb() - before,
    }


def baseline_ratio(actors: int, n_articles: int, vocab: int) -> tuple[float, float]:
    """(compiled articles/s, naive articles/s) on actors only, at a size the naive loop can finish."""
    work = Workload(actors, 0, vocab)
    docs = [work.article() for _ in range(n_articles)]
    compiled = CompiledWatchlists.compile(work.watchlists)
    patterns = [
        (a.id, re.compile(r"\b" + re.escape(alias) + r"\b", re.IGNORECASE))
        for wl in work.watchlists.values()
        for a in wl.actors
        for alias in (a.name, *a.aliases)
    ]
    t0 = time.process_time()
    for d in docs:
        compiled.match(d)
    fast = n_articles / (time.process_time() - t0)
    t0 = time.process_time()
    for d in docs:
        naive_match(patterns, d)
    slow = n_articles / (time.process_time() - t0)
    return fast, slow


def load_revision(rev: str) -> ModuleType:
    """`monitor.match` as of git revision `rev`, imported as a separate package beside the working tree's.

    The whole package at `rev` is copied as `monitor_at_revision` (its match imports modules that may have
    moved since, e.g. the shared model), except `monitor.config`: the watchlists handed to both matchers are
    the working tree's configuration objects. Only .py files are copied: a revision with the native
    extension (monitor/match/_native.c) runs its pure-Python paths there.
    """
    root = Path(__file__).resolve().parents[1]

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout

    package = "monitor_at_revision"
    target = Path(tempfile.mkdtemp(prefix="match_bench_")) / package
    imports = re.compile(r"\b(from|import) monitor(?=[. ])(?!\.config\b)")
    for name in git("ls-tree", "-r", "--name-only", rev, "monitor/").split():
        if name.endswith(".py") and "/migrations/" not in name:
            source = imports.sub(lambda m: f"{m.group(1)} {package}", git("show", f"{rev}:{name}"))
            path = target / Path(name).relative_to("monitor")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(source)
    sys.path.insert(0, str(target.parent))
    return importlib.import_module(f"{package}.match")


def side_by_side(actors: int, topics: int, n_articles: int, vocab: int, rev: str, passes: int,
                 language: str = "en", allow_differences: bool = False) -> None:
    """Compare the matcher at `rev` with the working tree's on the same articles; prints the medians."""
    previous = load_revision(rev)
    work = Workload(actors, topics, vocab, language=language)
    docs = [work.article() for _ in range(n_articles)]
    old = previous.CompiledWatchlists.compile(work.watchlists)
    new = CompiledWatchlists.compile(work.watchlists)
    expected = [[m.to_json() for m in old.match(d)] for d in docs]
    got = [[m.to_json() for m in new.match(d)] for d in docs]
    if expected != got:
        differing = sum(a != b for a, b in zip(expected, got, strict=True))
        if language == "en" and not allow_differences:  # English has no word forms: any difference is a regression
            raise SystemExit(f"{actors}/{topics}: the matches differ from those of {rev}")
        print(f"  ({language}: {sum(map(len, got))} matches here, {sum(map(len, expected))} at {rev}, "
              f"{differing} of {n_articles} articles differ: a change of semantics)")
    rates: dict[str, list[float]] = {rev: [], "working tree": []}
    for _ in range(passes):  # alternately, so that both see the same load
        for name, matcher in ((rev, old), ("working tree", new)):
            t0 = time.process_time()
            for d in docs:
                matcher.match(d)
            rates[name].append(n_articles / (time.process_time() - t0))
    same = "identical" if expected == got else "differ"
    print(f"{actors} actors, {topics} topics, {n_articles} {language} articles, {sum(map(len, expected))} matches ({same}):")
    for name, values in rates.items():
        print(f"  {name:>14}: median {statistics.median(values):,.0f} articles/s  ({', '.join(f'{v:,.0f}' for v in values)})")


def main() -> None:
    """Run the configurations given on the command line and print a table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--actors", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--topics", type=int, nargs="+", default=[1_000, 10_000])
    ap.add_argument("--articles", type=int, default=2_000)
    ap.add_argument("--vocab", type=int, default=200_000, help="distinct words in the generated language")
    ap.add_argument("--baseline-actors", type=int, default=2_000)
    ap.add_argument("--baseline-articles", type=int, default=50)
    ap.add_argument("--side-by-side", metavar="REV", help="compare with monitor/match at this git revision")
    ap.add_argument("--passes", type=int, default=5, help="timed passes of each matcher with --side-by-side")
    ap.add_argument("--allow-differences", action="store_true",
                    help="with --side-by-side, report rather than refuse matches that differ (a change of semantics)")
    ap.add_argument("--language", default="en", help="language of the articles with --side-by-side (de: word forms)")
    args = ap.parse_args()
    if args.side_by_side:
        for actors, topics in sorted(zip(args.actors, args.topics, strict=False)):
            side_by_side(actors, topics, args.articles, args.vocab, args.side_by_side, args.passes, args.language,
                         args.allow_differences)
        return
    print(f"{'actors':>8} {'topics':>7} {'patterns':>9} {'articles/s':>11} {'compile s':>10} {'(cpu)':>6} "
          f"{'matches/art':>12} {'peak RSS MB':>12} {'workload MB':>12} {'matcher MB':>11}")
    # Separate processes would give exact per-configuration RSS; in one process the peak only grows,
    # so configurations run smallest first and the last line is the peak of the largest. "workload MB"
    # is the process before compiling (interpreter, configuration models, articles); "matcher MB" what
    # the compiled matcher adds to it after matching (its tables and caches).
    for actors, topics in sorted(zip(args.actors, args.topics, strict=False)):
        r = run(actors, topics, args.articles, args.vocab)
        print(f"{r['actors']:>8} {r['topics']:>7} {r['patterns']:>9} {r['articles_per_s']:>11.0f} "
              f"{r['compile_s']:>10.2f} {r['compile_cpu_s']:>6.2f} {r['matches_per_article']:>12.1f} "
              f"{r['peak_rss_mb']:>12.0f} {r['workload_rss_mb']:>12.0f} {r['matcher_rss_mb']:>11.0f}")
    if args.baseline_actors:
        fast, slow = baseline_ratio(args.baseline_actors, args.baseline_articles, args.vocab)
        print(f"baseline at {args.baseline_actors} actors: compiled {fast:.0f} articles/s, "
              f"naive regex-per-alias {slow:.1f} articles/s, ratio {fast / slow:.0f}x")


if __name__ == "__main__":
    main()
