"""The entry editor: create or edit an actor or topic, check and preview it as you type, save it into its YAML file.

The page posts its form to `/watchlists/{file}/try` (debounced, from static/editor.js) and shows what
comes back: the problems `monitor check` would print, the entry's tests, the preview over stored
articles. Saving is an ordinary form POST with the CSRF token, the file's SHA-256 as opened, and works
without JavaScript. Who may save: whoever may use the dashboard's other writing routes (credentials
when they are configured; anyone on loopback when the dashboard runs without them, as `monitor serve`
only allows on loopback).
"""

from __future__ import annotations

import base64
import binascii
import difflib
import os
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from monitor.clock import MAX_DAYS
from monitor.config import ConfigProblem
from monitor.config.loader import load_config_report
from monitor.config.models import Config
from monitor.config.problems import display_path
from monitor.errors import EditRefused, MonitorError, StaleFile
from monitor.usecases.edit_watchlist import (
    ACTOR_KINDS,
    EntryDraft,
    OpenedFile,
    Section,
    apply_draft,
    check_text,
    open_file,
    read_draft,
    save_entry,
)
from monitor.usecases.entry_preview import entry_tests, preview_entry
from monitor.web.auth import read_form, same_origin
from monitor.web.charts import bar_chart
from monitor.web.context import CsrfForm, Ctx, WebContext, forged, page
from monitor.web.identity import current_user

router = APIRouter(include_in_schema=False)
PREVIEW_DAYS = 30


def saved_config(ctx: WebContext) -> Config:
    """The configuration as it is on disk now (the dashboard's own copy is from when it started)."""
    loaded = load_config_report(ctx.config.directory, os.environ).loaded
    return loaded.config if loaded is not None else ctx.config


def _draft(form: dict[str, str]) -> EntryDraft:
    section: Section = "actors" if form.get("section") == "actors" else "topics"
    lines = lambda key: [line.strip() for line in form.get(key, "").splitlines() if line.strip()]  # noqa: E731
    return EntryDraft(
        section=section, id=form.get("id", ""), name=form.get("name", ""), description=form.get("description", ""),
        kind=form.get("kind", "other"), aliases=lines("aliases"), exact_case=lines("exact_case"),
        exclude=form.get("exclude", ""), query=form.get("query", ""), forms=form.get("forms"),
    )


def _problem(problem: ConfigProblem) -> dict[str, Any]:
    return {"file": display_path(problem.file), "line": problem.line, "column": problem.column,
            "entry": problem.entry, "message": problem.message, "hint": problem.hint,
            "severity": problem.severity, "text": problem.format()}


def _editor(request: Request, ctx: WebContext, opened: OpenedFile, draft: EntryDraft, original_id: str | None, *,
            status_code: int = 200, refused: EditRefused | None = None, saved: bool = False,
            sha256: str | None = None) -> HTMLResponse:
    kind = "actor" if draft.section == "actors" else "topic"
    base = f"/watchlists/{quote(opened.watchlist, safe='')}"
    reopen = f"{base}/entries/{quote(original_id, safe='')}" if original_id else f"{base}/new?kind={kind}"
    return page(request, ctx, "editor.html", status_code=status_code, watchlist=opened.watchlist, reopen=reopen,
                file=opened.path.relative_to(ctx.config.directory).as_posix(), draft=draft, original_id=original_id or "",
                sha256=sha256 or opened.sha256, kinds=ACTOR_KINDS, refused=refused, saved=saved,
                stale=isinstance(refused, StaleFile), days=PREVIEW_DAYS)


def _not_found(request: Request, ctx: WebContext, exc: EditRefused) -> HTMLResponse:
    return page(request, ctx, "error.html", status_code=404, title="Nothing to edit", message=str(exc))


@router.get("/watchlists/{watchlist}/entries/{entry_id}", response_class=HTMLResponse)
def edit_entry(request: Request, watchlist: str, entry_id: str, ctx: Ctx, saved: int = 0) -> HTMLResponse:
    """The editor for an existing actor or topic."""
    try:
        opened = open_file(ctx.config.directory, watchlist)
        draft = read_draft(opened, entry_id)
    except EditRefused as exc:
        return _not_found(request, ctx, exc)
    return _editor(request, ctx, opened, draft, entry_id, saved=bool(saved))


@router.get("/watchlists/{watchlist}/new", response_class=HTMLResponse)
def new_entry(request: Request, watchlist: str, ctx: Ctx, kind: str = "topic") -> HTMLResponse:
    """The editor for a new topic (or, with ?kind=actor, a new actor)."""
    try:
        opened = open_file(ctx.config.directory, watchlist)
    except EditRefused as exc:
        return _not_found(request, ctx, exc)
    section: Section = "actors" if kind == "actor" else "topics"
    return _editor(request, ctx, opened, EntryDraft(section=section, id="", name=""), None)


