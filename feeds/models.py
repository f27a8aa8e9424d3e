"""Plain values shared by every part of zonewire: regions, articles, sources.

Frozen dataclasses only; nothing here does I/O.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

#: Portal dates are Beijing time; every timestamp zonewire shows carries +08:00.
CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")


class RegionLevel(enum.StrEnum):
    PROVINCE = "province"
    CITY = "city"
    DISTRICT = "district"
    ZONE = "zone"


@dataclass(frozen=True, slots=True)
class Region:
    """One node of the hierarchy: a GB/T 2260 division or a development zone.

    ``key`` is the stable identity used in feed paths, subscriptions and the store:
    the six-digit adcode for divisions, ``zone-{slug}`` for zones.
    """

    key: str
    name: str
    level: RegionLevel
    parent_key: str | None
    slug: str
    adcode: str | None = None

    @property
    def is_zone(self) -> bool:
        return self.level is RegionLevel.ZONE


@dataclass(frozen=True, slots=True)
class ArticleRecord:
    """An article as a source hands it over, before it is stored.

    ``zone`` and ``region`` are the names as the portal wrote them; resolving them to
    :class:`Region` keys is the gazetteer's job.
    """

    url: str
    title: str
    published: datetime
    source: str | None = None
    zone: str | None = None
    region: str | None = None
    category: str | None = None
    content: str = ""
    summary: str | None = None


@dataclass(frozen=True, slots=True)
class OtherSource:
    """Another article of the same story (SPEC §6): where else it was published."""

    url: str
    source: str | None  # the publisher as the page names it
    source_name: str | None  # the configured source that brought it


@dataclass(frozen=True, slots=True)
class Article:
    """An article as stored: a record plus identity, ingest order and regions.

    ``id`` is the ``tag:`` URI used as the Atom entry id, in emails and in webhook
    payloads (RFC 4287 §4.2.6: it never changes once assigned). ``seq`` is the ingest
    sequence: a larger ``seq`` was added later, which is what "new" means for digests.
    """

    id: str
    seq: int
    url: str
    title: str
    published: datetime
    updated: datetime
    ingested_at: datetime
    source: str | None
    zone: str | None
    region: str | None
    category: str | None
    content: str
    summary: str | None
    content_hash: str
    region_keys: tuple[str, ...] = ()
    backfill: bool = False
    source_name: str | None = None
    #: The ``seq`` of the story's first article when this one joined a story another
    #: article leads (SPEC §6); ``None`` when it leads its story.
    story_seq: int | None = None
    #: The story's other articles (for a lead: those that joined it).
    also: tuple[OtherSource, ...] = ()

    @property
    def leads_story(self) -> bool:
        """Whether this article is its story's own (feed entry, notification)."""
        return self.story_seq is None


@dataclass(frozen=True, slots=True)
class PortalSource:
    """A portal to crawl (SPEC §1, ``type: portal``)."""

    name: str
    base_url: str
    list_urls: tuple[str, ...]
    detail_pattern: str
    next_page_text: str = "下一页"
    interval: timedelta = timedelta(minutes=10)
    region: str | None = None
    max_pages: int = 50
    silent_after: timedelta | None = None
    #: Hosts besides ``base_url``'s that links and redirects may lead to (issue 11).
    allowed_hosts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FeedSource:
    """An upstream RSS/Atom feed (SPEC §1, ``type: feed``)."""

    name: str
    url: str
    region: str | None = None
    zone: str | None = None
    interval: timedelta = timedelta(minutes=10)
    silent_after: timedelta | None = None


@dataclass(frozen=True, slots=True)
class SiteSource:
    """A zone's or government's own website (SPEC §1, ``type: site``).

    Crawled like a portal, read by the generic site extractor; every article
    belongs to the source's ``zone`` or ``region`` (exactly one is set). A zone may
    be written with the division it lies in, ``嘉兴市/乍浦湾临港开发区``, so a zone
    nobody has named yet can be placed from the first poll on.
    """

    name: str
    base_url: str
    list_urls: tuple[str, ...]
    detail_pattern: str
    zone: str | None = None
    region: str | None = None
    next_page_text: str = "下一页"
    interval: timedelta = timedelta(minutes=30)
    max_pages: int = 50
    silent_after: timedelta | None = None
    allowed_hosts: tuple[str, ...] = ()

    def place(self) -> tuple[str | None, str | None]:
        """``(zone, region)`` every article of this source is given."""
        if self.zone is None:
            return None, self.region
        parent, _, zone = self.zone.rpartition("/")
        return zone.strip() or None, parent.strip() or None


Source = PortalSource | FeedSource | SiteSource
#: Sources read by crawling list and detail pages (:mod:`feeds.sources.portal`).
CrawledSource = PortalSource | SiteSource


@dataclass(frozen=True, slots=True)
class CrawlPolicy:
    """How politely and how boundedly sources are fetched."""

    user_agent: str = "zonewire/0.1 (+https://github.com/zonewire/zonewire)"
    per_host_concurrency: int = 2
    per_host_delay: timedelta = timedelta(milliseconds=250)
    timeout: timedelta = timedelta(seconds=20)
    max_page_bytes: int = 5 * 1024 * 1024
    retries: int = 3
    backoff: timedelta = timedelta(seconds=1)
    obey_robots: bool = True
    extra_headers: dict[str, str] = field(default_factory=dict)
