"""Feedback makes tests: "not relevant for this entry" becomes a `not_matches` test and a suggested exclusion.

The proposal is a change to the watchlist file for the analyst to review (as a diff) and accept: the
article's text as a test the entry must not match (always), and an exclusion built from the words near
the match that the entry's other (relevant) matches lack, checked to make that test pass. Accepting
writes the file like the editor does (the full check first, refused over a newer file, atomically).
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import FoldedScalarString

from monitor.config import ConfigProblem
from monitor.config.models import Config, WatchlistConfig
from monitor.config.yaml_roundtrip import RoundTrip, append_item, check_unchanged, write_atomically
from monitor.errors import EditRefused
from monitor.match import CompiledWatchlists
from monitor.match.fold import tokenize
from monitor.model import Document, Match
from monitor.store.db import Database
from monitor.store.entry_counts import article_row, matched_articles
from monitor.usecases.edit_watchlist import (
    SAVING_LOCK,
    EntryDraft,
    OpenedFile,
    apply_draft,
    check_text,
    open_file,
    read_draft,
)
from monitor.usecases.match_documents import stored_document

Verdict = Literal["not_relevant", "missed"]
TEST_CHARS = 1200  # the article text kept in the test: enough around the match to reproduce it
NEAR_WORDS = 12
_STOP = frozenset("""about above after again against also among and another any are around because been before
being between both but came can could did does doing down during each even every first from further had has
have having her here hers him his how into its itself just last later like made make many more most much must
near new not now off once only other our out over own said same says she should since some still such than
that the their them then there these they this those through told under until upon very was were what when
where which while who whom why will with within without would year years you your""".split())


@dataclass
class Proposal:
    """A reviewable change to a watchlist file: the test, the fix, the diff and its check."""

    verdict: Verdict
    watchlist: str
    entry_id: str
    article_id: str
    sha256: str
    test_title: str
    test_text: str
    # Not relevant: the exclusion added (suggested, or the analyst's; "" for none). Missed: the alias added to
    # an actor, or the topic's whole new query (its current one until the analyst changes it).
    fix: str
    suggested: bool  # True when `fix` was found by the suggestion, and makes the test pass
    text: str  # the file with the change
    diff: str
    problems: list[ConfigProblem] = field(default_factory=list)
    section: str = "topics"  # the entry's: "actors" or "topics"


def _entry_match(watchlists: Mapping[str, WatchlistConfig], watchlist: str, entry_id: str, document: Document) -> bool:
    compiled = CompiledWatchlists.compile(watchlists, strict=False)
    return any(m.id == entry_id for m in compiled.match(document, only=(watchlist,)))


def propose(verdict: Verdict, directory: Path, env: Mapping[str, str], config: Config, db: Database,
            article_id: str, watchlist: str, entry_id: str, fix: str | None = None) -> Proposal:
    """The change that records a verdict on an article for an entry.

    "not_relevant": a `not_matches` test and an exclusion (suggested unless `fix` is given). "missed": a
    `matches` test, and the analyst's fix (an alias for an actor, the new query for a topic) for it to pass.
    """
    if verdict == "missed":
        return _propose_missed(directory, env, config, db, article_id, watchlist, entry_id, fix)
    exclusion = fix
    opened, draft, document = _opened(directory, config, db, article_id, watchlist, entry_id)
    compiled = CompiledWatchlists.compile(config.watchlists, strict=False)
    match = next((m for m in compiled.match(document, only=(watchlist,)) if m.id == entry_id), None)
    title, text = document.title, _test_text(document.body, [h.start for h in match.highlights if h.field == "body"]
                                              if match else [])
    suggested = False
    if exclusion is None:
        exclusion = _suggest(config, env, db, draft, watchlist, opened.text, title, text, match)
        suggested = bool(exclusion)
    new_text = _with_change(opened.text, draft, entry_id, title, text, exclusion)
    return _proposal("not_relevant", directory, env, opened, draft, article_id, title, text, exclusion, suggested,
                     new_text)


def _opened(directory: Path, config: Config, db: Database, article_id: str, watchlist: str,
            entry_id: str) -> tuple[OpenedFile, EntryDraft, Document]:
    """The watchlist file as opened, the entry's draft and the stored article as the matcher reads it."""
    row = article_row(db, article_id)
    if row is None:
        raise EditRefused(f"there is no stored article {article_id!r}")
    opened = open_file(directory, watchlist)
    return opened, read_draft(opened, entry_id), stored_document(config, db, row)


def _propose_missed(directory: Path, env: Mapping[str, str], config: Config, db: Database, article_id: str,
                    watchlist: str, entry_id: str, fix: str | None) -> Proposal:
    opened, draft, document = _opened(directory, config, db, article_id, watchlist, entry_id)
    title, text = document.title, _test_text(document.body, [])
    changed = dataclasses.replace(draft, aliases=list(draft.aliases))
    if fix is None:
        fix = "" if draft.section == "actors" else draft.query
    if draft.section == "actors" and fix.strip():
        changed.aliases.append(fix.strip())
    elif draft.section == "topics" and fix.strip():
        changed.query = fix.strip()
    new_text = _add_test(apply_draft(opened.text, changed, entry_id), title, text, "matches", entry_id)
    return _proposal("missed", directory, env, opened, draft, article_id, title, text, fix, False, new_text)


