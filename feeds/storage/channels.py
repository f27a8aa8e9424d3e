"""Storage of channel state: one row per channel whose transport is broken
(migration 0006). When to try again is the caller's rule, passed in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from feeds.storage.schema import channel_state
from feeds.storage.upsert import insert_ignoring_duplicates


@dataclass(frozen=True, slots=True)
class ChannelProblem:
    """A channel whose transport failed at its last try, as stored."""

    channel: str
    problem: str
    since: datetime
    failures: int
    retry_at: datetime
    settings_fingerprint: str


class SqlChannelStateStore:
    """:class:`~feeds.storage.protocols.ChannelStateStore` over SQLAlchemy Core."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def all(self) -> dict[str, ChannelProblem]:
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(channel_state))
            return {
                r.channel: ChannelProblem(
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
        retry_at: Callable[[int], datetime],
    ) -> ChannelProblem:
        """One more failed try; ``retry_at(failures)`` says when to try next. The
        row is locked while it is counted, so two senders count two failures."""
        with self._engine.begin() as conn:
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
            when = retry_at(failures)
            conn.execute(
                channel_state.update()
                .where(channel_state.c.channel == channel)
                .values(problem=problem[:2000], failures=failures, retry_at=when,
                        settings_fingerprint=fingerprint, updated_at=now)
            )
        return ChannelProblem(channel, problem, row.since, failures, when, fingerprint)

    def clear(self, channel: str) -> bool:
        """The transport works again; returns whether it had been broken."""
        with self._engine.begin() as conn:
            result = conn.execute(channel_state.delete().where(channel_state.c.channel == channel))
            return bool(result.rowcount)