@router.post("/watchlists/{watchlist}/try")
async def try_entry(
    request: Request, watchlist: str, ctx: Ctx, days: int = Query(PREVIEW_DAYS, ge=1, le=MAX_DAYS),
) -> JSONResponse:
    """The draft checked as `monitor check` would, its tests, and its preview over the stored articles (JSON)."""
    if not same_origin(request):  # it writes nothing, but another site has no business running checks here
        return JSONResponse({"detail": "cross-site request refused"}, status_code=403)
    form = await read_form(request)
    draft = _draft(form)
    original_id = form.get("original_id") or None
    try:
        opened = open_file(ctx.config.directory, watchlist)
        text = apply_draft(opened.text, draft, original_id)
    except EditRefused as exc:
        shown = {"where": "", "what": str(exc), "detail": ""}
        return JSONResponse({"problems": [{"message": str(exc), "text": str(exc)}], "warnings": [], "tests": [],
                             "preview": None, "html": _results(ctx, [shown], [], [], None, "")})
    checked = check_text(ctx.config.directory, os.environ, watchlist, text)
    problems = [_problem(p) for p in checked.problems]
    warnings = [_problem(p) for p in checked.warnings]
    diff = "".join(difflib.unified_diff(opened.text.splitlines(True), text.splitlines(True),
                                        f"a/{opened.path.name}", f"b/{opened.path.name}", n=2))
    tests, preview = [], None
    if checked.config is not None:
        watchlists = checked.config.watchlists
        tests = entry_tests(watchlists, watchlist, draft.entry_id)
        try:
            preview = preview_entry(saved_config(ctx), watchlists, ctx.db, watchlist, draft.entry_id, original_id,
                                    days=days, now=ctx.clock())
        except MonitorError:
            preview = None  # a query that does not compile: its problem is in the list above
    body: dict[str, Any] = {
        "problems": problems, "warnings": warnings,
        "tests": [{"index": t.index, "title": t.title, "text": t.text, "expected": t.expected, "matched": t.matched,
                   "passed": t.passed} for t in tests],
        "preview": None if preview is None else {
            "total": preview.total, "days": preview.days,
            "per_day": {d.isoformat(): n for d, n in sorted(preview.per_day.items())},
            "hits": [h.article_id for h in preview.hits],
            "added": [a.article_id for a in preview.added], "removed": [a.article_id for a in preview.removed],
        },
        "diff": diff,
    }
    # "Not relevant?" on a hit of the saved entry records that judgement as a test (monitor/web/feedback.py).
    feedback_entry = f"{watchlist}/{original_id}" if original_id and original_id == draft.entry_id else ""
    body["html"] = _results(ctx, [_shown(ctx, p) for p in checked.problems], [_shown(ctx, w) for w in checked.warnings],
                            tests, preview, diff, feedback_entry)
    return JSONResponse(body)


def _shown(ctx: WebContext, problem: ConfigProblem) -> dict[str, Any]:
    """A problem for the page: where (file in the config directory, line, column), what, and the caret lines."""
    try:
        file = problem.file.relative_to(ctx.config.directory).as_posix()
    except ValueError:
        file = display_path(problem.file)
    where = file + (f", line {problem.line}" if problem.line else "") + (
        f", column {problem.column}" if problem.line and problem.column else "")
    what = (f"{problem.entry}: " if problem.entry else "") + problem.message
    return {"where": where, "what": what, "detail": problem.format().partition("\n")[2]}


def _results(ctx: WebContext, problems: list[Any], warnings: list[Any], tests: list[Any], preview: Any,
             diff: str, feedback_entry: str = "") -> str:
    chart = None
    if preview is not None:
        chart = bar_chart(preview.window.days, {"hits": preview.per_day},
                          title=f"Hits per publication day ({ctx.config.settings.timezone})", height=160)
    return ctx.renderer.render("editor_results.html", problems=problems, warnings=warnings, tests=tests,
                               preview=preview, chart=chart, diff=diff, feedback_entry=feedback_entry)


def editor_name(request: Request) -> str:
    """Who saved, for the log and the git commit: the signed-in account, the basic-auth user, else the dashboard."""
    if getattr(request.state, "signed_in", False):
        return current_user(request).name
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            user = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            user = ""
        if user.strip():
            return user.strip()
    return "monitor dashboard"


@router.post("/watchlists/{watchlist}/save", response_model=None)
def save(request: Request, watchlist: str, ctx: Ctx, form: CsrfForm) -> Response:
    """Write the entry into its watchlist file (CSRF token, the file's hash as opened, the full check first)."""
    if form is None:
        return forged(request, ctx)
    draft = _draft(form)
    original_id = form.get("original_id") or None
    try:
        opened = open_file(ctx.config.directory, watchlist)
    except EditRefused as exc:
        return _not_found(request, ctx, exc)
    try:
        save_entry(ctx.config.directory, os.environ, watchlist, draft, original_id, form.get("sha256", ""),
                   author=editor_name(request), git_commit=ctx.config.settings.editor_git_commit)
    except StaleFile as exc:
        # The form keeps what was typed; the hash stays the old one, so saving again is refused again.
        return _editor(request, ctx, opened, draft, original_id, status_code=409, refused=exc,
                       sha256=form.get("sha256", ""))
    except EditRefused as exc:
        return _editor(request, ctx, opened, draft, original_id, status_code=422, refused=exc,
                       sha256=form.get("sha256", ""))
    target = f"/watchlists/{quote(watchlist, safe='')}/entries/{quote(draft.entry_id, safe='')}?saved=1"
    return RedirectResponse(target, status_code=303)
