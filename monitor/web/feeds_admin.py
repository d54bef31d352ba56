"""Feeds from the browser: add one by pasting a site or feed URL, edit, pause or remove it, OPML in and out.

The routes only parse forms and render what monitor/usecases/feed_admin.py and feeds_opml.py return.
Writing routes take the CSRF token like the editor's; the file's SHA-256 as opened refuses a stale save.
"""

from __future__ import annotations

import os
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from monitor.config.models import Config
from monitor.errors import EditRefused, FetchError, StaleFile
from monitor.usecases.feed_admin import (
    FeedDraft,
    Probe,
    add_feed,
    current_config,
    edit_feed,
    open_feeds,
    probe,
    read_feed,
    remove_feed,
)
from monitor.usecases.feeds_opml import MAX_OPML_BYTES, export_opml, import_opml
from monitor.web.auth import CSRF_COOKIE, CSRF_FIELD, csrf_valid, same_origin
from monitor.web.context import CsrfForm, Ctx, WebContext, forged, page
from monitor.web.editor import editor_name

router = APIRouter(include_in_schema=False)


def _config(ctx: WebContext) -> Config:
    """The configuration on disk now (the dashboard's own copy is from when it started)."""
    return current_config(ctx.config.directory, os.environ) or ctx.config


def _draft(form: dict[str, str]) -> FeedDraft:
    tags = [t.strip() for t in form.get("tags", "").replace("\n", ",").split(",") if t.strip()]
    return FeedDraft(url=form.get("url", ""), id=form.get("id", ""), name=form.get("name", ""),
                     interval=form.get("interval", ""), tags=tags, language=form.get("language", ""),
                     full_text=bool(form.get("full_text")), paused=bool(form.get("paused")))


def _new(request: Request, ctx: WebContext, url: str, *, found: Probe | None = None, error: str = "",
         draft: FeedDraft | None = None, refused: EditRefused | None = None, status_code: int = 200,
         sha256: str | None = None) -> HTMLResponse:
    return page(request, ctx, "feed_new.html", status_code=status_code, url=url, found=found, error=error,
                draft=draft, refused=refused, stale=isinstance(refused, StaleFile),
                sha256=open_feeds(ctx.config.directory).sha256 if sha256 is None else sha256)


@router.get("/feeds/new", response_class=HTMLResponse)
async def new_feed(request: Request, ctx: Ctx, url: str = "") -> HTMLResponse:
    """Paste a site or feed URL: its feed links, or the feed's latest items and the entries they would match."""
    if not url.strip():
        return _new(request, ctx, "")
    try:
        found = await probe(url, _config(ctx))
    except FetchError as exc:
        return _new(request, ctx, url, error=str(exc), status_code=422)
    except EditRefused as exc:
        return _new(request, ctx, url, error=str(exc), status_code=422)
    draft = None
    if found.is_feed:
        # The URL as chosen, not where it redirected: polling follows (and records) redirects itself.
        draft = FeedDraft(url=found.url, id=found.suggested_id, name=found.title, language=found.language or "")
    return _new(request, ctx, url, found=found, draft=draft)


@router.post("/feeds/new", response_model=None)
def save_new_feed(request: Request, ctx: Ctx, form: CsrfForm) -> Response:
    """Append the feed to feeds.yaml (CSRF token, the file's hash as opened, the full check first)."""
    if form is None:
        return forged(request, ctx)
    draft = _draft(form)
    try:
        feed_id = add_feed(ctx.config.directory, os.environ, draft, form.get("sha256", ""),
                           author=editor_name(request))
    except EditRefused as exc:
        return _new(request, ctx, draft.url, draft=draft, refused=exc, sha256=form.get("sha256", ""),
                    status_code=409 if isinstance(exc, StaleFile) else 422)
    return RedirectResponse(f"/feeds/{quote(feed_id, safe='')}/edit?saved=added", status_code=303)


def _edit(request: Request, ctx: WebContext, feed_id: str, draft: FeedDraft, sha256: str, *, saved: str = "",
          refused: EditRefused | None = None, status_code: int = 200) -> HTMLResponse:
    return page(request, ctx, "feed_edit.html", status_code=status_code, feed_id=feed_id, draft=draft, sha256=sha256,
                saved=saved, refused=refused, stale=isinstance(refused, StaleFile))


