"""Loading one big watchlist file (issue 12 point 4): wall time, CPU time and peak RSS of load+validate+compile.

    python benchmarks/config_load_bench.py                      # 100k actors + 10k topics in one file, 5 runs
    python benchmarks/config_load_bench.py --side-by-side HEAD~3 --runs 3   # the same file with an older tree
    python benchmarks/config_load_bench.py --keep /tmp/big-config          # also keep the configuration

The configuration is generated deterministically (the vocabulary, actors and topics of match_bench.py,
all in one watchlist, written by PyYAML) into a temporary directory. Each run is a fresh Python process
that imports monitor, then does what `monitor run`, `check`, `match` and a hot reload do before they
match anything: `check_configuration` (read, validate, compile and check the queries) and, where that
does not hand over the compiled matcher (older trees), `CompiledWatchlists.compile`. Its peak RSS is
that of the load alone (plus the interpreter and imports, shown separately).

`--side-by-side REV` extracts `monitor/` as of git revision REV and runs it alternately with the working
tree on the same file, so that both see the same load of a shared machine. A tree from before the
alias-expansion guard refused any file of more than 200,000 values; for the comparison its cap is lifted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Peak RSS is read from VmHWM: getrusage's ru_maxrss would keep the parent's peak across fork and exec.
_CHILD = """
import json, os, sys, time
from pathlib import Path
def peak_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
import monitor.config.sourcemap as sourcemap
if hasattr(sourcemap, "_MAX_NODES"):  # an old tree: lift its cap on values, as issue 12 did to measure it
    sourcemap._MAX_NODES = 10**12
from monitor.usecases.check import check_configuration
from monitor.match import CompiledWatchlists
imported = peak_mb()
t0, c0 = time.perf_counter(), os.times()
loaded, problems = check_configuration(Path(sys.argv[1]), {}, run_tests=False)
if problems or loaded is None:
    raise SystemExit("\\n".join(p.format() for p in problems[:5]))
matcher = getattr(loaded, "matcher", None) or CompiledWatchlists.compile(loaded.config.watchlists)
c1 = os.times()
print(json.dumps({
    "wall_s": time.perf_counter() - t0,
    "cpu_s": (c1.user + c1.system) - (c0.user + c0.system),
    "peak_rss_mb": peak_mb(),
    "monitor": __import__("monitor").__file__,
    "imports_rss_mb": imported,
    "entries": matcher.entry_count,
    "patterns": matcher.pattern_count,
}))
"""


def generate(directory: Path, actors: int, topics: int) -> Path:
    """Write a configuration with one watchlist of `actors` actors and `topics` topics; returns the file."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import yaml
    from match_bench import Workload

    work = Workload(actors, topics, per_list=max(actors, 1))
    [(list_id, body)] = work.bodies.items()
    (directory / "watchlists").mkdir(parents=True, exist_ok=True)
    (directory / "feeds.yaml").write_text("feeds: []\n", encoding="utf-8")
    path = directory / "watchlists" / f"{list_id}.yaml"
    # Block style as people write it: plain scalars where possible, quoted where a query needs it.
    path.write_text(yaml.dump(body, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True, width=200),
                    encoding="utf-8")
    return path


def extract(rev: str) -> Path:
    """`monitor/` as of git revision `rev`, in a temporary directory to put first on PYTHONPATH."""
    archive = subprocess.run(["git", "archive", rev, "monitor"], cwd=ROOT, capture_output=True, check=True).stdout
    target = Path(tempfile.mkdtemp(prefix="config_load_bench_"))
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target


def measure(config: Path, tree: Path) -> dict[str, float]:
    """One load in a fresh process importing `monitor` from `tree`."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run([sys.executable, "-c", _CHILD, str(config)], env=env, capture_output=True, text=True,
                          cwd=tree)
    if done.returncode != 0:
        raise SystemExit(f"the load failed ({tree}):\n{done.stderr.strip()[-2000:]}")
    result: dict[str, float] = json.loads(done.stdout)
    assert str(result.pop("monitor")).startswith(str(tree)), "the child imported another monitor package"
    return result


def main() -> None:
    """Generate the configuration, load it `--runs` times (alternating trees), print every run and the ranges."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--actors", type=int, default=100_000)
    ap.add_argument("--topics", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--side-by-side", metavar="REV", help="also load with monitor/ as of this git revision")
    ap.add_argument("--keep", type=Path, metavar="DIR", help="write the configuration here (kept) instead of a temp dir")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="config_load_bench_") as tmp:
        config = args.keep or Path(tmp) / "config"
        t0 = time.perf_counter()
        path = generate(config, args.actors, args.topics)
        size = path.stat().st_size
        print(f"{args.actors:,} actors + {args.topics:,} topics in one file: {path} "
              f"({size / 2**20:.1f} MiB, {path.read_text(encoding='utf-8').count(chr(10)):,} lines), "
              f"generated in {time.perf_counter() - t0:.1f} s")
        trees = {"working tree": ROOT}
        if args.side_by_side:
            trees = {args.side_by_side: extract(args.side_by_side), **trees}
        results: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
        print(f"{'run':>3} {'tree':>14} {'wall s':>7} {'cpu s':>6} {'peak RSS MB':>12} {'(imports)':>10} "
              f"{'entries':>8} {'patterns':>9}  load average")
        for run in range(1, args.runs + 1):
            for name, tree in trees.items():  # alternately, so that every tree sees the same machine
                r = measure(config, tree)
                results[name].append(r)
                load = " ".join(f"{x:.1f}" for x in os.getloadavg())
                print(f"{run:>3} {name:>14} {r['wall_s']:>7.2f} {r['cpu_s']:>6.2f} {r['peak_rss_mb']:>12.0f} "
                      f"{r['imports_rss_mb']:>10.0f} {r['entries']:>8.0f} {r['patterns']:>9.0f}  {load}", flush=True)
        for name, rs in results.items():
            if not rs:
                continue
            wall = sorted(r["wall_s"] for r in rs)
            cpu = sorted(r["cpu_s"] for r in rs)
            rss = sorted(r["peak_rss_mb"] for r in rs)
            print(f"{name}: wall {wall[0]:.1f}-{wall[-1]:.1f} s (median {wall[len(wall) // 2]:.1f}), "
                  f"cpu {cpu[0]:.1f}-{cpu[-1]:.1f} s, peak RSS {rss[0]:.0f}-{rss[-1]:.0f} MB over {len(rs)} runs")


if __name__ == "__main__":
    main()
