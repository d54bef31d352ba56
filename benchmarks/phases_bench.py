"""Phases: where peers.py's monitor run spends its CPU, for one or more source trees alternating in one run.

Run: .venv/bin/python benchmarks/phases_bench.py [--trees PATH,PATH] [--feeds 1000] [--rounds 3] [--postgres URL] [--parts]

The farm is peers.py's (1,000 feeds x 20 items, all changed, then all 304). Each round runs, for every
tree in turn, the same work as peers.py's monitor child (FeedPoller.poll_due twice on a fresh database)
in a subprocess whose `monitor` package is that tree's (PYTHONPATH and working directory), so an older
revision checked out with `git worktree add --detach /tmp/old REV` (its C extension built in place:
`.venv/bin/python -c "from setuptools import setup; setup()" build_ext --inplace` there) runs beside
the working tree. The trees are compiled to bytecode first, as peers.py does.

Printed per run, in ms of CPU per changed feed: the tree's CPU (as peers.py counts it) and, with
--postgres, the server's; the main process's own CPU by phase (imports, configuration, migrations, sync,
the changed pass, the 304 pass, shutdown); the writer threads' and the event loop's share of the changed
pass; the parse processes' (live, from /proc) and everything the child reaped (fork server included).
--parts also times the store's steps inside the writer (thread CPU, summed over the run). It does not
call `collect_less_often` (see monitor/config/gc_pause.py) unless --collector is given and the tree has it.
"""

from __future__ import annotations

import argparse
import compileall
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PARTS = [  # (module, attribute): the writer's steps timed with --parts
    ("monitor.refresh.refresh", "save_articles"), ("monitor.refresh.refresh", "save_feed_matches"),
    ("monitor.refresh.refresh", "_route"), ("monitor.refresh.refresh", "add_routed_items"),
    ("monitor.refresh.refresh", "record_poll_in"), ("monitor.store.articles", "find_clusters"),
    ("monitor.store.articles", "insert_new"), ("monitor.store.articles", "index_clusters"),
    ("monitor.store.articles", "insert_many"), ("monitor.store.clusters", "select_by_keys"),
]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child(port: int, feeds: int, database: str | None, parts: bool, collector: bool) -> None:
    """In the child (working directory: the tree): peers.py's monitor run, its phases timed; one JSON line out."""
    import asyncio
    import importlib
    import tempfile
    import threading
    from datetime import UTC, datetime
    from multiprocessing import forkserver

    marks: list[tuple[str, float]] = [("start", _cpu())]
    sys.path.insert(0, str(Path.cwd() / "benchmarks"))
    from ingest_bench import _config, _worker_cpu  # the tree's own

    from monitor.config.loader import load_config
    from monitor.refresh.poller import FeedPoller
    from monitor.refresh.runtime import Runtime
    from monitor.refresh.writer import BatchWriter
    from monitor.store.db import Database
    from monitor.store.feeds import FeedRepository
    from monitor.store.migrate import upgrade

    marks.append(("imports", _cpu()))
    tmp = Path(tempfile.mkdtemp())
    url = database or f"sqlite:///{tmp / 'monitor.db'}"
    config = load_config(_config(tmp, url, port, feeds), {}).config
    runtime = Runtime.build(config)
    marks.append(("config", _cpu()))
    db = Database(url)
    upgrade(db)
    marks.append(("upgrade", _cpu()))
    repo = FeedRepository(db)
    repo.sync(runtime.config.feeds, datetime.now(UTC))
    marks.append(("sync", _cpu()))
    if collector:
        gc_pause = importlib.import_module("monitor.config.gc_pause")
        if hasattr(gc_pause, "collect_less_often"):
            gc_pause.collect_less_often()
    poller = FeedPoller(db, lambda: runtime, owner="phases")

    lock = threading.Lock()
    spent: dict[str, float] = {}

    def timed(owner: Any, name: str, key: str) -> None:
        original = getattr(owner, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                with lock:
                    spent[key] = spent.get(key, 0.0) + time.thread_time() - start

        setattr(owner, name, wrapper)

    timed(BatchWriter, "write_exclusive", "writer")
    if parts:
        for module, name in PARTS:
            owner = importlib.import_module(module)
            if hasattr(owner, name):
                timed(owner, name, f"{module.rsplit('.', 1)[1]}.{name}")
    out: dict[str, Any] = {}
    for label in ("changed", "not_modified"):
        repo.make_all_due(datetime.now(UTC))
        workers, loop = _worker_cpu(poller), time.thread_time()
        spent.clear()
        asyncio.run(poller.poll_due())
        out[f"loop_{label}"] = time.thread_time() - loop
        out[f"workers_{label}"] = _worker_cpu(poller) - workers
        out[f"writer_{label}"] = spent.pop("writer", 0.0)
        if label == "changed":
            out.update(spent)  # --parts: the changed pass's
        marks.append((label, _cpu()))
    poller.close()
    db.dispose()
    stop = getattr(forkserver._forkserver, "_stop", None)  # as peers.py: its children are reaped into the tree
    if stop is not None:
        stop()
    marks.append(("close", _cpu()))
    for (_, before), (name, after) in zip(marks, marks[1:], strict=False):
        out[name] = after - before
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    out["reaped"] = reaped.ru_utime + reaped.ru_stime
    print(json.dumps({key: round(value * 1000 / feeds, 3) for key, value in out.items()}), flush=True)


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--trees", default=str(HERE.parent), help="comma-separated source trees (default: this one)")
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres", metavar="URL", help="also run each tree on a fresh database of this server")
    parser.add_argument("--parts", action="store_true", help="time the store's steps inside the writer")
    parser.add_argument("--collector", action="store_true", help="call collect_less_often, as Service.prepare does")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.port, args.feeds, args.database, args.parts, args.collector)
        return
    sys.path.insert(0, str(HERE))
    import peers

    trees = [str(Path(t).resolve()) for t in args.trees.split(",") if t]
    for tree in trees:
        compileall.compile_dir(str(Path(tree) / "monitor"), quiet=1)
    queue: Any = multiprocessing.Queue()
    server = multiprocessing.Process(target=peers.serve_farm, args=(queue, args.feeds), daemon=True)
    server.start()
    port = queue.get(timeout=120)
    print(f"farm: {args.feeds} feeds x 20 items; rounds={args.rounds}; load={os.getloadavg()[0]:.2f}", flush=True)
    try:
        for round_no in range(args.rounds):
            for tree in trees:
                for postgres in [None, args.postgres] if args.postgres else [None]:
                    _run(round_no, tree, port, args, postgres, peers)
    finally:
        server.terminate()
        server.join()
    print(f"load={os.getloadavg()[0]:.2f}")


