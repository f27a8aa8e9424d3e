"""The sending half of a delivery pass: claim, send, mark, on every channel at once.

- Digests arrive in batches while earlier ones are sent (planning, composing and
  sending stream): the next batch is asked for only when at most one batch is still
  queued, so memory stays flat however many subscribers there are.
- Each channel has its own queue and a fixed pool of workers (bounded concurrency
  and memory: an envelope is built just before it is sent), so one channel's
  trouble never holds back another's. A channel is opened with its first digest.
- Digests are claimed in the ledger in small batches just before they are sent
  (:meth:`notifier.ledger.Ledger.claim`); a digest another sender holds is skipped.
  The claims are renewed while the pass runs and given back at its end.
- Outcomes are marked in batches. A recipient's failure is that digest's own
  (retried or failed); a :class:`TransportError` stops the channel for this pass,
  marks nothing, and is reported once (:mod:`notifier.outages`).
- Every ledger call runs in a thread: the event loop keeps serving HTTP.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from notifier.channels.base import Channel, DeliveryError, TransportError
from notifier.compose import Composer
from notifier.errors import NotifierError
from notifier.ledger import FAILED, PENDING, RETRYING, SENT, Outcome
from notifier.plan import Digest

if TYPE_CHECKING:
    from notifier.deliver import DeliveryDeps, DeliveryReport

log = logging.getLogger("notifier.deliver")

#: Outcomes are written to the ledger this many at a time (and at the end).
MARK_BATCH = 200
#: Digests claimed per ledger round trip.
CLAIM_BATCH = 100
#: The next batch of digests is taken once no more than this many wait to be sent.
QUEUED = 500


@dataclass
class _Lane:
    """One channel's share of the pass."""

    name: str
    channel: Channel
    todo: list[Digest] = field(default_factory=list)
    ready: list[Digest] = field(default_factory=list)
    refill: asyncio.Task[None] | None = None
    broken: TransportError | None = None
    sent: int = 0
    held: set[str] = field(default_factory=set)
    #: Digests that arrived after the transport broke (not queued: they stay due).
    late: int = 0
    #: Set when digests arrive or the last batch has come.
    more: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def unsent(self) -> int:
        """Digests this pass kept due because the transport broke."""
        return len(self.held) + len(self.ready) + len(self.todo) + self.late


