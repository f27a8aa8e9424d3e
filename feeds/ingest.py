"""Placing articles in the region hierarchy and handing them to the store in batches.

Every source (JSONL import, portal crawl, upstream feed) ends here, so "resolve the
region, learn the zone, keep the unresolvable" happens in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from feeds.models import ArticleRecord, Region
from feeds.regions import Ambiguous, Gazetteer, Unknown
from feeds.store import ArticleStore, PlacedArticle, UpsertCounts
from feeds.urls import canonical_url

BATCH = 1000


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


def _without_nul(record: ArticleRecord) -> ArticleRecord:
    """PostgreSQL refuses NUL in text, and no reader wants one: drop it everywhere."""
    dirty = {
        name: value.replace("\x00", "")
        for name in _TEXT_FIELDS
        if (value := getattr(record, name)) and "\x00" in value
    }
    return replace(record, **dirty) if dirty else record


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
    ) -> UpsertCounts:
        """Store ``records``; URLs are canonicalised here so callers need not."""
        total = UpsertCounts()
        batch: list[PlacedArticle] = []
        learned: list[Region] = []

        def flush() -> None:
            if learned:
                self.store.save_zones(learned, now=now)
                learned.clear()
            counts = self.store.upsert(batch, backfill=backfill, now=now)
            total.__iadd__(counts)
            batch.clear()
            if on_batch is not None:
                on_batch(counts)

        for record in records:
            url = canonical_url(record.url)
            if url != record.url:
                record = replace(record, url=url)
            record = _without_nul(record)
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
            batch.append(
                PlacedArticle(record, placement.region_keys, placement.unresolved, source_name)
            )
            if len(batch) >= BATCH:
                flush()
        if batch:
            flush()
        return total
