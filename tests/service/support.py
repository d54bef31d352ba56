"""Helpers for the service tests: a feed farm with a timed request log, an SMTP sink, real processes."""

from __future__ import annotations

import asyncio
import email
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

from tests.support.feedserver import etag_of, send
from tests.support.httpserver import serving_in_thread

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Hit:
    """One request the farm answered."""

    at: float
    path: str
    status: int
    guids: tuple[str, ...] = ()


@dataclass
class FeedFarm:
    """Many small RSS feeds at /f/<n>.xml on 127.0.0.1; ETag round trips; every request logged with its time."""

    items: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)
    slow: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    def path(self, n: int | str) -> str:
        """The path of feed n."""
        return f"/f/{n}.xml"

    def url(self, n: int | str) -> str:
        """The URL of feed n."""
        return f"http://127.0.0.1:{self.port}{self.path(n)}"

    def publish(self, n: int | str, guid: str, title: str, body: str = "") -> None:
        """Add an item to feed n (newest first)."""
        with self.lock:
            self.items.setdefault(self.path(n), []).insert(0, (guid, title, body or title))

    def body(self, path: str) -> tuple[bytes, tuple[str, ...]]:
        """The RSS document of a path and the guids in it."""
        with self.lock:
            entries = list(self.items.get(path, []))
        xml = "".join(
            f"<item><title>{escape(t)}</title><guid isPermaLink='false'>{g}</guid>"
            f"<link>https://farm.test/{g}</link><description>{escape(b)}</description></item>"
            for g, t, b in entries
        )
        doc = f"<?xml version='1.0'?><rss version='2.0'><channel><title>Feed {path}</title>{xml}</channel></rss>"
        return doc.encode(), tuple(g for g, _, _ in entries)

    def hits_for(self, path: str) -> list[Hit]:
        """The requests for one path, in order."""
        with self.lock:
            return [h for h in self.hits if h.path == path]

    def served_guids(self) -> set[str]:
        """Every guid that was ever in a 200 answer."""
        with self.lock:
            return {g for h in self.hits if h.status == 200 for g in h.guids}


class Publisher:
    """A thread publishing item k to feed `pick_feed(k)` every 50 ms: odd ones about hostages (routed), even not."""

    def __init__(self, farm: FeedFarm, pick_feed: Callable[[int], int]) -> None:
        self.farm, self.pick_feed = farm, pick_feed
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        k = 0
        while not self._stop.is_set():
            k += 1
            title = f"Hostages: update {k}" if k % 2 else f"Weather: update {k}"
            self.farm.publish(self.pick_feed(k), f"u{k}", title)
            time.sleep(0.05)

    def start(self) -> None:
        """Begin publishing."""
        self._thread.start()

    def stop(self) -> None:
        """Stop publishing and wait for the thread (safe to call twice, or before start)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


@contextmanager
def running_farm() -> Iterator[FeedFarm]:
    """Serve a FeedFarm for the duration of the block."""
    farm = FeedFarm()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            delay = farm.slow.get(self.path)
            if delay:
                with farm.lock:
                    farm.hits.append(Hit(time.time(), self.path, 0))  # 0: request seen, answer pending
                time.sleep(delay)
            if self.path not in farm.items:
                self._reply(404, b"", (), {})
                return
            body, guids = farm.body(self.path)
            etag = etag_of(body)
            if self.headers.get("If-None-Match") == etag:
                self._reply(304, b"", (), {"ETag": etag})
                return
            self._reply(200, body, guids, {"ETag": etag, "Content-Type": "application/rss+xml"})

        def _reply(self, status: int, body: bytes, guids: tuple[str, ...], headers: dict[str, str]) -> None:
            with farm.lock:
                farm.hits.append(Hit(time.time(), self.path, status, guids))
            send(self, status, body, headers)

    class Server(ThreadingHTTPServer):
        request_queue_size = 256  # many processes connect at once

    with serving_in_thread(Handler, Server) as httpd:
        farm.port = httpd.server_address[1]
        yield farm


class SmtpSink:
    """Every message an SMTP server on 127.0.0.1 received, as parsed EmailMessages.

    `hold_next()` makes it keep the next message waiting for its answer (the sender blocked in the
    middle of a send) until `release()`: then it is accepted, or refused with a 451 if asked.
    """

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()
        self.port = 0
        self._hold = threading.Event()
        self.holding = threading.Event()  # set while a message is held
        self._released = threading.Event()
        self._refuse_held = False

    def hold_next(self, *, refuse: bool = False) -> None:
        """Hold the next message's answer until release(); refuse it then (451) if `refuse`."""
        self._refuse_held = refuse
        self._released.clear()
        self._hold.set()

    def release(self) -> None:
        """Answer the held message."""
        self._released.set()

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
        if self._hold.is_set():
            self._hold.clear()
            self.holding.set()
            while not self._released.is_set():
                await asyncio.sleep(0.02)
            self.holding.clear()
            if self._refuse_held:
                return "451 4.3.0 held by the test, try again later"
        data = getattr(envelope, "content", b"")
        message = email.message_from_bytes(data, policy=policy.default)
        with self.lock:
            self.messages.append(message)  # type: ignore[arg-type]
        return "250 OK"

    def received(self) -> list[EmailMessage]:
        """A snapshot of what arrived."""
        with self.lock:
            return list(self.messages)


