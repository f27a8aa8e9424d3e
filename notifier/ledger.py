"""The delivery ledger as the notifier uses it: plans in, outcomes in, retry rules.

Storage (rows, transactions, claims) is :class:`feeds.storage.protocols.LedgerStore`;
this module keeps what the notifier decides: how a :class:`~notifier.plan.Plan`
becomes digest rows, and when a failed digest is tried again (:func:`backoff`).

A digest is written (status ``pending``) in the same transaction that moves the
subscriber's cursor, BEFORE anything is sent; the outcome is marked after. So after
a crash at any moment, a restart finds each digest either not planned yet (planned
again with the same id) or ``pending`` (re-sent with the same id), never lost. A
sender *claims* a digest before sending it, so two senders never send it twice
(SPEC §9); a claim whose lease ran out may be taken over.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from feeds.storage.ledger_rows import (
    FAILED,
    OPEN,
    PENDING,
    RETRYING,
    SENT,
    DigestRecord,
    Failure,
    NewDigest,
)
from feeds.storage.protocols import LedgerStore
from notifier.plan import Plan, SubscriberState

__all__ = [
    "FAILED", "OPEN", "PENDING", "RETRYING", "SENT", "DigestRecord", "Ledger", "Outcome",
    "backoff", "status_lines",
]


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


class Ledger:
    """Delivery state: the notifier's words over a :class:`LedgerStore`."""

    def __init__(self, store: LedgerStore) -> None:
        self.store = store

    # -- subscribers ------------------------------------------------------------

    def states(self, ids: Iterable[str] | None = None) -> dict[str, SubscriberState]:
        return {
            sid: SubscriberState(
                subscriber_id=row.subscriber_id,
                first_seen_seq=row.first_seen_seq,
                last_seq=row.last_seq,
                first_seen_at=row.first_seen_at,
                last_planned_at=row.last_planned_at,
                choice_fingerprint=row.choice_fingerprint,
                unsubscribed_all=row.unsubscribed_all,
                unsubscribed_regions=row.unsubscribed_regions,
                disabled_fingerprint=row.disabled_fingerprint,
                disabled_reason=row.disabled_reason,
            )
            for sid, row in self.store.states(ids).items()
        }

    def record_plan(
        self, plan: Plan, now: datetime, expected: Mapping[str, int] | None = None
    ) -> set[str]:
        """New subscribers, moved cursors and pending digests, in one transaction.

        With ``expected`` (subscriber id -> the ``last_seq`` the plan was made from), a
        cursor only moves if nobody moved it since, and only those subscribers'
        digests are recorded: a second sender planning from a stale state records
        nothing twice. Returns the subscribers whose cursor moved.
        """
        planned = [
            NewDigest(
                d.id, d.subscriber.id, d.channel, d.after_seq, d.upto_seq, d.article_seqs, d.more
            )
            for d in plan.digests
        ]
        return self.store.record_plan(
            plan.new_subscribers, plan.cursors, planned, now, expected
        )

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
        self.store.set_choice(
            subscriber_id, fingerprint, unsubscribed_all=unsubscribed_all, regions=regions,
            now=now, start_seq=start_seq,
        )

    def disable(self, subscriber_id: str, fingerprint: str, reason: str) -> None:
        """Turn a subscriber's webhook off (HTTP 410) until its YAML entry changes."""
        self.store.disable(subscriber_id, fingerprint, reason)

    # -- digests ------------------------------------------------------------------

    def outstanding(
        self, now: datetime, only: str | None = None, skip_channels: Collection[str] = ()
    ) -> list[DigestRecord]:
        """Digests to (re)send now: pending ones (maybe cut off by a crash) and due
        retries that no live sender holds; channels in ``skip_channels`` (a broken
        transport waiting for its next try) are left out."""
        return self.store.outstanding(now, only, skip_channels)

    def get(self, digest_id: str) -> DigestRecord | None:
        return self.store.get(digest_id)

    def digests_of(self, subscriber_id: str) -> list[DigestRecord]:
        return self.store.digests_of(subscriber_id)

    # -- claims ---------------------------------------------------------------------

    def claim(
        self, ids: Sequence[str], claimant: str, now: datetime, lease: timedelta
    ) -> set[str]:
        """Claim the due, unclaimed digests among ``ids``; returns the ids now ours."""
        return self.store.claim(ids, claimant, now, lease)

    def claimants(self, now: datetime) -> set[str]:
        """Senders holding claims whose lease has not run out."""
        return self.store.claimants(now)

    def renew(self, claimant: str, now: datetime, lease: timedelta) -> int:
        """Extend every claim of ``claimant`` (a sender still at work); returns how many."""
        return self.store.renew(claimant, now, lease)

    def release(self, claimant: str, ids: Sequence[str] | None = None) -> None:
        """Give claims back unsent (a broken transport, a stop): they stay due."""
        self.store.release(claimant, ids)

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

        A permanent error, or the ``max_attempts``-th, fails the digest; any other
        waits :func:`backoff` (at least the receiver's Retry-After). With
        ``claimant``, only digests still claimed by it are marked (a sender whose
        lease was taken over does not overwrite the new sender's result).
        """
        if not outcomes:
            return {}
        chosen = rng or random.Random()
        asked = {o.digest_id: o.retry_after for o in outcomes if not o.ok}

        def retry(failure: Failure, tried: int) -> tuple[str, datetime | None]:
            if failure.permanent or tried >= max_attempts:
                return FAILED, None
            wait = backoff(tried, initial, maximum, chosen)
            after = asked.get(failure.digest_id)
            if after is not None:
                wait = max(wait, timedelta(seconds=after))
            return RETRYING, now + wait

        sent = [o.digest_id for o in outcomes if o.ok]
        failed = [Failure(o.digest_id, o.error or "", o.permanent) for o in outcomes if not o.ok]
        return self.store.mark(sent, failed, now, retry, claimant=claimant)

    # -- reading, for status and metrics ------------------------------------------------

    def counts(self) -> dict[str, int]:
        return self.store.counts()

    def counts_by_channel(self) -> dict[str, dict[str, int]]:
        """channel -> status -> number of digests."""
        return self.store.counts_by_channel()

    def problems(self, limit: int = 20) -> list[DigestRecord]:
        """Pending, retrying and failed digests, newest first."""
        return self.store.problems(limit)

    def disabled(self) -> list[tuple[str, str]]:
        return self.store.disabled()


def status_lines(app: object) -> list[str]:
    """The ``zonewire status`` delivery section (kept here for older imports)."""
    from notifier.delivery_status import status_lines as lines

    return lines(app)
