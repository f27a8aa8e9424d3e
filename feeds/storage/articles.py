"""Storage of articles, their region links and learned zones.

Identity is the canonical URL. ``seq`` (an autoincrement key) is the ingest order,
which is what "newly added" means for digests. Reads stream in chunks so memory stays
flat however many articles there are.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from feeds.models import Article, OtherSource, Region, RegionLevel
from feeds.rows import PlacedArticle, content_hash, entry_id
from feeds.storage.bulk import insert_articles, insert_links, refusal
from feeds.storage.schema import article_regions, articles, zones
from feeds.storage.stories import (
    fold_new,
    lock_folding,
    others_of,
    refold_changed,
    source_counts,
)
from feeds.storage.types import UTCDateTime

__all__ = ["RegionCount", "SqlArticleStore", "UpsertCounts", "row_to_article"]


@dataclass(slots=True)
class UpsertCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0  # records reported and skipped (see feeds.intake)

    def __iadd__(self, other: UpsertCounts) -> UpsertCounts:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.rejected += other.rejected
        return self


@dataclass(frozen=True, slots=True)
class RegionCount:
    key: str
    articles: int
    last_published: datetime | None


class SqlArticleStore:
    """:class:`~feeds.storage.protocols.ArticleStore` over SQLAlchemy Core."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # -- writing --------------------------------------------------------------

    def upsert(
        self, items: Sequence[PlacedArticle], *, backfill: bool = False, now: datetime
    ) -> UpsertCounts:
        """Insert new URLs, update changed ones, leave identical ones untouched.

        Within one call the last item for a URL wins. One transaction per call: when
        the database refuses a value, nothing of the call is stored and
        :class:`~feeds.errors.RecordRefused` says why (the caller may then retry the
        items one by one); other database errors propagate as they are.
        """
        try:
            return self._upsert(items, backfill, now)
        except Exception as exc:
            refused = refusal(exc)
            if refused is None:
                raise
            raise refused from exc

    def _upsert(
        self, items: Sequence[PlacedArticle], backfill: bool, now: datetime
    ) -> UpsertCounts:
        by_url: dict[str, PlacedArticle] = {}
        for item in items:
            by_url[item.record.url] = item
        counts = UpsertCounts()
        if not by_url:
            return counts
        with self._engine.begin() as conn:
            lock_folding(conn)  # before any write: see lock_folding
            existing = self._existing(conn, list(by_url))
            new_rows: list[tuple[PlacedArticle, str]] = []
            new_regions: dict[str, tuple[str, ...]] = {}
            changed_prints = []
            for url, item in by_url.items():
                digest = content_hash(item.record)
                found = existing.get(url)
                if found is None:
                    new_rows.append((item, digest))
                    new_regions[url] = item.region_keys
                    counts.inserted += 1
                elif found[1] == digest:
                    counts.unchanged += 1
                else:
                    seq = found[0]
                    values = self._row(item, digest, now, backfill)
                    for key in ("entry_id", "url", "ingested_at", "backfill"):
                        values.pop(key)
                    values["updated"] = now
                    conn.execute(articles.update().where(articles.c.seq == seq), values)
                    conn.execute(
                        article_regions.delete().where(article_regions.c.article_seq == seq)
                    )
                    insert_links(conn, [(seq, k) for k in item.region_keys])
                    counts.updated += 1
                    if item.story is not None:
                        changed_prints.append((seq, item.story))
            # An edited article stays in its story (SPEC §6); its print is renewed.
            refold_changed(conn, changed_prints)
            if new_rows:
                insert_articles(conn, new_rows, now, backfill)
                seqs = self._existing(conn, list(new_regions))
                links = [(seqs[url][0], key) for url, keys in new_regions.items() for key in keys]
                insert_links(conn, links)
                fold_new(conn, [(seqs[item.record.url][0], item.story)
                                for item, _ in new_rows if item.story is not None], now)
        return counts

    @staticmethod
    def _row(item: PlacedArticle, digest: str, now: datetime, backfill: bool) -> dict[str, Any]:
        r = item.record
        return {
            "entry_id": entry_id(r.url, now),
            "url": r.url,
            "title": r.title,
            "published": r.published,
            "updated": r.published,
            "ingested_at": now,
            "source": r.source,
            "zone": r.zone,
            "region": r.region,
            "category": r.category,
            "content": r.content,
            "summary": r.summary,
            "content_hash": digest,
            "backfill": backfill,
            "source_name": item.source_name,
            "region_key": item.region_keys[0] if item.region_keys else None,
            "unresolved": item.unresolved,
        }

    @staticmethod
    def _existing(conn: Connection, urls: list[str]) -> dict[str, tuple[int, str]]:
        found: dict[str, tuple[int, str]] = {}
        for start in range(0, len(urls), 500):
            batch = urls[start : start + 500]
            rows = conn.execute(
                sa.select(articles.c.url, articles.c.seq, articles.c.content_hash).where(
                    articles.c.url.in_(batch)
                )
            )
            for url, seq, digest in rows:
                found[url] = (seq, digest)
        return found

    def save_zones(self, new_zones: Sequence[Region], *, now: datetime) -> None:
        """Remember zones learned from articles; ones already stored are left alone.

        Two names can share a key (嘉兴港区 and 嘉兴港區 have one pinyin slug): the first
        stored keeps it, so the insert never violates the key or the unique name.
        """
        if not new_zones:
            return
        with self._engine.begin() as conn:
            keys: set[str] = set()
            names: set[str] = set()
            for key, name in conn.execute(
                sa.select(zones.c.key, zones.c.name).where(
                    zones.c.key.in_([z.key for z in new_zones])
                    | zones.c.name.in_([z.name for z in new_zones])
                )
            ):
                keys.add(key)
                names.add(name)
            rows = []
            for z in new_zones:
                if z.key in keys or z.name in names:
                    continue
                keys.add(z.key)
                names.add(z.name)
                rows.append(
                    {"key": z.key, "name": z.name, "parent_key": z.parent_key, "first_seen": now}
                )
            if rows:
                conn.execute(zones.insert(), rows)

    # -- reading --------------------------------------------------------------

    def get(self, url: str) -> Article | None:
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(articles).where(articles.c.url == url)).first()
            if row is None:
                return None
            return self._articles(conn, [row])[0]

    def known_urls(self, urls: Iterable[str]) -> set[str]:
        with self._engine.connect() as conn:
            return set(self._existing(conn, list(urls)))

    def iter_articles(
        self, *, after_seq: int = 0, region_key: str | None = None, chunk: int = 1000
    ) -> Iterator[Article]:
        """Articles in ingest order, streamed ``chunk`` at a time (keyset paging)."""
        last = after_seq
        while True:
            query = sa.select(articles).where(articles.c.seq > last)
            if region_key is not None:
                query = query.where(
                    articles.c.seq.in_(
                        sa.select(article_regions.c.article_seq).where(
                            article_regions.c.region_key == region_key
                        )
                    )
                )
            query = query.order_by(articles.c.seq).limit(chunk)
            with self._engine.connect() as conn:
                rows = conn.execute(query).all()
                batch = self._articles(conn, rows)
            if not batch:
                return
            yield from batch
            last = batch[-1].seq

    def latest(self, region_key: str | None, limit: int) -> list[Article]:
        """The newest ``limit`` articles of a region (all with ``None``): by published,
        then by ingest order (SPEC §6)."""
        query = sa.select(articles)
        if region_key is not None:
            query = query.join(
                article_regions, article_regions.c.article_seq == articles.c.seq
            ).where(article_regions.c.region_key == region_key)
        query = query.order_by(articles.c.published.desc(), articles.c.seq.desc()).limit(limit)
        with self._engine.connect() as conn:
            return self._articles(conn, conn.execute(query).all())

    def newest_in(
        self, region_keys: Iterable[str], limit: int,
        before: tuple[datetime, int] | None = None,
    ) -> list[Article]:
        """The newest ``limit`` stories in any of ``region_keys``, in feed order
        (published, then ingest order, newest first); ``before``: the
        ``(published, seq)`` of the last article of the previous page (keyset paging,
        for a reader that filters further and needs more)."""
        keys = sorted(set(region_keys))
        if not keys or limit <= 0:
            return []
        inside = sa.select(article_regions.c.article_seq).where(
            article_regions.c.region_key.in_(keys)
        )
        # Each story once, as its first article (SPEC §6), as in the region feeds.
        query = sa.select(articles).where(
            articles.c.seq.in_(inside), articles.c.story_seq.is_(None)
        )
        if before is not None:
            published, seq = before
            query = query.where(
                sa.or_(
                    articles.c.published < published,
                    sa.and_(articles.c.published == published, articles.c.seq < seq),
                )
            )
        query = query.order_by(articles.c.published.desc(), articles.c.seq.desc()).limit(limit)
        with self._engine.connect() as conn:
            return self._articles(conn, conn.execute(query).all())

    def _articles(self, conn: Connection, rows: Sequence[Any]) -> list[Article]:
        if not rows:
            return []
        seqs = [row.seq for row in rows]
        keys: dict[int, list[str]] = {seq: [] for seq in seqs}
        for start in range(0, len(seqs), 500):
            batch = seqs[start : start + 500]
            for seq, key in conn.execute(
                sa.select(article_regions.c.article_seq, article_regions.c.region_key).where(
                    article_regions.c.article_seq.in_(batch)
                )
            ):
                keys[seq].append(key)
        also = others_of(conn, rows)
        return [_to_article(row, keys[row.seq], also.get(row.seq, ())) for row in rows]

    def max_seq(self) -> int:
        with self._engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.max(articles.c.seq))).scalar() or 0)

    def count(self) -> int:
        with self._engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(articles)).scalar() or 0)

    def region_counts(self) -> list[RegionCount]:
        query = (
            sa.select(
                article_regions.c.region_key,
                sa.func.count(),
                sa.type_coerce(sa.func.max(articles.c.published), UTCDateTime),
            )
            .join(articles, articles.c.seq == article_regions.c.article_seq)
            .group_by(article_regions.c.region_key)
            .order_by(article_regions.c.region_key)
        )
        with self._engine.connect() as conn:
            return [RegionCount(key, int(n), last) for key, n, last in conn.execute(query)]

    def story_counts(self) -> list[tuple[str | None, int, int]]:
        """Per source: ``(name, articles, folded into stories first seen elsewhere)``."""
        with self._engine.connect() as conn:
            return source_counts(conn)

    def unresolved(self) -> list[tuple[str, int]]:
        query = (
            sa.select(articles.c.unresolved, sa.func.count())
            .where(articles.c.unresolved.is_not(None))
            .group_by(articles.c.unresolved)
            .order_by(sa.func.count().desc(), articles.c.unresolved)
        )
        with self._engine.connect() as conn:
            return [(name, int(count)) for name, count in conn.execute(query)]

    def unresolved_articles(self) -> list[Article]:
        """Articles stored without a region (few: the partial index finds them)."""
        query = sa.select(articles).where(articles.c.unresolved.is_not(None))
        with self._engine.connect() as conn:
            return self._articles(conn, conn.execute(query.order_by(articles.c.seq)).all())

    def relocate(
        self, seq: int, region_keys: tuple[str, ...], unresolved: str | None, *, now: datetime
    ) -> None:
        """Give a stored article its regions at last (an alias was configured).

        ``updated`` moves to ``now``: the entry gains categories and feeds, so readers
        and the incremental feed build see it change. ``seq`` stays: it is not new.
        """
        with self._engine.begin() as conn:
            conn.execute(
                articles.update()
                .where(articles.c.seq == seq)
                .values(
                    region_key=region_keys[0] if region_keys else None,
                    unresolved=unresolved,
                    updated=now,
                )
            )
            conn.execute(article_regions.delete().where(article_regions.c.article_seq == seq))
            insert_links(conn, [(seq, key) for key in region_keys])

    def zones(self) -> list[Region]:
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(zones).order_by(zones.c.first_seen, zones.c.key))
            return [
                Region(
                    key=row.key,
                    name=row.name,
                    level=RegionLevel.ZONE,
                    parent_key=row.parent_key,
                    slug=row.key.removeprefix("zone-"),
                )
                for row in rows
            ]


def ordered_keys(leaf: str | None, region_keys: list[str]) -> tuple[str, ...]:
    """The leaf first, then the regions above it (adcodes sort province-last)."""
    rest = sorted((k for k in region_keys if k != leaf), reverse=True)
    return tuple(([leaf] if leaf in region_keys else []) + rest)


def _to_article(
    row: Any, region_keys: list[str], also: tuple[OtherSource, ...] = ()
) -> Article:
    return row_to_article(row, ordered_keys(row.region_key, region_keys), also)


def row_to_article(
    row: Any, region_keys: tuple[str, ...], also: tuple[OtherSource, ...] = ()
) -> Article:
    """An ``articles`` row (any select of all its columns) as an :class:`Article`."""
    return Article(
        id=row.entry_id,
        seq=row.seq,
        url=row.url,
        title=row.title,
        published=row.published,
        updated=row.updated,
        ingested_at=row.ingested_at,
        source=row.source,
        zone=row.zone,
        region=row.region,
        category=row.category,
        content=row.content,
        summary=row.summary,
        content_hash=row.content_hash,
        region_keys=region_keys,
        backfill=bool(row.backfill),
        source_name=row.source_name,
        story_seq=getattr(row, "story_seq", None),
        also=also,
    )