class FanOut:
    """Sends ``work`` for one pass; see the module docstring."""

    def __init__(
        self,
        deps: DeliveryDeps,
        report: DeliveryReport,
        now: datetime,
        retry: Mapping[str, Any],
        claimant: str,
    ) -> None:
        self.deps = deps
        self.report = report
        self.now = now
        self.retry = retry
        self.claimant = claimant
        self.lease: timedelta = deps.lease
        self.composer = Composer(deps, now)
        self._started = time.monotonic()
        self._pending: list[Outcome] = []
        self._flush_lock = asyncio.Lock()
        #: digest id -> (subscriber id, fingerprint) until its outcome is marked
        self._subscriber: dict[str, tuple[str, str]] = {}
        self._stopped = False
        self._error: Exception | None = None
        self.lanes: dict[str, _Lane] = {}
        self._absent: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._planned_all = False
        self._room = asyncio.Event()

    def lease_now(self) -> datetime:
        """The pass's ``now`` moved on by the time the pass has run."""
        return self.now + timedelta(seconds=time.monotonic() - self._started)

    async def run(
        self,
        batches: AsyncIterator[Sequence[Digest]],
        open_channel: Callable[[str], Channel | None],
    ) -> dict[str, _Lane]:
        """Send every digest of ``batches``; ``open_channel(name)`` gives the channel
        of a name on its first digest (``None``: no such channel, the digest stays
        due)."""
        renewer = asyncio.create_task(self._renew())
        try:
            try:
                await self._feed(batches, open_channel)
            except BaseException:
                self._stopped = True
                raise
            finally:
                self._planned_all = True
                self._wake()
                results = await asyncio.gather(*self._tasks, return_exceptions=True)
            errors = [r for r in results if isinstance(r, BaseException)]
            if self._error is not None:
                errors.insert(0, self._error)
            if errors:
                raise errors[0]
        finally:
            # A claim still on its way must land before the claims are given back.
            await asyncio.gather(*(lane.refill for lane in self.lanes.values() if lane.refill),
                                 return_exceptions=True)
            renewer.cancel()
            await asyncio.gather(renewer, return_exceptions=True)
            try:
                await self._flush(final=True)
            finally:
                # Whatever is still ours (not attempted, or held by a broken transport)
                # goes back to the ledger due, for the next pass or another sender.
                await asyncio.to_thread(self.deps.ledger.release, self.claimant)
        return self.lanes

    async def _feed(
        self,
        batches: AsyncIterator[Sequence[Digest]],
        open_channel: Callable[[str], Channel | None],
    ) -> None:
        """Queue each batch on its lanes; wait for room before taking the next."""
        async for work in batches:
            for digest in work:
                lane = self._lane(digest.channel, open_channel)
                if lane is None:
                    continue
                if lane.broken is not None:
                    lane.late += 1
                    continue
                lane.todo.append(digest)
                self._subscriber[digest.id] = (digest.subscriber.id,
                                               digest.subscriber.fingerprint)
            self._wake()
            while not self._stopped and self._queued() > QUEUED:
                self._room.clear()
                await self._room.wait()
            if self._stopped:
                return

    def _lane(self, name: str, open_channel: Callable[[str], Channel | None]) -> _Lane | None:
        lane = self.lanes.get(name)
        if lane is None and name not in self._absent:
            channel = open_channel(name)
            if channel is None:
                self._absent.add(name)
                return None
            lane = self.lanes[name] = _Lane(name, channel)
            self._tasks += [asyncio.create_task(self._worker(lane))
                            for _ in range(max(self.deps.settings.delivery.concurrency, 1))]
        return lane

    def _queued(self) -> int:
        return sum(len(lane.todo) + len(lane.ready) for lane in self.lanes.values()
                   if lane.broken is None)

    def _wake(self) -> None:
        """Workers look for digests again; the feeder looks for room again."""
        for lane in self.lanes.values():
            lane.more.set()
        self._room.set()

    async def _renew(self) -> None:
        interval = max(self.lease.total_seconds() / 3, 0.05)
        while True:
            await asyncio.sleep(interval)
            await asyncio.to_thread(self.deps.ledger.renew, self.claimant, self.lease_now(),
                                    self.lease)

    async def _next(self, lane: _Lane) -> Digest | None:
        """The next digest of ``lane`` that this sender holds a claim on.

        The next batch is claimed while the current one is still being sent, so the
        workers rarely wait for the ledger.
        """
        while True:
            if lane.broken is not None or self._stopped:
                return None
            if lane.refill is None and lane.todo and len(lane.ready) <= CLAIM_BATCH // 2:
                lane.refill = asyncio.create_task(self._refill(lane))
            if lane.ready:
                if self._queued() <= QUEUED:
                    self._room.set()
                return lane.ready.pop(0)
            if lane.refill is not None:
                await asyncio.shield(lane.refill)  # its failure (a lost lock) stops us too
                continue
            if self._planned_all:
                return None
            lane.more.clear()
            await lane.more.wait()

    async def _refill(self, lane: _Lane) -> None:
        try:
            batch, lane.todo = lane.todo[:CLAIM_BATCH], lane.todo[CLAIM_BATCH:]
            if self.deps.guard is not None:
                await asyncio.to_thread(self.deps.guard)  # raises when the lock is lost
            ids = [d.id for d in batch]
            got = await asyncio.to_thread(
                self.deps.ledger.claim, ids, self.claimant, self.lease_now(), self.lease
            )
            self.report.claimed_elsewhere += len(ids) - len(got)
            lane.ready += [d for d in batch if d.id in got]
        except Exception as exc:  # a lost lock, a ledger error: the pass stops
            self._stopped = True
            self._error = self._error or exc
            self._wake()
        finally:
            lane.refill = None

    async def _worker(self, lane: _Lane) -> None:
        while True:
            digest = await self._next(lane)
            if digest is None:
                return
            try:
                envelope = await self.composer.aenvelope(digest)
                await lane.channel.send(envelope)
                outcome = Outcome(digest.id, ok=True)
                lane.sent += 1
            except TransportError as exc:
                # Not this recipient's fault: nothing is marked, the claim is given
                # back at the end of the pass, and the lane stops taking digests.
                if lane.broken is None:
                    lane.broken = exc
                    self._wake()  # its queue no longer counts against the next batch
                lane.held.add(digest.id)
                continue
            except DeliveryError as exc:
                outcome = Outcome(
                    digest.id, ok=False, error=str(exc), permanent=exc.permanent,
                    retry_after=exc.retry_after, disable=exc.disable,
                )
            except NotifierError as exc:
                outcome = Outcome(digest.id, ok=False, error=str(exc), permanent=True)
            except Exception as exc:  # noqa: BLE001 - one subscriber never stops the others
                log.exception("digest %s for %s failed", digest.id, digest.subscriber.id)
                outcome = Outcome(digest.id, ok=False, error=f"{type(exc).__name__}: {exc}")
            if not outcome.ok:
                log.warning("digest %s for %s (%s): %s", digest.id, digest.subscriber.id,
                            lane.name, outcome.error)
            self._pending.append(outcome)
            if len(self._pending) >= MARK_BATCH:
                await self._flush()

    async def _flush(self, final: bool = False) -> None:
        async with self._flush_lock:
            if not self._pending or (not final and len(self._pending) < MARK_BATCH):
                return
            batch = self._pending[:]
            self._pending.clear()
            statuses = await asyncio.to_thread(
                self.deps.ledger.mark, batch, self.now, claimant=self.claimant, **self.retry
            )
            apply_statuses(self.report, statuses, batch)
            for outcome in batch:
                sid, fingerprint = self._subscriber.pop(outcome.digest_id, ("", ""))
                if outcome.disable:
                    await asyncio.to_thread(
                        self.deps.ledger.disable, sid, fingerprint, outcome.error or "HTTP 410"
                    )


def apply_statuses(
    report: DeliveryReport, statuses: Mapping[str, str], batch: Sequence[Outcome]
) -> None:
    """Count marked outcomes into ``report``; failures join its errors."""
    errors = {o.digest_id: o.error for o in batch if not o.ok}
    for digest_id, status in statuses.items():
        if status == SENT:
            report.sent += 1
        elif status == RETRYING:
            report.retrying += 1
        elif status == FAILED:
            report.failed += 1
        if status in (RETRYING, FAILED, PENDING) and errors.get(digest_id):
            report.errors.append(f"{digest_id}: {errors[digest_id]}")
