"""What feed builds remember between runs (tables ``feed_state``, ``feed_builds``
and ``feed_state_entries``; migrations 0003, 0007).

``feed_state`` holds one row per feed (fingerprint, article count, last
publication; its entry seqs are rows of ``feed_state_entries``) plus a ``~version``
pseudo-row: the settings every document was rendered with, so changing them makes
the next build a full one. ``feed_builds`` holds one row: the last build's marks.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from feeds.storage.feed_entries import chunks, entry_lists, listing_feeds, save_entry_lists
from feeds.storage.schema import feed_builds, feed_state

#: The pseudo-feed that holds the settings version.
VERSION_KEY = "~version"


@dataclass(frozen=True, slots=True)
class LastBuild:
    """A build's summary: the marks the next incremental build starts from."""

    last_seq: int
    updated_mark: datetime | None
    built_at: datetime
    feeds: int
    written: int
    base_url: str
    entries: int


class FeedSummary(NamedTuple):
    """A feed as the last build left it, without its entries."""

    key: str
    fingerprint: str
    articles: int


@dataclass(frozen=True, slots=True)
class FeedRecord:
    """A feed as a build wrote it: what the next build compares against."""

    key: str
    fingerprint: str
    articles: int
    last_published: datetime | None
    seqs: tuple[int, ...]


class FeedStateSave:
    """One transaction that saves a build's feed states, then its summary; what is
    read through it (the index's rows) already sees the new states."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def save_feeds(
        self, feeds: Sequence[FeedRecord], gone: Iterable[str], *, full: bool, version: str
    ) -> None:
        """Replace the states of ``feeds`` and drop those of ``gone``; ``full``:
        every state is replaced and ``version`` recorded."""
        conn = self._conn
        gone = list(gone)
        if full:
            conn.execute(sa.delete(feed_state))
        else:
            for chunk in chunks([f.key for f in feeds] + gone):
                conn.execute(sa.delete(feed_state).where(feed_state.c.key.in_(chunk)))
        rows = [
            {
                "key": f.key,
                "fingerprint": f.fingerprint,
                "articles": f.articles,
                "last_published": f.last_published,
            }
            for f in feeds
        ]
        if full:
            rows.append(
                {"key": VERSION_KEY, "fingerprint": version, "articles": 0, "last_published": None}
            )
        if rows:
            conn.execute(sa.insert(feed_state), rows)
        save_entry_lists(conn, {f.key: f.seqs for f in feeds}, gone, full)

    def feed_rows(self) -> list[tuple[str, int, datetime | None]]:
        return _feed_rows(self._conn)

    def save_build(self, build: LastBuild) -> None:
        """Record this build's summary (one row, replaced)."""
        values = {
            "last_seq": build.last_seq,
            "updated_mark": build.updated_mark,
            "built_at": build.built_at,
            "feeds": build.feeds,
            "written": build.written,
            "base_url": build.base_url,
            "entries": build.entries,
        }
        conn = self._conn
        if conn.execute(sa.update(feed_builds).where(feed_builds.c.id == 1), values).rowcount == 0:
            conn.execute(sa.insert(feed_builds), {"id": 1, **values})


class SqlFeedStateStore:
    """:class:`~feeds.storage.protocols.FeedStateStore` on SQLAlchemy."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def last_build(self) -> LastBuild | None:
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(feed_builds).where(feed_builds.c.id == 1)).first()
        if row is None:
            return None
        return LastBuild(
            row.last_seq,
            row.updated_mark,
            row.built_at,
            row.feeds,
            row.written,
            row.base_url,
            row.entries,
        )

    def version(self) -> str | None:
        with self._engine.connect() as conn:
            value = conn.execute(
                sa.select(feed_state.c.fingerprint).where(feed_state.c.key == VERSION_KEY)
            ).scalar()
        return None if value is None else str(value)

    def known(self) -> dict[str, FeedSummary]:
        query = sa.select(feed_state.c.key, feed_state.c.fingerprint, feed_state.c.articles)
        with self._engine.connect() as conn:
            return {
                key: FeedSummary(key, fp, int(count)) for key, fp, count in conn.execute(query)
            }

    def feed_rows(self) -> list[tuple[str, int, datetime | None]]:
        with self._engine.connect() as conn:
            return _feed_rows(conn)

    def entry_lists(self, keys: Iterable[str]) -> dict[str, list[int]]:
        with self._engine.connect() as conn:
            return entry_lists(conn, keys)

    def listing_feeds(self, seqs: Iterable[int]) -> dict[str, set[int]]:
        with self._engine.connect() as conn:
            return listing_feeds(conn, seqs)

    @contextmanager
    def saving(self) -> Iterator[FeedStateSave]:
        with self._engine.begin() as conn:
            yield FeedStateSave(conn)


def _feed_rows(conn: Connection) -> list[tuple[str, int, datetime | None]]:
    query = sa.select(feed_state.c.key, feed_state.c.articles, feed_state.c.last_published)
    return [(r[0], int(r[1]), r[2]) for r in conn.execute(query)]
