"""`monitor feeds import FILE.opml` and `monitor feeds export`: print what the OPML use case did."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path

from monitor.config.models import Config
from monitor.usecases.feeds_opml import export_opml, import_opml


def run_import(directory: Path, env: Mapping[str, str], source: Path, *, dry_run: bool,
               out: Callable[[str], None]) -> int:
    """Import an OPML file into feeds.yaml and report each feed added or skipped; the number added."""
    result = import_opml(directory, env, source.read_bytes(), dry_run=dry_run)
    verb = "would add" if dry_run else "added"
    for feed in result.added:
        tags = f"  [{', '.join(feed.tags)}]" if feed.tags else ""
        out(f"{verb}  {feed.url}  {feed.name or ''}{tags}".rstrip())
    for url, reason in result.skipped:
        out(f"skipped  {url}  ({reason})")
    where = directory / "feeds.yaml"
    out(f"{len(result.added)} feed(s) {verb} to {where}, {len(result.skipped)} skipped"
        + ("" if dry_run or not result.added else "; a running service picks them up on its next reload"))
    return len(result.added)


def run_export(config: Config, *, now: datetime, out: Callable[[str], None]) -> None:
    """Print the configured feeds as OPML 2.0."""
    out(export_opml(config.feeds, now=now).rstrip("\n"))
