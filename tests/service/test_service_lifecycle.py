"""Lifecycle of `monitor run`: one SQLite writer, prompt graceful stop, restart without re-sending, workers."""

from __future__ import annotations

import gc
import json
import os
import re
import signal
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from monitor.cli import main
from monitor.config.gc_pause import YOUNG_COLLECTION_THRESHOLD
from monitor.service.process import Service
from monitor.store.db import Database
from monitor.store.rows import Feed
from tests.service.support import Monitor, running_farm, wait_for, write_config


def test_second_sqlite_writer_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    with running_farm() as farm:
        farm.publish(0, "a", "Hostages freed")
        config = write_config(tmp_path, f"sqlite:///{tmp_path / 'm.db'}", [farm.url(0)])
        first = Monitor(config, tmp_path / "first.log")
        try:
            first.wait_started()
            second = Monitor(config, tmp_path / "second.log")
            assert second.process.wait(60) == 1
            output = second.log()
            assert "another monitor process is already running" in output and "PostgreSQL" in output
            assert "Traceback" not in output and "database is locked" not in output
            assert first.process.poll() is None, "the first one keeps running"
            assert first.stop() == 0
        finally:
            first.kill()


def test_sigterm_during_a_slow_fetch_exits_0_and_releases_the_lease(tmp_path: Path) -> None:
    with running_farm() as farm:
        farm.publish(0, "a", "Hostages freed")
        farm.slow[farm.path(0)] = 60  # the server sits on the request far longer than the stop grace
        db_url = f"sqlite:///{tmp_path / 'm.db'}"
        config = write_config(tmp_path, db_url, [farm.url(0)], fetch_timeout="120s")
        monitor = Monitor(config, tmp_path / "run.log")
        try:
            wait_for(lambda: farm.hits_for(farm.path(0)), 60, "the fetch to reach the server")
            code = monitor.stop(signal.SIGTERM, timeout=10)  # DESIGN: within 10 s, code 0
        finally:
            monitor.kill()
    assert code == 0, monitor.log()
    assert "service_stopped" in monitor.log() and "Traceback" not in monitor.log()
    db = Database(db_url)
    with db.sessions() as session:
        feed = session.scalars(select(Feed)).one()
        assert feed.lease_owner is None, "the abandoned fetch's lease was given back"
        assert feed.last_polled_at is None, "and nothing was recorded for it"
    db.dispose()


def test_restart_resumes_without_resending_and_logs_json(tmp_path: Path) -> None:
    with running_farm() as farm:
        for n in range(3):
            farm.publish(n, f"a{n}", f"Hostages: talks in Cairo, day {n}")
        config = write_config(tmp_path, f"sqlite:///{tmp_path / 'm.db'}", [farm.url(n) for n in range(3)],
                              interval="1s")
        outbox = tmp_path / "outbox"
        first = Monitor(config, tmp_path / "first.log", "--log-format", "json")
        try:
            wait_for(lambda: list(outbox.glob("*.eml")), 60, "the first email")
            assert first.stop(signal.SIGINT) == 0
        finally:
            first.kill()
        sent = sorted(p.name for p in outbox.glob("*.eml"))
        before = len(farm.hits)
        second = Monitor(config, tmp_path / "second.log", "--log-format", "json")
        try:
            # Several more polls of every feed (answered 304), then stop: nothing new to send.
            wait_for(lambda: all(len(farm.hits_for(farm.path(n))) >= 3 for n in range(3))
                     and len(farm.hits) >= before + 6, 60, "re-polls after the restart")
            farm.publish(1, "b1", "Hostages: a new item after the restart")
            wait_for(lambda: len(list(outbox.glob("*.eml"))) > len(sent), 60, "the new item's email")
            assert second.stop() == 0
        finally:
            second.kill()
    emails = sorted(p.name for p in outbox.glob("*.eml"))
    assert emails[: len(sent)] == sent and len(emails) == len(sent) + 1, "only the new item was sent"
    new_email = (outbox / emails[-1]).read_text()
    assert "a new item after the restart" in new_email and "day 0" not in new_email
    for log in (first.log(), second.log()):
        events = [json.loads(line) for line in log.splitlines() if line.strip()]
        assert events and all({"ts", "level", "event", "pid"} <= set(e) for e in events)
    assert any(e["event"] == "delivery_sent" for e in map(json.loads, first.log().splitlines()))


def test_workers_need_postgresql(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'm.db'}", ["http://127.0.0.1:9/f/0.xml"])
    result = CliRunner().invoke(main, ["run", "--workers", "2", "--config", str(config)])
    assert result.exit_code == 1
    assert "--workers 2 needs PostgreSQL" in result.output and "Traceback" not in result.output


@pytest.mark.slow
def test_workers_start_child_services_and_stop_them(tmp_path: Path, postgres_url: str) -> None:
    with running_farm() as farm:
        for n in range(20):
            farm.publish(n, f"a{n}", f"Story {n}")
        config = write_config(tmp_path, postgres_url, [farm.url(n) for n in range(20)])
        parent = Monitor(config, tmp_path / "run.log", "--workers", "2")
        try:
            wait_for(lambda: parent.log().count("service_started") >= 2, 90, "both workers")
            owners = set(re.findall(r"service_started owner=(\S+)", parent.log()))
            assert len(owners) == 2, parent.log()
            child = int(re.search(r"worker_started index=1 pid=(\d+)", parent.log()).group(1))  # type: ignore[union-attr]
            assert parent.stop(signal.SIGTERM, timeout=30) == 0, parent.log()
        finally:
            parent.kill()
    assert parent.log().count("service_stopped") == 2
    assert "worker_stopped index=1" in parent.log() and "exit_code=0" in parent.log()
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)


def test_a_service_process_collects_its_young_generation_less_often(tmp_path: Path) -> None:
    saved = gc.get_threshold()
    gc.set_threshold(700, saved[1], saved[2])
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'm.db'}", ["http://127.0.0.1:9/feed.xml"])
    service = Service(config)
    try:
        service.prepare()
        assert gc.get_threshold() == (YOUNG_COLLECTION_THRESHOLD, saved[1], saved[2])
        assert gc.isenabled(), "cycles are still collected"
    finally:
        service.close()
        gc.set_threshold(*saved)
