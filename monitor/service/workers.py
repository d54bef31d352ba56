"""`monitor run --workers N`: the parent runs one service and supervises N-1 more as child processes.

Parsing and matching are CPU-bound and the GIL keeps threads to one core (benchmarks/workers_bench.py),
so extra cores are used by whole service processes that share the work through database leases,
exactly like processes on other machines. Only on PostgreSQL: SQLite takes one writer process.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

log = logging.getLogger("monitor.workers")

PARENT_ENV = "MONITOR_PARENT_PID"
"""Set in each child: the child stops when its parent is gone (no orphans after a parent crash)."""
RESTART_DELAY = 5.0
"""A child that died is started again after this many seconds (not in a tight loop)."""


class WorkerProcesses:
    """The child service processes of one `monitor run --workers N`."""

    def __init__(self, count: int, config_dir: Path, log_format: str, env: Mapping[str, str]) -> None:
        self.count = count
        self.config_dir = config_dir
        self.log_format = log_format
        self.env = dict(env)
        self.children: dict[int, subprocess.Popen[bytes]] = {}
        self._died_at: dict[int, float] = {}
        self._stopping = False

    def _spawn(self, index: int) -> None:
        argv = [sys.executable, "-m", "monitor", "run", "--config", str(self.config_dir),
                "--log-format", self.log_format, "--workers", "1"]
        env = {**self.env, PARENT_ENV: str(os.getpid()), "MONITOR_WORKER_INDEX": str(index)}
        # A new session: Ctrl-C in a terminal reaches only the parent, which stops the children itself
        # (otherwise each child would get SIGINT and then the parent's SIGTERM as a "second" signal).
        child = subprocess.Popen(argv, env=env, start_new_session=True)
        self.children[index] = child
        log.info("worker_started index=%d pid=%d", index, child.pid)

    def start(self) -> None:
        """Start the N-1 children (the parent itself is worker 0)."""
        for index in range(1, self.count):
            self._spawn(index)

    def check(self) -> None:
        """Restart children that died (after RESTART_DELAY), unless we are stopping."""
        if self._stopping:
            return
        now = time.monotonic()
        for index, child in list(self.children.items()):
            code = child.poll()
            if code is None:
                continue
            died = self._died_at.setdefault(index, now)
            if died == now:
                log.error("worker_died index=%d pid=%d exit_code=%d (restarting in %gs)",
                          index, child.pid, code, RESTART_DELAY)
            if now - died >= RESTART_DELAY:
                del self._died_at[index]
                self._spawn(index)

    def stop(self, timeout: float) -> None:
        """SIGTERM every child, wait up to `timeout` seconds, then SIGKILL what is left."""
        self._stopping = True
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for index, child in self.children.items():
            try:
                code = child.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("worker_killed index=%d pid=%d (did not stop within %gs)", index, child.pid, timeout)
                child.kill()
                code = child.wait()
            log.info("worker_stopped index=%d pid=%d exit_code=%d", index, child.pid, code)


def parent_gone(env: Mapping[str, str]) -> bool:
    """True in a child whose parent `monitor run --workers N` has exited."""
    parent = env.get(PARENT_ENV)
    return bool(parent) and os.getppid() != int(parent or 0)
