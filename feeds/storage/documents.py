"""Storage of published feed documents in the database (distributed mode, SPEC §11).

In distributed mode every ``zonewire serve`` serves the same feeds, so the built
files (Atom, JSON Feed, region pages, index, OPML) live in ``feed_documents``:
one row per path under the feed root, with its bytes, a strong ETag (a hash of
the bytes) and when it last changed (migration 0009).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from feeds.storage.schema import metadata
from feeds.storage.types import UTCDateTime

feed_documents = sa.Table(
    "feed_documents",
    metadata,
    sa.Column("key", sa.String(500), primary_key=True),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("etag", sa.String(80), nullable=False),
    sa.Column("updated", UTCDateTime, nullable=False),
)


@dataclass(frozen=True, slots=True)
class FeedDocument:
    """One published file: ``key`` is its path under the feed root (``a/b.atom``)."""

    key: str
    body: bytes
    etag: str
    updated: datetime


def etag_of(body: bytes) -> str:
    """A strong validator (RFC 9110 §8.8.3): equal bytes, equal tag, on every server."""
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


class SqlFeedDocumentStore:
    """Feed documents by key; a write of unchanged bytes changes nothing."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def put(self, items: Iterable[tuple[str, bytes]], now: datetime) -> int:
        """Store each (key, bytes); returns how many documents changed."""
        changed = 0
        with self._engine.begin() as conn:
            for key, body in items:
                etag = etag_of(body)
                old = conn.execute(
                    sa.select(feed_documents.c.etag).where(feed_documents.c.key == key)
                ).scalar()
                if old == etag:
                    continue
                values = {"body": body, "etag": etag, "updated": now}
                if old is None:
                    conn.execute(feed_documents.insert().values(key=key, **values))
                else:
                    conn.execute(
                        feed_documents.update().where(feed_documents.c.key == key).values(**values)
                    )
                changed += 1
        return changed

    def remove(self, keys: Iterable[str]) -> int:
        """Forget documents a build removed; returns how many were there."""
        wanted = list(keys)
        if not wanted:
            return 0
        with self._engine.begin() as conn:
            result = conn.execute(feed_documents.delete().where(feed_documents.c.key.in_(wanted)))
        return int(result.rowcount or 0)

    def get(self, key: str) -> FeedDocument | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(feed_documents).where(feed_documents.c.key == key)
            ).first()
        if row is None:
            return None
        return FeedDocument(row.key, bytes(row.body), row.etag, row.updated)

    def keys(self) -> list[str]:
        with self._engine.connect() as conn:
            return list(
                conn.execute(sa.select(feed_documents.c.key).order_by(feed_documents.c.key))
                .scalars()
            )

    def iter_all(self) -> Iterator[FeedDocument]:
        """Every document, one at a time (memory stays flat however many feeds)."""
        for key in self.keys():
            document = self.get(key)
            if document is not None:
                yield document

    def count(self) -> int:
        with self._engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(feed_documents))
                       .scalar_one())
