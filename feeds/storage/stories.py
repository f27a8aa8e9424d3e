"""Storage of stories across sources (SPEC §6, migration 0008).

* ``articles.story_seq``: the ``seq`` of the story's first stored article, set only
  on the articles that joined a story another article leads (``NULL`` on leads and
  on articles nobody repeated), so "is this a story's first article" is read from
  the row itself and the partial index holds only the few joined ones.
* ``story_prints``: each article's :class:`~feeds.stories.StoryPrint` (MinHash
  signature, size, title bigrams, numbers), so a later article is compared with it
  without reading its text again.
* ``story_bands``: its LSH band keys, indexed: finding candidates for a batch is
  one query, and memory does not grow with the store.

:func:`fold_new` runs in the transaction that inserts a batch (the articles, their
story and their prints are stored together or not at all).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from feeds.models import OtherSource
from feeds.storage.feed_entries import chunks
from feeds.storage.schema import articles, metadata
from feeds.storage.types import driver_stamp

if TYPE_CHECKING:  # numpy loads with the first fold, not with the schema
    import numpy as np

    from feeds.stories import StoryPrint

story_prints = sa.Table(
    "story_prints",
    metadata,
    sa.Column(
        "article_seq",
        sa.Integer,
        sa.ForeignKey("articles.seq", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("print", sa.LargeBinary, nullable=False),
)

#: No foreign key: twenty-odd rows per article, checked on every insert, for
#: articles that are never deleted; the primary key is the lookup index (and on
#: SQLite the table itself: WITHOUT ROWID, one B-tree to write instead of two).
story_bands = sa.Table(
    "story_bands",
    metadata,
    sa.Column("band_key", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("article_seq", sa.Integer, primary_key=True, autoincrement=False),
    sqlite_with_rowid=False,
)

#: Keys per ``IN (...)`` list (SQLite before 3.32 allows 999 variables).
_KEY_CHUNK = 900
#: The transaction-scoped PostgreSQL advisory lock that serializes folding.
FOLD_LOCK = 0x7A77_5354_4F52  # "zwSTOR"


def lock_folding(conn: Connection) -> None:
    """Serialize folding across processes, until the transaction ends.

    Two workers storing the two copies of one story at the same instant must not
    both find no earlier copy and both lead a story (a subscriber would hear of it
    twice). On PostgreSQL a transaction-scoped advisory lock makes the second wait
    until the first has committed; reading candidates after it (READ COMMITTED:
    each statement sees what was committed before it began) then sees the first's
    articles. The upsert takes it before its first write: taken later, a worker
    updating an edited lead (row locked) could wait for it while the holder waits
    for that row to mark the lead ``updated`` (a deadlock PostgreSQL breaks by
    failing one). :func:`fold_new` and :func:`refold_changed` take it too, for
    callers that did not (again in one transaction costs nothing).

    SQLite needs nothing: the transaction that folds has already inserted the
    batch, so it holds the database's one write lock, taken with a fresh snapshot
    (a deferred transaction that meets a busy writer retries from scratch).
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (FOLD_LOCK,))


def fold_new(
    conn: Connection, items: Sequence[tuple[int, StoryPrint]], now: datetime
) -> dict[int, int]:
    """File newly inserted articles (``(seq, print)``) into stories, in ``seq`` order.

    An article near-identical to a stored one (or to an earlier one of the batch)
    joins that article's story; the story's first article is marked ``updated`` at
    ``now``, so feed builds render it again with its new related link. Returns
    ``seq -> story`` for the articles that joined a story.
    """
    from feeds.stories import band_keys, fold_batch, key_list

    ordered = sorted(((seq, p) for seq, p in items if p.usable), key=lambda item: item[0])
    if not ordered:
        return {}
    lock_folding(conn)
    keys = band_keys([p for _, p in ordered])
    stored_bands = _stored_bands(conn, key_list(keys))
    stored = _stored_prints(conn, {seq for _, seq in stored_bands})
    stories = fold_batch(ordered, keys, stored, stored_bands, lambda seqs: _stories(conn, seqs))
    joined = {seq: story for (seq, _), story in zip(ordered, stories, strict=True)
              if story != seq}
    _save_prints(conn, ordered, keys)
    if joined:
        _join(conn, joined, now)
    return joined


