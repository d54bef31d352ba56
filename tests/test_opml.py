"""`monitor feeds import FILE.opml` and `monitor feeds export`: OPML in and out, feeds.yaml's comments kept."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import main
from monitor.config import load_config
from monitor.errors import EditRefused
from monitor.usecases.feeds_opml import parse_opml

ROOT = Path(__file__).resolve().parents[1]

READER_EXPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>My reader</title></head>
  <body>
    <outline text="Middle East" title="Middle East">
      <outline type="rss" text="Example News" title="Example News" xmlUrl="https://news.example.org/feed/"
               htmlUrl="https://news.example.org/"/>
      <outline type="rss" text="Duplicate of the first" xmlUrl="HTTPS://NEWS.EXAMPLE.ORG/feed/"/>
    </outline>
    <outline type="rss" text="Wire &amp; Co" xmlUrl="https://wire.example.net/rss.xml" category="/Energy,/shipping"
             language="en"/>
    <outline type="rss" text="Not a web feed" xmlUrl="ftp://files.example.org/feed.xml"/>
  </body>
</opml>
"""


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A copy of the demo configuration (its feeds.yaml has comments)."""
    directory = tmp_path / "config"
    shutil.copytree(ROOT / "config", directory)
    text = (directory / "feeds.yaml").read_text(encoding="utf-8").replace("url: ../examples/", f"url: {ROOT}/examples/")
    (directory / "feeds.yaml").write_text(text, encoding="utf-8")
    return directory


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_import_adds_new_feeds_skips_duplicates_and_keeps_comments(config_dir: Path, tmp_path: Path) -> None:
    opml = tmp_path / "reader.opml"
    opml.write_bytes(READER_EXPORT)
    before = (config_dir / "feeds.yaml").read_text(encoding="utf-8")
    code, output = _run("feeds", "import", "--config", str(config_dir), str(opml))
    assert code == 0, output
    assert "added  https://news.example.org/feed/  Example News  [middle-east]" in output
    assert "added  https://wire.example.net/rss.xml  Wire & Co  [energy, shipping]" in output
    assert "skipped  HTTPS://NEWS.EXAMPLE.ORG/feed/  (already in feeds.yaml)" in output
    assert "skipped  ftp://files.example.org/feed.xml" in output
    assert "2 feed(s) added" in output
    after = (config_dir / "feeds.yaml").read_text(encoding="utf-8")
    assert after.startswith(before.rstrip("\n"))  # everything that was there, comments included, unchanged
    feeds = {f.url: f for f in load_config(config_dir, {}).config.feeds}
    wire = feeds["https://wire.example.net/rss.xml"]
    assert wire.name == "Wire & Co" and wire.tags == ("energy", "shipping") and wire.language == "en"
    # Importing again adds nothing.
    code, output = _run("feeds", "import", "--config", str(config_dir), str(opml))
    assert code == 0 and "0 feed(s) added" in output
    assert (config_dir / "feeds.yaml").read_text(encoding="utf-8") == after


def test_a_dry_run_writes_nothing(config_dir: Path, tmp_path: Path) -> None:
    opml = tmp_path / "reader.opml"
    opml.write_bytes(READER_EXPORT)
    before = (config_dir / "feeds.yaml").read_text(encoding="utf-8")
    code, output = _run("feeds", "import", "--dry-run", "--config", str(config_dir), str(opml))
    assert code == 0 and "would add  https://news.example.org/feed/" in output
    assert (config_dir / "feeds.yaml").read_text(encoding="utf-8") == before


def test_export_then_import_round_trips_the_demo_feeds(config_dir: Path, tmp_path: Path) -> None:
    code, exported = _run("feeds", "export", "--config", str(config_dir))
    assert code == 0, exported
    assert exported.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">')
    opml = tmp_path / "demo.opml"
    opml.write_text(exported, encoding="utf-8")
    target = tmp_path / "other"
    shutil.copytree(config_dir, target)
    (target / "feeds.yaml").write_text("# feeds.yaml of another monitor\nfeeds: []\n", encoding="utf-8")
    code, output = _run("feeds", "import", "--config", str(target), str(opml))
    assert code == 0, output
    original = load_config(config_dir, {}).config.feeds
    imported = load_config(target, {}).config.feeds
    assert [(f.url, f.name, f.tags, f.language) for f in imported] == [
        (f.url, f.name, f.tags, f.language) for f in original]
    assert (target / "feeds.yaml").read_text(encoding="utf-8").startswith("# feeds.yaml of another monitor\n")


def test_local_feeds_are_skipped_unless_allowed(config_dir: Path, tmp_path: Path) -> None:
    code, exported = _run("feeds", "export", "--config", str(config_dir))
    opml = tmp_path / "demo.opml"
    opml.write_text(exported, encoding="utf-8")
    monitor_yaml = config_dir / "monitor.yaml"
    monitor_yaml.write_text(monitor_yaml.read_text().replace("allow_local_feeds: true", "allow_local_feeds: false"))
    (config_dir / "feeds.yaml").write_text("feeds: []\n", encoding="utf-8")
    code, output = _run("feeds", "import", "--config", str(config_dir), str(opml))
    assert code == 0 and "0 feed(s) added" in output and "local feeds need allow_local_feeds" in output


def test_hostile_or_broken_opml_is_refused() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><opml><body/></opml>'
    with pytest.raises(EditRefused, match="DOCTYPE"):
        parse_opml(bomb)
    with pytest.raises(EditRefused, match="not an OPML file"):
        parse_opml(b"<rss><channel/></rss>")
    with pytest.raises(EditRefused, match="not an OPML file"):
        parse_opml(b"<opml><body>")


def test_the_feeds_table_still_answers_without_a_subcommand(config_dir: Path) -> None:
    code, output = _run("feeds", "--config", str(config_dir))
    # No database yet: the reading command says so, as before the OPML subcommands existed.
    assert code == 1 and "database" in output.lower()
