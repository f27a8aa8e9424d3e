"""The article store: the ``ArticleStore`` protocol and its SQLAlchemy implementation.

Identity is the canonical URL. ``seq`` (an autoincrement key) is the ingest order,
which is what "newly added" means for digests. Reads stream in chunks so memory stays
flat however many articles there are.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from feeds.db import UTCDateTime, article_regions, articles, create_engine, migrate, zones
from feeds.models import Article, ArticleRecord, Region, RegionLevel


@dataclass(frozen=True, slots=True)
class PlacedArticle:
    """A record ready to store: canonical URL and resolved regions attached."""

    record: ArticleRecord
    region_keys: tuple[str, ...]  # the leaf region first, then every region above it
    unresolved: str | None = None  # the name that could not be placed, if any
    source_name: str | None = None


@dataclass(slots=True)
class UpsertCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __iadd__(self, other: UpsertCounts) -> UpsertCounts:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        return self


@dataclass(frozen=True, slots=True)
class RegionCount:
    key: str
    articles: int
    last_published: datetime | None


def content_hash(record: ArticleRecord) -> str:
    """What decides "changed" on re-import: every field a reader could see."""
    r = record
    fields = (
        r.title,
        r.published.isoformat(),
        r.source,
        r.zone,
        r.region,
        r.category,
        r.content,
        r.summary,
    )
    # Unit separators keep ("ab", "c") and ("a", "bc") apart; None differs from "".
    payload = "\x1f".join("\x00" if f is None else f for f in fields)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def entry_id(url: str, first_seen: datetime) -> str:
    """A ``tag:`` URI (RFC 4151) minted once per article and never recomputed.

    RFC 4287 §4.2.6 asks that an entry id never change; it is stored with the article,
    so a later change of URL scheme or date does not move it.
    """
    digest = hashlib.sha1(url.encode("utf-8")).hexdigest()[:20]
    return f"tag:zonewire,{first_seen.astimezone(UTC):%Y-%m-%d}:article/{digest}"


class ArticleStore(Protocol):
    """What the rest of zonewire needs from storage."""

    engine: Engine

    def upsert(
        self, items: Sequence[PlacedArticle], *, backfill: bool = False, now: datetime
    ) -> UpsertCounts: ...

    def get(self, url: str) -> Article | None: ...

    def known_urls(self, urls: Iterable[str]) -> set[str]: ...

    def iter_articles(
        self, *, after_seq: int = 0, region_key: str | None = None, chunk: int = 1000
    ) -> Iterator[Article]: ...

    def latest(self, region_key: str | None, limit: int) -> list[Article]: ...

    def max_seq(self) -> int: ...

    def count(self) -> int: ...

    def region_counts(self) -> list[RegionCount]: ...

    def unresolved(self) -> list[tuple[str, int]]: ...

    def zones(self) -> list[Region]: ...

    def unresolved_articles(self) -> list[Article]: ...

    def relocate(
        self, seq: int, region_keys: tuple[str, ...], unresolved: str | None, *, now: datetime
    ) -> None: ...

    def save_zones(self, new_zones: Sequence[Region], *, now: datetime) -> None: ...


class SqlArticleStore:
    """:class:`ArticleStore` over SQLAlchemy Core (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str, *, migrate_schema: bool = True) -> SqlArticleStore:
        engine = create_engine(url)
        if migrate_schema:
            migrate(engine)
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    # -- writing --------------------------------------------------------------

    def upsert(
        self, items: Sequence[PlacedArticle], *, backfill: bool = False, now: datetime
    ) -> UpsertCounts:
        """Insert new URLs, update changed ones, leave identical ones untouched.

        Within one call the last item for a URL wins. One transaction per call.
        """
        by_url: dict[str, PlacedArticle] = {}
        for item in items:
            by_url[item.record.url] = item
        counts = UpsertCounts()
        if not by_url:
            return counts
        with self.engine.begin() as conn:
            existing = self._existing(conn, list(by_url))
            new_rows: list[tuple[PlacedArticle, str]] = []
            new_regions: dict[str, tuple[str, ...]] = {}
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
                    _insert_links(conn, [(seq, k) for k in item.region_keys])
                    counts.updated += 1
            if new_rows:
                _insert_articles(conn, new_rows, now, backfill)
                seqs = self._existing(conn, list(new_regions))
                links = [(seqs[url][0], key) for url, keys in new_regions.items() for key in keys]
                _insert_links(conn, links)
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
        if not new_zones:
            return
        with self.engine.begin() as conn:
            known = {
                row[0]
                for row in conn.execute(
                    sa.select(zones.c.key).where(zones.c.key.in_([z.key for z in new_zones]))
                )
            }
            rows = [
                {"key": z.key, "name": z.name, "parent_key": z.parent_key, "first_seen": now}
                for z in new_zones
                if z.key not in known
            ]
            if rows:
                conn.execute(zones.insert(), rows)

    # -- reading --------------------------------------------------------------

    def get(self, url: str) -> Article | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(articles).where(articles.c.url == url)).first()
            if row is None:
                return None
            return self._articles(conn, [row])[0]

    def known_urls(self, urls: Iterable[str]) -> set[str]:
        with self.engine.connect() as conn:
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
            with self.engine.connect() as conn:
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
        with self.engine.connect() as conn:
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
        return [_to_article(row, keys[row.seq]) for row in rows]

    def max_seq(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.max(articles.c.seq))).scalar() or 0)

    def count(self) -> int:
        with self.engine.connect() as conn:
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
        with self.engine.connect() as conn:
            return [RegionCount(key, int(n), last) for key, n, last in conn.execute(query)]

    def unresolved(self) -> list[tuple[str, int]]:
        query = (
            sa.select(articles.c.unresolved, sa.func.count())
            .where(articles.c.unresolved.is_not(None))
            .group_by(articles.c.unresolved)
            .order_by(sa.func.count().desc(), articles.c.unresolved)
        )
        with self.engine.connect() as conn:
            return [(name, int(count)) for name, count in conn.execute(query)]

    def unresolved_articles(self) -> list[Article]:
        """Articles stored without a region (few: the partial index finds them)."""
        query = sa.select(articles).where(articles.c.unresolved.is_not(None))
        with self.engine.connect() as conn:
            return self._articles(conn, conn.execute(query.order_by(articles.c.seq)).all())

    def relocate(
        self, seq: int, region_keys: tuple[str, ...], unresolved: str | None, *, now: datetime
    ) -> None:
        """Give a stored article its regions at last (an alias was configured).

        ``updated`` moves to ``now``: the entry gains categories and feeds, so readers
        and the incremental feed build see it change. ``seq`` stays: it is not new.
        """
        with self.engine.begin() as conn:
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
            _insert_links(conn, [(seq, key) for key in region_keys])

    def zones(self) -> list[Region]:
        with self.engine.connect() as conn:
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


