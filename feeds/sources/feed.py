"""An upstream RSS/Atom feed as a source (SPEC §1, ``type: feed``).

feedparser reads every RSS and Atom dialect in the wild (and sanitises entry HTML);
the fetch goes through :class:`~feeds.sources.fetch.Fetcher` like every other page,
so the feed gets the same politeness, limits and conditional GET. Items carry the
region and zone the configuration gives the source.
"""

from __future__ import annotations

import calendar
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import feedparser

from feeds.dates import parse_date
from feeds.errors import FetchError
from feeds.models import ArticleRecord, FeedSource
from feeds.sources.fetch import Fetcher
from feeds.sources.portal import Failure
from feeds.sources.state import Validators
from feeds.urls import InvalidURL, canonical_url

log = logging.getLogger(__name__)


@dataclass(slots=True)
class FeedPoll:
    """What one poll of a feed did."""

    fetched: bool = False  # a body came back (not 304, not an error)
    not_modified: bool = False
    entries: int = 0
    records: list[ArticleRecord] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    validators: dict[str, Validators] = field(default_factory=dict)


async def poll_feed(
    source: FeedSource,
    fetcher: Fetcher,
    *,
    validators: Validators | None = None,
    now: datetime,
) -> FeedPoll:
    """Fetch and parse ``source`` once; a failed fetch is a ``list`` failure."""
    poll = FeedPoll()
    try:
        page = await fetcher.get(
            source.url,
            etag=validators.etag if validators else None,
            last_modified=validators.last_modified if validators else None,
        )
    except FetchError as exc:
        poll.failures.append(Failure(source.url, exc.reason, "list", False))
        log.warning("feed %s failed: %s", source.name, exc)
        return poll
    if page.not_modified:
        poll.not_modified = True
        return poll
    poll.fetched = True
    records, failures = parse_feed(page.content, source, now=now, base_url=page.final_url,
                                   content_type=page.content_type)
    poll.entries = len(records) + len(failures)
    poll.records = records
    poll.failures = failures
    if page.etag or page.last_modified:
        poll.validators[source.url] = Validators(page.etag, page.last_modified)
    return poll


def parse_feed(
    body: bytes,
    source: FeedSource,
    *,
    now: datetime,
    base_url: str | None = None,
    content_type: str | None = None,
) -> tuple[list[ArticleRecord], list[Failure]]:
    """Feed bytes to records; an entry without a usable link is a failure.

    A body that is no feed at all (an HTML error page, truncated XML with no entry)
    is one ``list`` failure, so health checks see a source that stopped working.
    """
    headers = {"content-type": content_type} if content_type else {}
    if base_url:
        headers["content-location"] = base_url
    parsed = feedparser.parse(body, response_headers=headers)
    entries = parsed.get("entries") or []
    if not entries and parsed.get("bozo") and not parsed.get("version"):
        problem = parsed.get("bozo_exception")
        url = base_url or source.url
        return [], [Failure(url, f"not an RSS or Atom feed: {problem}", "list", False)]
    feed_title = (parsed.get("feed") or {}).get("title")
    records: list[ArticleRecord] = []
    failures: list[Failure] = []
    for number, entry in enumerate(entries, start=1):
        try:
            records.append(_record(entry, source, feed_title, now))
        except ValueError as exc:
            where = entry.get("link") or f"{source.url} entry {number}"
            failures.append(Failure(where, str(exc), "extract", True))
    return records, failures


def _record(entry: Any, source: FeedSource, feed_title: str | None, now: datetime) -> ArticleRecord:
    link = entry.get("link") or entry.get("id")
    if not link:
        raise ValueError("entry has no link")
    try:
        url = canonical_url(link)
    except InvalidURL as exc:
        raise ValueError(f"entry link is not usable: {exc}") from None
    title = (entry.get("title") or "").strip()
    if not title:
        raise ValueError("entry has no title")
    content = ""
    if entry.get("content"):
        content = entry["content"][0].get("value") or ""
    summary = entry.get("summary") or None
    if not content and summary:
        content, summary = summary, None
    author = entry.get("author") or (entry.get("source") or {}).get("title") or feed_title
    category = None
    if entry.get("tags"):
        category = entry["tags"][0].get("term") or None
    return ArticleRecord(
        url=url,
        title=title,
        published=_published(entry, now),
        source=author,
        zone=source.zone,
        region=source.region,
        category=category,
        content=content,
        summary=summary,
    )


def _published(entry: Any, now: datetime) -> datetime:
    """The entry's date; feedparser gives UTC ``struct_time``, raw strings as a fallback.

    An undated entry gets ``now``: it is news to us, and the alternative is losing it.
    """
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            return datetime.fromtimestamp(calendar.timegm(value), UTC)
    for key in ("published", "updated", "created"):
        value = entry.get(key)
        if value:
            try:
                return parse_date(value)
            except ValueError:
                continue
    return now
