"""The ledger's values: rows as callers see them, and the statuses a digest goes through."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

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
    #: The sealed subscriber snapshot (read only for delivery jobs, else None).
    snapshot: bytes | None = None


@dataclass(frozen=True, slots=True)
class NewDigest:
    """A planned digest on its way into the ledger (status ``pending``)."""

    id: str
    subscriber_id: str
    channel: str
    first_seq: int
    last_seq: int
    article_seqs: Sequence[int]
    more: int
    #: Distributed mode: the subscriber as planned, sealed (opaque bytes here).
    snapshot: bytes | None = None


@dataclass(frozen=True, slots=True)
class SubscriberRow:
    """One subscriber's cursor and choices as stored."""

    subscriber_id: str
    first_seen_seq: int
    last_seq: int
    first_seen_at: datetime
    last_planned_at: datetime | None
    choice_fingerprint: str | None
    unsubscribed_all: bool
    unsubscribed_regions: frozenset[str]
    disabled_fingerprint: str | None
    disabled_reason: str | None


@dataclass(frozen=True, slots=True)
class Failure:
    """An attempt that did not deliver: its error, and whether it can never work."""

    digest_id: str
    error: str
    permanent: bool = False


#: The retry rule, passed in by the caller: (failure, attempts so far including this
#: one) -> (new status, next attempt time or ``None``).
RetryRule = Callable[[Failure, int], tuple[str, datetime | None]]


def chunked(items: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def digest_record(row: Any) -> DigestRecord:
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
        snapshot=_bytes(row._mapping.get("snapshot")),
    )


def _bytes(value: Any) -> bytes | None:
    """A binary column as ``bytes`` (psycopg hands PostgreSQL's bytea as memoryview)."""
    return None if value is None else bytes(value)
