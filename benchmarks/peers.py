"""Peers: monitor against lemon24/reader and bare feedparser on one local feed farm, alternating rounds.

Run: .venv/bin/python benchmarks/peers.py [--feeds 1000] [--rounds 3] [--postgres URL] [--peers ...] [--reader-workers N]
The peers install from the `bench` extra: .venv/bin/pip install -e '.[bench]'

One farm (ingest_bench.py's realistic 20-item RSS feeds, ETag and Last-Modified, 304 on a conditional
GET) is served from another process on 127.0.0.1 for the whole run. Each peer runs in its own
subprocess, twice over every feed: a first pass (all changed) and a second (all 304).

- monitor: FeedPoller.poll_due twice, as ingest_bench.py does (demo watchlists: parse, store,
  cluster, match, route), on SQLite and, with --postgres, on a fresh PostgreSQL database per run.
- reader: make_reader(path), add_feed for each URL, update_feeds twice (scheduled=False: reader
  3.26 by default skips feeds not yet due; default workers=1, its documented default).
- feedparser: a plain loop with httpx (monitor's HTTP client), feedparser.parse on each body,
  then again with If-None-Match / If-Modified-Since.

monitor's modules are compiled to bytecode before the first round (`compile_monitor`), as the peers'
installs are. CPU is the whole process tree's (start-up, both passes, monitor's parse workers): the parent's
RUSAGE_CHILDREN before and after the subprocess, divided by the changed feeds. The child also
reports its first pass alone (its own CPU plus, for monitor, its parse workers' from /proc).
Peak RSS is the largest process of the tree (wait4's ru_maxrss); "sum of peaks" adds each process's
own peak (monitor's parse workers and fork server from /proc VmHWM), an upper bound. PostgreSQL's own CPU: the
utime+stime of every `postgres` process in /proc plus the postmaster's cutime+cstime (the backends
it reaped), before and after the run; on a shared server that includes others' queries.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PEERS = ("monitor", "reader", "feedparser")
INSTALL = "pip install -e '.[bench]'"
LAST_MODIFIED = "Wed, 20 Nov 2024 11:00:00 GMT"
READER_WORKERS = 1  # reader's own default; --reader-workers changes it (set in the child by main)


def serve_farm(port_out: Any, feeds: int) -> None:
    """Serve ingest_bench's feed i at /feed/{i} with ETag and Last-Modified (304 on either validator)."""
    from aiohttp import web
    from ingest_bench import _feed

    bodies = {i: _feed(i) for i in range(feeds)}

    async def handler(request: web.Request) -> web.Response:
        i = int(request.match_info["i"])
        headers = {"ETag": f'"f{i}"', "Last-Modified": LAST_MODIFIED}
        etag = request.headers.get("If-None-Match")
        if etag == headers["ETag"] or (etag is None and request.headers.get("If-Modified-Since") == LAST_MODIFIED):
            return web.Response(status=304, headers=headers)
        return web.Response(body=bodies[i], content_type="application/rss+xml", headers=headers)

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/feed/{i}", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0, backlog=2048).start()
        port_out.put(runner.addresses[0][1])
        await asyncio.Event().wait()

    asyncio.run(main())


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_kib(pid: int) -> int:
    """A live process's peak RSS (VmHWM) in KiB; 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _urls(port: int, feeds: int) -> list[str]:
    return [f"http://127.0.0.1:{port}/feed/{i}" for i in range(feeds)]


# --- the peers, each run in a child process; each returns its figures as a dict -------------------


def child_monitor(port: int, feeds: int, tmp: Path, database: str | None) -> dict[str, Any]:
    """monitor's refresh path: FeedPoller.poll_due twice (changed, then 304)."""
    from datetime import UTC, datetime
    from multiprocessing import forkserver

    sys.path.insert(0, str(HERE.parent))
    from ingest_bench import _config, _worker_cpu

    from monitor.config.gc_pause import collect_less_often
    from monitor.config.loader import load_config
    from monitor.refresh.poller import FeedPoller
    from monitor.refresh.runtime import Runtime
    from monitor.store.db import Database
    from monitor.store.feeds import FeedRepository
    from monitor.store.migrate import upgrade

    url = database or f"sqlite:///{tmp / 'monitor.db'}"
    runtime = Runtime.build(load_config(_config(tmp, url, port, feeds), {}).config)
    db = Database(url)
    upgrade(db)
    repo = FeedRepository(db)
    repo.sync(runtime.config.feeds, datetime.now(UTC))
    collect_less_often()  # as Service.prepare does in `monitor run`
    poller = FeedPoller(db, lambda: runtime, owner="peers")
    out: dict[str, Any] = {}
    for label in ("changed", "not_modified"):
        repo.make_all_due(datetime.now(UTC))
        cpu, workers, wall = _self_cpu(), _worker_cpu(poller), time.perf_counter()
        summary = asyncio.run(poller.poll_due())
        out[f"{label}_wall"] = time.perf_counter() - wall
        out[f"{label}_cpu"] = _self_cpu() - cpu + _worker_cpu(poller) - workers
        out[label] = summary.ok if label == "changed" else summary.not_modified
        out[f"{label}_errors"] = summary.errors
    out["articles"], out["matches"] = summary.new_articles, summary.matches
    # The other processes of the tree, while they still live: the parse workers and the fork server.
    others = list(getattr(poller.parsing.running_pool, "_processes", None) or {})
    others.append(getattr(forkserver._forkserver, "_forkserver_pid", None) or 0)
    out["others_peak_kib"] = sum(_peak_kib(pid) for pid in others if pid)
    poller.close()
    db.dispose()
    # Stop the fork server here, so that it (and the parse workers it reaped) are reaped by this
    # process and counted in the parent's RUSAGE_CHILDREN; left alone it would outlive us as an orphan.
    stop = getattr(forkserver._forkserver, "_stop", None)  # private, present since Python 3.8
    if stop is not None:
        stop()
    return out


