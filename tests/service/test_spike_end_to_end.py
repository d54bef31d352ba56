"""End to end: a quiet entry, then local feeds publish a surge; a real `monitor run` sends ONE spike alert by
email and by signed webhook, and none before the surge.

The quiet baseline (eight days of one story a day) is written into the database before the service
starts, with times relative to the test's own clock (now), so the test does not depend on the date.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook

from monitor.store.db import Database
from monitor.store.migrate import upgrade
from monitor.store.rows import ArticleRow, MatchRow, Sighting, SpikeStateRow
from tests.service.support import Monitor, running_farm, running_smtp, wait_for, write_config

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SURGE = [
    "Hostages: negotiators meet in Doha", "Families of hostages march on parliament",
    "Hostages deal: cabinet votes tonight", "Red Cross asks to visit hostages",
    "Hostages: mediators report progress on a list", "Army says two hostages located in tunnels",
    "Hostages released video, analysts study it", "Opposition leader on the hostages question",
    "Hostages: talks stall over prisoner numbers", "Neighbouring states offer help with hostages",
]


@contextmanager
def webhook_receiver() -> Iterator[list[dict[str, Any]]]:
    """A local endpoint keeping every payload whose Standard Webhooks signature verified (and refusing others)."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            try:
                payload = Webhook(SECRET).verify(body, {k.lower(): v for k, v in self.headers.items()})
                received.append(payload)
                status = 200
            except Exception:
                status = 400
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    received.append({"url": f"http://127.0.0.1:{server.server_address[1]}/hook"})
    try:
        yield received
    finally:
        server.shutdown()
        server.server_close()


def seed_quiet_baseline(db: Database, now: datetime) -> None:
    """One story a day about hostages for eight days, six hours off the current hour: the hour is usually 0."""
    with db.transaction() as session:
        for day in range(1, 9):
            at = now - timedelta(days=day, hours=6)
            article_id = f"baseline-{day}"
            session.add(ArticleRow(id=article_id, url=f"https://old.test/{day}", title=f"Hostages day {day}",
                                   published_at=at, first_seen_at=at, content_hash=article_id))
            session.flush()
            session.add(Sighting(article_id=article_id, feed_id="feed-0", first_seen_at=at, last_seen_at=at))
            session.add(MatchRow(article_id=article_id, watchlist="farm", entry_kind="topic", entry_id="hostages",
                                 entry_name="Hostage talks", highlights=[], snippet="", content_hash=article_id))


def spike_ticked(db: Database) -> bool:
    with db.sessions() as session:
        row = session.scalars(select(SpikeStateRow)).first()
        return row is not None and row.judged_through is not None


@pytest.mark.parametrize("backend,processes", [("sqlite", 1), pytest.param("postgres", 2, marks=pytest.mark.slow)])
def test_a_surge_sends_one_spike_alert_by_email_and_webhook(
    tmp_path: Path, request: pytest.FixtureRequest, backend: str, processes: int,
) -> None:
    """On PostgreSQL two processes run side by side: still one alert."""
    db_url = f"sqlite:///{tmp_path / 'm.db'}" if backend == "sqlite" else request.getfixturevalue("postgres_url")
    db = Database(db_url)
    upgrade(db)
    seed_quiet_baseline(db, datetime.now(UTC))
    with running_farm() as farm, running_smtp() as smtp, webhook_receiver() as hooks:
        hook_url = hooks.pop(0)["url"]
        feeds = range(5)
        for n in feeds:
            farm.publish(n, f"w{n}", f"Weather: rain in region {n}")
        config = write_config(tmp_path, db_url, [farm.url(n) for n in feeds], interval="1s", smtp_port=smtp.port)
        (config / "subscribers.yaml").write_text(
            "subscribers:\n"
            "  - id: desk\n    email: desk@test.example\n    watchlists: [farm]\n    spikes: true\n"
            f"  - id: hook\n    webhook: {{url: '{hook_url}', secret_env: HOOK_SECRET}}\n"
            "    watchlists: [farm]\n    spikes: [farm/hostages]\n",
            encoding="utf-8",
        )
        env = {"MONITOR_SPIKE_TICK": "1s", "HOOK_SECRET": SECRET}
        monitors = [Monitor(config, tmp_path / f"run-{i}.log", env=env) for i in range(processes)]
        try:
            for monitor in monitors:
                monitor.wait_started()
            wait_for(lambda: spike_ticked(db) and len(farm.hits) >= 10, 60, "spike ticks over the quiet feeds")
            before = len(farm.hits)
            wait_for(lambda: len(farm.hits) >= before + 15, 60, "a few more ticks (1 s) over the quiet feeds")

            def spike_mails() -> list[Any]:
                return [m for m in smtp.received() if str(m["Subject"]).startswith("[monitor] Spike:")]

            def spike_hooks() -> list[dict[str, Any]]:
                return [p for p in list(hooks) if p.get("type") == "spike"]

            assert spike_mails() == [] and spike_hooks() == [], "no spike before the surge"
            for i, title in enumerate(SURGE):
                farm.publish(i % len(feeds), f"surge-{i}", title, f"{title}. Report number {i} from desk {i * 7}.")
            wait_for(lambda: spike_mails() and spike_hooks(), 90, "the spike alert")
            # Several more spike ticks (1 s) and deliver ticks: the continuing surge is not alerted again.
            before = len(farm.hits)
            wait_for(lambda: len(farm.hits) >= before + 20, 60, "more ticks")
            for monitor in monitors:
                assert monitor.stop() == 0, monitor.log()
        finally:
            for monitor in monitors:
                monitor.kill()
    log = "".join(monitor.log() for monitor in monitors)
    assert "Traceback" not in log, log
    [mail] = spike_mails()
    assert mail["To"] == "desk@test.example"
    assert str(mail["Subject"]).startswith("[monitor] Spike: Hostage talks — ")
    assert "in the last hour (usually 0)" in str(mail["Subject"])
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "https://farm.test/surge-" in text and "/entries/farm/hostages" in text
    [payload] = spike_hooks()
    spike = payload["spike"]
    assert payload["subscriber"] == "hook" and spike["entry"] == {"id": "hostages", "name": "Hostage talks"}
    assert spike["windows"][0]["window"] == "hour" and spike["windows"][0]["stories"] >= 5
    assert log.count("spike_alert ") == 1, log
    db.dispose()
