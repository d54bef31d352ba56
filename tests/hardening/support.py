"""Helpers for the outage tests (holds no tests): a switchable TCP front, a tiny real file system, a private
PostgreSQL cluster, and the "skip here, but fail under CI=true" rule."""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import NoReturn

import pytest

from monitor.notify.retry import JITTER, SCHEDULE
from monitor.store.rows import Delivery
from tests.conftest import IN_CI
from tests.notify.test_notify_flow_harness import Flow


def unavailable(reason: str) -> NoReturn:
    """Skip with the reason; under CI=true the outage tests are mandatory, so fail instead."""
    if IN_CI:
        pytest.fail(f"CI=true but {reason}; the outage tests are mandatory in CI")
    pytest.skip(reason)


# --------------------------------------------------------------- a server that can be switched off


class Switch:
    """A TCP port in front of a real local server that can be taken down (connection refused) and up again.

    Down, the port is bound but not listening: connections are refused and nobody else can take the
    port meanwhile. Up, every connection is relayed byte for byte to the server behind. Taking it
    down also cuts the connections in progress (a server that died, not one that drains politely).
    """

    def __init__(self, upstream_port: int, *, up: bool = False) -> None:
        self.upstream_port = upstream_port
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self._sock = self._bind(0)
        self.port = int(self._sock.getsockname()[1])
        self.connections = 0  # accepted while up
        if up:
            self.up()

    @staticmethod
    def _bind(port: int) -> socket.socket:
        # The closed listener lingers while the accept thread's poll (<= 50 ms) still holds it.
        for _ in range(100):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
                return sock
            except OSError:
                sock.close()
                time.sleep(0.02)
        raise RuntimeError(f"port {port} could not be bound again")

    def up(self) -> None:
        """Start relaying."""
        with self._lock:
            if self._listener is not None:
                return
            sock = self._sock
            sock.listen(64)
            sock.settimeout(0.05)
            self._listener = sock
        threading.Thread(target=self._accept, args=(sock,), daemon=True).start()

    def down(self) -> None:
        """Refuse connections and cut those in progress."""
        with self._lock:
            listener, self._listener = self._listener, None
            if listener is None:
                return
            listener.close()
            for conn in self._open:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            self._open.clear()
            # Bound again at once, not listening: refused, and the port stays ours.
            self._sock = self._bind(self.port)

    def close(self) -> None:
        """Down for good."""
        self.down()
        self._sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            with self._lock:
                if self._listener is not listener:
                    return
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            try:
                server = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    server.close()
                    return
                self._open += [client, server]
                self.connections += 1
            for src, dst in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


# --------------------------------------------------------------- a small real file system


