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

from feeds.storage.channels import ChannelProblem
from feeds.storage.protocols import ChannelStateStore


@dataclass(frozen=True, slots=True)
class Outage(ChannelProblem):
    """A channel whose transport failed at its last try: the stored row, with the
    notifier's rule for when to try it again."""

    def waiting(self, now: datetime, fingerprint: str) -> bool:
        """Still in backoff: not yet time, and the settings are the ones that failed."""
        return now < self.retry_at and fingerprint == self.settings_fingerprint


class Outages:
    """Channel outages over a :class:`~feeds.storage.protocols.ChannelStateStore`;
    the backoff between tries is the notifier's rule (:func:`notifier.ledger.backoff`)."""

    def __init__(self, store: ChannelStateStore) -> None:
        self.store = store

    def all(self) -> dict[str, Outage]:
        return {name: _outage(p) for name, p in self.store.all().items()}

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
        from notifier.ledger import backoff

        def retry_at(failures: int) -> datetime:
            return now + backoff(failures, initial, maximum, rng)

        return _outage(self.store.record(channel, problem, fingerprint, now, retry_at))

    def clear(self, channel: str) -> bool:
        """The transport works again; returns whether it had been broken."""
        return self.store.clear(channel)


def _outage(p: ChannelProblem) -> Outage:
    return Outage(p.channel, p.problem, p.since, p.failures, p.retry_at, p.settings_fingerprint)