_INSERT_COLUMNS = (
    "entry_id",
    "url",
    "title",
    "published",
    "updated",
    "ingested_at",
    "source",
    "zone",
    "region",
    "category",
    "content",
    "summary",
    "content_hash",
    "backfill",
    "source_name",
    "region_key",
    "unresolved",
)


def _insert_articles(
    conn: Connection, new: list[tuple[PlacedArticle, str]], now: datetime, backfill: bool
) -> None:
    """New articles straight to the driver's executemany.

    An import is mostly this statement, and SQLAlchemy's per-row bind processing
    cost more than SQLite's own work; the one conversion it did (aware datetimes to
    naive UTC, as text on SQLite, see :class:`~feeds.db.UTCDateTime`) is done here.
    """
    sqlite = conn.dialect.name == "sqlite"
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"

    def stamp(value: datetime) -> Any:
        naive = value.astimezone(UTC).replace(tzinfo=None)
        return naive.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else naive

    now_cell = stamp(now)
    params = []
    for item, digest in new:
        r = item.record
        published = stamp(r.published)
        params.append(
            (
                entry_id(r.url, now),
                r.url,
                r.title,
                published,
                published,
                now_cell,
                r.source,
                r.zone,
                r.region,
                r.category,
                r.content,
                r.summary,
                digest,
                backfill,
                item.source_name,
                item.region_keys[0] if item.region_keys else None,
                item.unresolved,
            )
        )
    conn.exec_driver_sql(
        f"INSERT INTO articles ({', '.join(_INSERT_COLUMNS)}) "
        f"VALUES ({', '.join([mark] * len(_INSERT_COLUMNS))})",
        params,
    )


def _insert_links(conn: Connection, links: list[tuple[int, str]]) -> None:
    """Region links are the bulk of an import (four per article): plain tuples
    straight to the driver's executemany skip SQLAlchemy's per-row processing."""
    if not links:
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    conn.exec_driver_sql(
        f"INSERT INTO article_regions (article_seq, region_key) VALUES ({mark}, {mark})", links
    )


def _ordered_keys(leaf: str | None, region_keys: list[str]) -> tuple[str, ...]:
    """The leaf first, then the regions above it (adcodes sort province-last)."""
    rest = sorted((k for k in region_keys if k != leaf), reverse=True)
    return tuple(([leaf] if leaf in region_keys else []) + rest)


def _to_article(row: Any, region_keys: list[str]) -> Article:
    return row_to_article(row, _ordered_keys(row.region_key, region_keys))


def row_to_article(row: Any, region_keys: tuple[str, ...]) -> Article:
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
    )
