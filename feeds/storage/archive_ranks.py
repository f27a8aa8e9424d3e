"""Where each article ranks in its regions by ``seq``: what RFC 5005 archive pages
are cut from (:mod:`feeds.archive`). ``region`` ``None`` means every article."""

from __future__ import annotations

from collections.abc import Collection, Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from feeds.storage.schema import article_regions, articles

#: Archives hold each story once, as its first article (SPEC §6). The joined
#: articles are few (a partial index holds them), so "not one of them" is cheap.
_JOINED = sa.select(articles.c.seq).where(articles.c.story_seq.is_not(None))
_LEAD_LINK = article_regions.c.article_seq.not_in(_JOINED)
_LEAD = articles.c.story_seq.is_(None)


class SqlArchiveStore:
    """:class:`~feeds.storage.protocols.ArchiveStore` on SQLAlchemy."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def region_seqs(self, regions: Collection[str]) -> Iterator[tuple[str, list[int]]]:
        """Every region of ``regions`` that has articles, with all their seqs
        ascending: one pass over the region links in ``(region, seq)`` order, the
        index's own order."""
        current: str | None = None
        seqs: list[int] = []
        query = (
            sa.select(article_regions.c.region_key, article_regions.c.article_seq)
            .where(_LEAD_LINK)
            .order_by(article_regions.c.region_key, article_regions.c.article_seq)
        )
        with self._engine.connect() as conn:
            for key, seq in conn.execution_options(yield_per=20_000).execute(query):
                if key != current:
                    if current is not None and current in regions and seqs:
                        yield current, seqs
                    current, seqs = key, []
                seqs.append(seq)
        if current is not None and current in regions and seqs:
            yield current, seqs

    def all_seqs(self) -> list[int]:
        """Every article's seq, ascending."""
        with self._engine.connect() as conn:
            return list(conn.execute(
                sa.select(articles.c.seq).where(_LEAD).order_by(articles.c.seq)
            ).scalars())

    def newest_seqs(self, region: str | None, limit: int) -> list[int]:
        """The region's ``limit`` highest seqs, ascending (a descending index scan)."""
        if region is None:
            query = sa.select(articles.c.seq).where(_LEAD).order_by(articles.c.seq.desc())
        else:
            query = (
                sa.select(article_regions.c.article_seq)
                .where(article_regions.c.region_key == region, _LEAD_LINK)
                .order_by(article_regions.c.article_seq.desc())
            )
        with self._engine.connect() as conn:
            seqs = list(conn.execute(query.limit(limit)).scalars())
        seqs.reverse()
        return seqs

    def rank(self, region: str | None, seq: int) -> int:
        """How many of the region's articles have a seq below ``seq`` (whether or not
        that article is, or still is, in the region)."""
        if region is None:
            query = (
                sa.select(sa.func.count()).select_from(articles)
                .where(articles.c.seq < seq, _LEAD)
            )
        else:
            query = (
                sa.select(sa.func.count())
                .select_from(article_regions)
                .where(
                    article_regions.c.region_key == region, article_regions.c.article_seq < seq,
                    _LEAD_LINK,
                )
            )
        with self._engine.connect() as conn:
            return int(conn.execute(query).scalar() or 0)