def child_reader(port: int, feeds: int, tmp: Path, database: str | None) -> dict[str, Any]:
    """lemon24/reader: add_feed for each URL, update_feeds twice."""
    from reader import make_reader

    reader = make_reader(str(tmp / "reader.sqlite"))
    for url in _urls(port, feeds):
        reader.add_feed(url)
    out: dict[str, Any] = {}
    for label in ("changed", "not_modified"):
        cpu, wall = _self_cpu(), time.perf_counter()
        # scheduled=False: reader (3.26) would by default skip the feeds it just updated (not due yet).
        results = list(reader.update_feeds_iter(scheduled=False, workers=READER_WORKERS))
        out[f"{label}_wall"] = time.perf_counter() - wall
        out[f"{label}_cpu"] = _self_cpu() - cpu
        out[f"{label}_errors"] = sum(1 for r in results if r.error is not None)
        if label == "changed":
            out[label] = sum(1 for r in results if r.updated_feed is not None and r.updated_feed.new > 0)
        else:
            out[label] = sum(1 for r in results if r.value is None)
    out["articles"] = reader.get_entry_counts().total
    reader.close()
    return out


def child_feedparser(port: int, feeds: int, tmp: Path, database: str | None) -> dict[str, Any]:
    """Bare feedparser: a plain httpx loop and feedparser.parse, then the same with the validators."""
    import feedparser
    import httpx

    validators: dict[str, dict[str, str]] = {}
    out: dict[str, Any] = {"parse_cpu": 0.0, "articles": 0}
    with httpx.Client(timeout=60) as client:
        for label in ("changed", "not_modified"):
            cpu, wall, done, errors = _self_cpu(), time.perf_counter(), 0, 0
            for url in _urls(port, feeds):
                response = client.get(url, headers=validators.get(url, {}))
                if response.status_code == 304:
                    done += label == "not_modified"
                    continue
                if response.status_code != 200:
                    errors += 1
                    continue
                start = time.process_time()
                parsed = feedparser.parse(response.content, response_headers=dict(response.headers))
                out["parse_cpu"] += time.process_time() - start
                out["articles"] += len(parsed.entries)
                done += label == "changed"
                validators[url] = {"If-None-Match": response.headers["ETag"],
                                   "If-Modified-Since": response.headers["Last-Modified"]}
            out[f"{label}_wall"] = time.perf_counter() - wall
            out[f"{label}_cpu"] = _self_cpu() - cpu
            out[label], out[f"{label}_errors"] = done, errors
    return out


