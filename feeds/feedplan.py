"""Edge: deciding which feeds a build looks at, and loading their articles.

A full build plans every feed in one pass over the region links; an incremental one
starts from what changed since the last build (see :func:`plan_changed`). Plans are
then grouped into batches of neighbouring feeds that share one load of articles.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from feeds.atom import ALL_KEY
from feeds.db import article_regions, articles
from feeds.feedstate import IN_CHUNK, RENDER_VERSION, LastBuild, feed_state
from feeds.models import Article
from feeds.regions import Gazetteer
from feeds.store import row_to_article

#: Articles held in memory at once while rendering (a batch of neighbouring feeds).
BATCH_ARTICLES = 8000
_T = TypeVar("_T")


@dataclass(slots=True)
class Plan:
    """One feed to (maybe) render: its ordered entry seqs and its article count."""

    key: str
    seqs: list[int]
    count: int
    fingerprint: str | None = None  # known up front on incremental builds
    last_published: datetime | None = None
    #: The oldest re-imported article (seq up to the last build's) the feed holds or
    #: held: its archive pages are rebuilt from that article's page on.
    reimported: int | None = None


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
        conn.execute(sa.select(articles.c.seq).order_by(*_ordered()).limit(limit)).scalars()
    )
    count = int(conn.execute(sa.select(sa.func.count()).select_from(articles)).scalar() or 0)
    return Plan(ALL_KEY, seqs, count)


def plan_changed(
    conn: Connection, limit: int, previous: LastBuild, state: dict[str, Any]
) -> tuple[list[Plan], datetime | None, set[int]]:
    """Only the feeds that hold an article added or re-imported since the last build,
    the new re-import mark, and the seqs of those articles.

    A feed that only gained new articles is merged from its previous entry list and
    the newcomers (no scan of the region); a feed touched by a re-import is queried
    afresh, since a changed date may push an entry out and let an older one in.
    """
    # Two queries, not one OR: each runs on its own index (the seq range on the
    # primary key, re-imports on the partial index of migration 0005).
    reimported: sa.ColumnElement[bool] | sa.TextClause = sa.text("updated <> published")
    if previous.updated_mark is not None:
        reimported = sa.and_(reimported, articles.c.updated >= previous.updated_mark)
    cols = (articles.c.seq, articles.c.published, articles.c.content_hash, articles.c.updated)
    found = {
        row.seq: row
        for condition in (articles.c.seq > previous.last_seq, reimported)
        for row in conn.execute(sa.select(*cols).where(condition))
    }
    mark = previous.updated_mark
    for row in found.values():
        if row.updated != row.published and (mark is None or row.updated > mark):
            mark = row.updated
    if not found:
        return [], mark, set()
    members: dict[str, list[int]] = {ALL_KEY: list(found)}
    for chunk in chunks(sorted(found)):
        for seq, key in conn.execute(
            sa.select(article_regions.c.article_seq, article_regions.c.region_key).where(
                article_regions.c.article_seq.in_(chunk)
            )
        ):
            members.setdefault(key, []).append(seq)
    # A re-imported article may have moved region: the feeds that listed it before.
    again = {seq for seq in found if seq <= previous.last_seq}
    left: dict[str, set[int]] = {}
    if again:
        for key, text in conn.execute(sa.select(feed_state.c.key, feed_state.c.entries)):
            if key not in members and text and not again.isdisjoint(_seqs(text)):
                members[key] = []
                left[key] = again & _seqs(text)
    merge = {
        key
        for key, seqs in members.items()
        if seqs and key in state and all(s > previous.last_seq for s in seqs)
    }
    listed: dict[str, list[int]] = {}
    for chunk_keys in chunks(sorted(merge)):
        for key, text in conn.execute(
            sa.select(feed_state.c.key, feed_state.c.entries).where(
                feed_state.c.key.in_(chunk_keys)
            )
        ):
            listed[key] = _seq_list(text)
    old_seqs = sorted({s for seqs in listed.values() for s in seqs})
    old_rows: dict[int, Any] = {}
    for chunk in chunks(old_seqs):
        old_rows.update(
            (row.seq, row)
            for row in conn.execute(sa.select(*cols).where(articles.c.seq.in_(chunk)))
        )
    plans = []
    for key in sorted(members):
        if key in merge:
            pool = [old_rows[s] for s in listed.get(key, ()) if s in old_rows]
            pool += [found[s] for s in members[key]]
            pool.sort(key=lambda r: (r.published, r.seq), reverse=True)
            rows = pool[:limit]
            count = int(state[key].articles) + len(members[key])
        else:
            rows, count = _query_feed(conn, key, limit)
        touched = again.intersection(members[key]) | left.get(key, set())
        plans.append(
            Plan(
                key,
                [r.seq for r in rows],
                count,
                fingerprint((r.seq, r.content_hash, r.updated) for r in rows),
                reimported=min(touched) if touched else None,
            )
        )
    return plans, mark, set(found)


def _query_feed(conn: Connection, key: str, limit: int) -> tuple[list[Any], int]:
    """A feed's newest ``limit`` rows and its article count, straight from the store."""
    cols = (articles.c.seq, articles.c.published, articles.c.content_hash, articles.c.updated)
    if key == ALL_KEY:
        rows_q = sa.select(*cols)
        count_q = sa.select(sa.func.count()).select_from(articles)
    else:
        rows_q = (
            sa.select(*cols)
            .join(article_regions, article_regions.c.article_seq == articles.c.seq)
            .where(article_regions.c.region_key == key)
        )
        count_q = (
            sa.select(sa.func.count())
            .select_from(article_regions)
            .where(article_regions.c.region_key == key)
        )
    rows = list(conn.execute(rows_q.order_by(*_ordered()).limit(limit)).all())
    return rows, int(conn.execute(count_q).scalar() or 0)


def _seq_list(text: str) -> list[int]:
    return [int(s) for s in text.split(",") if s]


def fingerprint(rows: Iterable[Sequence[Any]]) -> str:
    digest = hashlib.sha256(RENDER_VERSION.encode())
    for seq, content_hash, updated in rows:
        digest.update(f"|{seq}:{content_hash}:{updated.timestamp()!r}".encode())
    return digest.hexdigest()


def _seqs(text: str) -> set[int]:
    return {int(s) for s in text.split(",") if s}


def chunks(items: Sequence[_T], size: int = IN_CHUNK) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def load(conn: Connection, seqs: set[int], gazetteer: Gazetteer) -> dict[int, Article]:
    """Full articles for ``seqs``, regions ordered leaf first (zone, district, city,
    province) so categories read from the most specific."""
    found: dict[int, Article] = {}
    lineages: dict[str | None, tuple[str, ...]] = {None: ()}
    for chunk in chunks(sorted(seqs)):
        rows = conn.execute(sa.select(articles).where(articles.c.seq.in_(chunk))).all()
        for row in rows:
            leaf = row.region_key
            keys = lineages.get(leaf)
            if keys is None:
                keys = lineages[leaf] = gazetteer.ancestor_keys(leaf) if leaf in gazetteer else ()
            found[row.seq] = row_to_article(row, keys)
    return found


def names(gazetteer: Gazetteer) -> Any:
    def name(key: str) -> str | None:
        region = gazetteer.find(key)
        return region.name if region is not None else None

    return name