def _proposal(verdict: Verdict, directory: Path, env: Mapping[str, str], opened: OpenedFile, draft: EntryDraft,
              article_id: str, title: str, text: str, fix: str, suggested: bool, new_text: str) -> Proposal:
    checked = check_text(directory, env, opened.watchlist, new_text)
    diff = "".join(difflib.unified_diff(opened.text.splitlines(True), new_text.splitlines(True),
                                        f"a/{opened.path.name}", f"b/{opened.path.name}", n=2))
    return Proposal(verdict, opened.watchlist, draft.entry_id, article_id, opened.sha256, title, text, fix, suggested,
                    new_text, diff, checked.problems, draft.section)


def accept(directory: Path, env: Mapping[str, str], proposal: Proposal) -> None:
    """Write an accepted proposal; EditRefused when it would not pass the check, StaleFile over a newer file."""
    if proposal.problems:
        raise EditRefused(f"not saved: the watchlist would not pass `monitor check` ({len(proposal.problems)} "
                          "problem(s)); change the fix until the test passes", proposal.problems)
    path = open_file(directory, proposal.watchlist).path
    with SAVING_LOCK:
        check_unchanged(path, proposal.sha256)
        write_atomically(path, proposal.text)


def _test_text(body: str, starts: list[int]) -> str:
    """The body around the first match, cut at word boundaries (all of it when short)."""
    # Whitespace folded to single spaces: the test reads as a paragraph, and matching ignores layout.
    if len(body) <= TEST_CHARS:
        return " ".join(body.split())
    centre = starts[0] if starts else 0
    start = max(0, centre - TEST_CHARS // 2)
    end = min(len(body), start + TEST_CHARS)
    piece = body[start:end]
    if start > 0:
        piece = piece.split(" ", 1)[-1]
    if end < len(body):
        piece = piece.rsplit(" ", 1)[0]
    return " ".join(piece.split())


def _with_change(text: str, draft: EntryDraft, entry_id: str, title: str, body: str, exclusion: str) -> str:
    """The file with the entry's exclusion widened by `exclusion` and a `not_matches` test appended."""
    if exclusion.strip():
        changed = dataclasses.replace(draft)
        if draft.section == "actors":
            changed.exclude = f"({draft.exclude}) OR ({exclusion})" if draft.exclude.strip() else exclusion
        else:
            changed.query = f"({draft.query}) AND NOT ({exclusion})"
        text = apply_draft(text, changed, entry_id)
    return _add_test(text, title, body, "not_matches", entry_id)


def _add_test(text: str, title: str, body: str, key: str, entry_id: str) -> str:
    """The file with a test appended: the article's title and text, `key` (matches or not_matches) the entry."""
    document = RoundTrip(text)
    data = document.data
    if not isinstance(data, CommentedMap):
        raise EditRefused("the watchlist file does not hold a mapping at the top; fix it by hand first")
    tests = data.get("tests")
    if not isinstance(tests, CommentedSeq):
        tests = CommentedSeq()
        data["tests"] = tests
    test = CommentedMap()
    if title:
        test["title"] = title
    test["text"] = _folded(body)
    names = CommentedSeq([entry_id])
    names.fa.set_flow_style()
    test[key] = names
    append_item(tests, test)
    return document.dump()


def _folded(text: str, width: int = 100) -> FoldedScalarString:
    """`>-` text folded near `width` at spaces, as the demo's tests are written."""
    folded = FoldedScalarString(text)
    positions, line_start = [], 0
    for match in re.finditer(" ", text):
        if match.start() - line_start > width and match.start() + 1 < len(text) and text[match.start() + 1] != " ":
            positions.append(match.start())
            line_start = match.start()
    folded.fold_pos = positions  # type: ignore[attr-defined]
    return folded


def _suggest(config: Config, env: Mapping[str, str], db: Database, draft: EntryDraft, watchlist: str,
             file_text: str, title: str, body: str, match: Match | None) -> str:
    """Words near the match that the entry's other matches never contain, checked to make the test pass."""
    tokens = tokenize(title) + tokenize(body)
    own = {t for text in (draft.name, *draft.aliases, *draft.exact_case, draft.query) for t, _s, _e in tokenize(text)}
    marked = {t for h in (match.highlights if match else ()) for t, _s, _e in tokenize(h.text)}
    hits = [i for i, (token, _s, _e) in enumerate(tokens) if token in own or token in marked] or [0]
    relevant: set[str] = set()
    for row in matched_articles(db, watchlist, draft.entry_id):
        document = stored_document(config, db, row)
        if document.title == title and body[:80] in document.body:
            continue  # the article being judged is not one of the relevant matches
        relevant.update(t for t, _s, _e in tokenize(document.title + " " + document.body))
    candidates: dict[str, int] = {}
    for index, (token, _s, _e) in enumerate(tokens):
        if len(token) < 4 or not token.isalpha() or token in _STOP or token in own or token in relevant:
            continue
        distance = min(abs(index - hit) for hit in hits)
        if distance <= NEAR_WORDS:
            candidates[token] = min(distance, candidates.get(token, distance))
    ranked = sorted(candidates, key=lambda t: (candidates[t], t))
    test_document = Document(title=title, body=body)
    for size in (1, 2, 3):
        if len(ranked) < size:
            break
        exclusion = " OR ".join(ranked[:size])
        checked = check_text(config.directory, env, watchlist,
                             _with_change(file_text, draft, draft.entry_id, title, body, exclusion))
        if not checked.problems and checked.config is not None and not _entry_match(checked.config.watchlists, watchlist, draft.entry_id,
                                                           test_document):
            return exclusion
    return ""