def _run(round_no: int, tree: str, port: int, args: argparse.Namespace, postgres: str | None, peers: Any) -> None:
    command = [sys.executable, __file__, "--child", "--port", str(port), "--feeds", str(args.feeds)]
    command += ["--parts"] if args.parts else []
    command += ["--collector"] if args.collector else []
    database = peers.FreshDatabase(postgres, f"phases_bench_{os.getpid()}") if postgres else None
    before, server_before = resource.getrusage(resource.RUSAGE_CHILDREN), None
    if database is not None:
        command += ["--database", database.__enter__()]
        server_before = peers.postgres_cpu()
    try:
        done = subprocess.run(command, cwd=tree, env={**os.environ, "PYTHONPATH": tree}, capture_output=True,
                              text=True, check=False)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        server = None if server_before is None else (peers.postgres_cpu() or 0.0) - server_before
    finally:
        if database is not None:
            database.__exit__(None, None, None)
    if done.returncode != 0:
        print(f"round {round_no + 1} {tree}: failed (exit {done.returncode})\n{done.stderr[-3000:]}", flush=True)
        return
    tree_cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000 / args.feeds
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    head = f"round {round_no + 1} {tree} {'postgresql' if postgres else 'sqlite'}: tree {tree_cpu:.2f}"
    if server is not None:
        head += f" + server {server * 1000 / args.feeds:.2f}"
    print(head + " ms/feed; " + ", ".join(f"{k} {v:.2f}" for k, v in figures.items()), flush=True)


if __name__ == "__main__":
    main()
