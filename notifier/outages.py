"""Transport outages: a channel's transport itself is broken (SPEC §8).

An SMTP server that refuses our login, a connection refused or a TLS failure at
connect, a name that does not resolve: none of it is the recipients' fault. The
digests stay due (nothing is marked failed); the channel is tried again with
exponential backoff, or at once when its settings change (the operator fixed
them); the log and ``zonewire status`` say so once per pass. One row per broken
channel, deleted by the first send that works again.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from feeds.storage.schema import channel_state
from notifier.ledger_tables import insert_ignoring_duplicates


@dataclass(frozen=True, slots=True)
class Outage:
    """A channel whose transport failed at its last try."""

    channel: str
    problem: str
    since: datetime
    failures: int
    retry_at: datetime
    settings_fingerprint: str

    def waiting(self, now: datetime, fingerprint: str) -> bool:
        """Still in backoff: not yet time, and the settings are the ones that failed."""
        return now < self.retry_at and fingerprint == self.settings_fingerprint


class Outages:
    """Reads and writes :data:`channel_state` on the store's engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def all(self) -> dict[str, Outage]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(channel_state))
            return {
                r.channel: Outage(
                    r.channel, r.problem, r.since, r.failures, r.retry_at,
                    r.settings_fingerprint,
                )
                for r in rows
            }

    def record(
        self,
        channel: str,
        problem: str,
        fingerprint: str,
        now: datetime,
        *,
        initial: timedelta,
        maximum: timedelta,
        rng: random.Random,
    ) -> Outage:
        """One more failed try of ``channel``'s transport; returns when to try next."""
        from notifier.ledger_tables import backoff

        with self.engine.begin() as conn:
            conn.execute(
                insert_ignoring_duplicates(conn, channel_state),
                [{"channel": channel, "problem": problem, "since": now, "failures": 0,
                  "retry_at": now, "settings_fingerprint": fingerprint, "updated_at": now}],
            )
            row = conn.execute(
                sa.select(channel_state.c.failures, channel_state.c.since)
                .where(channel_state.c.channel == channel)
                .with_for_update()
            ).one()
            failures = int(row.failures) + 1
            retry_at = now + backoff(failures, initial, maximum, rng)
            conn.execute(
                channel_state.update()
                .where(channel_state.c.channel == channel)
                .values(problem=problem[:2000], failures=failures, retry_at=retry_at,
                        settings_fingerprint=fingerprint, updated_at=now)
            )
        return Outage(channel, problem, row.since, failures, retry_at, fingerprint)

    def clear(self, channel: str) -> bool:
        """The transport works again; returns whether it had been broken."""
        with self.engine.begin() as conn:
            result = conn.execute(channel_state.delete().where(channel_state.c.channel == channel))
            return bool(result.rowcount)
