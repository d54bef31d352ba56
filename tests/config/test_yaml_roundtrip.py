"""The editor's YAML writer: comments, order and quoting survive an edit; writes are atomic and never over a newer file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from ruamel.yaml.comments import CommentedMap

from monitor.config.yaml_roundtrip import (
    RoundTrip,
    append_item,
    check_unchanged,
    find_item,
    set_fields,
    sha256_of,
    write_atomically,
)
from monitor.errors import StaleFile

BEFORE = """\
# watchlists/demo.yaml: a comment at the top stays.
name: Demo
description: "Double-quoted on purpose"

actors:
  - id: kalin
    name: Ibrahim Kalin
    kind: person
    aliases: ["İbrahim Kalın", 'Kalin']   # beside the aliases
    # before exclude
    exclude: '"Massachusetts Institute of Technology" OR Cambridge'

  - id: mit   # the agency
    name: MIT
    exact_case: [MIT]

topics:
  - id: talks
    name: Talks
    query: 'hostage* AND (talks OR negotiat*)'

tests:
  - text: Kalin met the Shin Bet head.
    matches: [kalin]
"""

# The end-of-line comment stays on its line; ruamel.yaml keeps its column only while the line is shorter.
AFTER = """\
# watchlists/demo.yaml: a comment at the top stays.
name: Demo
description: "Double-quoted on purpose"

actors:
  - id: kalin
    name: Ibrahim Kalin
    kind: person
    aliases: ["İbrahim Kalın", 'Kalin', "Kalın"] # beside the aliases
    # before exclude
    exclude: '"Massachusetts Institute of Technology" OR Cambridge'

  - id: mit   # the agency
    name: MIT
    exact_case: [MIT]

topics:
  - id: talks
    name: Talks
    query: 'hostage* AND (talks OR ceasefire)'

  - id: shipping
    name: Shipping
    query: '"Red Sea" AND ship*'

tests:
  - text: Kalin met the Shin Bet head.
    matches: [kalin]
"""


def test_an_unchanged_document_comes_back_byte_for_byte() -> None:
    for path in (Path(__file__).resolve().parents[2] / "config" / "watchlists").glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        assert RoundTrip(text).dump() == text


def test_an_edit_keeps_comments_order_quoting_and_blank_lines() -> None:
    doc = RoundTrip(BEFORE)
    actors, topics = doc.data["actors"], doc.data["topics"]
    kalin = actors[find_item(actors, "kalin")]
    set_fields(kalin, {"name": "Ibrahim Kalin", "aliases": ["İbrahim Kalın", "Kalin", "Kalın"]}, ())
    talks = topics[find_item(topics, "talks")]
    set_fields(talks, {"query": "hostage* AND (talks OR ceasefire)"}, ())
    new = CommentedMap()
    set_fields(new, {"id": "shipping", "name": "Shipping", "query": '"Red Sea" AND ship*'}, ("id", "name", "query"))
    append_item(topics, new)
    assert doc.dump() == AFTER


def test_a_removed_key_hands_its_blank_line_to_the_key_before_it() -> None:
    doc = RoundTrip(BEFORE)
    actors = doc.data["actors"]
    set_fields(actors[0], {"exclude": None}, ())
    out = doc.dump()
    assert "exclude:" not in out
    assert "    # before exclude\n\n  - id: mit   # the agency\n" in out


def test_a_new_key_goes_where_its_order_puts_it() -> None:
    doc = RoundTrip(BEFORE)
    mit = doc.data["actors"][1]
    set_fields(mit, {"kind": "organization"}, ("id", "name", "kind", "aliases", "exact_case"))
    assert "    name: MIT\n    kind: organization\n    exact_case: [MIT]\n" in doc.dump()


def test_the_layout_of_a_two_space_list_is_kept() -> None:
    text = "topics:\n- id: a\n  name: A\n  query: x\n"
    doc = RoundTrip(text)
    set_fields(doc.data["topics"][0], {"query": "y"}, ())
    assert doc.dump() == "topics:\n- id: a\n  name: A\n  query: y\n"


def test_write_atomically_replaces_the_file_and_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text("old\n")
    path.chmod(0o640)
    write_atomically(path, "new\n")
    assert path.read_text() == "new\n"
    assert path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["w.yaml"]


def test_a_failed_replace_leaves_the_old_file_whole_and_no_temp_file(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "w.yaml"
    path.write_text("old\n")

    def broken(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        write_atomically(path, "new\n" * 1000)
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["w.yaml"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_a_read_only_directory_refuses_the_write_and_keeps_the_file(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text("old\n")
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(PermissionError):
            write_atomically(path, "new\n")
    finally:
        tmp_path.chmod(0o700)
    assert path.read_text() == "old\n"


def test_check_unchanged_refuses_a_file_changed_since_it_was_opened(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text("one\n")
    opened = sha256_of(path.read_bytes())
    assert check_unchanged(path, opened) == b"one\n"
    path.write_text("two\n")
    with pytest.raises(StaleFile, match="changed on disk since you opened it"):
        check_unchanged(path, opened)
