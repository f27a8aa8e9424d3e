"""Storage of the delivery ledger: subscriber cursors and choices, and every digest.

Only rows and transactions live here; when to retry, what a status means and how
a plan is made belong to ``notifier`` (pure code that calls these methods). A
digest row is written (``pending``) in the same transaction that moves its
subscriber's cursor, and a sender *claims* rows with one conditional UPDATE before
sending them (SPEC §8, §9).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from feeds.storage.ledger_rows import (
    FAILED,
    OPEN,
    PENDING,
    RETRYING,
    SENT,
    DigestRecord,
    Failure,
    NewDigest,
    RetryRule,
    SubscriberRow,
    chunked,
)
from feeds.storage.ledger_rows import digest_record as _record
from feeds.storage.schema import digests, subscriber_state
from feeds.storage.upsert import insert_ignoring_duplicates


def _due(now: datetime) -> sa.ColumnElement[bool]:
    """Pending, or retrying with its time come."""
    return sa.or_(
        digests.c.status == PENDING,
        sa.and_(digests.c.status == RETRYING, digests.c.next_attempt_at <= now),
    )


#: A digest row without its snapshot: what every reader but a delivery job needs.
_RECORD = [c for c in digests.c if c.name != "snapshot"]


def _unclaimed(now: datetime) -> sa.ColumnElement[bool]:
    """Nobody is sending it, or its sender's lease ran out (a crashed sender)."""
    return sa.or_(digests.c.claimed_by.is_(None), digests.c.claim_expires_at < now)


