"""An upstream RSS/Atom feed as a source (SPEC §1, ``type: feed``).

feedparser reads every RSS and Atom dialect in the wild (and sanitises entry HTML);
the fetch goes through :class:`~feeds.sources.fetch.Fetcher` like every other page,
so the feed gets the same politeness, limits and conditional GET. Items carry the
region and zone the configuration gives the source.
"""

from __future__ import annotations

import calendar
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import feedparser

from feeds.dates import date_problem, parse_date
from feeds.errors import FetchError
from feeds.models import ArticleRecord, FeedSource
from feeds.sources.fetch import Fetcher
from feeds.sources.portal import Failure
from feeds.sources.state import Validators
from feeds.text import valid_text
from feeds.urls import InvalidURL, canonical_url

log = logging.getLogger(__name__)

#: A numeric character reference, bare or escaped once (HTML inside RSS text).
_CHARREF = re.compile(rb"&(amp;)?#([xX][0-9a-fA-F]+|[0-9]+);")
#: C0 controls that XML 1.0 forbids; in an ASCII-compatible encoding (UTF-8, GBK,
#: Big5, Shift_JIS) no byte below 0x20 is part of another character.
_RAW_CONTROLS = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")


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
    """Feed bytes to records; an entry that cannot be an article is a failure.

    Every entry stands alone (SPEC §5, issue 10): one without a usable link or
    title, with a date outside SPEC §5's window, or broken in any other way is
    reported with its link (or the feed's URL and its position) and skipped; the
    others are kept. A body that is no feed at all (an HTML error page, truncated
    XML with no entry) is one ``list`` failure, so health checks see a source that
    stopped working.
    """
    headers = {"content-type": content_type} if content_type else {}
    if base_url:
        headers["content-location"] = base_url
    url = base_url or source.url
    try:
        parsed = feedparser.parse(_xml_chars_only(body), response_headers=headers)
    except Exception as exc:  # feedparser is lenient; whatever is left is this feed's
        return [], [Failure(url, f"not an RSS or Atom feed: {_one_line(exc)}", "list", False)]
    entries = parsed.get("entries") or []
    if not entries and parsed.get("bozo") and not parsed.get("version"):
        problem = parsed.get("bozo_exception")
        return [], [Failure(url, f"not an RSS or Atom feed: {problem}", "list", False)]
    feed_title = (parsed.get("feed") or {}).get("title")
    records: list[ArticleRecord] = []
    failures: list[Failure] = []
    for number, entry in enumerate(entries, start=1):
        try:
            records.append(_record(entry, source, feed_title, now))
        except Exception as exc:  # one broken entry never costs the others
            link = entry.get("link") if hasattr(entry, "get") else None
            where = link if isinstance(link, str) and link.strip() else f"{url} entry {number}"
            failures.append(Failure(valid_text(where), _one_line(exc), "extract", True))
    return records, failures


def _xml_chars_only(body: bytes) -> bytes:
    """``body`` without characters XML forbids, raw or as ``&#...;`` references.

    One such character makes the document ill-formed, and feedparser's lenient
    fallback then fails on the whole feed (a reference to a lone surrogate raises
    ``UnicodeEncodeError`` in feedparser 6), so one bad item would cost every other
    one. A reference to a surrogate becomes U+FFFD, like :func:`feeds.text.valid_text`.
    """
    if body[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in body[:4]:
        return body  # UTF-16 or UTF-32: NUL bytes belong to characters
    body = _RAW_CONTROLS.sub(b"", body)
    return _CHARREF.sub(_allowed_charref, body) if b"#" in body else body


def _allowed_charref(match: re.Match[bytes]) -> bytes:
    digits = match.group(2)
    try:
        code = int(digits[1:], 16) if digits[:1] in b"xX" else int(digits)
    except ValueError:  # thousands of digits
        return b""
    if code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or (
        0x10000 <= code <= 0x10FFFF
    ):
        return match.group(0)
    if 0xD800 <= code <= 0xDFFF:
        return b"&" + (match.group(1) or b"") + b"#xFFFD;"
    return b""


def _one_line(exc: Exception) -> str:
    text = " ".join(str(exc).split()) if isinstance(exc, ValueError) else (
        f"{type(exc).__name__}: {' '.join(str(exc).split())}"
    )
    return valid_text(text or type(exc).__name__)


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
    published = _published(entry, now)
    problem = date_problem(published, now)
    if problem is not None:
        raise ValueError(problem)
    return ArticleRecord(
        url=url,
        title=title,
        published=published,
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
            try:
                return datetime.fromtimestamp(calendar.timegm(value), UTC)
            except (OverflowError, ValueError, OSError):
                raise ValueError(f"'{key.removesuffix('_parsed')}' is out of range") from None
    for key in ("published", "updated", "created"):
        value = entry.get(key)
        if value:
            try:
                return parse_date(value)
            except ValueError:
                continue
    return now
