"""Storage of what feed builds keep per article and per feed (migration 0007).

* ``feed_entries``: each article's rendered forms (the Atom ``<entry>`` bytes, the
  JSON Feed item, the region-page block), with the content hash, ``updated`` and
  render version they were made from. A build renders an article once and later
  builds assemble documents from these bytes; a row whose hash, ``updated`` or
  version no longer match is simply rendered again and replaced.
* ``feed_state_entries``: the entry list of every feed as the last build wrote it,
  one row per (feed, position); indexed by article so "which feeds listed this
  re-imported article" is one lookup.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from feeds.storage.schema import metadata
from feeds.storage.types import UTCDateTime

#: Keys or seqs per ``IN (...)`` list (SQLite's variable limit is far above it).
IN_CHUNK = 500
_T = TypeVar("_T")

feed_entries = sa.Table(
    "feed_entries",
    metadata,
    sa.Column(
        "article_seq",
        sa.Integer,
        sa.ForeignKey("articles.seq", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("version", sa.String(64), nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("updated", UTCDateTime, nullable=False),
    sa.Column("atom", sa.LargeBinary, nullable=False),
    sa.Column("json", sa.Text, nullable=False),
    sa.Column("page", sa.Text, nullable=False),
)

feed_state_entries = sa.Table(
    "feed_state_entries",
    metadata,
    sa.Column("feed_key", sa.String(200), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("article_seq", sa.Integer, nullable=False),
    sa.Index("ix_feed_state_entries_article_seq", "article_seq"),
)


@dataclass(frozen=True, slots=True)
class CachedEntry:
    """An article's rendered forms and what they were rendered from."""

    seq: int
    version: str
    content_hash: str
    updated: datetime
    atom: bytes
    json: str
    page: str

    def fits(self, version: str, content_hash: str, updated: datetime) -> bool:
        """Still the article as it is now, rendered the way this build renders."""
        return (
            self.version == version
            and self.content_hash == content_hash
            and self.updated == updated
        )


def chunks(items: Sequence[_T], size: int = IN_CHUNK) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def cached_entries(conn: Connection, seqs: Iterable[int]) -> dict[int, CachedEntry]:
    """The stored forms of these articles (whatever their version)."""
    found: dict[int, CachedEntry] = {}
    t = feed_entries.c
    for chunk in chunks(sorted(seqs)):
        query = sa.select(
            t.article_seq, t.version, t.content_hash, t.updated, t.atom, t.json, t.page
        ).where(t.article_seq.in_(chunk))
        for row in conn.execute(query):
            found[row[0]] = CachedEntry(
                row[0], row[1], row[2], row[3], bytes(row[4]), row[5], row[6]
            )
    return found


def save_entries(
    conn: Connection, entries: Sequence[CachedEntry], *, replace: bool = True
) -> None:
    """Store (or, with ``replace``, replace) these articles' rendered forms."""
    seqs = [e.seq for e in entries]
    for chunk in chunks(seqs) if replace else ():
        conn.execute(sa.delete(feed_entries).where(feed_entries.c.article_seq.in_(chunk)))
    if entries:
        conn.execute(
            sa.insert(feed_entries),
            [
                {
                    "article_seq": e.seq,
                    "version": e.version,
                    "content_hash": e.content_hash,
                    "updated": e.updated,
                    "atom": e.atom,
                    "json": e.json,
                    "page": e.page,
                }
                for e in entries
            ],
        )


def forget_entries(conn: Connection) -> None:
    """Drop every stored rendering (``feeds build --all`` renders everything anew)."""
    conn.execute(sa.delete(feed_entries))


def entry_lists(conn: Connection, keys: Iterable[str]) -> dict[str, list[int]]:
    """Each feed's entry seqs as the last build wrote them, in feed order."""
    found: dict[str, list[int]] = {}
    t = feed_state_entries.c
    for chunk in chunks(sorted(keys)):
        query = (
            sa.select(t.feed_key, t.article_seq)
            .where(t.feed_key.in_(chunk))
            .order_by(t.feed_key, t.position)
        )
        for key, seq in conn.execute(query):
            found.setdefault(key, []).append(seq)
    return found


def listing_feeds(conn: Connection, seqs: Iterable[int]) -> dict[str, set[int]]:
    """The feeds whose last entry list holds any of ``seqs``, and which of them."""
    found: dict[str, set[int]] = {}
    t = feed_state_entries.c
    for chunk in chunks(sorted(seqs)):
        query = sa.select(t.feed_key, t.article_seq).where(t.article_seq.in_(chunk))
        for key, seq in conn.execute(query):
            found.setdefault(key, set()).add(seq)
    return found


def save_entry_lists(
    conn: Connection, lists: Mapping[str, Sequence[int]], doomed: Iterable[str], full: bool
) -> None:
    """Replace the entry lists of ``lists`` (and drop those of ``doomed`` feeds);
    ``full``: every list is replaced."""
    if full:
        conn.execute(sa.delete(feed_state_entries))
    else:
        keys = sorted(set(lists) | set(doomed))
        for chunk in chunks(keys):
            conn.execute(
                sa.delete(feed_state_entries).where(feed_state_entries.c.feed_key.in_(chunk))
            )
    rows = [
        {"feed_key": key, "position": n, "article_seq": seq}
        for key, seqs in lists.items()
        for n, seq in enumerate(seqs)
    ]
    if rows:
        conn.execute(sa.insert(feed_state_entries), rows)


class SqlFeedEntryCache:
    """:class:`~feeds.storage.protocols.FeedEntryCache` on SQLAlchemy: each
    article's rendered forms, kept between batches and builds."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get(self, seqs: Iterable[int]) -> dict[int, CachedEntry]:
        with self._engine.connect() as conn:
            return cached_entries(conn, seqs)

    def save(self, entries: Sequence[CachedEntry], *, replace: bool = True) -> None:
        with self._engine.begin() as conn:
            save_entries(conn, entries, replace=replace)

    def forget(self) -> None:
        with self._engine.begin() as conn:
            forget_entries(conn)
