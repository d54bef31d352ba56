"""Soak / load: `monitor run --workers 2` on PostgreSQL against N generated feeds for a bounded time.

Run: .venv/bin/python benchmarks/soak.py [--feeds 10000] [--interval 15m] [--duration 15m] [--drain 60s]

A local aiohttp server (a separate process) serves the feeds. Feed i's item k appears at
t0 + phase(i) + k * item_every * interval (phase uniform in one item period), so each feed gets
a new item every few intervals at a time this script knows; feeds show their latest 5 items and
answer If-None-Match with 304. A fraction of new items (default 10 %) say "hostages" and match
the watchlist; the items there before the start never match. 1 % of the feeds each answer 500,
time out, answer slowly (2 s, still a feed), move with a 301 (the new URL is a good feed),
answer 429 with Retry-After, or serve an HTML page instead of a feed. Every request is logged
by the server (time, feed, status, newest item served).

The service sends email to an aiosmtpd sink in this process, which records each message's
arrival time, Message-ID and article links. New items stop appearing after --duration; the
service runs --drain longer so that items already fetched can be delivered, then gets SIGTERM.

Reported: feeds polled per minute (server log), p50/p95 delay from an item appearing to its alert
arriving (split into appear -> fetched and fetched -> arrived), CPU seconds and peak RSS
(VmHWM) per process (each service process with its parse workers), errors by kind (feeds table),
lost deliveries (matching items that were served but never arrived; those still pending in the
database at the stop are counted apart) and duplicates (a Message-ID or an article twice).
Items that appeared but whose feed was not fetched again before the stop are "too late" and are
not counted as lost.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import json
import multiprocessing
import os
import random
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from email import policy
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.config.units import parse_duration  # noqa: E402

WINDOW = 5
"""Items a feed shows (newest first)."""
BACKLOG = 3
"""Items each feed already has at the start (appeared before t0; never matching)."""
SLOW_SECONDS = 2.0
HANG_SECONDS = 40.0
"""Longer than the fetch timeout: the service records a timeout."""
FETCH_TIMEOUT = "10s"
KINDS = ("http_500", "timeout", "slow", "redirect_301", "rate_limited_429", "html")
"""Feed i with i % 100 == n < len(KINDS) behaves as KINDS[n]; the rest are good feeds."""
CARRY_ITEMS = {"ok", "slow", "redirect_301"}
"""Kinds whose items reach the service (and so must be delivered when they match)."""
WORDS = (
    "government officials said tuesday ministry would review plans after talks regional partners "
    "trade energy prices water infrastructure elections parliament court ruling police investigation "
    "company shares rose fell market analysts expected growth inflation central bank rate decision "
    "port shipping route container freight insurers weather storm flooding residents hospital school "
    "budget minister spokesman statement agency report weeks months year city province border "
    "crossing convoy delegation visit summit agreement signed extended farmers harvest rail strike "
    "museum festival league coach transfer bridge tunnel airport runway satellite launch vaccine"
).split()
URL_RE = re.compile(r"https://soak\.test/(\d+)/(-?\d+)")


def kind_of(i: int) -> str:
    """How feed i behaves."""
    n = i % 100
    return KINDS[n] if n < len(KINDS) else "ok"


def feed_path(i: int) -> str:
    """The configured path of feed i (a 301 feed starts at /r/ and moves to /f/)."""
    prefix = {"redirect_301": "r", "slow": "s", "timeout": "t", "http_500": "e", "rate_limited_429": "q",
              "html": "h"}.get(kind_of(i), "f")
    return f"/{prefix}/{i}.xml"


@dataclass(frozen=True)
class Plan:
    """When items appear; shared by the server process and this one (pure arithmetic)."""

    t0: float
    period: float  # seconds between two items of a feed
    gen_end: float  # no item appears after this
    match_fraction: float

    def phase(self, i: int) -> float:
        return random.Random(i * 7919 + 13).random() * self.period

    def appear(self, i: int, k: int) -> float:
        return self.t0 + self.phase(i) + k * self.period

    def latest(self, i: int, now: float) -> int:
        """The newest item of feed i visible at `now` (>= -BACKLOG)."""
        t = min(now, self.gen_end)
        k = int((t - self.t0 - self.phase(i)) // self.period)
        return max(k, -BACKLOG)

    def matches(self, i: int, k: int) -> bool:
        return k >= 0 and kind_of(i) in CARRY_ITEMS and random.Random(i * 1_000_003 + k).random() < self.match_fraction


def item_xml(plan: Plan, i: int, k: int) -> str:
    rng = random.Random(i * 104_729 + k * 31 + 7)
    words = " ".join(rng.choice(WORDS) for _ in range(7))
    body = " ".join(rng.choice(WORDS) for _ in range(60))
    title = f"Hostages: {words}" if plan.matches(i, k) else f"Feed {i} story {k}: {words}"
    published = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(plan.appear(i, k)))
    return (
        f"<item><title>{title}</title><link>https://soak.test/{i}/{k}</link>"
        f"<guid isPermaLink='false'>soak:{i}:{k}</guid><pubDate>{published}</pubDate>"
        f"<description>{body.capitalize()}.</description></item>"
    )


def feed_xml(plan: Plan, i: int, newest: int) -> bytes:
    items = "".join(item_xml(plan, i, k) for k in range(newest, max(newest - WINDOW, -BACKLOG - 1), -1))
    return (
        f"<?xml version='1.0'?><rss version='2.0'><channel><title>Soak feed {i}</title>"
        f"<link>https://soak.test/{i}</link><language>en</language>{items}</channel></rss>"
    ).encode()


# ---------------------------------------------------------------- the feed server (its own process)


def serve(port: int, plan: Plan, log_path: str, interval: float) -> None:
    """aiohttp server; one log line per answer: time, feed, status, newest item served (or '')."""
    from aiohttp import web

    log = open(log_path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - open for the process's life

    def note(i: int, status: int, newest: int | str = "") -> None:
        log.write(f"{time.time():.3f} {i} {status} {newest}\n")

    async def good(request: web.Request, i: int) -> web.StreamResponse:
        newest = plan.latest(i, time.time())
        etag = f'"{i}-{newest}"'
        if request.headers.get("If-None-Match") == etag:
            note(i, 304)
            return web.Response(status=304, headers={"ETag": etag})
        note(i, 200, newest)
        return web.Response(body=feed_xml(plan, i, newest), content_type="application/rss+xml", headers={"ETag": etag})

    async def handler(request: web.Request) -> web.StreamResponse:
        prefix, i = request.match_info["prefix"], int(request.match_info["i"])
        if prefix == "f":
            return await good(request, i)
        if prefix == "s":
            await asyncio.sleep(SLOW_SECONDS)
            return await good(request, i)
        if prefix == "r":
            note(i, 301)
            raise web.HTTPMovedPermanently(f"/f/{i}.xml")
        if prefix == "e":
            note(i, 500)
            return web.Response(status=500, text="internal error")
        if prefix == "q":
            note(i, 429)
            return web.Response(status=429, text="slow down", headers={"Retry-After": str(int(2 * interval))})
        if prefix == "h":
            note(i, 200, "html")
            return web.Response(text="<!doctype html><html><head><title>Home</title></head><body>News</body></html>",
                                content_type="text/html")
        if prefix == "t":
            note(i, 0)  # request seen; never answered in time
            await asyncio.sleep(HANG_SECONDS)
            return web.Response(status=504)
        return web.Response(status=404)

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/{prefix}/{i:\\d+}.xml", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", port, backlog=4096)
        await site.start()
        await asyncio.Event().wait()

    def stop(*_: object) -> None:
        log.flush()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    asyncio.run(main())


# ---------------------------------------------------------------- SMTP sink (a thread of this process)


@dataclass
class Arrival:
    at: float
    message_id: str
    delivery: str
    links: list[tuple[int, int]]


@dataclass
class SmtpSink:
    arrivals: list[Arrival] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
        at = time.time()
        message = email.message_from_bytes(getattr(envelope, "content", b""), policy=policy.default)
        part = message.get_body(("plain",))  # type: ignore[attr-defined]
        text = part.get_content() if part is not None else ""
        links = [(int(a), int(b)) for a, b in URL_RE.findall(text)]
        with self.lock:
            self.arrivals.append(Arrival(at, str(message["Message-ID"]), str(message["X-Monitor-Delivery"]), links))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# ---------------------------------------------------------------- processes: CPU and peak RSS from /proc


TICK = os.sysconf("SC_CLK_TCK")


def _proc_table() -> dict[int, int]:
    """pid -> ppid of every process."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            table[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    return table


