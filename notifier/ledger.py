"""The delivery ledger: subscriber cursors and choices, and every digest, in the store.

A digest is written here (status ``pending``) in the same transaction that moves the
subscriber's cursor, BEFORE anything is sent; the outcome is marked after. So after
a crash at any moment, a restart finds each digest either not planned yet (planned
again with the same id) or ``pending`` (re-sent with the same id), never lost.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from feeds.db import UTCDateTime, metadata
from notifier.plan import Plan, SubscriberState

subscriber_state = sa.Table(
    "subscriber_state",
    metadata,
    sa.Column("subscriber_id", sa.String(200), primary_key=True),
    sa.Column("first_seen_seq", sa.Integer, nullable=False),
    sa.Column("first_seen_at", UTCDateTime, nullable=False),
    sa.Column("last_seq", sa.Integer, nullable=False),
    sa.Column("last_planned_at", UTCDateTime),
    sa.Column("choice_fingerprint", sa.String(128)),
    sa.Column("unsubscribed_all", sa.Boolean, nullable=False, default=False),
    sa.Column("unsubscribed_regions", sa.Text, nullable=False, default="[]"),
    sa.Column("choice_at", UTCDateTime),
    sa.Column("disabled_fingerprint", sa.String(128)),
    sa.Column("disabled_reason", sa.Text),
)

digests = sa.Table(
    "digests",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("subscriber_id", sa.String(200), nullable=False, index=True),
    sa.Column("channel", sa.String(20), nullable=False),
    sa.Column("first_seq", sa.Integer, nullable=False),
    sa.Column("last_seq", sa.Integer, nullable=False),
    sa.Column("article_seqs", sa.Text, nullable=False),
    sa.Column("more", sa.Integer, nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UTCDateTime),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime),
    sa.Index("ix_digests_status_next_attempt_at", "status", "next_attempt_at"),
)

PENDING, SENT, RETRYING, FAILED = "pending", "sent", "retrying", "failed"


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
    )


class Ledger:
    """Delivery state over SQLAlchemy Core; shares the article store's engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- subscribers ------------------------------------------------------------

    def states(self, ids: Iterable[str] | None = None) -> dict[str, SubscriberState]:
        query = sa.select(subscriber_state)
        wanted = None if ids is None else list(ids)
        found: dict[str, SubscriberState] = {}
        with self.engine.connect() as conn:
            if wanted is None:
                rows = list(conn.execute(query))
            else:
                rows = []
                for start in range(0, len(wanted), 500):
                    batch = wanted[start : start + 500]
                    rows += conn.execute(
                        query.where(subscriber_state.c.subscriber_id.in_(batch))
                    ).all()
        for row in rows:
            found[row.subscriber_id] = SubscriberState(
                subscriber_id=row.subscriber_id,
                first_seen_seq=row.first_seen_seq,
                last_seq=row.last_seq,
                first_seen_at=row.first_seen_at,
                last_planned_at=row.last_planned_at,
                choice_fingerprint=row.choice_fingerprint,
                unsubscribed_all=bool(row.unsubscribed_all),
                unsubscribed_regions=frozenset(json.loads(row.unsubscribed_regions or "[]")),
                disabled_fingerprint=row.disabled_fingerprint,
                disabled_reason=row.disabled_reason,
            )
        return found

    def record_plan(self, plan: Plan, now: datetime) -> None:
        """New subscribers, moved cursors and pending digests, in one transaction."""
        with self.engine.begin() as conn:
            if plan.new_subscribers:
                known = self._known(conn, list(plan.new_subscribers))
                rows = [
                    {
                        "subscriber_id": sid,
                        "first_seen_seq": seq,
                        "first_seen_at": now,
                        "last_seq": seq,
                        "last_planned_at": now,
                        "unsubscribed_all": False,
                        "unsubscribed_regions": "[]",
                    }
                    for sid, seq in plan.new_subscribers.items()
                    if sid not in known
                ]
                if rows:
                    conn.execute(subscriber_state.insert(), rows)
            if plan.cursors:
                by_seq: dict[int, list[str]] = {}
                for sid, seq in plan.cursors.items():
                    by_seq.setdefault(seq, []).append(sid)
                for seq, sids in by_seq.items():
                    for start in range(0, len(sids), 500):
                        conn.execute(
                            subscriber_state.update()
                            .where(subscriber_state.c.subscriber_id.in_(sids[start : start + 500]))
                            .values(last_seq=seq, last_planned_at=now)
                        )
            if plan.digests:
                ids = [d.id for d in plan.digests]
                existing = set()
                for start in range(0, len(ids), 500):
                    existing |= {
                        r[0]
                        for r in conn.execute(
                            sa.select(digests.c.id).where(
                                digests.c.id.in_(ids[start : start + 500])
                            )
                        )
                    }
                rows = [
                    {
                        "id": d.id,
                        "subscriber_id": d.subscriber.id,
                        "channel": d.channel,
                        "first_seq": d.after_seq,
                        "last_seq": d.upto_seq,
                        "article_seqs": json.dumps(d.article_seqs),
                        "more": d.more,
                        "status": PENDING,
                        "attempts": 0,
                        "next_attempt_at": None,
                        "last_error": None,
                        "created_at": now,
                        "sent_at": None,
                    }
                    for d in plan.digests
                    if d.id not in existing
                ]
                if rows:
                    conn.execute(digests.insert(), rows)

    @staticmethod
    def _known(conn: sa.Connection, ids: list[str]) -> set[str]:
        known: set[str] = set()
        for start in range(0, len(ids), 500):
            known |= {
                r[0]
                for r in conn.execute(
                    sa.select(subscriber_state.c.subscriber_id).where(
                        subscriber_state.c.subscriber_id.in_(ids[start : start + 500])
                    )
                )
            }
        return known

    def set_choice(
        self,
        subscriber_id: str,
        fingerprint: str,
        *,
        unsubscribed_all: bool,
        regions: Iterable[str] = (),
        now: datetime,
        start_seq: int = 0,
    ) -> None:
        """Store an unsubscribe (or re-subscribe) choice tied to the YAML entry."""
        values = {
            "choice_fingerprint": fingerprint,
            "unsubscribed_all": unsubscribed_all,
            "unsubscribed_regions": json.dumps(sorted(set(regions))),
            "choice_at": now,
        }
        with self.engine.begin() as conn:
            if not self._known(conn, [subscriber_id]):
                conn.execute(
                    subscriber_state.insert().values(
                        subscriber_id=subscriber_id,
                        first_seen_seq=start_seq,
                        first_seen_at=now,
                        last_seq=start_seq,
                        **values,
                    )
                )
            else:
                conn.execute(
                    subscriber_state.update()
                    .where(subscriber_state.c.subscriber_id == subscriber_id)
                    .values(**values)
                )

    def disable(self, subscriber_id: str, fingerprint: str, reason: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                subscriber_state.update()
                .where(subscriber_state.c.subscriber_id == subscriber_id)
                .values(disabled_fingerprint=fingerprint, disabled_reason=reason)
            )

    # -- digests ------------------------------------------------------------------

    def outstanding(self, now: datetime, only: str | None = None) -> list[DigestRecord]:
        """Digests to (re)send now: pending ones (maybe cut off by a crash) and due retries."""
        query = sa.select(digests).where(
            sa.or_(
                digests.c.status == PENDING,
                sa.and_(digests.c.status == RETRYING, digests.c.next_attempt_at <= now),
            )
        )
        if only is not None:
            query = query.where(digests.c.subscriber_id == only)
        with self.engine.connect() as conn:
            return [_record(r) for r in conn.execute(query.order_by(digests.c.created_at))]

    def get(self, digest_id: str) -> DigestRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(digests).where(digests.c.id == digest_id)).first()
        return None if row is None else _record(row)

    def digests_of(self, subscriber_id: str) -> list[DigestRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(digests)
                .where(digests.c.subscriber_id == subscriber_id)
                .order_by(digests.c.created_at, digests.c.first_seq)
            )
            return [_record(r) for r in rows]

    def mark(
        self,
        outcomes: Sequence[Outcome],
        now: datetime,
        *,
        max_attempts: int,
        initial: timedelta,
        maximum: timedelta,
        rng: random.Random | None = None,
    ) -> dict[str, str]:
        """Record attempt outcomes; returns digest id -> new status."""
        if not outcomes:
            return {}
        rng = rng or random.Random()
        statuses: dict[str, str] = {}
        with self.engine.begin() as conn:
            attempts = {
                r[0]: r[1]
                for start in range(0, len(outcomes), 500)
                for r in conn.execute(
                    sa.select(digests.c.id, digests.c.attempts).where(
                        digests.c.id.in_([o.digest_id for o in outcomes[start : start + 500]])
                    )
                )
            }
            sent = [o.digest_id for o in outcomes if o.ok]
            for start in range(0, len(sent), 500):
                conn.execute(
                    digests.update()
                    .where(digests.c.id.in_(sent[start : start + 500]))
                    .values(
                        status=SENT,
                        sent_at=now,
                        attempts=digests.c.attempts + 1,
                        next_attempt_at=None,
                        last_error=None,
                    )
                )
            statuses.update(dict.fromkeys(sent, SENT))
            for outcome in outcomes:
                if outcome.ok:
                    continue
                tried = attempts.get(outcome.digest_id, 0) + 1
                if outcome.permanent or tried >= max_attempts:
                    status, when = FAILED, None
                else:
                    wait = backoff(tried, initial, maximum, rng)
                    if outcome.retry_after is not None:
                        wait = max(wait, timedelta(seconds=outcome.retry_after))
                    status, when = RETRYING, now + wait
                conn.execute(
                    digests.update()
                    .where(digests.c.id == outcome.digest_id)
                    .values(
                        status=status,
                        attempts=tried,
                        next_attempt_at=when,
                        last_error=(outcome.error or "")[:2000],
                    )
                )
                statuses[outcome.digest_id] = status
        return statuses

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(digests.c.status, sa.func.count()).group_by(digests.c.status)
            )
            return {status: int(n) for status, n in rows}

    def problems(self, limit: int = 20) -> list[DigestRecord]:
        """Pending, retrying and failed digests, newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(digests)
                .where(digests.c.status.in_([PENDING, RETRYING, FAILED]))
                .order_by(digests.c.created_at.desc())
                .limit(limit)
            )
            return [_record(r) for r in rows]

    def disabled(self) -> list[tuple[str, str]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(subscriber_state.c.subscriber_id, subscriber_state.c.disabled_reason)
                .where(subscriber_state.c.disabled_fingerprint.is_not(None))
            )
            return [(sid, reason or "") for sid, reason in rows]


def status_lines(app: Any) -> list[str]:
    """The ``zonewire status`` section: pending, retrying and failed deliveries."""
    from notifier.progress import local_time

    ledger = Ledger(app.store.engine)
    counts = ledger.counts()
    summary = ", ".join(f"{counts.get(s, 0)} {s}" for s in (SENT, PENDING, RETRYING, FAILED))
    lines = [f"deliveries: {summary}"]
    for record in ledger.problems():
        when = ""
        if record.status == RETRYING and record.next_attempt_at is not None:
            when = f", next attempt {local_time(record.next_attempt_at)}"
        error = f": {record.last_error}" if record.last_error else ""
        lines.append(
            f"  {record.status} {record.subscriber_id} ({record.channel}, digest {record.id}, "
            f"{record.attempts} attempts{when}){error}"
        )
    for sid, reason in ledger.disabled():
        lines.append(f"  disabled webhook {sid}: {reason} (edit its entry to enable it again)")
    return lines
