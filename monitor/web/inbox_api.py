"""GET /api/inbox: the inbox view as JSON (one item per matched story), with the page's filters and typed models."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from monitor.parse.urls import http_link
from monitor.store.inbox import COUNT_LIMIT, InboxFilter, InboxStory, Show
from monitor.web.api import Limit, Offset, PageInfo
from monitor.web.context import Ctx
from monitor.web.identity import current_user
from monitor.web.inbox import inbox_for

router = APIRouter(prefix="/api", tags=["api"])


class InboxEntryOut(BaseModel):
    watchlist: str
    entry_id: str
    name: str
    kind: str


class OutletOut(BaseModel):
    id: str = Field(description="The feed id.")
    name: str


class InboxStoryOut(BaseModel):
    story_id: str = Field(description="The story: its cluster id, else its only article's id.")
    article_id: str = Field(description="The story's headline: its newest article the filters keep.")
    title: str
    url: str | None = Field(description="The headline's http(s) link; null when it has none or it is not http(s).")
    published_at: datetime = Field(description="The headline's publication time (first seen when the feed gave none).")
    articles: int = Field(description="Articles in the story (near-duplicates included, matched or not).")
    outlets: list[OutletOut] = Field(description="The feeds that carried the story, by first sighting.")
    languages: list[str]
    entries: list[InboxEntryOut] = Field(description="The watchlist entries the story's articles matched.")
    snippet: str = Field(description="Text around the headline's first match; matched words between [[ and ]].")
    read: bool = Field(description="Read by the requesting user.")
    starred: bool = Field(description="Starred by the requesting user.")


class InboxPage(PageInfo):
    total: int = Field(description="Stories under the filters: exact when `total_capped` is false, else a lower "
                                   "bound (there are more than `total`).")
    total_capped: bool = Field(description=f"Counting stopped at `total` ({COUNT_LIMIT:,}, or this page's end when "
                                           "it is further): a big archive's count costs more than the page.")
    items: list[InboxStoryOut]


def story_out(s: InboxStory) -> InboxStoryOut:
    """An inbox row as JSON."""
    return InboxStoryOut(
        story_id=s.story_id, article_id=s.article_id, title=s.title, url=http_link(s.url), published_at=s.published_at,
        articles=s.articles, outlets=[OutletOut(id=i, name=n) for i, n in s.outlets], languages=s.languages,
        entries=[InboxEntryOut(watchlist=e.watchlist, entry_id=e.entry_id, name=e.name, kind=e.kind) for e in s.entries],
        snippet=s.snippet, read=s.read, starred=s.starred,
    )


@router.get("/inbox", response_model=InboxPage, summary="Matched stories, newest first, with the user's read and star state")
def list_inbox(
    request: Request, ctx: Ctx,
    watchlist: str | None = None,
    entry: Annotated[str | None, Query(description="An entry id, or watchlist/entry.")] = None,
    outlet: Annotated[str | None, Query(description="A feed id that carried the matched article.")] = None,
    language: str | None = None,
    date_from: Annotated[date | None, Query(
        alias="from", description="First publication day, in monitor.yaml's timezone.")] = None,
    date_to: Annotated[date | None, Query(
        alias="to", description="Last publication day, inclusive, in monitor.yaml's timezone.")] = None,
    show: Annotated[Show, Query(description="all, or only the user's unread, read or starred stories.")] = "all",
    limit: int = Limit, offset: int = Offset,
) -> InboxPage:
    """One item per story (an article and its near-duplicates) with a match, as the dashboard's /inbox shows them."""
    flt = InboxFilter(watchlist=watchlist, entry=entry, outlet=outlet, language=language, day_from=date_from,
                      day_to=date_to, show=show)
    found = inbox_for(ctx).page(current_user(request).name, flt, limit=limit, offset=offset)
    return InboxPage(items=[story_out(s) for s in found.stories], total=found.total, total_capped=found.total_capped,
                     limit=limit, offset=offset, next_offset=found.next_offset)
