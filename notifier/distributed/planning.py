"""Digest planning in distributed mode: the ledger rows and their delivery jobs in
one transaction (SPEC §11).

The planning itself is embedded mode's (:class:`notifier.due.DueWork`); only the
ledger differs: :class:`DeferringLedger` hands the storage a callback that, inside
the transaction that records the digests, defers one ``zonewire:deliver`` job per
``delivery.batch`` subscribers. A crash before the commit loses both, after it
keeps both: planning and the queue never disagree.

Each recorded digest also carries its subscriber as planned, sealed
(:mod:`notifier.distributed.sealing`), so a delivery job needs neither the
subscriptions file nor the memory its parse costs. Only this plan pass reads the
file; it is also where an edit of the file reaches the digests still open
(:mod:`notifier.distributed.pending`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

import procrastinate
from procrastinate.tasks import configure_task

from feeds.storage.ledger_rows import NewDigest
from notifier.app import App
from notifier.deliver import DeliveryDeps, DeliveryReport
from notifier.distributed.app import DELIVER, QUEUE_OF
from notifier.distributed.delivery import sealer_of
from notifier.distributed.pending import follow_file
from notifier.distributed.sealing import Sealer
from notifier.due import DueWork
from notifier.ledger import Ledger
from notifier.models import Subscriber
from notifier.plan import Digest, Plan
from notifier.reload import ConfigHolder


class DeferringLedger(Ledger):
    """A :class:`Ledger` whose recorded plans defer their delivery jobs atomically,
    each digest with its subscriber sealed beside it (when ``sealer`` is given)."""

    def __init__(
        self, store: Any, deferrer: procrastinate.App, batch: int,
        sealer: Sealer | None = None, subscribers: Mapping[str, Subscriber] | None = None,
    ) -> None:
        super().__init__(store)
        self.deferrer = deferrer
        self.batch = batch
        self.sealer = sealer
        #: The subscribers as the file has them, by id: a digest holds the effective
        #: subscriber (unsubscribed regions, a disabled webhook taken away), and the
        #: send applies the stored choices again, so the file's entry is sealed.
        self.subscribers = subscribers or {}
        #: Delivery jobs deferred by this ledger (for reports and tests).
        self.jobs = 0

    def _snapshot(self, digest: Digest) -> bytes | None:
        entry = self.subscribers.get(digest.subscriber.id)
        if self.sealer is None or entry is None:
            return None  # its delivery job reads the file, as before snapshots
        return self.sealer.seal(entry, digest.id)

    def record_plan(
        self, plan: Plan, now: datetime, expected: Mapping[str, int] | None = None
    ) -> set[str]:
        planned = [
            NewDigest(d.id, d.subscriber.id, d.channel, d.after_seq, d.upto_seq,
                      d.article_seqs, d.more, self._snapshot(d))
            for d in plan.digests
        ]

        def defer(connection: Any, moved: set[str]) -> None:
            by_subscriber: dict[str, list[str]] = {}
            for d in planned:
                if expected is None or d.subscriber_id in moved:
                    by_subscriber.setdefault(d.subscriber_id, []).append(d.id)
            groups = list(by_subscriber.values())
            jobs: list[dict[str, Any]] = [
                {"digests": [i for ids in groups[start : start + self.batch] for i in ids]}
                for start in range(0, len(groups), self.batch)
            ]
            if jobs:
                # By name on the deferrer's own (synchronous) job manager: a task's
                # configure() would use the App it was registered on, whose async
                # connector cannot run on this synchronous connection once open.
                configure_task(name=DELIVER, job_manager=self.deferrer.job_manager,
                               queue=QUEUE_OF[DELIVER], connection=connection,
                               ).batch_defer(*jobs)
                self.jobs += len(jobs)

        # ``also`` is SqlLedgerStore's (distributed mode always runs on it).
        return self.store.record_plan(  # type: ignore[call-arg]
            plan.new_subscribers, plan.cursors, planned, now, expected, also=defer
        )


def plan_and_defer(
    app: App, holder: ConfigHolder, deferrer: procrastinate.App, now: datetime
) -> tuple[DeliveryReport, int]:
    """One planning pass (blocking): returns its report and the jobs it deferred.

    First the digests still open follow the file (removed subscribers' dropped,
    edited ones' resealed), then the due subscribers are planned.
    """
    holder.reload()
    settings = holder.settings
    subscriptions, index = holder.matching()
    sealer = sealer_of(settings)
    by_id = {s.id: s for s in subscriptions.subscribers}
    base = replace(DeliveryDeps.from_app(app), settings=settings)
    follow_file(app, base, holder, by_id, sealer, now)
    ledger = DeferringLedger(app.store.ledger, deferrer, settings.delivery.batch,
                             sealer, by_id)
    deps = replace(base, ledger=ledger)
    report = DeliveryReport()
    due = DueWork(deps, subscriptions.subscribers, report, now, index=index)
    due.start()
    for _batch in due.planned():
        pass  # the delivery jobs send them
    return report, ledger.jobs
