"""What callers need from storage, one small protocol per concern.

Implementations live beside their tables (``articles.py``, ``sources.py``,
``ledger.py``, ``channels.py``, ``locks.py``; for feed builds ``feed_plans.py``,
``feed_state.py``, ``feed_entries.py``, ``archive_ranks.py``); :func:`feeds.storage.open_storage`
returns one object that gives each. None of these exposes an engine or a
connection: a caller that needs a new query asks for a method here.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from feeds.models import Article, Region
from feeds.rows import PlacedArticle
from feeds.sources.state import SourceState, Validators
from feeds.storage.articles import RegionCount, UpsertCounts
from feeds.storage.channels import ChannelProblem
from feeds.storage.feed_entries import CachedEntry
from feeds.storage.feed_plans import Row
from feeds.storage.feed_state import FeedRecord, FeedSummary, LastBuild
from feeds.storage.ledger_rows import DigestRecord, Failure, NewDigest, RetryRule, SubscriberRow


class ArticleStore(Protocol):
    """Articles in, articles out: what ingest, feeds and digests need."""

    def upsert(
        self, items: Sequence[PlacedArticle], *, backfill: bool = False, now: datetime
    ) -> UpsertCounts: ...

    def get(self, url: str) -> Article | None: ...

    def known_urls(self, urls: Iterable[str]) -> set[str]: ...

    def iter_articles(
        self, *, after_seq: int = 0, region_key: str | None = None, chunk: int = 1000
    ) -> Iterator[Article]: ...

    def latest(self, region_key: str | None, limit: int) -> list[Article]: ...

    def newest_in(
        self, region_keys: Iterable[str], limit: int,
        before: tuple[datetime, int] | None = None,
    ) -> list[Article]: ...

    def max_seq(self) -> int: ...

    def count(self) -> int: ...

    def region_counts(self) -> list[RegionCount]: ...

    def unresolved(self) -> list[tuple[str, int]]: ...

    def story_counts(self) -> list[tuple[str | None, int, int]]: ...

    def zones(self) -> list[Region]: ...

    def unresolved_articles(self) -> list[Article]: ...

    def relocate(
        self, seq: int, region_keys: tuple[str, ...], unresolved: str | None, *, now: datetime
    ) -> None: ...

    def save_zones(self, new_zones: Sequence[Region], *, now: datetime) -> None: ...


class SourceStateStore(Protocol):
    """Each source's memory between polls, and per-URL validators and failures."""

    def get(self, name: str) -> SourceState: ...

    def all(self) -> dict[str, SourceState]: ...

    def save(self, state: SourceState) -> None: ...

    def validators(self, urls: Iterable[str]) -> dict[str, Validators]: ...

    def save_validators(
        self, source_name: str, items: dict[str, Validators], *, now: datetime
    ) -> None: ...

    def skipped(self, urls: Iterable[str], *, now: datetime, recheck: timedelta) -> set[str]: ...

    def record_failure(
        self,
        source_name: str,
        url: str,
        reason: str,
        *,
        permanent: bool,
        now: datetime,
        give_up_after: int | None = None,
    ) -> None: ...

    def retry_urls(self, source_name: str, *, limit: int) -> list[str]: ...

    def failures(self, source_name: str) -> list[tuple[str, str, bool, int]]: ...

    def clear_failures(self, urls: Iterable[str]) -> None: ...

    def zone_last_published(self, source_name: str) -> dict[str, datetime]: ...


class LedgerStore(Protocol):
    """Subscriber cursors and choices, digest rows, claims and outcomes."""

    def states(self, ids: Iterable[str] | None = None) -> dict[str, SubscriberRow]: ...

    def record_plan(
        self,
        new_subscribers: Mapping[str, int],
        cursors: Mapping[str, int],
        planned: Sequence[NewDigest],
        now: datetime,
        expected: Mapping[str, int] | None = None,
    ) -> set[str]: ...

    def set_choice(
        self,
        subscriber_id: str,
        fingerprint: str,
        *,
        unsubscribed_all: bool,
        regions: Iterable[str] = (),
        now: datetime,
        start_seq: int = 0,
    ) -> None: ...

    def disable(self, subscriber_id: str, fingerprint: str, reason: str) -> None: ...

    def disabled(self) -> list[tuple[str, str]]: ...

    def outstanding(
        self, now: datetime, only: str | None = None, skip_channels: Collection[str] = ()
    ) -> list[DigestRecord]: ...

    def get(self, digest_id: str) -> DigestRecord | None: ...

    def digests_of(self, subscriber_id: str) -> list[DigestRecord]: ...

    def counts(self) -> dict[str, int]: ...

    def counts_by_channel(self) -> dict[str, dict[str, int]]: ...

    def problems(self, limit: int = 20) -> list[DigestRecord]: ...

    def claim(
        self, ids: Sequence[str], claimant: str, now: datetime, lease: timedelta
    ) -> set[str]: ...

    def claimants(self, now: datetime) -> set[str]: ...

    def renew(self, claimant: str, now: datetime, lease: timedelta) -> int: ...

    def release(self, claimant: str, ids: Sequence[str] | None = None) -> None: ...

    def mark(
        self,
        sent: Sequence[str],
        failed: Sequence[Failure],
        now: datetime,
        retry: RetryRule,
        *,
        claimant: str | None = None,
    ) -> dict[str, str]: ...


