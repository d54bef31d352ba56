"""Where the poller parses fetched bodies: a pool of limited processes, else a thread of the service.

Parsing runs in processes (monitor/refresh/parse_pool.py) so that a second core works while the writer
stores and matches, and so that a hostile body is contained by the processes' memory and CPU limits.
A body that killed a process, or hit its limits, is never parsed in the service process: it is
parsed again in a process of its own, and when that one dies too it is the feed's `parse_error`.
"""

from __future__ import annotations

import ast
import asyncio
import logging
import multiprocessing
import os
import pickle
import sys
import weakref
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from monitor.errors import ParseError
from monitor.fetch import FetchResult
from monitor.match import CompiledWatchlists
from monitor.model import ParsedFeed
from monitor.parse import parse_feed
from monitor.refresh.offload import Offload
from monitor.refresh.parse_pool import PARSE_LIMIT_MESSAGE, ParseLimits, Prepared, prepare_feed, worker_init

log = logging.getLogger("monitor.pipeline")

PARSE_MODULE = "monitor.refresh.parse_pool"
"""What a parse process runs; imported by the fork server before it forks any (with what it imports)."""

KILLER_BODIES_KEPT = 1000
"""Hashes of bodies that exhausted a parse process, remembered (per service process) so they never parse in a thread."""


def parse_here(result: FetchResult, language_hint: str | None) -> ParsedFeed:
    """Parse a fetched body in this process (a small batch, or no processes available)."""
    assert result.body is not None
    try:
        return parse_feed(
            result.body, base_url=result.final_url, content_type=result.content_type, language_hint=language_hint
        )
    except MemoryError:
        raise ParseError("parse_error", PARSE_LIMIT_MESSAGE) from None


def forkserver_preload() -> list[str]:
    """The modules the fork server imports once, before it forks parse processes: parsing, and what else they import.

    A process started from the fork server runs the main module of the service again (as `__mp_main__`:
    the `monitor` script, which imports the CLI and with it the store), except under `python -m`; the
    fork server cannot do that first on Python < 3.13 (its "__main__" preload never worked before CPython
    gh-126631), but it can import the project modules that script imports, so that its run costs next to
    nothing in each process. Nothing else: under a main module that imports nothing of the project (a
    benchmark) the fork server holds no store and no SQLAlchemy, which parsing never uses.
    """
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    spec_name = getattr(getattr(main, "__spec__", None), "name", None)
    if not isinstance(path, str) or (spec_name is not None and spec_name.rpartition(".")[2] == "__main__"):
        return [PARSE_MODULE]  # multiprocessing does not run this main module again (spawn.py's rule)
    return [PARSE_MODULE, *(name for name in _top_level_imports(path) if name.partition(".")[0] == "monitor")]


def _top_level_imports(path: str) -> list[str]:
    """The modules a Python file imports at its top level, in order ([] when it cannot be read)."""
    try:
        tree = ast.parse(Path(path).read_bytes())
    except (OSError, SyntaxError, ValueError):
        return []
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


