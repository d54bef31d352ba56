"""Feedback on an article for an entry, as a change to review and accept.

"Not relevant" proposes a `not_matches` test and an exclusion; "missed" (`&verdict=missed`) a `matches`
test and the analyst's fix (an alias for an actor, the new query for a topic).
"""

from __future__ import annotations

import os
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from monitor.errors import EditRefused, StaleFile
from monitor.usecases.edit_watchlist import watchlist_file
from monitor.usecases.feedback import Proposal, Verdict, accept, propose
from monitor.web.context import CsrfForm, Ctx, WebContext, forged, page
from monitor.web.editor import saved_config

router = APIRouter(include_in_schema=False)


def _verdict(value: str) -> Verdict:
    return "missed" if value == "missed" else "not_relevant"


def _proposal(ctx: WebContext, verdict: Verdict, article_id: str, entry: str, fix: str | None) -> Proposal:
    watchlist, _, entry_id = entry.partition("/")
    return propose(verdict, ctx.config.directory, os.environ, saved_config(ctx), ctx.db, article_id, watchlist,
                   entry_id, fix)


def _render(request: Request, ctx: WebContext, proposal: Proposal, *, status_code: int = 200,
            refused: EditRefused | None = None) -> HTMLResponse:
    return page(request, ctx, "feedback.html", status_code=status_code, p=proposal, refused=refused,
                problems=[problem.format() for problem in proposal.problems],
                entry=f"{proposal.watchlist}/{proposal.entry_id}",
                file=watchlist_file(ctx.config.directory, proposal.watchlist).relative_to(ctx.config.directory).as_posix())


@router.get("/articles/{article_id}/feedback", response_class=HTMLResponse)
def feedback(request: Request, article_id: str, ctx: Ctx, entry: str = "", verdict: str = "not_relevant",
             fix: str | None = None) -> HTMLResponse:
    """The change a verdict on the article for ENTRY would make (a test, and its fix), as a diff with its check."""
    try:
        proposal = _proposal(ctx, _verdict(verdict), article_id, entry, fix)
    except EditRefused as exc:
        return page(request, ctx, "error.html", status_code=404, title="No feedback to give", message=str(exc))
    return _render(request, ctx, proposal)


@router.post("/articles/{article_id}/feedback", response_model=None)
def accept_feedback(request: Request, article_id: str, ctx: Ctx, form: CsrfForm) -> Response:
    """Write the reviewed change into the watchlist file (CSRF token, the file's hash as reviewed)."""
    if form is None:
        return forged(request, ctx)
    entry = form.get("entry", "")
    try:
        proposal = _proposal(ctx, _verdict(form.get("verdict", "")), article_id, entry, form.get("fix", ""))
    except EditRefused as exc:
        return page(request, ctx, "error.html", status_code=404, title="No feedback to give", message=str(exc))
    proposal.sha256 = form.get("sha256", "")  # the file as the analyst reviewed it, not as it is now
    try:
        accept(ctx.config.directory, os.environ, proposal)
    except StaleFile as exc:
        return _render(request, ctx, proposal, status_code=409, refused=exc)
    except EditRefused as exc:
        return _render(request, ctx, proposal, status_code=422, refused=exc)
    target = f"/watchlists/{quote(proposal.watchlist, safe='')}/entries/{quote(proposal.entry_id, safe='')}"
    return RedirectResponse(target + "?" + urlencode({"saved": 1}), status_code=303)
