"""Soak, push variant: a local WebSub hub pushes new items of a share of N feeds to a running service.

Run: .venv/bin/python benchmarks/push_soak.py [--feeds 10000] [--pushed 0.1] [--publishes 300] [--rate 5]
     [--database postgres|sqlite] [--workers 2]

A feed server (aiohttp, its own process) serves N RSS feeds polled every --interval (15m); the
--pushed share of them names the local hub (tests/support/websub_hub.py) in `<atom:link rel="hub">`.
`monitor run` polls them, discovers the hubs and subscribes with callbacks under base_url, served by
`monitor serve` (the deployment: both processes, one database). Once every pushed feed is subscribed,
the hub publishes --publishes new matching items, --rate a second, each to a random pushed feed, as a
content distribution signed with the subscription's secret; the feed server never serves them, so
only the push can bring them. The service's alerts go to an aiosmtpd sink in this process.

Reported: the time to subscribe every pushed feed, and p50/p95/max of the delay from the hub's
publish (before its POST to the callback) to the alert's arrival at the SMTP sink, and how many
never arrived within --drain.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.soak import SmtpSink, create_database, drop_database, free_port, pct  # noqa: E402
from tests.support.websub_hub import running_hub  # noqa: E402


def feed_xml(i: int, hub: str | None, self_url: str, items: list[tuple[int, str]]) -> bytes:
    """Feed i's RSS, naming the hub when it has one; items are (k, title)."""
    links = f"<atom:link rel='hub' href='{hub}'/><atom:link rel='self' href='{self_url}'/>" if hub else ""
    body = "".join(
        f"<item><title>{title}</title><link>https://soak.test/{i}/{k}</link>"
        f"<guid isPermaLink='false'>soak:{i}:{k}</guid><description>{title}.</description></item>"
        for k, title in items
    )
    return (f"<?xml version='1.0'?><rss version='2.0' xmlns:atom='http://www.w3.org/2005/Atom'><channel>"
            f"<title>Feed {i}</title><link>https://soak.test/{i}</link>{links}{body}</channel></rss>").encode()


def serve(port: int, hub: str, pushed: set[int]) -> None:
    """The feed server: every feed shows one old, non-matching item (ETag, 304 on If-None-Match)."""
    import asyncio

    from aiohttp import web

    async def handler(request: web.Request) -> web.StreamResponse:
        i = int(request.match_info["i"])
        etag = f'"{i}"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        body = feed_xml(i, hub if i in pushed else None, f"http://127.0.0.1:{port}/f/{i}.xml",
                        [(-1, f"Feed {i} weather report")])
        return web.Response(body=body, content_type="application/rss+xml", headers={"ETag": etag})

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/f/{i:\\d+}.xml", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port, backlog=4096).start()
        await asyncio.Event().wait()

    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    asyncio.run(main())


def write_config(tmp: Path, database: str, port: int, smtp_port: int, web_port: int, feeds: int, interval: str) -> Path:
    """The service's configuration: every feed at --interval, one immediate email subscriber."""
    config = tmp / "config"
    (config / "watchlists").mkdir(parents=True)
    (config / "monitor.yaml").write_text(
        f"database: {database}\nbase_url: http://127.0.0.1:{web_port}\n"
        f"email:\n  transport: smtp\n  smtp: {{host: 127.0.0.1, port: {smtp_port}, starttls: false, timeout: 10s}}\n"
        "  from: 'Monitor <monitor@soak.example>'\n"
        "fetch:\n  allow_private_networks: true\n  timeout: 10s\n  concurrency: 64\n  per_host: 64\n",
        encoding="utf-8",
    )
    lines = "".join(f"  - url: http://127.0.0.1:{port}/f/{i}.xml\n    id: feed-{i}\n" for i in range(feeds))
    (config / "feeds.yaml").write_text(f"defaults:\n  interval: {interval}\n  max_interval: {interval}\nfeeds:\n{lines}",
                                       encoding="utf-8")
    (config / "watchlists" / "soak.yaml").write_text(
        "name: Soak watch\ntopics:\n  - id: hostages\n    name: Hostages\n    query: 'hostages'\n", encoding="utf-8")
    (config / "subscribers.yaml").write_text(
        "subscribers:\n  - id: desk\n    email: desk@soak.example\n    watchlists: [soak]\n    schedule: immediate\n",
        encoding="utf-8")
    return config


