"""Send due digests now: plan -> ledger -> channels, and record every outcome.

This is the edge the CLI (``zonewire digest send``) and the worker call. Order of
events for a crash-safe, exactly-once-per-article delivery:

1. digests left ``pending`` by an earlier run (which may have crashed mid-send) and
   retries that are due are picked up, with their recorded ids;
2. new digests are planned (pure, :mod:`notifier.plan`; one per channel of each
   subscriber) and recorded as ``pending`` together with the moved cursors, in one
   transaction that only moves a cursor nobody else moved;
3. everything is claimed, sent and marked by :mod:`notifier.fanout`: a fixed pool of
   workers per channel, claims so that no other sender sends the same digest, each
   outcome captured per digest, so one failing subscriber or channel never holds up
   another. A crash before the mark leaves the digest ``pending`` (its claim runs
   out), so it is sent again, with the same ``Message-ID`` / ``webhook-id``;
4. a channel whose transport is broken (SPEC §8) is reported once and tried again
   with backoff, or at once when its settings change; its digests stay due.

Planning and every ledger or store call run in a thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from feeds.regions import Gazetteer
from feeds.storage.protocols import Stores
from notifier.channels.base import Channel
from notifier.channels.factory import build_channels, transport_fingerprint
from notifier.claimant import new_claimant
from notifier.compose import Composer
from notifier.config import Settings
from notifier.due import DueWork, is_due
from notifier.errors import UsageError
from notifier.fanout import MARK_BATCH, FanOut, _Lane, apply_statuses
from notifier.ledger import Ledger, Outcome
from notifier.match import MatchIndex
from notifier.models import Subscriber, Subscriptions
from notifier.outages import Outage, Outages
from notifier.plan import Digest
from notifier.tokens import Signer, load_secret

log = logging.getLogger(__name__)

#: Kept for callers that import them from here.
_Composer = Composer
__all__ = ["MARK_BATCH", "DeliveryDeps", "DeliveryReport", "asend_due", "build_channels",
           "is_due", "send_due"]


@dataclass
class DeliveryDeps:
    """Everything :func:`send_due` needs, passed in (tests build their own)."""

    settings: Settings
    store: Stores
    gazetteer: Gazetteer
    ledger: Ledger
    signer: Signer
    #: "email" / "webhook" -> channel; ``None`` builds them from the settings per run.
    channels: Mapping[str, Channel] | None = None
    rng: random.Random = field(default_factory=random.Random)
    #: Called (in a thread) before each batch of claims; raises to stop sending
    #: (the worker lock was lost).
    guard: Callable[[], None] | None = None
    #: How long a claim holds a digest for this sender (renewed while it runs).
    lease: timedelta = timedelta(minutes=2)

    @classmethod
    def from_app(cls, app: Any) -> DeliveryDeps:
        settings: Settings = app.settings
        return cls(
            settings=settings,
            store=app.store,
            gazetteer=app.gazetteer,
            ledger=Ledger(app.store.ledger),
            signer=Signer(load_secret(settings.secret_key)),
        )


@dataclass
class DeliveryReport:
    """What one call did; ``digests`` lists (subscriber id, digest id, article count)."""

    planned: int = 0
    resent: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    new_subscribers: int = 0
    skipped_articles: int = 0
    #: Digests kept due because their channel's transport is broken.
    held: int = 0
    #: Digests another sender had claimed (it sends them).
    claimed_elsewhere: int = 0
    #: channel -> what is wrong with its transport, for channels that are broken.
    transport: dict[str, str] = field(default_factory=dict)
    digests: list[tuple[str, str, int]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


async def asend_due(
    deps: DeliveryDeps,
    subscriptions: Subscriptions,
    now: datetime,
    only: str | None = None,
    dry_run: bool = False,
    *,
    index: MatchIndex | None = None,
) -> DeliveryReport:
    """Send every due digest (and pending/retry ones) now; see the module docstring.

    ``index`` is the match index of ``subscriptions`` when the caller keeps one
    (the worker: one per subscriptions version); without it one is built here.
    """
    report = DeliveryReport()
    subscribers: Sequence[Subscriber] = subscriptions.subscribers
    if only is not None:
        subscribers = [s for s in subscribers if s.id == only]
        if not subscribers:
            raise UsageError(f"no subscriber with id {only!r} in the subscriptions file")
    due = DueWork(deps, subscribers, report, now, only, dry_run, index)
    await asyncio.to_thread(due.start)
    claimant = new_claimant()

    async def batches() -> AsyncIterator[list[Digest]]:
        for step in (due.resends(), due.planned()):
            while (batch := await asyncio.to_thread(next, step, None)) is not None:
                if batch.dropped and not dry_run:
                    await asyncio.to_thread(_drop, deps, report, batch.dropped, claimant, now)
                if batch.work and not dry_run:
                    yield batch.work

    if dry_run:
        async for _ in batches():
            pass
        return report

    own = deps.channels is None
    channels: dict[str, Channel] = {} if own else dict(deps.channels or {})

    def open_channel(name: str) -> Channel | None:
        if own and name not in channels:
            channels.update(build_channels(deps.settings, {name}))
        return channels.get(name)

    fan = FanOut(deps, report, now, _retry(deps), claimant)
    try:
        lanes = await fan.run(batches(), open_channel)
    finally:
        if own:
            for channel in channels.values():
                await channel.aclose()
    for name, outage in due.waiting.items():
        if due.held[name]:
            _say_broken(report, name, outage, due.held[name], now)
    await asyncio.to_thread(_settle_transports, deps, report, lanes, now)
    return report


def _drop(
    deps: DeliveryDeps, report: DeliveryReport, dropped: list[Outcome], claimant: str,
    now: datetime,
) -> None:
    """Mark digests that can no longer be sent, if no other sender holds them."""
    ledger = deps.ledger
    mine = ledger.claim([o.digest_id for o in dropped], claimant, now, deps.lease)
    batch = [o for o in dropped if o.digest_id in mine]
    apply_statuses(report, ledger.mark(batch, now, claimant=claimant, **_retry(deps)), batch)


def _settle_transports(
    deps: DeliveryDeps, report: DeliveryReport, lanes: Mapping[str, _Lane], now: datetime
) -> None:
    """Record a broken transport once per pass, or clear it when it works again."""
    outages = Outages(deps.store.channels)
    retry = deps.settings.delivery.retry
    for name, lane in lanes.items():
        if lane.broken is not None:
            count = lane.unsent
            outage = outages.record(
                name, str(lane.broken), transport_fingerprint(deps.settings, name), now,
                initial=retry.initial, maximum=retry.max, rng=deps.rng,
            )
            _say_broken(report, name, outage, count, now)
        elif lane.sent and outages.clear(name):
            log.warning("%s transport works again: sending its waiting digests", name)


def _say_broken(
    report: DeliveryReport, name: str, outage: Outage, count: int, now: datetime
) -> None:
    """The one line per pass for a broken transport (log, report, ``run --once``)."""
    from notifier.progress import local_time

    report.held += count
    report.transport[name] = outage.problem
    line = (
        f"{name} transport failing since {local_time(outage.since)}: {outage.problem}; "
        f"{count} digest{'s' if count != 1 else ''} stay due, next try "
        f"{local_time(outage.retry_at)} or as soon as its settings change"
    )
    log.warning("%s", line)
    report.errors.append(line)


def _retry(deps: DeliveryDeps) -> dict[str, Any]:
    retry = deps.settings.delivery.retry
    return {
        "max_attempts": retry.max_attempts,
        "initial": retry.initial,
        "maximum": retry.max,
        "rng": deps.rng,
    }


def send_due(
    deps: DeliveryDeps,
    subscriptions: Subscriptions,
    now: datetime,
    only: str | None = None,
    dry_run: bool = False,
    *,
    index: MatchIndex | None = None,
) -> DeliveryReport:
    """Synchronous wrapper of :func:`asend_due` for the CLI and the worker."""
    return asyncio.run(asend_due(deps, subscriptions, now, only, dry_run, index=index))
