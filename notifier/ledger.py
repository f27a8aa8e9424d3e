"""The delivery ledger: subscriber cursors and choices, and every digest, in the store.

A digest is written here (status ``pending``) in the same transaction that moves the
subscriber's cursor, BEFORE anything is sent; the outcome is marked after. So after
a crash at any moment, a restart finds each digest either not planned yet (planned
again with the same id) or ``pending`` (re-sent with the same id), never lost.

A sender *claims* a digest (its claimant id and a lease) with one conditional
UPDATE before sending it, so two senders on one ledger never send a digest twice,
with or without the worker lock (SPEC §9); a claim whose lease ran out (a crashed
sender) may be taken over, and the digest goes out again with the same id.
"""

from __future__ import annotations

import json
import random
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from notifier.ledger_tables import (
    FAILED,
    OPEN,
    PENDING,
    RETRYING,
    SENT,
    DigestRecord,
    Outcome,
    _chunks,
    _due,
    _record,
    _unclaimed,
    backoff,
    digests,
    insert_ignoring_duplicates,
    subscriber_state,
)
from notifier.plan import Plan, SubscriberState

__all__ = [
    "FAILED", "OPEN", "PENDING", "RETRYING", "SENT", "DigestRecord", "Ledger", "Outcome",
    "backoff", "digests", "subscriber_state", "status_lines",
]


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
                for batch in _chunks(wanted):
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

    def record_plan(
        self, plan: Plan, now: datetime, expected: Mapping[str, int] | None = None
    ) -> set[str]:
        """New subscribers, moved cursors and pending digests, in one transaction.

        With ``expected`` (subscriber id -> the ``last_seq`` the plan was made from), a
        cursor only moves if nobody moved it since, and only those subscribers'
        digests are recorded: a second sender planning from a stale state records
        nothing twice. Returns the subscribers whose cursor moved.
        """
        moved: set[str] = set()
        with self.engine.begin() as conn:
            if plan.new_subscribers:
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
                ]
                conn.execute(insert_ignoring_duplicates(conn, subscriber_state), rows)
            groups: dict[tuple[int | None, int], list[str]] = {}
            for sid, seq in plan.cursors.items():
                old = None if expected is None else expected.get(sid)
                groups.setdefault((old, seq), []).append(sid)
            for (old, seq), sids in groups.items():
                for batch in _chunks(sids):
                    update = (
                        subscriber_state.update()
                        .where(subscriber_state.c.subscriber_id.in_(batch))
                        .values(last_seq=seq, last_planned_at=now)
                    )
                    if expected is None:
                        conn.execute(update)
                        moved.update(batch)
                        continue
                    if old is not None:
                        update = update.where(subscriber_state.c.last_seq == old)
                    returned = conn.execute(update.returning(subscriber_state.c.subscriber_id))
                    moved.update(r[0] for r in returned)
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
                if expected is None or d.subscriber.id in moved
            ]
            if rows:
                conn.execute(insert_ignoring_duplicates(conn, digests), rows)
        return moved

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
            known = conn.execute(
                sa.select(subscriber_state.c.subscriber_id).where(
                    subscriber_state.c.subscriber_id == subscriber_id
                )
            ).first()
            if known is None:
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
        """Turn a subscriber's webhook off (HTTP 410) until its YAML entry changes."""
        with self.engine.begin() as conn:
            conn.execute(
                subscriber_state.update()
                .where(subscriber_state.c.subscriber_id == subscriber_id)
                .values(disabled_fingerprint=fingerprint, disabled_reason=reason)
            )

    # -- digests ------------------------------------------------------------------

    def outstanding(
        self, now: datetime, only: str | None = None, skip_channels: Collection[str] = ()
    ) -> list[DigestRecord]:
        """Digests to (re)send now: pending ones (maybe cut off by a crash) and due
        retries that no live sender holds; channels in ``skip_channels`` (a broken
        transport waiting for its next try) are left out."""
        query = sa.select(digests).where(_due(now), _unclaimed(now))
        if only is not None:
            query = query.where(digests.c.subscriber_id == only)
        if skip_channels:
            query = query.where(digests.c.channel.not_in(list(skip_channels)))
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
                .order_by(digests.c.created_at, digests.c.first_seq, digests.c.channel)
            )
            return [_record(r) for r in rows]

    # -- claims ---------------------------------------------------------------------

    def claim(
        self, ids: Sequence[str], claimant: str, now: datetime, lease: timedelta
    ) -> set[str]:
        """Claim the due, unclaimed digests among ``ids``; returns the ids now ours.

        One conditional UPDATE per batch: a digest someone else holds (lease not
        run out), or one already sent or not yet due, is not taken. On PostgreSQL
        rows another sender is claiming at this instant are skipped, not waited for.
        """
        got: set[str] = set()
        with self.engine.begin() as conn:
            for batch in _chunks(list(ids)):
                claimable = (
                    sa.select(digests.c.id)
                    .where(digests.c.id.in_(batch), _due(now), _unclaimed(now))
                    .with_for_update(skip_locked=True)
                )
                rows = conn.execute(
                    digests.update()
                    .where(digests.c.id.in_(claimable.scalar_subquery()))
                    .values(claimed_by=claimant, claim_expires_at=now + lease)
                    .returning(digests.c.id)
                )
                got.update(r[0] for r in rows)
        return got

    def claimants(self, now: datetime) -> set[str]:
        """Senders holding claims whose lease has not run out."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(digests.c.claimed_by)
                .where(digests.c.claimed_by.is_not(None), digests.c.claim_expires_at >= now)
                .distinct()
            )
            return {r[0] for r in rows}

    def renew(self, claimant: str, now: datetime, lease: timedelta) -> int:
        """Extend every claim of ``claimant`` (a sender still at work); returns how many."""
        with self.engine.begin() as conn:
            result = conn.execute(
                digests.update()
                .where(digests.c.claimed_by == claimant)
                .values(claim_expires_at=now + lease)
            )
            return int(result.rowcount)

    def release(self, claimant: str, ids: Sequence[str] | None = None) -> None:
        """Give claims back unsent (a broken transport, a stop): they stay due."""
        with self.engine.begin() as conn:
            query = digests.update().where(digests.c.claimed_by == claimant)
            if ids is None:
                conn.execute(query.values(claimed_by=None, claim_expires_at=None))
                return
            for batch in _chunks(list(ids)):
                conn.execute(
                    query.where(digests.c.id.in_(batch)).values(
                        claimed_by=None, claim_expires_at=None
                    )
                )

    def mark(
        self,
        outcomes: Sequence[Outcome],
        now: datetime,
        *,
        max_attempts: int,
        initial: timedelta,
        maximum: timedelta,
        rng: random.Random | None = None,
        claimant: str | None = None,
    ) -> dict[str, str]:
        """Record attempt outcomes and drop their claims; returns digest id -> status.

        With ``claimant``, only digests still claimed by it are marked (a sender whose
        lease was taken over does not overwrite the new sender's result).
        """
        if not outcomes:
            return {}
        rng = rng or random.Random()
        statuses: dict[str, str] = {}
        mine = sa.true() if claimant is None else digests.c.claimed_by == claimant
        cleared = {"claimed_by": None, "claim_expires_at": None}
        with self.engine.begin() as conn:
            attempts = {
                r[0]: r[1]
                for batch in _chunks(list(outcomes))
                for r in conn.execute(
                    sa.select(digests.c.id, digests.c.attempts).where(
                        digests.c.id.in_([o.digest_id for o in batch])
                    )
                )
            }
            sent = [o.digest_id for o in outcomes if o.ok]
            for batch in _chunks(sent):
                rows = conn.execute(
                    digests.update()
                    .where(digests.c.id.in_(batch), mine)
                    .values(
                        status=SENT,
                        sent_at=now,
                        attempts=digests.c.attempts + 1,
                        next_attempt_at=None,
                        last_error=None,
                        **cleared,
                    )
                    .returning(digests.c.id)
                )
                statuses.update(dict.fromkeys((r[0] for r in rows), SENT))
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
                result = conn.execute(
                    digests.update()
                    .where(digests.c.id == outcome.digest_id, mine)
                    .values(
                        status=status,
                        attempts=tried,
                        next_attempt_at=when,
                        last_error=(outcome.error or "")[:2000],
                        **cleared,
                    )
                )
                if result.rowcount:
                    statuses[outcome.digest_id] = status
        return statuses

    # -- reading, for status and metrics ------------------------------------------------

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(digests.c.status, sa.func.count()).group_by(digests.c.status)
            )
            return {status: int(n) for status, n in rows}

    def counts_by_channel(self) -> dict[str, dict[str, int]]:
        """channel -> status -> number of digests."""
        found: dict[str, dict[str, int]] = {}
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(digests.c.channel, digests.c.status, sa.func.count()).group_by(
                    digests.c.channel, digests.c.status
                )
            )
            for channel, status, n in rows:
                found.setdefault(channel, {})[status] = int(n)
        return found

    def problems(self, limit: int = 20) -> list[DigestRecord]:
        """Pending, retrying and failed digests, newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(digests)
                .where(digests.c.status.in_([*OPEN, FAILED]))
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


def status_lines(app: object) -> list[str]:
    """The ``zonewire status`` delivery section (kept here for older imports)."""
    from notifier.delivery_status import status_lines as lines

    return lines(app)