@contextmanager
def running_smtp() -> Iterator[SmtpSink]:
    """An aiosmtpd server on a free local port."""
    import socket

    from aiosmtpd.controller import Controller

    sink = SmtpSink()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    sink.port = port
    try:
        yield sink
    finally:
        controller.stop()


WATCHLIST = """\
name: Farm watch
topics:
  - id: hostages
    name: Hostage talks
    query: '{query}'
"""


def write_config(
    directory: Path,
    database_url: str,
    feed_urls: list[str],
    *,
    interval: str = "4s",
    smtp_port: int | None = None,
    query: str = "hostages",
    digest_cron: str | None = None,
    fetch_timeout: str = "5s",
) -> Path:
    """A configuration directory: an immediate subscriber, optionally a digest one; SMTP or file outbox."""
    config = directory / "config"
    (config / "watchlists").mkdir(parents=True, exist_ok=True)
    if smtp_port is not None:
        email_cfg = f"  transport: smtp\n  smtp: {{host: 127.0.0.1, port: {smtp_port}, starttls: false, timeout: 5s}}\n"
    else:
        email_cfg = f"  transport: file\n  outbox_dir: {directory / 'outbox'}\n"
    (config / "monitor.yaml").write_text(
        f"database: {database_url}\nemail:\n{email_cfg}  from: 'Monitor <monitor@test.example>'\n"
        f"fetch:\n  allow_private_networks: true\n  timeout: {fetch_timeout}\n  per_host: 32\n  concurrency: 64\n",
        encoding="utf-8",
    )
    write_feeds(config, feed_urls, interval=interval)
    (config / "watchlists" / "farm.yaml").write_text(WATCHLIST.format(query=query), encoding="utf-8")
    subscribers = (
        "subscribers:\n  - id: alerts\n    email: alerts@test.example\n    watchlists: [farm]\n"
        "    schedule: immediate\n"
    )
    if digest_cron:
        subscribers += (
            "  - id: digest\n    email: digest@test.example\n    watchlists: [farm]\n"
            f"    schedule: cron \"{digest_cron}\"\n    timezone: Europe/Istanbul\n    send_empty: true\n"
        )
    (config / "subscribers.yaml").write_text(subscribers, encoding="utf-8")
    return config


def write_feeds(config: Path, feed_urls: list[str], *, interval: str = "4s") -> None:
    """feeds.yaml with a fixed interval (max_interval = interval: no adaptive lengthening in tests)."""
    feeds = "".join(f"  - url: {url}\n    id: feed-{url.rsplit('/', 1)[1].split('.')[0]}\n" for url in feed_urls)
    (config / "feeds.yaml").write_text(
        f"defaults:\n  interval: {interval}\n  max_interval: {interval}\nfeeds:\n{feeds}", encoding="utf-8"
    )


class Monitor:
    """A real `python -m monitor run` process with its log in a file."""

    def __init__(self, config: Path, log: Path, *args: str, tick: str = "1s", env: dict[str, str] | None = None):
        self.log_path = log
        self.handle = log.open("ab")
        full_env = {**os.environ, "MONITOR_POLL_TICK": tick, "MONITOR_DELIVER_TICK": tick, **(env or {})}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "--config", str(config), *args],
            stdout=self.handle, stderr=subprocess.STDOUT, env=full_env, cwd=config.parent,
        )

    def log(self) -> str:
        """Everything the process wrote so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_started(self, timeout: float = 60) -> None:
        """Until the scheduler runs (or the process died)."""
        wait_for(lambda: "service_started" in self.log() or self.process.poll() is not None, timeout, "start")
        assert "service_started" in self.log(), self.log()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        """Signal the process and wait for its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        finally:
            self.handle.close()

    def kill(self) -> None:
        """Make sure it is gone (test clean-up)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.handle.close()


def wait_for(predicate: Callable[[], object], timeout: float, what: str, every: float = 0.1) -> None:
    """Poll for an outcome; the timeout is a generous bound against hangs, not a speed assertion."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def delivery_id(message: EmailMessage) -> str:
    """The delivery a message came from."""
    return str(message["X-Monitor-Delivery"])


def article_links(message: EmailMessage) -> set[str]:
    """The farm article links in a message's plain-text part."""
    import re

    part = message.get_body(("plain",))
    text = part.get_content() if part is not None else ""  # type: ignore[union-attr]
    return set(re.findall(r"https://farm\.test/[\w.-]+", text))