def refold_changed(conn: Connection, items: Sequence[tuple[int, StoryPrint]]) -> None:
    """An edited article keeps its story; only its print and bands are renewed, so
    later reposts of the new text still find it.

    The old band rows are found from the old print's keys (the primary key starts
    with the key): ``story_bands`` has no index on the article, and deleting by it
    read the whole table, 2 million rows at 100,000 articles.
    """
    from feeds.stories import StoryPrint, band_keys, band_rows

    if not items:
        return
    lock_folding(conn)
    seqs = [seq for seq, _ in items]
    old = _stored_prints(conn, set(seqs))
    if old:
        stale = sorted(old)
        mark = _marks(conn, 1)
        conn.exec_driver_sql(
            f"DELETE FROM story_bands WHERE band_key = {mark} AND article_seq = {mark}",
            band_rows(stale, band_keys([StoryPrint.from_bytes(old[seq]) for seq in stale])),
        )
        for part in chunks(stale):
            conn.execute(story_prints.delete().where(story_prints.c.article_seq.in_(part)))
    usable = [(seq, p) for seq, p in items if p.usable]
    _save_prints(conn, usable, band_keys([p for _, p in usable]))


def _marks(conn: Connection, n: int) -> str:
    return ", ".join(["?" if conn.dialect.paramstyle == "qmark" else "%s"] * n)


def _stored_bands(conn: Connection, keys: Sequence[int]) -> list[tuple[int, int]]:
    """``(band key, article seq)`` of the stored articles sharing one of ``keys``.

    Plain driver SQL on the transaction's own DBAPI cursor, rows as plain tuples: a
    batch looks up some 20,000 keys, and SQLAlchemy's expansion of each ``IN``
    list and its row objects cost more than the database's own work.
    """
    found: list[tuple[int, int]] = []
    cursor = conn.connection.cursor()
    try:
        for part in chunks(keys, _KEY_CHUNK):
            cursor.execute(
                "SELECT band_key, article_seq FROM story_bands WHERE band_key IN "
                f"({_marks(conn, len(part))})",
                tuple(part),
            )
            found += cursor.fetchall()
    finally:
        cursor.close()
    return found


def _stored_prints(conn: Connection, seqs: set[int]) -> dict[int, bytes]:
    """``seq -> print bytes`` of stored articles."""
    found: dict[int, bytes] = {}
    cursor = conn.connection.cursor()
    try:
        for part in chunks(sorted(seqs), _KEY_CHUNK):
            cursor.execute(
                "SELECT article_seq, print FROM story_prints WHERE article_seq IN "
                f"({_marks(conn, len(part))})",
                tuple(part),
            )
            for seq, data in cursor.fetchall():
                found[seq] = bytes(data)
    finally:
        cursor.close()
    return found


def _stories(conn: Connection, seqs: list[int]) -> dict[int, int]:
    """``seq -> story`` of stored articles (asked only for the few candidates alike
    enough: an article's row is a page of its own text away from the prints)."""
    found: dict[int, int] = {}
    for part in chunks(seqs, _KEY_CHUNK):
        for seq, story in conn.execute(
            sa.select(articles.c.seq, articles.c.story_seq).where(articles.c.seq.in_(part))
        ):
            found[seq] = story or seq
    return found


def _save_prints(
    conn: Connection, items: Sequence[tuple[int, StoryPrint]], keys: np.ndarray
) -> None:
    """Store the prints and their band keys (``keys``: :func:`band_keys` of them)."""
    from feeds.stories import band_rows

    if not items:
        return
    mark = _marks(conn, 1)
    conn.exec_driver_sql(
        f"INSERT INTO story_prints (article_seq, print) VALUES ({mark}, {mark})",
        [(seq, p.to_bytes()) for seq, p in items],
    )
    # In key order: the index's pages are visited once each, not at random.
    conn.exec_driver_sql(
        f"INSERT INTO story_bands (band_key, article_seq) VALUES ({mark}, {mark})",
        band_rows([seq for seq, _ in items], keys),
    )


