"""Hot reload: edits under config/ take effect in a running service; invalid edits keep the last good one."""

from __future__ import annotations

from pathlib import Path

from tests.service.support import WATCHLIST, Monitor, running_farm, wait_for, write_config, write_feeds


def texts(outbox: Path) -> str:
    """Every email written so far, concatenated."""
    return "\n".join(p.read_text(errors="replace") for p in sorted(outbox.glob("*.eml")))


def test_watchlist_and_feed_edits_follow_the_valid_versions(tmp_path: Path) -> None:
    with running_farm() as farm:
        farm.publish("a", "a1", "alpha one")
        farm.publish("b", "b1", "quiet")
        config = write_config(tmp_path, f"sqlite:///{tmp_path / 'm.db'}", [farm.url("a"), farm.url("b")],
                              interval="1s", query="alpha")
        watchlist = config / "watchlists" / "farm.yaml"
        outbox = tmp_path / "outbox"
        monitor = Monitor(config, tmp_path / "run.log", tick="0.5s")
        try:
            wait_for(lambda: "alpha one" in texts(outbox), 60, "the first match")

            # 1. A valid edit: the topic now means 'beta'.
            watchlist.write_text(WATCHLIST.format(query="beta"), encoding="utf-8")
            wait_for(lambda: monitor.log().count("config_reloaded") >= 1, 60, "the reload")
            farm.publish("a", "a2", "alpha two")
            farm.publish("a", "a3", "beta one")
            wait_for(lambda: "beta one" in texts(outbox), 60, "a match of the new query")
            assert "alpha two" not in texts(outbox), "the old query no longer matches"

            # 2. An invalid edit: reported with file, line and column; 'beta' stays in force.
            watchlist.write_text(WATCHLIST.format(query="(beta OR gamma"), encoding="utf-8")
            wait_for(lambda: "config_invalid" in monitor.log(), 60, "the error report")
            assert "farm.yaml:5:" in monitor.log() and "unbalanced" in monitor.log(), monitor.log()
            farm.publish("a", "a4", "beta two")
            farm.publish("a", "a5", "gamma one")
            wait_for(lambda: "beta two" in texts(outbox), 60, "the last good query to keep matching")
            assert "gamma one" not in texts(outbox)

            # 3. Fixed: 'gamma' now.
            watchlist.write_text(WATCHLIST.format(query="gamma"), encoding="utf-8")
            wait_for(lambda: monitor.log().count("config_reloaded") >= 2, 60, "the second reload")
            farm.publish("a", "a6", "gamma two")
            farm.publish("a", "a7", "beta three")
            wait_for(lambda: "gamma two" in texts(outbox), 60, "a match of the fixed query")
            assert "beta three" not in texts(outbox)

            # 4. Feeds: 'b' removed, 'c' added.
            farm.publish("c", "c1", "gamma three")
            write_feeds(config, [farm.url("a"), farm.url("c")], interval="1s")
            wait_for(lambda: farm.hits_for(farm.path("c")), 60, "the added feed to be polled")
            wait_for(lambda: "gamma three" in texts(outbox), 60, "the added feed's match")
            b_polls = len(farm.hits_for(farm.path("b")))
            # Several more polls of the remaining feeds; the removed one gets none.
            target = len(farm.hits_for(farm.path("c"))) + 4
            wait_for(lambda: len(farm.hits_for(farm.path("c"))) >= target, 60, "more polls of the added feed")
            assert len(farm.hits_for(farm.path("b"))) <= b_polls + 1, "at most one poll already in flight"
            assert monitor.stop() == 0
        finally:
            monitor.kill()
    assert "Traceback" not in monitor.log()
