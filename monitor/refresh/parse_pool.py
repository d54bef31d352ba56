"""What the parse processes run: a fetched body in, a parsed feed, its clustering fingerprints and matches out.

Parsing, fingerprinting and matching are the CPU-bound part of a refresh; the poller
(monitor/refresh/poller.py) runs `prepare_feed` in a pool of processes so that a second core works while
its own stores and routes. Matching is done here only for the new articles of a feed whose watchlists
the process holds (monitor/refresh/offload.py says when, and why the result is the writer's own).

A parse process is also where a hostile body is contained: it runs under an address-space limit
(RLIMIT_AS) and a CPU-time limit per parse (docs/security.md, "Parse processes"). A parse that hits
either ends as the feed's `parse_error` PARSE_LIMIT_MESSAGE, or the process dies and the poller
records the same error; the body is never parsed in the service process instead.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import pickle
import resource
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from types import FrameType

from monitor.config.gc_pause import paused_gc
from monitor.dedupe.minhash import Fingerprint, cluster_text, fingerprints
from monitor.errors import ParseError
from monitor.match import CompiledWatchlists
from monitor.model import Article, ParsedFeed
from monitor.parse import parse_feed
from monitor.refresh.offload import ArticleMatches, Offload, match_new_articles, new_articles

PARSE_LIMIT_MESSAGE = "the feed's parser ran out of memory or time"
"""The `parse_error` message of a body whose parse hit a limit or killed its process."""
MEMORY_HEADROOM_MIN = 1024 * 1024 * 1024
"""A parse process may grow by this much address space (1 GiB) beyond its size at start, at least ..."""
MEMORY_HEADROOM_PER_BODY_BYTE = 64
"""... or 64 bytes per byte of fetch.max_bytes when that is more (15 MiB -> 960 MiB, so 1 GiB by default)."""
PARSE_CPU_SECONDS = 60.0
"""CPU seconds one parse may take; then it stops with PARSE_LIMIT_MESSAGE (a 15 MiB feed takes a few)."""
PARSE_KILL_CPU_SECONDS = 90.0
"""CPU seconds of one parse after which its process is killed (a parse stuck in C code ignores the first limit)."""


@dataclass(frozen=True, slots=True)
class ParseLimits:
    """What one parse process may use: address space beyond its start size, and CPU time per parse."""

    memory_headroom: int
    cpu_seconds: float = PARSE_CPU_SECONDS
    kill_cpu_seconds: float = PARSE_KILL_CPU_SECONDS

    @classmethod
    def for_body_cap(cls, max_bytes: int) -> ParseLimits:
        """The default limits for bodies of at most `max_bytes` (fetch.max_bytes)."""
        return cls(memory_headroom=max(MEMORY_HEADROOM_MIN, MEMORY_HEADROOM_PER_BODY_BYTE * max_bytes))


class ParseTimedOut(Exception):
    """Raised inside a parse process when a parse has used its CPU seconds."""


_limits: ParseLimits | None = None  # set by worker_init in a parse process; None elsewhere (no limits)
_matcher: CompiledWatchlists | None = None  # set by worker_init when the pool matches (monitor/refresh/offload.py)


@dataclass(frozen=True, slots=True)
class Prepared:
    """A parsed feed and its articles' clustering fingerprints (by id), computed off the writer thread.

    With `matches`, also the matches of its new articles (monitor/refresh/offload.py), valid only for
    the writer whose Runtime is `matched_with` (set in the service process, never by a parse process).
    """

    feed: ParsedFeed
    fingerprints: dict[str, Fingerprint]
    matches: ArticleMatches | None = None
    matched_with: object | None = None


def prepare_feed(
    body: bytes, base_url: str, content_type: str | None, language_hint: str | None,
    offload: Offload | None = None,
) -> Prepared | ParseError:
    """Parse one feed and fingerprint its articles (the CPU-bound part of a refresh; runs in a pool process).

    With `offload`, the articles the feed carried when last stored are not fingerprinted (unless asked),
    and the others are matched in a process started with compiled watchlists (monitor/refresh/offload.py).
    A parse error is returned, not raised: the pool hands it back as a value (errors pickle, monitor/errors.py).
    """
    try:
        with _cpu_limit():
            feed = parse_feed(body, base_url=base_url, content_type=content_type, language_hint=language_hint)
            unique = list({a.id: a for a in feed.articles}.values())  # as stored: the last of one id wins
            new = unique if offload is None else new_articles(feed, offload.known)
            printed = unique if offload is None or offload.fingerprint_known else new
            # One call for the whole feed: the C pass (or numpy's, without it) pays its call overhead once.
            prints = fingerprints([cluster_text(a.title, a.summary_text, a.content_text) for a in printed])
    except ParseError as exc:
        return exc
    except (MemoryError, ParseTimedOut):
        return ParseError("parse_error", PARSE_LIMIT_MESSAGE)
    return Prepared(feed, {a.id: fp for a, fp in zip(printed, prints, strict=True)}, _matches(feed, offload, new))


def _matches(feed: ParsedFeed, offload: Offload | None, new: list[Article]) -> ArticleMatches | None:
    """The new articles' matches, or None: then the writer matches them, as it does without a pool."""
    if offload is None or not offload.match or _matcher is None:
        return None
    try:
        with _cpu_limit():
            return match_new_articles(_matcher, feed, offload, new)
    except (MemoryError, ParseTimedOut):
        return None  # a parse that succeeded is not failed by matching: the writer matches it