def _proc_sample(pid: int) -> tuple[float, int, str] | None:
    """CPU seconds (user+system), VmHWM in KiB, short command line."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        status = Path(f"/proc/{pid}/status").read_text()
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return None
    hwm = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)
    return (int(fields[11]) + int(fields[12])) / TICK, hwm, cmd


@dataclass
class ProcStat:
    pid: int
    role: str
    cmd: str
    cpu: float = 0.0
    peak_kib: int = 0


class Sampler:
    """Samples the service's process tree (and the feed server) every `every` seconds."""

    def __init__(self, root: int, server: int, db_name: str = "", every: float = 2.0) -> None:
        self.root, self.server, self.db_name, self.every = root, server, db_name, every
        self.procs: dict[int, ProcStat] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _role(self, pid: int, table: dict[int, int], cmd: str) -> str:
        if pid == self.server:
            return "feed server"
        if cmd.startswith("postgres:"):
            return "postgres"
        if pid == self.root:
            return "service 0 (parent)"
        if "-m monitor run" in cmd:
            return "service 1 (child)"
        # a helper (forkserver, parse worker, resource tracker): belongs to its nearest service ancestor
        p = table.get(pid, 0)
        while p and p != self.root and p in table:
            if "-m monitor run" in self._cmd(p):
                return "service 1: helper"
            p = table[p]
        return "service 0: helper"

    @staticmethod
    def _cmd(pid: int) -> str:
        try:
            return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            return ""

    def sample(self) -> None:
        table = _proc_table()
        children: dict[int, list[int]] = defaultdict(list)
        for pid, ppid in table.items():
            children[ppid].append(pid)
        tree, todo = [], [self.root]
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo.extend(children.get(pid, []))
        # PostgreSQL backends serving the soak database (their CPU is part of the cost; RSS is mostly shared buffers)
        backends = [pid for pid in table if self.db_name and pid not in self.procs
                    and self._cmd(pid).startswith("postgres:") and f" {self.db_name} " in self._cmd(pid)]
        for pid in [*tree, self.server, *backends, *(p.pid for p in self.procs.values() if p.role == "postgres")]:
            got = _proc_sample(pid)
            if got is None:
                continue
            cpu, hwm, cmd = got
            stat = self.procs.get(pid)
            if stat is None:
                stat = self.procs[pid] = ProcStat(pid, "", cmd)
                stat.role = self._role(pid, table, cmd)
            stat.cpu = max(stat.cpu, cpu)
            stat.peak_kib = max(stat.peak_kib, hwm)

    def _run(self) -> None:
        while not self.stop.wait(self.every):
            self.sample()

    def start(self) -> None:
        self.thread.start()


