"""Docs that name tests must name real ones (docs/security.md claims each defence has its test)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)?(?:::(\w+))?`")


def test_every_test_named_in_the_security_review_exists() -> None:
    text = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    current: Path | None = None
    missing = []
    named = 0
    for match in REFERENCE.finditer(text):
        path, name = match.groups()
        if path:
            current = ROOT / path
            if not current.exists():
                missing.append(path)
                continue
        if name:
            assert current is not None, f"::{name} names no file before it"
            named += 1
            if not re.search(rf"^(async )?def {name}\(", current.read_text(encoding="utf-8"), re.M):
                missing.append(f"{current.relative_to(ROOT)}::{name}")
    assert named > 30
    assert not missing, f"docs/security.md names tests that do not exist: {missing}"
