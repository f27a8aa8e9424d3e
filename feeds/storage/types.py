"""Column types and the one conversion of datetimes on their way into a database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

#: How SQLite stores a timestamp (SQLAlchemy's own format): compared as text.
SQLITE_STAMP = "%Y-%m-%d %H:%M:%S.%f"


def naive_utc(value: datetime) -> datetime:
    """An aware datetime as naive UTC, the only form that reaches a database.

    SQLite has no time zones and compares timestamps as text, so every backend
    stores naive UTC; a naive value is a bug in the caller, not a guess to make.
    """
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store")
    return value.astimezone(UTC).replace(tzinfo=None)


def driver_stamp(value: datetime, sqlite: bool) -> Any:
    """``value`` exactly as :class:`UTCDateTime` would hand it to the driver, for
    bulk inserts that skip SQLAlchemy's per-row bind processing."""
    naive = naive_utc(value)
    return naive.strftime(SQLITE_STAMP) if sqlite else naive


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every backend."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else naive_utc(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        stamp: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
        return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)
