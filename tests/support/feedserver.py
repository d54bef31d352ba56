"""A real HTTP server on 127.0.0.1 serving feeds from memory, with ETag/Last-Modified, for tests."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def etag_of(body: bytes) -> str:
    """The strong ETag the test servers give a body."""
    return '"' + hashlib.sha256(body).hexdigest()[:16] + '"'


def send(handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str]) -> None:
    """Status line, headers, Content-Length and body; a client that has gone away is no error."""
    handler.send_response(status)
    for key, value in headers.items():
        handler.send_header(key, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    if body:
        try:
            handler.wfile.write(body)
        except OSError:
            pass  # the client went away (a killed or stopping service, a fetch past its cap)


@dataclass
class Route:
    body: bytes
    content_type: str = "application/rss+xml; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    conditional: bool = True


class FeedServer:
    """Routes are set by path; every request is recorded as (method, path, status)."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, str, int]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                route = server.routes.get(self.path)
                if route is None:
                    self._reply(404, b"not found", {"Content-Type": "text/plain"})
                    return
                etag = etag_of(route.body)
                if route.conditional and route.status == 200 and self.headers.get("If-None-Match") == etag:
                    self._reply(304, b"", {"ETag": etag})
                    return
                headers = {"Content-Type": route.content_type, **route.headers}
                if route.conditional:
                    headers["ETag"] = etag
                self._reply(route.status, route.body, headers)

            def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                with server._lock:
                    server.requests.append(("GET", self.path, status))
                send(self, status, body, headers)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        """The full URL of a path on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    def hits(self, path: str) -> list[int]:
        """Statuses answered for a path so far."""
        with self._lock:
            return [status for _, p, status in self.requests if p == path]


@contextmanager
def running_feed_server() -> Iterator[FeedServer]:
    """Start a FeedServer for the duration of the block."""
    server = FeedServer()
    server.thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
