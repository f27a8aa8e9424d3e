"""Edge: the store queries of a feed build, and loading articles.

A full build plans every feed in one pass over the region links; an incremental one
reads what changed since the last build and lets :mod:`feeds.buildplan` decide
(see :func:`plan_changed`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from feeds.atom import ALL_KEY
from feeds.buildplan import Known, Plan, Row, new_mark, plan_feeds, touched
from feeds.feedstate import RENDER_VERSION, LastBuild
from feeds.models import Article
from feeds.regions import Gazetteer
from feeds.storage.articles import row_to_article
from feeds.storage.feed_entries import chunks, entry_lists, listing_feeds
from feeds.storage.schema import article_regions, articles
from feeds.storage.stories import others_of
from feeds.storage.types import UTCDateTime

#: Feeds list each story once, as its first article (SPEC §6): an article that
#: joined another's story is no entry; the lead links it (rel="related").
_LEADS = articles.c.story_seq.is_(None)

#: Articles held in memory at once while rendering (a batch of neighbouring feeds).
BATCH_ARTICLES = 8000

__all__ = ["BATCH_ARTICLES", "Plan", "load", "names", "plan_all", "plan_changed"]


def top_seq(conn: Connection) -> int:
    """The newest article's seq (0 for an empty store)."""
    return int(conn.execute(sa.select(sa.func.max(articles.c.seq))).scalar() or 0)


def reimport_mark(conn: Connection) -> datetime | None:
    """The newest ``updated`` of a re-imported article (a full build's mark)."""
    value = conn.execute(
        sa.select(sa.type_coerce(sa.func.max(articles.c.updated), UTCDateTime)).where(
            articles.c.updated != articles.c.published
        )
    ).scalar()
    return value if isinstance(value, datetime) else None


def _ordered() -> tuple[Any, Any]:
    return articles.c.published.desc(), articles.c.seq.desc()


def plan_all(conn: Connection, limit: int) -> list[Plan]:
    """Every feed in one pass: region links streamed newest article first, each
    region keeping its first ``limit`` seqs (the database does the one big sort)."""
    tops: dict[str, list[int]] = {}
    counts: dict[str, int] = {}
    query = (
        sa.select(article_regions.c.region_key, article_regions.c.article_seq)
        .join(articles, articles.c.seq == article_regions.c.article_seq)
        .where(_LEADS)
        .order_by(*_ordered())
    )
    result = conn.execution_options(yield_per=20_000).execute(query)
    for key, seq in result:
        seqs = tops.get(key)
        if seqs is None:
            tops[key] = [seq]
            counts[key] = 1
            continue
        counts[key] += 1
        if len(seqs) < limit:
            seqs.append(seq)
    plans = [Plan(key, seqs, counts[key]) for key, seqs in tops.items()]
    plans.append(_all_plan(conn, limit))
    return plans


def _all_plan(conn: Connection, limit: int) -> Plan:
    seqs = list(
        conn.execute(
            sa.select(articles.c.seq).where(_LEADS).order_by(*_ordered()).limit(limit)
        ).scalars()
    )
    count = int(conn.execute(
        sa.select(sa.func.count()).select_from(articles).where(_LEADS)
    ).scalar() or 0)
    return Plan(ALL_KEY, seqs, count)


def plan_changed(
    conn: Connection, limit: int, previous: LastBuild, known: Mapping[str, Known]
) -> tuple[list[Plan], datetime | None, set[int]]:
    """Only the feeds that hold an article added or re-imported since the last build,
    the new re-import mark, and the seqs of those articles: the store is read here,
    :mod:`feeds.buildplan` decides."""
    changed = _changed_rows(conn, previous)
    mark = new_mark(changed.values(), previous.updated_mark)
    if not changed:
        return [], mark, set()
    regions: dict[int, list[str]] = {}
    for chunk in chunks(sorted(changed)):
        for seq, key in conn.execute(
            sa.select(article_regions.c.article_seq, article_regions.c.region_key).where(
                article_regions.c.article_seq.in_(chunk)
            )
        ):
            regions.setdefault(seq, []).append(key)
    # A re-imported article may have moved region: the feeds that listed it before.
    again = [seq for seq in changed if seq <= previous.last_seq]
    listed = listing_feeds(conn, again) if again else {}
    touch = touched(changed, regions, previous.last_seq, listed, known)
    lists = entry_lists(conn, touch.merge)
    old = _rows(conn, sorted({s for seqs in lists.values() for s in seqs}))
    before = {key: [old[s] for s in seqs if s in old] for key, seqs in lists.items()}
    queried = {key: _query_feed(conn, key, limit) for key in sorted(touch.requery)}
    plans = plan_feeds(
        touch, changed, previous.last_seq, known, before, queried, limit, RENDER_VERSION
    )
    return plans, mark, set(changed)