CHILDREN: dict[str, Callable[[int, int, Path, str | None], dict[str, Any]]] = {
    "monitor": child_monitor, "reader": child_reader, "feedparser": child_feedparser,
}
# What each peer imports; reader's vendored feedparser needs sgmllib (sgmllib3k), which reader does not declare.
MODULES = {"monitor": ("monitor",), "reader": ("reader", "sgmllib"), "feedparser": ("feedparser", "httpx")}


def run_child(name: str, port: int, feeds: int, database: str | None) -> None:
    """In the child process: run one peer and print its figures as one JSON line."""
    with tempfile.TemporaryDirectory() as tmp:
        figures = CHILDREN[name](port, feeds, Path(tmp), database)
    figures["self_maxrss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # A cross-check of the parent's figure: what this process's reaped children (fork server, workers) used.
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    figures["children_cpu"] = children.ru_utime + children.ru_stime
    print(json.dumps(figures), flush=True)


# --- the parent -----------------------------------------------------------------------------------


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def postgres_cpu() -> float | None:
    """CPU seconds of every `postgres` process, plus what the postmaster's reaped backends used."""
    procs: dict[int, tuple[int, list[str]]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        comm = text[text.index("(") + 1:text.rindex(")")]
        if comm.startswith("postgres"):
            fields = text.rsplit(")", 1)[1].split()
            procs[int(entry.name)] = (int(fields[1]), fields)  # ppid, fields
    if not procs:
        return None
    ticks = 0
    for ppid, fields in procs.values():
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
        if ppid not in procs:  # the postmaster: add the backends it already reaped
            ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


class FreshDatabase:
    """A new, empty PostgreSQL database next to the one of `url`, dropped on exit."""

    def __init__(self, url: str, name: str) -> None:
        from sqlalchemy.engine import make_url

        self.admin = make_url(url).set(drivername="postgresql")
        self.name = name
        self.url = make_url(url).set(database=name).render_as_string(hide_password=False)

    def _execute(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.admin.render_as_string(hide_password=False), autocommit=True) as conn:
            conn.execute(sql)

    def __enter__(self) -> str:
        self._execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self._execute(f'CREATE DATABASE "{self.name}"')
        return self.url

    def __exit__(self, *exc: object) -> None:
        self._execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def run_peer(name: str, port: int, feeds: int, database: str | None, reader_workers: int) -> dict[str, Any] | None:
    """Run one peer in a subprocess; its figures plus the tree's CPU, peak RSS and PostgreSQL's CPU."""
    command = [sys.executable, __file__, "--child", name, "--port", str(port), "--feeds", str(feeds),
               "--reader-workers", str(reader_workers)]
    if database:
        command += ["--database", database]
    pg_before = postgres_cpu() if database else None
    cpu = _children_cpu()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=HERE.parent)
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    tree_cpu = _children_cpu() - cpu
    if process.returncode != 0 or not output.strip():
        print(f"  {name}: failed (exit {process.returncode}); its stderr is above", flush=True)
        return None
    figures: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    figures["tree_cpu"] = tree_cpu
    figures["tree_maxrss_kib"] = usage.ru_maxrss
    if pg_before is not None:
        pg_after = postgres_cpu()
        figures["postgres_cpu"] = None if pg_after is None else pg_after - pg_before
    return figures


def metrics(figures: dict[str, Any], feeds: int) -> dict[str, float]:
    """The reported figures of one run."""
    changed = max(figures["changed"], 1)
    out = {
        "tree CPU ms/changed feed": figures["tree_cpu"] * 1000 / changed,
        "1st pass CPU ms/feed": figures["changed_cpu"] * 1000 / changed,
        "changed feeds/s": figures["changed"] / figures["changed_wall"],
        "304 feeds/s": figures["not_modified"] / figures["not_modified_wall"],
        "peak RSS MiB": figures["tree_maxrss_kib"] / 1024,
        # Each process's peak, added up: an upper bound (pages shared with the fork server count twice).
        "sum of peaks MiB": (figures["self_maxrss_kib"] + figures.get("others_peak_kib", 0)) / 1024,
    }
    if "parse_cpu" in figures:
        out["parse only ms/feed"] = figures["parse_cpu"] * 1000 / changed
    if figures.get("postgres_cpu") is not None:
        out["PostgreSQL CPU ms/feed"] = figures["postgres_cpu"] * 1000 / changed
        out["tree+PostgreSQL ms/feed"] = out["tree CPU ms/changed feed"] + out["PostgreSQL CPU ms/feed"]
    return out


def available(peers: list[str]) -> list[str]:
    """The peers whose package imports; a missing one is skipped with how to install it."""
    import importlib.util

    found = []
    for name in peers:
        missing = [module for module in MODULES[name] if importlib.util.find_spec(module) is None]
        if missing:
            print(f"skipping {name}: {', '.join(missing)} not installed (install the peers: {INSTALL})")
        else:
            found.append(name)
    return found


def compile_monitor() -> None:
    """Compile monitor's modules to bytecode once, as installing a wheel does and as the peers' installs are.

    Run from a checkout (an editable install) with PYTHONDONTWRITEBYTECODE=1, as on these machines,
    every monitor process would otherwise compile its ~150 modules from source on every run (~0.25 s
    of CPU a run in the main process and the fork server), while reader and feedparser load the
    bytecode pip wrote at install time.
    """
    import compileall

    compileall.compile_dir(str(HERE.parent / "monitor"), quiet=1)


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres", metavar="URL", help="also run monitor on a fresh database of this server")
    parser.add_argument("--peers", default=",".join(PEERS), help="comma-separated subset of " + ",".join(PEERS))
    parser.add_argument("--reader-workers", type=int, default=1,
                        help="reader's update_feeds workers (threads fetching; default 1, reader's own default)")
    parser.add_argument("--child", choices=PEERS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        global READER_WORKERS
        READER_WORKERS = args.reader_workers
        run_child(args.child, args.port, args.feeds, args.database)
        return
    peers = available([p.strip() for p in args.peers.split(",") if p.strip()])
    if "monitor" in peers:
        compile_monitor()
    runs = [(p, None) for p in peers]
    if args.postgres and "monitor" in peers:
        runs.insert(1, ("monitor", args.postgres))
    queue: Any = multiprocessing.Queue()
    server = multiprocessing.Process(target=serve_farm, args=(queue, args.feeds), daemon=True)
    server.start()
    port = queue.get(timeout=120)
    print(f"farm: {args.feeds} feeds x 20 items on 127.0.0.1:{port}; rounds={args.rounds}; "
          f"reader workers={args.reader_workers}; "
          f"cpus={os.cpu_count()}; load={os.getloadavg()[0]:.2f}", flush=True)
    results: dict[str, list[dict[str, float]]] = {}
    try:
        for round_no in range(args.rounds):
            shift = round_no % len(runs)  # alternate: each round starts with the next peer
            for name, postgres in runs[shift:] + runs[:shift]:
                label = f"{name}-{'postgresql' if postgres else 'sqlite'}" if name == "monitor" else name
                if postgres:
                    with FreshDatabase(postgres, f"peers_bench_{os.getpid()}") as url:
                        figures = run_peer(name, port, args.feeds, url, args.reader_workers)
                else:
                    figures = run_peer(name, port, args.feeds, None, args.reader_workers)
                if figures is None:
                    continue
                row = metrics(figures, args.feeds)
                results.setdefault(label, []).append(row)
                print(f"round {round_no + 1} {label}: changed={figures['changed']} 304={figures['not_modified']} "
                      f"errors={figures['changed_errors'] + figures['not_modified_errors']} "
                      f"reaped-by-child CPU {figures['children_cpu']:.2f} s, "
                      + ", ".join(f"{k} {v:,.1f}" for k, v in row.items()), flush=True)
    finally:
        server.terminate()
        server.join()
    print(f"\nranges over {args.rounds} rounds: min-max (median); load={os.getloadavg()[0]:.2f}")
    for label, rows in results.items():
        print(f"{label}:")
        for key in rows[0]:
            values = [r[key] for r in rows if key in r]
            print(f"  {key:28} {min(values):8,.1f} - {max(values):8,.1f}  ({statistics.median(values):,.1f})")


if __name__ == "__main__":
    main()