class ParseRunner:
    """The parse processes of one poller, started on first use, and the bodies that killed one."""

    def __init__(self, workers: int, limits: Callable[[], ParseLimits]) -> None:
        self.workers = workers
        self._limits = limits
        self._pool: ProcessPoolExecutor | None = None
        self._pool_matcher: CompiledWatchlists | None = None  # the watchlists the pool's processes hold
        self._pickled: tuple[CompiledWatchlists, bytes] | None = None  # pickled once per configuration
        self._pool_finalizer: weakref.finalize | None = None
        self._killer_bodies: set[str] = set()
        self._isolation_slots: asyncio.Semaphore | None = None

    @property
    def running_pool(self) -> ProcessPoolExecutor | None:
        """The pool if its processes are running (benchmarks read their CPU time), else None."""
        return self._pool

    def matches_with(self, pool: ProcessPoolExecutor | None) -> CompiledWatchlists | None:
        """The watchlists `pool`'s processes match with (None: they do not match)."""
        return self._pool_matcher if pool is not None and pool is self._pool else None

    def pickled(self, matcher: CompiledWatchlists) -> bytes:
        """The watchlists pickled for the parse processes, once per configuration (seconds at 100k actors)."""
        if self._pickled is None or self._pickled[0] is not matcher:
            self._pickled = (matcher, pickle.dumps(matcher, protocol=pickle.HIGHEST_PROTOCOL))
        return self._pickled[1]

    def pool(self, matcher: CompiledWatchlists | None = None) -> ProcessPoolExecutor | None:
        """The parse processes, started on first use; None when parsing runs in a thread.

        With `matcher` they also match (monitor/refresh/offload.py): processes started with other
        watchlists (before a reload) are stopped and new ones started with these.
        """
        if self._pool is not None and matcher is not None and self._pool_matcher is not matcher:
            log.info("parse_pool_restarting reason=watchlists_changed")
            self._drop(self._pool)
        if self._pool is None and self.workers > 0:
            try:
                self._pool = self._new_pool(self.workers, self.pickled(matcher) if matcher is not None else None)
                self._pool_matcher = matcher
            except (OSError, ValueError, ImportError) as exc:  # e.g. no /dev/shm for the pool's semaphores
                log.warning("parse_pool_unavailable error=%r (parsing in a thread)", exc)
                self.workers = 0
                return None
            # A runner dropped without close() must not leave processes behind.
            self._pool_finalizer = weakref.finalize(self, self._pool.shutdown, wait=False, cancel_futures=True)
        return self._pool

    def close(self) -> None:
        """Stop the parse processes (a later poll starts new ones)."""
        self._drop(self._pool, wait=True)

    def is_known_killer(self, result: FetchResult) -> bool:
        """True when this body already exhausted a parse process: it must go to a process of its own."""
        return result.body_hash is not None and result.body_hash in self._killer_bodies

    def remember_killer(self, result: FetchResult) -> None:
        """Remember a body that exhausted a parse process (or this one's memory)."""
        if result.body_hash is None:
            return
        if len(self._killer_bodies) >= KILLER_BODIES_KEPT:
            self._killer_bodies.clear()  # a bound, not a cache policy: later polls find them again
        self._killer_bodies.add(result.body_hash)

    async def prepare(
        self, result: FetchResult, language_hint: str | None, pool: ProcessPoolExecutor | None,
        offload: Offload | None = None,
    ) -> Prepared | ParseError:
        """Parse a fetched body in `pool` (a thread without one); a known killer only in a process of its own.

        `offload`: what the pool's process does beyond parsing (monitor/refresh/offload.py).
        """
        assert result.body is not None
        if self.is_known_killer(result):
            return await self._prepare_isolated(result, language_hint)
        if pool is not None:
            job = None
            try:
                job = pool.submit(
                    prepare_feed, result.body, result.final_url, result.content_type, language_hint, offload
                )
                return self._answer(result, await asyncio.wrap_future(job))
            except BrokenProcessPool as exc:
                # A worker died: this body may have killed it, or it was only queued in the same pool.
                # Never parse it here, in the service: parse it again in a process of its own.
                log.warning("parse_pool_broken url=%s error=%r (parsing it again in its own process)",
                            result.final_url, exc)
                self._drop(pool)
                return await self._prepare_isolated(result, language_hint)
            except RuntimeError as exc:
                if job is not None:
                    raise  # the parser's own error: the feed's, not the pool's
                # Processes cannot start here (e.g. an unguarded __main__): parse in threads from now on.
                log.warning("parse_pool_unavailable error=%r (parsing in a thread)", exc)
                self.workers = 0
                self._drop(pool)
        try:
            return Prepared(await asyncio.to_thread(parse_here, result, language_hint), {})
        except ParseError as exc:
            if exc.message == PARSE_LIMIT_MESSAGE:
                self.remember_killer(result)
            return exc

    def _new_pool(self, workers: int, matcher: bytes | None = None) -> ProcessPoolExecutor:
        # forkserver, not fork: this process has threads (asyncio, SQLAlchemy) whose locks a fork copies.
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(forkserver_preload())
        return ProcessPoolExecutor(
            workers, mp_context=context, initializer=worker_init, initargs=(self._limits(), matcher)
        )

    def _drop(self, pool: ProcessPoolExecutor | None, *, wait: bool = False) -> None:
        if pool is None or pool is not self._pool:
            return
        self._pool = None
        self._pool_matcher = None
        if self._pool_finalizer is not None:
            self._pool_finalizer.detach()
            self._pool_finalizer = None
        pool.shutdown(wait=wait, cancel_futures=True)

    def _answer(self, result: FetchResult, out: Prepared | ParseError) -> Prepared | ParseError:
        """A parse process's answer; a body that hit the process's limits is remembered as a killer."""
        if isinstance(out, ParseError) and out.message == PARSE_LIMIT_MESSAGE:
            self.remember_killer(result)
        return out

    async def _prepare_isolated(self, result: FetchResult, language_hint: str | None) -> Prepared | ParseError:
        """Parse a body in a new process of its own: when that one dies too, the body is the feed's parse error.

        A dead pool fails every job it held; parsing each again alone tells the body that kills a
        process (recorded as `parse_error`, PARSE_LIMIT_MESSAGE, with the usual backoff) from those that
        were only queued beside it.
        """
        assert result.body is not None
        if self._isolation_slots is None:
            self._isolation_slots = asyncio.Semaphore(max(1, self.workers, os.cpu_count() or 1))
        async with self._isolation_slots:
            try:
                solo = self._new_pool(1)
            except (OSError, ValueError, ImportError) as exc:
                log.warning("parse_process_unavailable url=%s error=%r", result.final_url, exc)
                return ParseError("parse_error", f"{PARSE_LIMIT_MESSAGE} (no process to parse it in: {exc})")
            try:
                job = solo.submit(prepare_feed, result.body, result.final_url, result.content_type, language_hint)
                return self._answer(result, await asyncio.wrap_future(job))
            except BrokenProcessPool:
                log.warning("parse_process_died url=%s body_bytes=%d", result.final_url, len(result.body))
                self.remember_killer(result)
                return ParseError("parse_error", PARSE_LIMIT_MESSAGE)
            finally:
                solo.shutdown(wait=False, cancel_futures=True)