# ---------------------------------------------------------------- database and configuration


def create_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def write_config(directory: Path, database: str, port: int, smtp_port: int, feeds: int, interval: str) -> Path:
    config = directory / "config"
    (config / "watchlists").mkdir(parents=True)
    (config / "monitor.yaml").write_text(
        f"database: {database}\n"
        f"email:\n  transport: smtp\n  smtp: {{host: 127.0.0.1, port: {smtp_port}, starttls: false, timeout: 10s}}\n"
        "  from: 'Monitor <monitor@soak.example>'\n"
        f"fetch:\n  allow_private_networks: true\n  timeout: {FETCH_TIMEOUT}\n  concurrency: 64\n  per_host: 64\n",
        encoding="utf-8",
    )
    lines = "".join(f"  - url: http://127.0.0.1:{port}{feed_path(i)}\n    id: feed-{i}\n" for i in range(feeds))
    # max_interval = interval: no adaptive lengthening, every feed is due once per interval.
    (config / "feeds.yaml").write_text(
        f"defaults:\n  interval: {interval}\n  max_interval: {interval}\nfeeds:\n{lines}", encoding="utf-8"
    )
    (config / "watchlists" / "soak.yaml").write_text(
        "name: Soak watch\ntopics:\n  - id: hostages\n    name: Hostages\n    query: 'hostages'\n", encoding="utf-8"
    )
    (config / "subscribers.yaml").write_text(
        "subscribers:\n  - id: desk\n    email: desk@soak.example\n    watchlists: [soak]\n    schedule: immediate\n",
        encoding="utf-8",
    )
    return config


