"""Placing articles in the region hierarchy and handing them to the store in batches.

Every source (JSONL import, portal crawl, upstream feed) ends here, so "resolve the
region, learn the zone, keep the unresolvable" happens in one place, and so do
folding near-identical articles into stories (SPEC §6: each record's print is made
here, the store folds it with the batch) and
"every record stands alone" (SPEC §5, issue 10): a record that cannot be stored for
any reason is reported with its place and skipped, and every other one is stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from feeds.dates import date_problem
from feeds.errors import RecordRefused
from feeds.models import ArticleRecord, Region
from feeds.regions import Ambiguous, Gazetteer, Unknown, zone_key
from feeds.rows import PlacedArticle
from feeds.storage import UpsertCounts
from feeds.storage.protocols import ArticleStore
from feeds.text import lone_surrogate, valid_text
from feeds.urls import canonical_url

if TYPE_CHECKING:
    from feeds.stories import StoryPrint

log = logging.getLogger(__name__)

BATCH = 1000
#: The store's limits (feeds/storage/schema.py): ``url`` is VARCHAR(2048), region keys VARCHAR(200).
MAX_URL = 2048
MAX_KEY = 200

#: Where a record came from, as its caller names it: a line number, a URL.
Where = TypeVar("Where")


@dataclass(frozen=True, slots=True)
class Placement:
    region_keys: tuple[str, ...]
    unresolved: str | None
    new_zone: Region | None


def place(record: ArticleRecord, gazetteer: Gazetteer, hint: str | None = None) -> Placement:
    """Where an article sits: its zone (learned on first sight) or its division.

    The breadcrumb region is resolved with the zone, source and configured hint as
    context (朝阳区 under 长春 or 北京). A zone already known keeps its first parent.
    An article that cannot be placed is kept with the name that failed, so
    ``zonewire status`` can list it.
    """
    context = [c for c in (record.zone, record.source, hint) if c]
    parent: Region | None = None
    problem: str | None = None
    if record.region:
        found = gazetteer.resolve(record.region, context, suggest=False)
        if isinstance(found, Region):
            parent = found
        elif isinstance(found, Ambiguous):
            problem = f"{record.region} (ambiguous)"
        elif isinstance(found, Unknown):
            problem = record.region
    elif hint:
        found = gazetteer.resolve(hint, suggest=False)
        parent = found if isinstance(found, Region) else None
        problem = None if parent else hint

    if record.zone:
        zone = record.zone.strip()
        known = gazetteer.zone_named(zone)
        if known is not None:
            return Placement(gazetteer.ancestor_keys(known.key), None, None)
        as_division = gazetteer.resolve(zone, context, suggest=False)
        if isinstance(as_division, Region) and (
            parent is None or gazetteer.is_within(as_division.key, parent.key)
        ):
            return Placement(gazetteer.ancestor_keys(as_division.key), None, None)
        if parent is not None:
            new = gazetteer.add_zone(zone, parent.key)
            return Placement(gazetteer.ancestor_keys(new.key), None, new)
        return Placement((), problem or zone, None)

    if parent is not None:
        return Placement(gazetteer.ancestor_keys(parent.key), None, None)
    return Placement((), problem or "(no region)", None)


_TEXT_FIELDS = ("title", "source", "zone", "region", "category", "content", "summary")


def prepare(record: ArticleRecord, now: datetime) -> ArticleRecord:
    """``record`` as it may be stored, or ``ValueError`` saying why it cannot be.

    The URL is canonicalised; text is made valid (:func:`feeds.text.valid_text`:
    PostgreSQL refuses NUL, UTF-8 cannot encode a lone surrogate, XML forbids
    control characters) before anything hashes or stores it; the date must lie in
    SPEC §5's window. Pure: ``now`` is the import's or poll's time.
    """
    if lone_surrogate(record.url) is not None:
        raise ValueError(f"'url' is not valid Unicode (a lone surrogate): {record.url!r}")
    url = canonical_url(record.url)
    if len(url) > MAX_URL:
        raise ValueError(f"'url' is longer than {MAX_URL:,} characters once canonical")
    problem = date_problem(record.published, now)
    if problem is not None:
        raise ValueError(problem)
    changed: dict[str, str] = {"url": url} if url != record.url else {}
    for name in _TEXT_FIELDS:
        value = getattr(record, name)
        if value:
            clean = valid_text(value)
            if clean is not value:
                changed[name] = clean
    if changed:
        record = replace(record, **changed)  # type: ignore[arg-type]
    if not record.title.strip():
        raise ValueError("'title' is blank")
    # A pinyin slug is at most ~6 letters a character: only long names need the check.
    if record.zone and len(record.zone) > 30 and len(zone_key(record.zone.strip())) > MAX_KEY:
        raise ValueError(f"'zone' is too long to be a zone name: {record.zone[:40]!r}…")
    return record


def load_zones(gazetteer: Gazetteer, store: ArticleStore) -> Gazetteer:
    """Teach ``gazetteer`` every zone the store has learned so far."""
    for zone in store.zones():
        if zone.parent_key is None or zone.parent_key in gazetteer:
            gazetteer.add_zone(zone.name, zone.parent_key, key=zone.key)
    return gazetteer


def place_unresolved(store: ArticleStore, gazetteer: Gazetteer, now: datetime) -> int:
    """Try again to place every article stored without a region; how many now are.

    Run after the gazetteer learned something (a configured alias, a new zone);
    cheap when nothing is unresolved.
    """
    placed = 0
    learned: list[Region] = []
    for article in store.unresolved_articles():
        record = ArticleRecord(
            url=article.url, title=article.title, published=article.published,
            source=article.source, zone=article.zone, region=article.region,
        )
        placement = place(record, gazetteer)
        if placement.new_zone is not None:
            learned.append(placement.new_zone)
        if placement.region_keys:
            store.save_zones(learned, now=now)
            learned.clear()
            store.relocate(article.seq, placement.region_keys, None, now=now)
            placed += 1
    return placed


class Ingestor:
    """Resolves, batches and stores records; one per command or worker cycle.

    ``gazetteer`` must already know the store's zones (:func:`load_zones`).
    """

    def __init__(self, store: ArticleStore, gazetteer: Gazetteer) -> None:
        self.store = store
        self.gazetteer = gazetteer
        self._placements: dict[tuple[str | None, ...], Placement] = {}

    def add(
        self,
        records: Iterable[ArticleRecord],
        *,
        now: datetime,
        source_name: str | None = None,
        hint: str | None = None,
        backfill: bool = False,
        on_batch: Callable[[UpsertCounts], None] | None = None,
        on_reject: Callable[[str, str], None] | None = None,
    ) -> UpsertCounts:
        """Store ``records``; URLs are canonicalised here so callers need not.

        A record that cannot be stored goes to ``on_reject(url, reason)`` (a
        warning in the log without one) and is skipped: see :meth:`add_located`.
        """
        return self.add_located(
            ((valid_text(r.url), r) for r in records),
            now=now, source_name=source_name, hint=hint, backfill=backfill,
            on_batch=on_batch, on_reject=on_reject or _log_reject,
        )

    def add_located(
        self,
        items: Iterable[tuple[Where, ArticleRecord]],
        *,
        now: datetime,
        on_reject: Callable[[Where, str], None],
        source_name: str | None = None,
        hint: str | None = None,
        backfill: bool = False,
        on_batch: Callable[[UpsertCounts], None] | None = None,
    ) -> UpsertCounts:
        """Store records, each with the place it came from (a line, a URL).

        Every record stands alone (SPEC §5): one that fails :func:`prepare` or that
        the database refuses goes to ``on_reject(where, reason)`` and every other one
        is stored. Batches keep the import fast; a batch the database refuses is
        stored again one record at a time, so only the record at fault is lost.
        """
        total = UpsertCounts()
        pending: list[tuple[Where, ArticleRecord, Placement]] = []
        learned: list[Region] = []

        def flush() -> None:
            if learned:
                self.store.save_zones(learned, now=now)
                learned.clear()
            prints = _story_prints([record for _, record, _ in pending])
            batch = [
                (where, PlacedArticle(record, placement.region_keys, placement.unresolved,
                                      source_name, story))
                for (where, record, placement), story in zip(pending, prints, strict=True)
            ]
            pending.clear()
            try:
                counts = self.store.upsert(
                    [item for _, item in batch], backfill=backfill, now=now
                )
            except RecordRefused:
                counts = UpsertCounts()
                for where, item in batch:
                    try:
                        counts += self.store.upsert([item], backfill=backfill, now=now)
                    except RecordRefused as exc:
                        counts.rejected += 1
                        on_reject(where, valid_text(str(exc)))
            total.__iadd__(counts)
            if on_batch is not None:
                on_batch(counts)

        for where, record in items:
            try:
                record = prepare(record, now)
                placement = self._place(record, hint, learned)
            except Exception as exc:  # any reason at all: the record stands alone
                total.rejected += 1
                on_reject(where, _reason(exc))
                continue
            pending.append((where, record, placement))
            if len(pending) >= BATCH:
                flush()
        if pending or learned:
            flush()
        return total

    def _place(self, record: ArticleRecord, hint: str | None, learned: list[Region]) -> Placement:
        # Most articles share a handful of (region, zone, source) combinations.
        memo_key = (record.region, record.zone, record.source, hint)
        placement = self._placements.get(memo_key)
        if placement is None:
            placement = place(record, self.gazetteer, hint)
            if placement.new_zone is not None:
                learned.append(placement.new_zone)
                placement = replace(placement, new_zone=None)
            if len(self._placements) > 50_000:
                self._placements.clear()
            self._placements[memo_key] = placement
        return placement


def _story_prints(records: list[ArticleRecord]) -> list[StoryPrint]:
    """The records' prints for folding into stories (SPEC §6), made here for a
    whole batch at once (they share their MinHash arithmetic), outside the store's
    transaction; the store folds them in the transaction that inserts them."""
    from feeds.stories import story_prints

    return story_prints([(r.title, r.content or r.summary or "") for r in records])


def _reason(exc: Exception) -> str:
    """One line for the operator; not a traceback (a ``ValueError`` says it all)."""
    if isinstance(exc, ValueError):
        text = str(exc)
    else:
        text = f"cannot be stored: {type(exc).__name__}: {exc}"
    return valid_text(" ".join(text.split()) or type(exc).__name__)


def _log_reject(where: str, reason: str) -> None:
    log.warning("%s: %s (skipped)", where, reason)
