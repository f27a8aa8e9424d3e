"""Delivery jobs in distributed mode: send the digests of one batch, exactly once.

A job carries digest ids only; each digest's ledger row carries the rest: its
articles and its subscriber as planned, sealed (:mod:`notifier.distributed.sealing`).
The job rebuilds each recorded digest from them (same id, same articles, so the
same ``Message-ID`` / ``webhook-id``) with the stored choices applied (unsubscribes,
a disabled webhook), then embedded mode's fan-out claims each one in the ledger
before sending it and marks it after. A job run again after its worker died finds
the sent ones no longer due (the claim skips them) and re-sends only the rest;
claims of a dead process on this machine are given back at once, other machines'
when their lease runs out.

The subscriptions file is read only for rows without a snapshot (planned by an
older release) or whose snapshot does not open (another ``secret_key``): a worker
that only delivers never parses it.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from notifier.app import App
from notifier.claimant import is_dead_here, new_claimant
from notifier.config import Settings
from notifier.deliver import DeliveryDeps, DeliveryReport, _drop, _retry, _settle_transports
from notifier.distributed.channels import ChannelCache
from notifier.distributed.sealing import Sealer, sealer_for
from notifier.due import articles_by_seq, rebuild
from notifier.fanout import FanOut
from notifier.ledger import PENDING, RETRYING, DigestRecord, Outcome
from notifier.models import Subscriber
from notifier.plan import Digest, effective
from notifier.reload import ConfigHolder, Loaded
from notifier.snapshot import SnapshotError
from notifier.tokens import load_secret

log = logging.getLogger("notifier.distributed")

#: A pending digest older than this with no live claim lost its job: resent.
ORPHAN_AFTER = timedelta(minutes=5)


def _deps(app: App, holder: ConfigHolder) -> DeliveryDeps:
    settings = holder.settings
    return replace(DeliveryDeps.from_app(app), settings=settings,
                   signer=app.signer(settings))


def sealer_of(settings: Settings) -> Sealer:
    """The sealer of the ``secret_key`` in force (the same on every machine)."""
    return sealer_for(load_secret(settings.secret_key))


_BY_ID: weakref.WeakKeyDictionary[ConfigHolder, tuple[Loaded, dict[str, Subscriber]]] = (
    weakref.WeakKeyDictionary()
)


def subscribers_by_id(holder: ConfigHolder) -> dict[str, Subscriber]:
    """The subscribers in force by id, built once per configuration loaded. Reads
    the subscriptions file if the holder has not yet (a lazy worker's holder)."""
    loaded = holder.current
    cached = _BY_ID.get(holder)
    if cached is None or cached[0] is not loaded:
        cached = _BY_ID[holder] = (loaded, {s.id: s for s in loaded.subscriptions.subscribers})
    return cached[1]


def _release_dead(deps: DeliveryDeps, now: datetime) -> None:
    for claimant in deps.ledger.claimants(now):
        if is_dead_here(claimant):
            log.info("taking over the digests of %s (that process is gone)", claimant)
            deps.ledger.release(claimant)


def _planned_for(
    records: Sequence[DigestRecord], sealer: Sealer, holder: ConfigHolder
) -> dict[str, Subscriber | None]:
    """digest id -> its subscriber as planned: from the sealed snapshot, else (an
    older release's row, another key) from the subscriptions file, read lazily."""
    found: dict[str, Subscriber | None] = {}
    unopened: list[str] = []
    by_id: dict[str, Subscriber] | None = None
    for record in records:
        if record.snapshot is not None:
            try:
                found[record.id] = sealer.open(record.snapshot, record.id)
                continue
            except SnapshotError as exc:
                unopened.append(f"{record.id}: {exc}")
        if by_id is None:
            by_id = subscribers_by_id(holder)
        found[record.id] = by_id.get(record.subscriber_id)
    if unopened:
        log.warning("%d digest snapshot%s did not open, their subscribers are read from "
                    "the subscriptions file instead (first: %s)", len(unopened),
                    "" if len(unopened) == 1 else "s", unopened[0])
    return found


def _prepare(
    deps: DeliveryDeps, app: App, holder: ConfigHolder, ids: Sequence[str], now: datetime
) -> tuple[list[Digest], list[Outcome]]:
    """The recorded digests among ``ids`` still to send, rebuilt; and those that
    can no longer be sent (subscriber unsubscribed, channel gone or disabled)."""
    _release_dead(deps, now)
    found = app.store.ledger.for_delivery(ids)
    records = [r for r in found if r.status in (PENDING, RETRYING)]
    if not records:
        return [], []
    planned = _planned_for(records, sealer_of(deps.settings), holder)
    states = deps.ledger.states({r.subscriber_id for r in records})
    articles = articles_by_seq(deps.store, records)
    gazetteer = deps.gazetteer

    def region_name(key: str) -> str:
        region = gazetteer.find(key)
        return region.name if region is not None else key

    work: list[Digest] = []
    dropped: list[Outcome] = []
    for record in records:
        sub = planned[record.id]
        keep = effective(sub, states.get(record.subscriber_id)) if sub else None
        digest = rebuild(record, keep, articles, region_name) if keep else None
        if digest is None:
            dropped.append(Outcome(record.id, ok=False, permanent=True,
                                   error=f"not sent: subscriber removed, unsubscribed, or its "
                                         f"{record.channel} removed or disabled"))
        else:
            work.append(digest)
    return work, dropped


async def deliver_batch(
    app: App, holder: ConfigHolder, ids: Sequence[str], now: datetime,
    channels: ChannelCache | None = None,
) -> DeliveryReport:
    """Send the due digests among ``ids`` (see the module docstring) over the
    worker's kept ``channels`` (a cache of this job's own when None)."""
    deps = _deps(app, holder)
    report = DeliveryReport()
    work, dropped = await asyncio.to_thread(_prepare, deps, app, holder, ids, now)
    claimant = new_claimant()
    if dropped:
        await asyncio.to_thread(_drop, deps, report, dropped, claimant, now)
    if not work:
        return report
    own = channels is None
    cache = ChannelCache(1) if channels is None else channels
    lease = cache.lease(deps.settings)

    async def batches() -> AsyncIterator[list[Digest]]:
        yield work

    fan = FanOut(deps, report, now, _retry(deps), claimant)
    try:
        lanes = await fan.run(batches(), lease.open_channel)
    finally:
        await lease.release()
        if own:
            await cache.aclose()
    await asyncio.to_thread(_settle_transports, deps, report, lanes, now)
    return report


async def resend_due(
    app: App, holder: ConfigHolder, now: datetime, batch: int,
    channels: ChannelCache | None = None,
) -> DeliveryReport:
    """Digests due again (retries whose time came) or pending with no job left,
    ``batch`` at a time: a page of ids is read, sent, then the next (memory stays
    flat however many are due)."""
    total = DeliveryReport()
    after = ""
    while True:
        ids = await asyncio.to_thread(app.store.ledger.due_again, now, now - ORPHAN_AFTER,
                                      after, max(batch, 1))
        if not ids:
            return total
        report = await deliver_batch(app, holder, ids, now, channels)
        total.sent += report.sent
        total.retrying += report.retrying
        total.failed += report.failed
        total.errors += report.errors[: max(0, 5 - len(total.errors))]
        after = ids[-1]