@contextlib.contextmanager
def small_filesystem(directory: Path, size: str = "128k") -> Iterator[Path]:
    """A tmpfs of `size` mounted on `directory` (needs root and mount rights; skips otherwise)."""
    directory.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        unavailable("mounting a small tmpfs for the disk-full test needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(directory)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        unavailable(f"cannot mount a tmpfs here (mount says: {done.stderr.strip() or done.returncode})")
    try:
        yield directory
    finally:
        subprocess.run(["umount", "-l", str(directory)], capture_output=True)


def fill(directory: Path, *, chunk: int = 4096) -> list[Path]:
    """Fill the file system holding `directory` with files of `chunk` bytes until it is full."""
    files: list[Path] = []
    while True:
        path = directory / f"filler-{len(files):05d}"
        try:
            with path.open("wb") as fh:
                fh.write(b"\0" * chunk)
        except OSError:
            path.unlink(missing_ok=True)
            return files
        files.append(path)


# --------------------------------------------------------------- a private PostgreSQL cluster


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own (initdb in /tmp, run as the postgres OS user)."""

    def __init__(self) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not bins:
            unavailable("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb) to start a private cluster")
        if os.geteuid() != 0 or shutil.which("runuser") is None:
            unavailable("starting a private PostgreSQL cluster needs root and runuser (to run as the postgres user)")
        try:
            import pwd

            owner = pwd.getpwnam("postgres")
        except KeyError:
            unavailable("no 'postgres' OS user to run a private PostgreSQL cluster")
        try:
            import psycopg  # noqa: F401
        except ImportError:
            unavailable("psycopg is not installed")
        self.bin = Path(bins[-1]).parent
        # Not under pytest's tmp_path: that tree is root-only and the server runs as postgres.
        self.root = Path(tempfile.mkdtemp(prefix="monitor-pg-"))
        os.chown(self.root, owner.pw_uid, owner.pw_gid)
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = _free_port()
        self._pg("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8",
                 timeout=120)
        self.started = False

    def _pg(self, tool: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(["runuser", "-u", "postgres", "--", str(self.bin / tool), *args],
                              capture_output=True, text=True, timeout=timeout, cwd=self.root)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} {' '.join(args)} failed ({done.returncode}): {done.stdout}{done.stderr}\n"
                               f"{self.server_log()}")
        return done

    def server_log(self) -> str:
        """What the server wrote."""
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    @property
    def options(self) -> str:
        # Unix socket in the cluster's own directory; fsync off: this is about restarts, not crashes of the OS.
        return f"-p {self.port} -k {self.root} -h 127.0.0.1 -c fsync=off -c max_connections=100"

    def start(self) -> None:
        """Start and wait until it accepts connections."""
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", self.options, "-w", "-t", "60", "start")
        self.started = True

    def restart(self) -> None:
        """pg_ctl restart -m fast: every session is cut, the server is down for a moment, then back."""
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", self.options, "-m", "fast", "-w",
                 "-t", "60", "restart")

    def shutdown(self) -> None:
        """pg_ctl stop -m fast: down (connections refused) until start()."""
        self._pg("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def stop(self) -> None:
        """Stop (immediate) and remove the cluster."""
        if self.started:
            with contextlib.suppress(Exception):
                self._pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
            self.started = False
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of a database in the cluster."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """CREATE DATABASE name; returns its URL."""
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A running private cluster for the duration of the block."""
    cluster = PrivatePostgres()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


def failed_deliveries(cli_output: str) -> dict[str, dict[str, object]]:
    """`monitor deliveries --failed --json` parsed, by delivery id."""
    rows = [json.loads(line) for line in cli_output.splitlines() if line.strip().startswith("{")]
    return {str(r["id"]): r for r in rows}



# --------------------------------------------------------------- driving the notify flow harness


def pending(flow: Flow) -> list[Delivery]:
    return flow.deliveries(status="pending")


def retry_round(flow: Flow, *, expect_error: str | None = None, retry_after: float = 0) -> dict[str, Delivery]:
    """Move the clock to the retry time of the pending deliveries and run one deliver tick.

    Checks on the way: one second before the earliest retry time nothing is attempted; each
    delivery attempted was given its next try at the schedule's delay (±jitter, or a later
    Retry-After of at most `retry_after` seconds); and, when `expect_error` is given, each retried one records it as last_error.
    Returns the deliveries after the tick, by id.
    """
    before = {d.id: d for d in pending(flow)}
    assert before, "nothing pending"
    earliest = min(d.next_attempt_at for d in before.values())
    if earliest - timedelta(seconds=1) > flow.now:
        flow.now = earliest - timedelta(seconds=1)
        idle = flow.deliver()
        assert (idle.sent, idle.retried, idle.failed) == (0, 0, 0), "attempted before its retry time"
    flow.now = max(flow.now, max(d.next_attempt_at for d in before.values()))
    attempted_at = flow.now
    flow.deliver()
    after = {d.id: d for d in flow.deliveries()}
    for id, old in before.items():
        new = after[id]
        assert new.attempts == old.attempts + 1, f"{id} was due and not attempted"
        if new.status != "pending":
            continue
        if expect_error is not None:
            assert expect_error in (new.last_error or ""), new.last_error
        base = SCHEDULE[new.attempts - 1].total_seconds()
        delay = (new.next_attempt_at - attempted_at).total_seconds()
        assert base * (1 - JITTER) - 1 <= delay, (new.attempts, delay)
        assert delay <= max(base * (1 + JITTER), retry_after) + 1, (new.attempts, delay)
    return after


def requeue_by_hand(flow: Flow, delivery_id: str) -> None:
    """`monitor deliveries --retry ID` on the flow's clock: the delivery is due at once."""
    done = flow.cli("deliveries", "--retry", delivery_id)
    assert done.exit_code == 0 and f"re-queued {delivery_id}" in done.output, done.output


def assert_nothing_failed(flow: Flow) -> None:
    listed = flow.cli("deliveries", "--failed", "--json")
    assert listed.exit_code == 0, listed.output
    assert failed_deliveries(listed.output) == {}