def wait_listening(port: int, timeout: float = 60) -> None:
    """Until something accepts connections on 127.0.0.1:port."""
    deadline = time.time() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.2)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Start everything, subscribe, publish, measure."""
    from aiosmtpd.controller import Controller

    tmp = Path(tempfile.mkdtemp(prefix="monitor-push-soak-"))
    if args.database == "postgres":
        create_database(args.admin_url, args.db_name)
        database = f"postgresql+psycopg://{args.admin_url.split('://', 1)[1].rsplit('/', 1)[0]}/{args.db_name}"
    else:
        database = f"sqlite:///{tmp / 'monitor.db'}"
    rng = random.Random(7)
    pushed = sorted(rng.sample(range(args.feeds), max(1, round(args.feeds * args.pushed))))
    sink = SmtpSink()
    smtp_port, port, web_port = free_port(), free_port(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    config = write_config(tmp, database, port, smtp_port, web_port, args.feeds, args.interval)
    env = {**os.environ, "MONITOR_WEBSUB_TICK": args.websub_tick}
    processes: list[subprocess.Popen[bytes]] = []
    logs = (tmp / "service.log").open("ab")
    report: dict[str, Any] = {"feeds": args.feeds, "pushed_feeds": len(pushed), "publishes": args.publishes,
                              "rate_per_s": args.rate, "database": args.database, "workers": args.workers}
    with running_hub() as hub:
        server = multiprocessing.Process(target=serve, args=(port, hub.url, set(pushed)), daemon=True)
        server.start()
        try:
            wait_listening(port)
            # Migrated first, the dashboard up next: hubs verify intents as soon as the service subscribes.
            subprocess.run([sys.executable, "-m", "monitor", "db", "upgrade", "--config", str(config)],
                           stdout=logs, stderr=subprocess.STDOUT, env=env, cwd=tmp, check=True)
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "monitor", "serve", "--config", str(config), "--port", str(web_port)],
                stdout=logs, stderr=subprocess.STDOUT, env=env, cwd=tmp))
            wait_listening(web_port, timeout=300)
            started = time.time()
            workers = ["--workers", str(args.workers)] if args.database == "postgres" else []
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "monitor", "run", "--config", str(config), *workers],
                stdout=logs, stderr=subprocess.STDOUT, env=env, cwd=tmp))
            print(f"push soak: {args.feeds} feeds, {len(pushed)} pushed; files in {tmp}", flush=True)
            topics = {i: f"http://127.0.0.1:{port}/f/{i}.xml" for i in pushed}
            while sum(1 for t in topics.values() if hub.active(t)) < len(pushed):
                if time.time() - started > args.subscribe_timeout:
                    raise SystemExit(f"not every pushed feed was subscribed in {args.subscribe_timeout}s; see {tmp}")
                time.sleep(1)
            report["subscribed_all_after_s"] = round(time.time() - started, 1)
            print(f"  every pushed feed subscribed after {report['subscribed_all_after_s']}s", flush=True)
            published: dict[tuple[int, int], float] = {}
            for k in range(args.publishes):
                i = rng.choice(pushed)
                body = feed_xml(i, hub.url, topics[i], [(k, f"Hostages: push {k} to feed {i}")])
                published[(i, k)] = time.time()
                statuses = hub.publish(topics[i], body)
                if statuses != [202]:
                    print(f"  publish {k} to feed {i}: callback answered {statuses}", flush=True)
                time.sleep(max(0.0, published[(i, k)] + 1 / args.rate - time.time()))
            deadline = time.time() + args.drain
            while time.time() < deadline:
                with sink.lock:
                    arrived = {link for a in sink.arrivals for link in a.links}
                if all(key in arrived for key in published):
                    break
                time.sleep(0.5)
            with sink.lock:
                first: dict[tuple[int, int], float] = {}
                for a in sink.arrivals:
                    for link in a.links:
                        first.setdefault(link, a.at)
            delays = [first[key] - at for key, at in published.items() if key in first]
            report.update(
                arrived=len(delays), lost=len(published) - len(delays),
                p50_s=round(pct(delays, 0.5), 2), p95_s=round(pct(delays, 0.95), 2),
                max_s=round(max(delays), 2) if delays else None, load_avg_1m=os.getloadavg()[0],
            )
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
            logs.close()
            server.terminate()
            server.join(10)
            controller.stop()
            if args.database == "postgres" and not args.keep_db:
                drop_database(args.admin_url, args.db_name)
    return report


def main() -> None:
    """Parse the options, run, print the report (and write it with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--feeds", type=int, default=10_000)
    parser.add_argument("--pushed", type=float, default=0.1, help="share of the feeds that name the hub")
    parser.add_argument("--publishes", type=int, default=300, help="items the hub publishes")
    parser.add_argument("--rate", type=float, default=5.0, help="publishes a second")
    parser.add_argument("--interval", default="15m", help="every feed's polling interval")
    parser.add_argument("--database", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--workers", type=int, default=2, help="monitor run --workers N (PostgreSQL)")
    parser.add_argument("--websub-tick", default="5s", help="MONITOR_WEBSUB_TICK (subscriptions are made on it)")
    parser.add_argument("--subscribe-timeout", type=float, default=900.0)
    parser.add_argument("--drain", type=float, default=60.0, help="seconds to wait for the last alerts")
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--db-name", default="monitor_push_soak")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args()
    report = run(args)
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