_COLS = (articles.c.seq, articles.c.published, articles.c.updated, articles.c.content_hash)


def _changed_rows(conn: Connection, previous: LastBuild) -> dict[int, Row]:
    """Articles added (``seq`` above the last build's) or re-imported (``updated``
    moved, at or after the last mark) since the last build."""
    # Two queries, not one OR: each runs on its own index (the seq range on the
    # primary key, re-imports on the partial index of migration 0005).
    reimported: sa.ColumnElement[bool] | sa.TextClause = sa.text("updated <> published")
    if previous.updated_mark is not None:
        reimported = sa.and_(reimported, articles.c.updated >= previous.updated_mark)
    return {
        row[0]: Row(*row)
        for condition in (articles.c.seq > previous.last_seq, reimported)
        for row in conn.execute(sa.select(*_COLS).where(condition, _LEADS))
    }


def _rows(conn: Connection, seqs: Sequence[int]) -> dict[int, Row]:
    found: dict[int, Row] = {}
    for chunk in chunks(seqs):
        for row in conn.execute(sa.select(*_COLS).where(articles.c.seq.in_(chunk))):
            found[row[0]] = Row(*row)
    return found


def _query_feed(conn: Connection, key: str, limit: int) -> tuple[list[Row], int]:
    """A feed's newest ``limit`` rows and its article count, straight from the store."""
    cols = _COLS
    if key == ALL_KEY:
        rows_q = sa.select(*cols).where(_LEADS)
        count_q = sa.select(sa.func.count()).select_from(articles).where(_LEADS)
    else:
        rows_q = (
            sa.select(*cols)
            .join(article_regions, article_regions.c.article_seq == articles.c.seq)
            .where(article_regions.c.region_key == key, _LEADS)
        )
        count_q = (
            sa.select(sa.func.count())
            .select_from(article_regions)
            .join(articles, articles.c.seq == article_regions.c.article_seq)
            .where(article_regions.c.region_key == key, _LEADS)
        )
    rows = [Row(*r) for r in conn.execute(rows_q.order_by(*_ordered()).limit(limit))]
    return rows, int(conn.execute(count_q).scalar() or 0)


def load(
    conn: Connection, seqs: set[int], gazetteer: Gazetteer, *, light: bool = False
) -> dict[int, Article]:
    """Full articles for ``seqs``, regions ordered leaf first (zone, district, city,
    province) so categories read from the most specific.

    ``light``: without content and summary (empty), for articles whose rendered
    forms are all cached: the writer never looks at their text.
    """
    found: dict[int, Article] = {}
    lineages: dict[str | None, tuple[str, ...]] = {None: ()}
    query = sa.select(articles)
    if light:
        cols = [c for c in articles.c if c.name not in ("content", "summary")]
        query = sa.select(*cols, sa.literal("").label("content"), sa.null().label("summary"))
    for chunk in chunks(sorted(seqs)):
        rows = conn.execute(query.where(articles.c.seq.in_(chunk))).all()
        also = others_of(conn, rows)
        for row in rows:
            leaf = row.region_key
            keys = lineages.get(leaf)
            if keys is None:
                keys = lineages[leaf] = gazetteer.ancestor_keys(leaf) if leaf in gazetteer else ()
            found[row.seq] = row_to_article(row, keys, also.get(row.seq, ()))
    return found


def names(gazetteer: Gazetteer) -> Any:
    def name(key: str) -> str | None:
        region = gazetteer.find(key)
        return region.name if region is not None else None

    return name