class ChannelStateStore(Protocol):
    """Channels whose transport is broken, and when to try them again."""

    def all(self) -> dict[str, ChannelProblem]: ...

    def record(
        self,
        channel: str,
        problem: str,
        fingerprint: str,
        now: datetime,
        retry_at: Callable[[int], datetime],
    ) -> ChannelProblem: ...

    def clear(self, channel: str) -> bool: ...


class WorkerLockStore(Protocol):
    """One holder at a time, released by the OS or the database if the holder dies."""

    @property
    def where(self) -> str: ...

    @property
    def path(self) -> Path | None: ...

    def try_acquire(self) -> bool: ...

    def holder(self) -> str: ...

    def check(self) -> str | None: ...

    def release(self) -> None: ...


class FeedStateSaver(Protocol):
    """One transaction: a build's feed states, then its summary."""

    def save_feeds(
        self, feeds: Sequence[FeedRecord], gone: Iterable[str], *, full: bool, version: str
    ) -> None: ...

    def feed_rows(self) -> list[tuple[str, int, datetime | None]]: ...

    def save_build(self, build: LastBuild) -> None: ...


class FeedStateStore(Protocol):
    """What a feed build left for the next one: each feed's fingerprint, count and
    entry list, the settings version, and the build's marks."""

    def last_build(self) -> LastBuild | None: ...

    def version(self) -> str | None: ...

    def known(self) -> dict[str, FeedSummary]: ...

    def feed_rows(self) -> list[tuple[str, int, datetime | None]]: ...

    def entry_lists(self, keys: Iterable[str]) -> dict[str, list[int]]: ...

    def listing_feeds(self, seqs: Iterable[int]) -> dict[str, set[int]]: ...

    def saving(self) -> AbstractContextManager[FeedStateSaver]: ...


class FeedEntryCache(Protocol):
    """Each article's rendered forms, so a build renders an article once."""

    def get(self, seqs: Iterable[int]) -> dict[int, CachedEntry]: ...

    def save(self, entries: Sequence[CachedEntry], *, replace: bool = True) -> None: ...

    def forget(self) -> None: ...


class ArchiveStore(Protocol):
    """Articles ranked by seq within a region (``None``: all), for archive pages."""

    def region_seqs(self, regions: Collection[str]) -> Iterator[tuple[str, list[int]]]: ...

    def all_seqs(self) -> list[int]: ...

    def newest_seqs(self, region: str | None, limit: int) -> list[int]: ...

    def rank(self, region: str | None, seq: int) -> int: ...


class FeedPlanStore(Protocol):
    """The article queries a feed build plans from; feeds list only a story's first
    article. ``region`` ``None`` means the feed of every article."""

    def top_seq(self) -> int: ...

    def reimport_mark(self) -> datetime | None: ...

    def region_tops(self, limit: int) -> list[tuple[str, list[int], int]]: ...

    def newest_rows(self, region: str | None, limit: int) -> tuple[list[Row], int]: ...

    def changed_rows(self, after_seq: int, updated_since: datetime | None) -> dict[int, Row]: ...

    def regions_of(self, seqs: Iterable[int]) -> dict[int, list[str]]: ...

    def rows(self, seqs: Iterable[int]) -> dict[int, Row]: ...

    def load(self, seqs: Iterable[int], *, light: bool = False) -> dict[int, Article]: ...


class Stores(ArticleStore, Protocol):
    """One database with every store on it (what :func:`feeds.storage.open_storage`
    returns), for the callers that need more than articles."""

    @property
    def sources(self) -> SourceStateStore: ...

    @property
    def ledger(self) -> LedgerStore: ...

    @property
    def channels(self) -> ChannelStateStore: ...

    @property
    def feed_plan(self) -> FeedPlanStore: ...

    @property
    def feed_state(self) -> FeedStateStore: ...

    @property
    def feed_entries(self) -> FeedEntryCache: ...

    @property
    def archive(self) -> ArchiveStore: ...

    def worker_lock(self) -> WorkerLockStore: ...
