"""The verification snippet of docs/webhooks.md, run against real signed requests from the pipeline."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.notify.conftest import WebhookReceiver
from tests.notify.test_notify_flow_harness import Flow, checked_requests, kalin_story, utc, webhook_subscriber
from tests.support.feedserver import FeedServer

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def snippet() -> str:
    """The Python block of the 'Verifying a webhook' section."""
    section = DOC.read_text(encoding="utf-8").split("## Verifying a webhook in Python", 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert found, "docs/webhooks.md lost its Python snippet"
    return found.group(1)


def test_documented_snippet_verifies_and_deduplicates(tmp_path: Path, feed_server: FeedServer,
                                                      webhook_receiver: WebhookReceiver,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    webhook_receiver.replies.append((503, {}))  # the first attempt fails, so the retry is a duplicate
    flow = Flow(tmp_path, f"sqlite:///{tmp_path / 'm.db'}", feed_server,
                subscribers=[webhook_subscriber("hook", webhook_receiver.url)],
                feeds={"wire": [kalin_story("k1", utc(2026, 11, 24, 6))]}, start=utc(2026, 11, 24, 9))
    try:
        flow.poll()
        flow.deliver()
        flow.advance(seconds=10)
        assert flow.deliver().sent == 1
    finally:
        flow.close()
    first, retry = checked_requests(webhook_receiver)

    namespace: dict[str, object] = {"SECRET": webhook_receiver.secret}
    exec(compile(snippet(), str(DOC), "exec"), namespace)
    receive = namespace["receive"]
    assert callable(receive)
    assert receive(first.body, first.headers) == 200
    assert receive(retry.body, retry.headers) == 200, "the retry is recognised by its webhook-id"
    printed = capsys.readouterr().out.splitlines()
    assert printed == ["alert Kalın meets counterpart (k1) ['ibrahim-kalin']"], "handled once"

    tampered = first.body.replace(b"k1", b"k9")
    assert receive(tampered, first.headers) == 400
    assert receive(first.body, {**first.headers, "webhook-signature": "v1,AAAA"}) == 400


def test_documented_payload_example_is_valid() -> None:
    import json

    import jsonschema

    from tests.notify.conftest import SCHEMA_PATH

    example = re.search(r"```json\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    assert example
    jsonschema.validate(json.loads(example.group(1)), json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