@router.get("/feeds/{feed_id}/edit", response_class=HTMLResponse)
def edit_feed_page(request: Request, feed_id: str, ctx: Ctx, saved: str = "") -> HTMLResponse:
    """A feed's interval, tags and pause, and its removal."""
    opened = open_feeds(ctx.config.directory)
    try:
        draft = read_feed(opened, feed_id)
    except EditRefused as exc:
        return page(request, ctx, "error.html", status_code=404, title="No such feed", message=str(exc))
    return _edit(request, ctx, feed_id, draft, opened.sha256, saved=saved)


@router.post("/feeds/{feed_id}/edit", response_model=None)
def save_feed(request: Request, feed_id: str, ctx: Ctx, form: CsrfForm) -> Response:
    """Write the feed's interval, tags and pause into feeds.yaml."""
    if form is None:
        return forged(request, ctx)
    draft = _draft(form)
    try:
        edit_feed(ctx.config.directory, os.environ, feed_id, draft, form.get("sha256", ""),
                  author=editor_name(request))
    except EditRefused as exc:
        return _edit(request, ctx, feed_id, draft, form.get("sha256", ""), refused=exc,
                     status_code=409 if isinstance(exc, StaleFile) else 422)
    return RedirectResponse(f"/feeds/{quote(feed_id, safe='')}/edit?saved=saved", status_code=303)


@router.post("/feeds/{feed_id}/remove", response_model=None)
def remove(request: Request, feed_id: str, ctx: Ctx, form: CsrfForm) -> Response:
    """Remove the feed from feeds.yaml, once the confirmation box is ticked."""
    if form is None:
        return forged(request, ctx)
    if form.get("confirm") != "yes":
        return page(request, ctx, "error.html", status_code=422, title="Not removed",
                    message=f"Tick the confirmation box to remove {feed_id}; nothing was changed.")
    try:
        remove_feed(ctx.config.directory, os.environ, feed_id, form.get("sha256", ""),
                    author=editor_name(request))
    except EditRefused as exc:
        return page(request, ctx, "error.html", status_code=409 if isinstance(exc, StaleFile) else 422,
                    title="Not removed", message=str(exc))
    return RedirectResponse("/feeds", status_code=303)


@router.get("/feeds/export.opml")
def export(ctx: Ctx) -> Response:
    """The configured feeds as an OPML 2.0 file, for another feed reader."""
    text = export_opml(_config(ctx).feeds, now=ctx.clock())
    return Response(text, media_type="text/x-opml; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="monitor-feeds.opml"'})


@router.get("/feeds/import", response_class=HTMLResponse)
def import_page(request: Request, ctx: Ctx) -> HTMLResponse:
    """The OPML upload form."""
    return page(request, ctx, "feed_import.html", result=None, error="")


async def _upload(request: Request) -> tuple[dict[str, str], bytes] | None:
    """The text fields and the `opml` file of a multipart form (no python-multipart needed), or None."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        return None
    body = await request.body()
    if len(body) > MAX_OPML_BYTES + 65536:
        return None
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n"
                                                  + body)
    fields: dict[str, str] = {}
    data = b""
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        payload = payload if isinstance(payload, bytes) else b""
        if name == "opml":
            data = payload
        elif isinstance(name, str):
            fields[name] = payload.decode("utf-8", "replace")
    return fields, data


@router.post("/feeds/import", response_model=None)
async def import_upload(request: Request, ctx: Ctx) -> Response:
    """Add an uploaded OPML file's feeds to feeds.yaml; show what was added and skipped."""
    upload = await _upload(request)
    if upload is None or not same_origin(request) or not csrf_valid(
            ctx.auth, request.cookies.get(CSRF_COOKIE), upload[0].get(CSRF_FIELD)):
        return forged(request, ctx)
    return await run_in_threadpool(_import, request, ctx, upload[1])


def _import(request: Request, ctx: WebContext, opml: bytes) -> Response:
    try:
        result = import_opml(ctx.config.directory, os.environ, opml)
    except EditRefused as exc:
        return page(request, ctx, "feed_import.html", status_code=422, result=None, error=str(exc))
    return page(request, ctx, "feed_import.html", result=result, error="")
