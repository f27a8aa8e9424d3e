"""Article rows straight to the driver: the fast path of an import.

Plain tuples go to the driver's ``executemany``. This is also the one place that
decides whether a failed write was the record's fault (a value the database
refuses) or the database's (gone, locked), because only the first may be skipped
with a message while the rest is stored.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from feeds.errors import RecordRefused
from feeds.rows import PlacedArticle, entry_id
from feeds.storage.types import driver_stamp

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


def insert_articles(
    conn: Connection, new: list[tuple[PlacedArticle, str]], now: datetime, backfill: bool
) -> None:
    """New articles straight to the driver's executemany.

    An import is mostly this statement, and SQLAlchemy's per-row bind processing
    cost more than SQLite's own work; the one conversion it did is
    :func:`~feeds.storage.types.driver_stamp`, the same one the column type uses.
    """
    sqlite = conn.dialect.name == "sqlite"
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    now_cell = driver_stamp(now, sqlite)
    params = []
    for item, digest in new:
        r = item.record
        published = driver_stamp(r.published, sqlite)
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


def insert_links(conn: Connection, links: list[tuple[int, str]]) -> None:
    """Region links are the bulk of an import (four per article): plain tuples
    straight to the driver's executemany skip SQLAlchemy's per-row processing."""
    if not links:
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    conn.exec_driver_sql(
        f"INSERT INTO article_regions (article_seq, region_key) VALUES ({mark}, {mark})", links
    )


#: SQLSTATE classes that mean "this value", not "this database": data exception,
#: integrity constraint violation, program limit exceeded (an index row too large).
_VALUE_SQLSTATES = ("22", "23", "54")


def refusal(exc: BaseException) -> RecordRefused | None:
    """``exc`` as a :class:`RecordRefused` when the values were at fault, else ``None``.

    Encoding, date overflow and driver adaptation errors surface as ``ValueError``
    or ``OverflowError`` before the database sees the row; PostgreSQL names its
    refusals with a SQLSTATE; SQLite raises ``DataError``/``IntegrityError``. A lost
    connection or a locked database is none of these, and must not cost a record.
    """
    if isinstance(exc, RecordRefused):
        return exc
    reason: str | None = None
    if isinstance(exc, sa.exc.DBAPIError):
        state = str(getattr(exc.orig, "sqlstate", None) or "")
        if isinstance(exc, sa.exc.DataError | sa.exc.IntegrityError) or state.startswith(
            _VALUE_SQLSTATES
        ):
            reason = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else ""
    elif isinstance(exc, sa.exc.StatementError):  # raised while binding, not by the database
        reason = str(exc.orig)
    elif isinstance(exc, ValueError | OverflowError):
        reason = str(exc)
    if reason is None:
        return None
    refused = RecordRefused(f"the database refused it: {reason or type(exc).__name__}")
    refused.__cause__ = exc
    return refused