# ---------------------------------------------------------------- analysis


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def read_server_log(path: Path) -> list[tuple[float, int, int, str]]:
    hits = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split(" ")
        if len(parts) == 4:
            hits.append((float(parts[0]), int(parts[1]), int(parts[2]), parts[3]))
    return hits


def pending_in_db(database: str, links: list[str]) -> Counter[str]:
    """For items that did not arrive: what the database says about them."""
    import psycopg

    out: Counter[str] = Counter()
    if not links:
        return out
    url = database.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        for link in links:
            row = conn.execute(
                "SELECT a.id, r.id, d.status FROM articles a LEFT JOIN routed_items r ON r.article_id = a.id "
                "LEFT JOIN deliveries d ON d.id = r.delivery_id WHERE a.url = %s", (link,)
            ).fetchone()
            if row is None:
                out["article not stored"] += 1
            elif row[1] is None:
                out["stored, not routed"] += 1
            elif row[2] is None:
                out["routed, not yet in a delivery"] += 1
            else:
                out[f"in a delivery with status {row[2]}"] += 1
    return out


def feed_errors(database: str) -> tuple[Counter[str], dict[str, int]]:
    import psycopg

    url = database.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        kinds = Counter({str(k): int(n) for k, n in conn.execute(
            "SELECT coalesce(error_kind, 'none'), count(*) FROM feeds GROUP BY 1").fetchall()})
        polls, moved, articles = conn.execute(
            "SELECT (SELECT coalesce(sum(poll_count), 0) FROM feeds), "
            "(SELECT count(*) FROM feeds WHERE url <> configured_url), (SELECT count(*) FROM articles)"
        ).fetchone() or (0, 0, 0)
        statuses: dict[str, int] = dict(conn.execute("SELECT status, count(*) FROM deliveries GROUP BY 1").fetchall())
    return kinds, {"poll_count_sum": int(polls), "feeds_moved_by_301": int(moved), "articles": int(articles),
                   **{f"deliveries_{k}": int(v) for k, v in statuses.items()}}


# ---------------------------------------------------------------- the run