class SqlLedgerStore:
    """:class:`~feeds.storage.protocols.LedgerStore` over SQLAlchemy Core."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # -- subscribers ------------------------------------------------------------

    def states(self, ids: Iterable[str] | None = None) -> dict[str, SubscriberRow]:
        query = sa.select(subscriber_state)
        wanted = None if ids is None else list(ids)
        with self._engine.connect() as conn:
            if wanted is None:
                rows = list(conn.execute(query))
            else:
                rows = []
                for batch in chunked(wanted):
                    rows += conn.execute(
                        query.where(subscriber_state.c.subscriber_id.in_(batch))
                    ).all()
        return {
            row.subscriber_id: SubscriberRow(
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
            for row in rows
        }

    def record_plan(
        self,
        new_subscribers: Mapping[str, int],
        cursors: Mapping[str, int],
        planned: Sequence[NewDigest],
        now: datetime,
        expected: Mapping[str, int] | None = None,
        also: Callable[[Any, set[str]], None] | None = None,
    ) -> set[str]:
        """New subscribers, moved cursors and pending digests, in one transaction.

        With ``expected`` (subscriber id -> the ``last_seq`` the plan was made from), a
        cursor only moves if nobody moved it since, and only those subscribers'
        digests are recorded. Returns the subscribers whose cursor moved.
        ``also(driver_connection, moved)`` runs inside the same transaction before it
        commits (distributed mode defers the delivery jobs there, SPEC §11).
        """
        moved: set[str] = set()
        with self._engine.begin() as conn:
            if new_subscribers:
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
                    for sid, seq in new_subscribers.items()
                ]
                conn.execute(insert_ignoring_duplicates(conn, subscriber_state), rows)
            groups: dict[tuple[int | None, int], list[str]] = {}
            for sid, seq in cursors.items():
                old = None if expected is None else expected.get(sid)
                groups.setdefault((old, seq), []).append(sid)
            for (old, seq), sids in groups.items():
                for batch in chunked(sids):
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
                    "subscriber_id": d.subscriber_id,
                    "channel": d.channel,
                    "first_seq": d.first_seq,
                    "last_seq": d.last_seq,
                    "article_seqs": json.dumps(list(d.article_seqs)),
                    "more": d.more,
                    "status": PENDING,
                    "attempts": 0,
                    "next_attempt_at": None,
                    "last_error": None,
                    "created_at": now,
                    "sent_at": None,
                    "snapshot": d.snapshot,
                }
                for d in planned
                if expected is None or d.subscriber_id in moved
            ]
            if rows:
                conn.execute(insert_ignoring_duplicates(conn, digests), rows)
            if also is not None:
                also(conn.connection.driver_connection, moved)
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
        with self._engine.begin() as conn:
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
        with self._engine.begin() as conn:
            conn.execute(
                subscriber_state.update()
                .where(subscriber_state.c.subscriber_id == subscriber_id)
                .values(disabled_fingerprint=fingerprint, disabled_reason=reason)
            )

    def disabled(self) -> list[tuple[str, str]]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    subscriber_state.c.subscriber_id, subscriber_state.c.disabled_reason
                ).where(subscriber_state.c.disabled_fingerprint.is_not(None))
            )
            return [(sid, reason or "") for sid, reason in rows]

    # -- digests ------------------------------------------------------------------

    def outstanding(
        self, now: datetime, only: str | None = None, skip_channels: Collection[str] = ()
    ) -> list[DigestRecord]:
        """Pending digests and due retries that no live sender holds, oldest first;
        channels in ``skip_channels`` are left out."""
        query = sa.select(*_RECORD).where(_due(now), _unclaimed(now))
        if only is not None:
            query = query.where(digests.c.subscriber_id == only)
        if skip_channels:
            query = query.where(digests.c.channel.not_in(list(skip_channels)))
        with self._engine.connect() as conn:
            return [_record(r) for r in conn.execute(query.order_by(digests.c.created_at))]

    def get(self, digest_id: str) -> DigestRecord | None:
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(*_RECORD).where(digests.c.id == digest_id)).first()
        return None if row is None else _record(row)

    def digests_of(self, subscriber_id: str) -> list[DigestRecord]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(*_RECORD)
                .where(digests.c.subscriber_id == subscriber_id)
                .order_by(digests.c.created_at, digests.c.first_seq, digests.c.channel)
            )
            return [_record(r) for r in rows]

    def counts(self) -> dict[str, int]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(digests.c.status, sa.func.count()).group_by(digests.c.status)
            )
            return {status: int(n) for status, n in rows}

    def counts_by_channel(self) -> dict[str, dict[str, int]]:
        """channel -> status -> number of digests."""
        found: dict[str, dict[str, int]] = {}
        with self._engine.connect() as conn:
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
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(*_RECORD)
                .where(digests.c.status.in_([*OPEN, FAILED]))
                .order_by(digests.c.created_at.desc())
                .limit(limit)
            )
            return [_record(r) for r in rows]

    # -- claims and outcomes ------------------------------------------------------

    def claim(
        self, ids: Sequence[str], claimant: str, now: datetime, lease: timedelta
    ) -> set[str]:
        """Claim the due, unclaimed digests among ``ids``; returns the ids now ours.

        One conditional UPDATE per batch; on PostgreSQL rows another sender is
        claiming at this instant are skipped, not waited for.
        """
        got: set[str] = set()
        with self._engine.begin() as conn:
            for batch in chunked(list(ids)):
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
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(digests.c.claimed_by)
                .where(digests.c.claimed_by.is_not(None), digests.c.claim_expires_at >= now)
                .distinct()
            )
            return {r[0] for r in rows}

    def renew(self, claimant: str, now: datetime, lease: timedelta) -> int:
        """Extend every claim of ``claimant``; returns how many."""
        with self._engine.begin() as conn:
            result = conn.execute(
                digests.update()
                .where(digests.c.claimed_by == claimant)
                .values(claim_expires_at=now + lease)
            )
            return int(result.rowcount)

    def release(self, claimant: str, ids: Sequence[str] | None = None) -> None:
        """Give claims back unsent: they stay due."""
        with self._engine.begin() as conn:
            query = digests.update().where(digests.c.claimed_by == claimant)
            if ids is None:
                conn.execute(query.values(claimed_by=None, claim_expires_at=None))
                return
            for batch in chunked(list(ids)):
                conn.execute(
                    query.where(digests.c.id.in_(batch)).values(
                        claimed_by=None, claim_expires_at=None
                    )
                )

    def mark(
        self,
        sent: Sequence[str],
        failed: Sequence[Failure],
        now: datetime,
        retry: RetryRule,
        *,
        claimant: str | None = None,
    ) -> dict[str, str]:
        """Record attempt outcomes and drop their claims, in one transaction;
        returns digest id -> status. ``retry`` decides each failure's fate from its
        attempt count. With ``claimant``, only digests still claimed by it change."""
        statuses: dict[str, str] = {}
        mine = sa.true() if claimant is None else digests.c.claimed_by == claimant
        cleared = {"claimed_by": None, "claim_expires_at": None}
        with self._engine.begin() as conn:
            attempts = {
                r[0]: r[1]
                for batch in chunked([*sent, *(f.digest_id for f in failed)])
                for r in conn.execute(
                    sa.select(digests.c.id, digests.c.attempts).where(digests.c.id.in_(batch))
                )
            }
            for batch in chunked(list(sent)):
                rows = conn.execute(
                    digests.update()
                    .where(digests.c.id.in_(batch), mine)
                    .values(
                        status=SENT,
                        sent_at=now,
                        attempts=digests.c.attempts + 1,
                        next_attempt_at=None,
                        last_error=None,
                        snapshot=None,  # settled: the ledger keeps no address longer
                        **cleared,
                    )
                    .returning(digests.c.id)
                )
                statuses.update(dict.fromkeys((r[0] for r in rows), SENT))
            for failure in failed:
                tried = attempts.get(failure.digest_id, 0) + 1
                status, when = retry(failure, tried)
                settled = {"snapshot": None} if status == FAILED else {}
                result = conn.execute(
                    digests.update()
                    .where(digests.c.id == failure.digest_id, mine)
                    .values(
                        status=status,
                        attempts=tried,
                        next_attempt_at=when,
                        last_error=failure.error[:2000],
                        **settled,
                        **cleared,
                    )
                )
                if result.rowcount:
                    statuses[failure.digest_id] = status
        return statuses

    # -- distributed mode: snapshots and pages of open digests ------------------------

    def for_delivery(self, ids: Sequence[str]) -> list[DigestRecord]:
        """The recorded digests among ``ids`` (in the order given), each with its
        sealed snapshot (a delivery job's batch)."""
        found: dict[str, DigestRecord] = {}
        with self._engine.connect() as conn:
            for batch in chunked(list(ids)):
                for row in conn.execute(sa.select(digests).where(digests.c.id.in_(batch))):
                    record = _record(row)
                    found[record.id] = record
        return [found[i] for i in ids if i in found]

    def open_heads(self, head: int, page: int = 1000) -> Iterator[tuple[str, str, bytes | None]]:
        """(digest id, subscriber id, first ``head`` bytes of its snapshot) of every
        open digest, by id, one page of rows per query (memory stays flat)."""
        after = ""
        while True:
            with self._engine.connect() as conn:
                rows = conn.execute(
                    sa.select(digests.c.id, digests.c.subscriber_id,
                              sa.func.substr(digests.c.snapshot, 1, head))
                    .where(digests.c.status.in_(OPEN), digests.c.id > after)
                    .order_by(digests.c.id)
                    .limit(page)
                ).all()
            for digest_id, subscriber_id, start in rows:
                yield digest_id, subscriber_id, None if start is None else bytes(start)
            if len(rows) < page:
                return
            after = rows[-1][0]

    def reseal(self, snapshots: Mapping[str, bytes]) -> int:
        """Replace the snapshots of open digests (their subscriber was edited); a
        digest settled meanwhile keeps none. Returns how many changed."""
        if not snapshots:
            return 0
        query = (
            digests.update()
            .where(digests.c.id == sa.bindparam("b_id"),
                   sa.or_(*(digests.c.status == status for status in OPEN)))
            .values(snapshot=sa.bindparam("b_snapshot"))
        )
        with self._engine.begin() as conn:
            result = conn.execute(
                query, [{"b_id": i, "b_snapshot": b} for i, b in snapshots.items()]
            )
            return int(result.rowcount)

    def due_again(
        self, now: datetime, pending_before: datetime, after: str = "", limit: int = 100
    ) -> list[str]:
        """Ids (sorted, greater than ``after``, at most ``limit``) of unclaimed digests
        due again: retries whose time came, and pending ones recorded before
        ``pending_before`` (their delivery job was lost)."""
        lost = sa.and_(digests.c.status == PENDING, digests.c.created_at <= pending_before)
        retry = sa.and_(digests.c.status == RETRYING, digests.c.next_attempt_at <= now)
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(digests.c.id)
                .where(sa.or_(lost, retry), _unclaimed(now), digests.c.id > after)
                .order_by(digests.c.id)
                .limit(limit)
            )
            return [r[0] for r in rows]
