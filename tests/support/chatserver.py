"""A real HTTP receiver on 127.0.0.1 standing in for chat and push services (json://, ntfy, Gotify, Mattermost).

It records every request (method, path, query, headers, body, parsed JSON) and answers with scripted replies,
optionally after a delay (the window a kill -9 test lands in).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.httpserver import serving_in_thread


@dataclass(frozen=True)
class ChatRequest:
    """One request the receiver saw."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased
    body: bytes

    @property
    def json(self) -> Any:
        """The body parsed as JSON (None when it is not JSON)."""
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None


@dataclass
class ChatReceiver:
    """A running receiver: its port, what it saw, and what it will answer next."""

    port: int = 0
    requests: list[ChatRequest] = field(default_factory=list)
    replies: list[tuple[int, bytes]] = field(default_factory=list)  # popped per request; empty -> `ok_reply`
    ok_reply: tuple[int, bytes] = (200, b'{"id": 1}')
    delay: float = 0.0

    @property
    def host(self) -> str:
        """host:port, as an Apprise URL wants it."""
        return f"127.0.0.1:{self.port}"


def _handler(receiver: ChatReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0") or 0))
            parts = urlsplit(self.path)
            receiver.requests.append(ChatRequest(self.command, parts.path, parse_qs(parts.query),
                                                 {k.lower(): v for k, v in self.headers.items()}, body))
            if receiver.delay:
                time.sleep(receiver.delay)
            status, reply = receiver.replies.pop(0) if receiver.replies else receiver.ok_reply
            try:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)
            except (BrokenPipeError, ConnectionResetError):  # the client went away (killed, timed out)
                pass

        do_POST = do_PUT = do_GET = _serve  # noqa: N815 (http.server's naming)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def running_chat_receiver() -> Iterator[ChatReceiver]:
    """Start a receiver on a free port of 127.0.0.1; stopped on exit."""
    receiver = ChatReceiver()
    with serving_in_thread(_handler(receiver)) as server:
        receiver.port = int(server.server_address[1])
        yield receiver
