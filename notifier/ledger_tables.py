"""The ledger's tables and the values read from them (SPEC §8, migrations 0004, 0006).

``digests`` is keyed by digest id; its natural key is (subscriber, channel, seq
range), so a subscriber with an email and a webhook has one row per channel, each
with its own status, attempts and retries. ``claimed_by`` / ``claim_expires_at`` say
which sender is sending a digest now (see :meth:`notifier.ledger.Ledger.claim`).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from feeds.storage.schema import digests, subscriber_state  # noqa: F401 (re-exported)

PENDING, SENT, RETRYING, FAILED = "pending", "sent", "retrying", "failed"
#: Statuses a digest can still leave (everything but sent and failed).
OPEN = (PENDING, RETRYING)


@dataclass(frozen=True, slots=True)
class DigestRecord:
    """A digest as the ledger holds it: enough to send it again with the same id."""

    id: str
    subscriber_id: str
    channel: str
    first_seq: int
    last_seq: int
    article_seqs: tuple[int, ...]
    more: int
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    claimed_by: str | None = None
    claim_expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one attempt went: ``ok``, or a temporary/permanent error."""

    digest_id: str
    ok: bool
    error: str | None = None
    permanent: bool = False
    retry_after: float | None = None  # seconds the receiver asked us to wait
    disable: bool = False  # HTTP 410: the webhook is gone


def backoff(attempt: int, initial: timedelta, maximum: timedelta, rng: random.Random) -> timedelta:
    """Exponential backoff with full jitter over the upper half (never instant)."""
    ceiling = min(maximum.total_seconds(), initial.total_seconds() * (2 ** max(attempt - 1, 0)))
    return timedelta(seconds=ceiling * (0.5 + rng.random() / 2))


def _record(row: Any) -> DigestRecord:
    return DigestRecord(
        id=row.id,
        subscriber_id=row.subscriber_id,
        channel=row.channel,
        first_seq=row.first_seq,
        last_seq=row.last_seq,
        article_seqs=tuple(json.loads(row.article_seqs)),
        more=row.more,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        created_at=row.created_at,
        sent_at=row.sent_at,
        claimed_by=row.claimed_by,
        claim_expires_at=row.claim_expires_at,
    )


def _chunks(items: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def insert_ignoring_duplicates(conn: sa.Connection, table: sa.Table) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING`` on SQLite and PostgreSQL alike: two
    senders planning the same digest both succeed and one row remains."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).on_conflict_do_nothing()


def _due(now: datetime) -> sa.ColumnElement[bool]:
    """Pending, or retrying with its time come."""
    return sa.or_(
        digests.c.status == PENDING,
        sa.and_(digests.c.status == RETRYING, digests.c.next_attempt_at <= now),
    )


def _unclaimed(now: datetime) -> sa.ColumnElement[bool]:
    """Nobody is sending it, or its sender's lease ran out (a crashed sender)."""
    return sa.or_(digests.c.claimed_by.is_(None), digests.c.claim_expires_at < now)