def run(args: argparse.Namespace) -> dict[str, Any]:
    from aiosmtpd.controller import Controller

    interval = parse_duration(args.interval).total_seconds()
    duration = parse_duration(args.duration).total_seconds()
    drain = parse_duration(args.drain).total_seconds()
    admin = args.admin_url
    database = f"postgresql+psycopg://{admin.split('://', 1)[1].rsplit('/', 1)[0]}/{args.db_name}"
    load_before = os.getloadavg()
    create_database(admin, args.db_name)
    tmp = Path(tempfile.mkdtemp(prefix="monitor-soak-"))
    sink = SmtpSink()
    smtp_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    server_log = tmp / "server.log"
    port = free_port()
    config = write_config(tmp, database, port, smtp_port, args.feeds, args.interval)
    env = dict(os.environ)
    if args.tick:
        env["MONITOR_POLL_TICK"] = env["MONITOR_DELIVER_TICK"] = args.tick
    service_log = tmp / "service.log"
    handle = service_log.open("ab")
    # t0 = the service's start: the first poll sees the backlog (never matching) plus the first
    # items of the feeds whose phase is short.
    started_at = time.time()
    plan = Plan(t0=started_at, period=args.item_every * interval, gen_end=started_at + duration,
                match_fraction=args.match_fraction)
    server = multiprocessing.Process(target=serve, args=(port, plan, str(server_log), interval), daemon=True)
    server.start()
    deadline = time.time() + 30
    while True:  # the service's first poll must find the server listening
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)
    service = subprocess.Popen(
        [sys.executable, "-m", "monitor", "run", "--config", str(config), "--workers", str(args.workers)],
        stdout=handle, stderr=subprocess.STDOUT, env=env, cwd=tmp,
    )
    sampler = Sampler(service.pid, server.pid or 0, args.db_name)
    sampler.start()
    print(f"soak: {args.feeds} feeds, interval {args.interval}, item every {args.item_every} intervals, "
          f"duration {args.duration} + drain {args.drain}, workers {args.workers}; files in {tmp}", flush=True)
    stop_at = started_at + duration + drain
    try:
        while time.time() < stop_at:
            time.sleep(min(15.0, max(0.1, stop_at - time.time())))
            if service.poll() is not None:
                raise SystemExit(f"the service exited early with {service.returncode}; see {service_log}")
            with sink.lock:
                arrived = len(sink.arrivals)
            print(f"  t+{time.time() - started_at:5.0f}s emails={arrived}", flush=True)
        sampler.sample()
        stopped_at = time.time()
        service.send_signal(signal.SIGTERM)
        code = service.wait(60)
    finally:
        if service.poll() is None:
            service.kill()
            service.wait()
        handle.close()
        sampler.stop.set()
    tree_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    service_tree_cpu = tree_cpu.ru_utime + tree_cpu.ru_stime
    server_stat = _proc_sample(server.pid or 0)
    if server_stat and server.pid in sampler.procs:
        sampler.procs[server.pid].cpu = server_stat[0]
    server.terminate()
    server.join(10)
    time.sleep(1)  # the last SMTP transactions
    controller.stop()
    load_after = os.getloadavg()

    # ------------------------------------------------------------ figures
    hits = read_server_log(server_log)
    first_served: dict[tuple[int, int], float] = {}
    for at, i, status, newest in sorted(hits):
        if status == 200 and newest not in ("", "html"):
            for k in range(int(newest), max(int(newest) - WINDOW, -BACKLOG - 1), -1):
                first_served.setdefault((i, k), at)
    arrivals = sorted(sink.arrivals, key=lambda a: a.at)
    first_arrival: dict[tuple[int, int], float] = {}
    link_count: Counter[tuple[int, int]] = Counter()
    for a in arrivals:
        for link in a.links:
            first_arrival.setdefault(link, a.at)
            link_count[link] += 1
    dup_message_ids = sum(c - 1 for c in Counter(a.message_id for a in arrivals).values() if c > 1)
    dup_items = sum(c - 1 for c in link_count.values() if c > 1)

    appeared = [(i, k) for i in range(args.feeds) for k in range(0, plan.latest(i, stopped_at) + 1)
                if plan.matches(i, k)]
    delays, to_fetch, fetch_to_arrive = [], [], []
    lost, in_flight, too_late = [], [], []
    for key in appeared:
        served = first_served.get(key)
        got = first_arrival.get(key)
        if got is not None:
            appear = plan.appear(*key)
            delays.append(got - appear)
            if served is not None:
                to_fetch.append(served - appear)
                fetch_to_arrive.append(got - served)
        elif served is None:
            too_late.append(key)
        elif served > stopped_at - 30:
            in_flight.append(key)
        else:
            lost.append(key)
    unexpected = [link for link in first_arrival if not plan.matches(*link)]
    missing_db = pending_in_db(database, [f"https://soak.test/{i}/{k}" for i, k in lost + in_flight])

    requests = [h for h in hits if h[0] <= stopped_at]
    per_minute: Counter[int] = Counter(int((h[0] - started_at) // 60) for h in requests)
    steady = [per_minute[m] for m in sorted(per_minute) if m * 60 >= interval and (m + 1) * 60 <= stopped_at - started_at]
    by_status = Counter(h[2] for h in requests)
    # Gaps between two fetches of a good feed: the schedule kept means ~interval (+ the time a tick takes).
    times: dict[int, list[float]] = defaultdict(list)
    for at, i, _status, _newest in requests:
        if kind_of(i) == "ok":
            times[i].append(at)
    gaps = [b - a for ts in times.values() for a, b in zip(sorted(ts), sorted(ts)[1:], strict=False)]
    polls_per_feed = Counter(len(ts) for ts in times.values())
    errors, db_figures = feed_errors(database)
    processes = sorted(sampler.procs.values(), key=lambda p: (p.role, p.pid))
    report = {
        "feeds": args.feeds, "interval_s": interval, "item_every_intervals": args.item_every,
        "duration_s": duration, "drain_s": drain, "workers": args.workers, "exit_code": code,
        "wall_s": round(stopped_at - started_at, 1),
        "load_average_before": [round(x, 2) for x in load_before], "load_average_after": [round(x, 2) for x in load_after],
        "requests": len(requests), "requests_by_status": dict(sorted(by_status.items())),
        "polls_per_minute_overall": round(len(requests) / ((stopped_at - started_at) / 60), 1),
        "polls_per_minute_after_first_interval": {
            "median": statistics.median(steady) if steady else None, "min": min(steady, default=None),
            "max": max(steady, default=None)},
        "polls_per_minute_needed": round(args.feeds / (interval / 60), 1),
        "good_feed_poll_gap_s": {"p5": round(pct(gaps, 0.05), 1), "p50": round(pct(gaps, 0.5), 1),
                                 "p95": round(pct(gaps, 0.95), 1), "max": round(max(gaps, default=float("nan")), 1)},
        "good_feeds_by_poll_count": dict(sorted(polls_per_feed.items())),
        "per_minute": [per_minute[m] for m in range(int((stopped_at - started_at) // 60) + 1)],
        "matching_items_appeared": len(appeared), "delivered": len(delays),
        "delay_s": {"p50": round(pct(delays, 0.5), 1), "p95": round(pct(delays, 0.95), 1),
                    "max": round(max(delays, default=float("nan")), 1)},
        "appear_to_fetch_s": {"p50": round(pct(to_fetch, 0.5), 1), "p95": round(pct(to_fetch, 0.95), 1)},
        "fetch_to_arrival_s": {"p50": round(pct(fetch_to_arrive, 0.5), 1), "p95": round(pct(fetch_to_arrive, 0.95), 1),
                               "max": round(max(fetch_to_arrive, default=float("nan")), 1)},
        "target_p95_s": interval + 60,
        "lost": len(lost), "in_flight_at_stop": len(in_flight), "too_late_not_fetched": len(too_late),
        "not_arrived_in_db": dict(missing_db),
        "emails": len(arrivals), "duplicate_message_ids": dup_message_ids, "duplicate_items": dup_items,
        "unexpected_items_alerted": len(unexpected),
        "feed_errors_by_kind": dict(errors.most_common()), **db_figures,
        "service_tree_cpu_s_rusage": round(service_tree_cpu, 1),
        "processes": [{"pid": p.pid, "role": p.role, "cpu_s": round(p.cpu, 1), "peak_rss_mib": round(p.peak_kib / 1024),
                       "cmd": p.cmd[:90]} for p in processes],
        "files": str(tmp),
    }
    backends = [p for p in processes if p.role == "postgres"]
    report["processes"] = [p for p in report["processes"] if p["role"] != "postgres"]
    report["postgres_backends"] = {"count": len(backends), "cpu_s": round(sum(p.cpu for p in backends), 1)}
    for n in (0, 1):
        mine = [p for p in processes if p.role.startswith(f"service {n}")]
        report[f"service_{n}_with_helpers"] = {
            "cpu_s": round(sum(p.cpu for p in mine), 1),
            "peak_rss_mib_main": round(max((p.peak_kib for p in mine if "helper" not in p.role), default=0) / 1024),
            "peak_rss_mib_sum": round(sum(p.peak_kib for p in mine) / 1024)}
    log_text = service_log.read_text(encoding="utf-8", errors="replace")
    report["log_counts"] = {k: log_text.count(k) for k in ("Traceback", "_crashed", "poll_tick_cancelled",
                                                           "worker_died", "deliver_tick", "poll_tick ")}
    return report


def print_report(report: dict[str, Any]) -> None:
    print(json.dumps(report, indent=2, default=str))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--feeds", type=int, default=10_000)
    parser.add_argument("--interval", default="15m", help="every feed's polling interval (default 15m)")
    parser.add_argument("--duration", default="15m", help="how long new items appear")
    parser.add_argument("--drain", default="60s", help="how long the service runs after the last item appears")
    parser.add_argument("--item-every", type=float, default=3.0, help="intervals between two items of a feed")
    parser.add_argument("--match-fraction", type=float, default=0.1, help="share of new items that match")
    parser.add_argument("--workers", type=int, default=2, help="monitor run --workers N")
    parser.add_argument("--tick", help="MONITOR_POLL_TICK and MONITOR_DELIVER_TICK (default: the service's 5s)")
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--db-name", default="monitor_soak")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database at the end")
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args()
    try:
        report = run(args)
    finally:
        if not args.keep_db:
            drop_database(args.admin_url, args.db_name)
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
