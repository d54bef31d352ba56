"""Where feedparser's own test feeds are: read in place, never copied into the repository."""

from __future__ import annotations

import os
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]


def _find() -> Path:
    candidates = [
        os.environ.get("MONITOR_CORPORA", ""),
        str(_ROOT.parent / "shared" / "corpora"),  # beside the checkout, as on the development machines
        "/work/shared/corpora",  # a checkout elsewhere (a clone in /tmp) on the same machine
    ]
    for candidate in candidates:
        if candidate and (Path(candidate) / "feedparser-tests").is_dir():
            return Path(candidate) / "feedparser-tests"
    return Path(candidates[1]) / "feedparser-tests"


FEEDPARSER_TESTS = _find()
SANITIZE = FEEDPARSER_TESTS / "wellformed" / "sanitize"