def _join(conn: Connection, joined: dict[int, int], now: datetime) -> None:
    """Mark the joined articles, and move each story's lead's ``updated``."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    conn.exec_driver_sql(
        f"UPDATE articles SET story_seq = {mark} WHERE seq = {mark}",
        [(story, seq) for seq, story in sorted(joined.items())],
    )
    stamp = driver_stamp(now, conn.dialect.name == "sqlite")
    conn.exec_driver_sql(
        f"UPDATE articles SET updated = {mark} WHERE seq = {mark}",
        [(stamp, story) for story in sorted(set(joined.values()))],
    )


def story_members(
    conn: Connection, seqs: Iterable[int]
) -> dict[int, list[tuple[int, OtherSource]]]:
    """Story key (its first article's seq) -> every *other* article of it as
    ``(seq, OtherSource)``, for the stories of ``seqs`` (given as story keys)."""
    keys = sorted(set(seqs))
    found: dict[int, list[tuple[int, OtherSource]]] = {}
    if not keys:
        return found
    cols = (articles.c.seq, articles.c.story_seq, articles.c.url, articles.c.source,
            articles.c.source_name)
    for part in chunks(keys):
        for seq, story, url, source, name in conn.execute(
            sa.select(*cols).where(articles.c.story_seq.in_(part)).order_by(articles.c.seq)
        ):
            found.setdefault(story, []).append((seq, OtherSource(url, source, name)))
    return found


def leads(conn: Connection, seqs: Iterable[int]) -> dict[int, OtherSource]:
    """The first articles of the given stories, as :class:`OtherSource`."""
    out: dict[int, OtherSource] = {}
    for part in chunks(sorted(set(seqs))):
        for seq, url, source, name in conn.execute(
            sa.select(articles.c.seq, articles.c.url, articles.c.source, articles.c.source_name)
            .where(articles.c.seq.in_(part))
        ):
            out[seq] = OtherSource(url, source, name)
    return out


def others_of(conn: Connection, rows: Sequence[Any]) -> dict[int, tuple[OtherSource, ...]]:
    """Of ``articles`` rows: each one's story's other articles (SPEC §6), oldest
    first: for a lead, the articles that joined it; for a joined article, the lead
    and the others."""
    story_of = {row.seq: row.story_seq or row.seq for row in rows}
    members = story_members(conn, story_of.values())
    if not members and all(row.story_seq is None for row in rows):
        return {}
    first = leads(conn, {row.story_seq for row in rows if row.story_seq is not None})
    out: dict[int, tuple[OtherSource, ...]] = {}
    for seq, story in story_of.items():
        others = [(story, first[story])] if story != seq and story in first else []
        others += [m for m in members.get(story, ()) if m[0] != seq]
        if others:
            out[seq] = tuple(other for _, other in others)
    return out


def source_counts(conn: Connection) -> list[tuple[str | None, int, int]]:
    """``(source name, articles, folded)`` per source, by name: ``folded`` counts
    its articles that joined a story first seen from another source."""
    folded = folded_counts(conn)
    query = sa.select(articles.c.source_name, sa.func.count()).group_by(articles.c.source_name)
    rows = [(name, int(n), folded.get(name, 0)) for name, n in conn.execute(query)]
    return sorted(rows, key=lambda row: (row[0] is None, row[0] or ""))


def folded_counts(conn: Connection) -> dict[str | None, int]:
    """Per source: its articles that joined a story first seen from another source."""
    lead = articles.alias("lead")
    query = (
        sa.select(articles.c.source_name, sa.func.count())
        .join(lead, lead.c.seq == articles.c.story_seq)
        .where(articles.c.story_seq.is_not(None))
        .where(lead.c.source_name.is_distinct_from(articles.c.source_name))
        .group_by(articles.c.source_name)
    )
    return {name: int(n) for name, n in conn.execute(query)}
