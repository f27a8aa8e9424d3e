"""The article queries a feed build plans from (:mod:`feeds.feedplan` decides).

Feeds list each story once, as its first article (SPEC §6): every query here that
gives a feed's entries or counts skips articles that joined another's story; the
lead links them (rel="related"), so :meth:`SqlFeedPlanStore.load` gives each
article its story's other sources.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from feeds.models import Article
from feeds.storage.articles import ordered_keys, row_to_article
from feeds.storage.feed_entries import chunks
from feeds.storage.schema import article_regions, articles
from feeds.storage.stories import others_of
from feeds.storage.types import UTCDateTime


class Row(NamedTuple):
    """What planning needs of an article (:class:`feeds.buildplan.Row` is built
    from it): its place in a feed and what its entry shows."""

    seq: int
    published: datetime
    updated: datetime
    content_hash: str


#: Articles that lead their story (or are in none): the ones feeds list.
_LEADS = articles.c.story_seq.is_(None)
_COLS = (articles.c.seq, articles.c.published, articles.c.updated, articles.c.content_hash)


def _ordered() -> tuple[Any, Any]:
    return articles.c.published.desc(), articles.c.seq.desc()


class SqlFeedPlanStore:
    """:class:`~feeds.storage.protocols.FeedPlanStore` on SQLAlchemy. ``region``
    ``None`` means the feed of every article."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def top_seq(self) -> int:
        with self._engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.max(articles.c.seq))).scalar() or 0)

    def reimport_mark(self) -> datetime | None:
        query = sa.select(sa.type_coerce(sa.func.max(articles.c.updated), UTCDateTime)).where(
            articles.c.updated != articles.c.published
        )
        with self._engine.connect() as conn:
            value = conn.execute(query).scalar()
        return value if isinstance(value, datetime) else None

    def region_tops(self, limit: int) -> list[tuple[str, list[int], int]]:
        """Every region with articles: its newest ``limit`` seqs (by ``published``)
        and its count, in one pass over the region links (the database sorts once)."""
        tops: dict[str, list[int]] = {}
        counts: dict[str, int] = {}
        query = (
            sa.select(article_regions.c.region_key, article_regions.c.article_seq)
            .join(articles, articles.c.seq == article_regions.c.article_seq)
            .where(_LEADS)
            .order_by(*_ordered())
        )
        with self._engine.connect() as conn:
            for key, seq in conn.execution_options(yield_per=20_000).execute(query):
                seqs = tops.get(key)
                if seqs is None:
                    tops[key] = [seq]
                    counts[key] = 1
                    continue
                counts[key] += 1
                if len(seqs) < limit:
                    seqs.append(seq)
        return [(key, seqs, counts[key]) for key, seqs in tops.items()]

    def newest_rows(self, region: str | None, limit: int) -> tuple[list[Row], int]:
        """A feed's newest ``limit`` rows by ``published`` and its count."""
        if region is None:
            rows_q = sa.select(*_COLS).where(_LEADS)
            count_q = sa.select(sa.func.count()).select_from(articles).where(_LEADS)
        else:
            rows_q = (
                sa.select(*_COLS)
                .join(article_regions, article_regions.c.article_seq == articles.c.seq)
                .where(article_regions.c.region_key == region, _LEADS)
            )
            count_q = (
                sa.select(sa.func.count())
                .select_from(article_regions)
                .join(articles, articles.c.seq == article_regions.c.article_seq)
                .where(article_regions.c.region_key == region, _LEADS)
            )
        with self._engine.connect() as conn:
            rows = [Row(*r) for r in conn.execute(rows_q.order_by(*_ordered()).limit(limit))]
            return rows, int(conn.execute(count_q).scalar() or 0)

    def changed_rows(self, after_seq: int, updated_since: datetime | None) -> dict[int, Row]:
        """Listed articles added (``seq`` above ``after_seq``) or re-imported
        (``updated`` moved, at or after ``updated_since``)."""
        # Two queries, not one OR: each runs on its own index (the seq range on the
        # primary key, re-imports on the partial index of migration 0005).
        reimported: sa.ColumnElement[bool] | sa.TextClause = sa.text("updated <> published")
        if updated_since is not None:
            reimported = sa.and_(reimported, articles.c.updated >= updated_since)
        with self._engine.connect() as conn:
            return {
                row[0]: Row(*row)
                for condition in (articles.c.seq > after_seq, reimported)
                for row in conn.execute(sa.select(*_COLS).where(condition, _LEADS))
            }

    def regions_of(self, seqs: Iterable[int]) -> dict[int, list[str]]:
        """Each article's region keys (leaf and above), as stored."""
        found: dict[int, list[str]] = {}
        t = article_regions.c
        with self._engine.connect() as conn:
            for chunk in chunks(sorted(seqs)):
                query = sa.select(t.article_seq, t.region_key).where(t.article_seq.in_(chunk))
                for seq, key in conn.execute(query):
                    found.setdefault(seq, []).append(key)
        return found

    def rows(self, seqs: Iterable[int]) -> dict[int, Row]:
        found: dict[int, Row] = {}
        with self._engine.connect() as conn:
            for chunk in chunks(sorted(seqs)):
                for row in conn.execute(sa.select(*_COLS).where(articles.c.seq.in_(chunk))):
                    found[row[0]] = Row(*row)
        return found

    def load(self, seqs: Iterable[int], *, light: bool = False) -> dict[int, Article]:
        """Articles by seq with their region keys (from ``article_regions``, the one
        record of where an article sits) and their story's other sources. ``light``:
        without content and summary (empty), for articles whose rendered forms are
        all kept."""
        found: dict[int, Article] = {}
        query = sa.select(articles)
        if light:
            cols = [c for c in articles.c if c.name not in ("content", "summary")]
            query = sa.select(*cols, sa.literal("").label("content"), sa.null().label("summary"))
        with self._engine.connect() as conn:
            for chunk in chunks(sorted(seqs)):
                rows: Sequence[Any] = conn.execute(query.where(articles.c.seq.in_(chunk))).all()
                also = others_of(conn, rows)
                placed: dict[int, list[str]] = {}
                for seq, key in conn.execute(
                    sa.select(article_regions.c.article_seq, article_regions.c.region_key)
                    .where(article_regions.c.article_seq.in_(chunk))
                ):
                    placed.setdefault(seq, []).append(key)
                for row in rows:
                    keys = ordered_keys(row.region_key, placed.get(row.seq, []))
                    found[row.seq] = row_to_article(row, keys, also.get(row.seq, ()))
        return found