@contextlib.contextmanager
def _cpu_limit() -> Iterator[None]:
    """In a parse process: stop the parse after its CPU seconds (SIGVTALRM), kill the process later (SIGPROF).

    CPU time, not wall time, so a loaded machine does not fail a feed. The soft limit raises at the
    next Python instruction; the hard one (SIGPROF, default action: terminate) also ends a parse stuck
    in C code that holds the GIL.
    """
    if _limits is None:
        yield
        return
    signal.setitimer(signal.ITIMER_PROF, _limits.kill_cpu_seconds)
    signal.setitimer(signal.ITIMER_VIRTUAL, _limits.cpu_seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        signal.setitimer(signal.ITIMER_PROF, 0)


def _timed_out(signum: int, frame: FrameType | None) -> None:
    raise ParseTimedOut()


def _address_space() -> int | None:
    """This process's current address space in bytes (Linux /proc), or None where unknown."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _limit_memory(headroom: int) -> None:
    size = _address_space()
    if size is None:
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = size + headroom
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    if soft == resource.RLIM_INFINITY or limit < soft:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def worker_init(limits: ParseLimits | None = None, matcher: bytes | None = None) -> None:
    """Set up a parse process: its watchlists (pickled), its limits, the service owns signals, and it never outlives it."""
    global _limits, _matcher
    # Ctrl-C reaches the whole process group; the service stops its workers itself, without tracebacks.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if matcher is not None:
        # Before the memory limit: its headroom is for parsing, on top of the watchlists. Loaded with the
        # cyclic collector paused (millions of objects at 100k actors, no cycles), then frozen: they live
        # as long as the process, and each full collection while parsing would walk them all again.
        with paused_gc():
            _matcher = pickle.loads(matcher)  # noqa: S301 - pickled by the service process that started this one
        gc.freeze()
    if limits is not None:
        _limits = limits
        _limit_memory(limits.memory_headroom)
        signal.signal(signal.SIGVTALRM, _timed_out)
        signal.signal(signal.SIGPROF, signal.SIG_DFL)
    parent = multiprocessing.parent_process()

    def watch() -> None:
        # A killed service (SIGKILL, os._exit) cannot shut the pool down: idle workers would wait
        # forever, and keep the forkserver alive too (each worker holds its "alive" pipe).
        # The sentinel is a pipe from the service process itself, so this returns when it dies.
        if parent is not None:
            parent.join()
            os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
