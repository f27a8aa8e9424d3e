"""The work of one delivery pass, batch by batch: digests to re-send, digests to plan.

Steps 1 and 2 of :mod:`notifier.deliver`. Each batch holds at most
:data:`PLAN_BATCH` subscribers or records; it is planned, recorded in the ledger and
handed to the fan-out before the next one is planned, so the digests (and their
renderings) of a pass are never all in memory at once. Across the pass only a due
flag per subscriber and the matches (subscriber id -> articles) are kept.

Blocking (ledger and store calls): the pass runs each step in a thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import takewhile
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from feeds.models import Article
from notifier.channels.factory import transport_fingerprint
from notifier.claimant import is_dead_here
from notifier.ledger import DigestRecord, Outcome
from notifier.match import MatchIndex, match_articles
from notifier.models import Subscriber
from notifier.outages import Outage, Outages
from notifier.plan import (
    Digest,
    SubscriberState,
    build_digest,
    channels_of,
    effective,
    plan_digests,
)

if TYPE_CHECKING:
    from feeds.storage.protocols import ArticleStore
    from notifier.deliver import DeliveryDeps, DeliveryReport

log = logging.getLogger("notifier.deliver")

#: Subscribers planned (or recorded digests rebuilt) per batch.
PLAN_BATCH = 500


def is_due(subscriber: Subscriber, state: SubscriberState | None, now: datetime) -> bool:
    """New subscribers and those whose schedule fired since their last planning."""
    if state is None or state.last_planned_at is None:
        return True
    from notifier.schedules import last_due

    slot = last_due(subscriber.schedule, ZoneInfo(subscriber.timezone), now)
    return slot is not None and slot > state.last_planned_at


def articles_by_seq(store: ArticleStore, records: Sequence[DigestRecord]) -> dict[int, Article]:
    """The articles of recorded digests, streamed once over their seq range."""
    wanted = {seq for r in records for seq in r.article_seqs}
    if not wanted:
        return {}
    low, high = min(wanted), max(wanted)
    found: dict[int, Article] = {}
    for article in store.iter_articles(after_seq=low - 1):
        if article.seq > high:
            break
        if article.seq in wanted:
            found[article.seq] = article
    return found


def rebuild(
    record: DigestRecord,
    subscriber: Subscriber,
    articles: Mapping[int, Article],
    region_name: Callable[[str], str],
) -> Digest | None:
    """A recorded digest again, with its recorded id, channel, articles and "more"."""
    if record.channel not in channels_of(subscriber):
        return None
    items = [articles[s] for s in record.article_seqs if s in articles]
    capped = replace(subscriber, max_articles=max(len(items), 1))
    digest = build_digest(
        capped,
        items,
        after_seq=record.first_seq,
        upto_seq=record.last_seq,
        now=record.created_at,
        region_name=region_name,
        channel=record.channel,
    )
    if digest is None:
        return None
    return replace(digest, id=record.id, more=record.more, subscriber=subscriber)


@dataclass
class Batch:
    """Digests to send now, and recorded ones that can no longer be sent."""

    work: list[Digest] = field(default_factory=list)
    dropped: list[Outcome] = field(default_factory=list)


class DueWork:
    """Plans one pass in batches; ``held`` counts digests kept due per waiting channel.

    ``index`` is the match index of the subscriptions in force (built once per
    subscriptions version, :meth:`notifier.reload.ConfigHolder.matching`); without
    one (a one-off ``digest send``) an index of the due subscribers is built here.
    """

    def __init__(
        self,
        deps: DeliveryDeps,
        subscribers: Sequence[Subscriber],
        report: DeliveryReport,
        now: datetime,
        only: str | None = None,
        dry_run: bool = False,
        index: MatchIndex | None = None,
    ) -> None:
        self.deps = deps
        self.subscribers = subscribers
        self.report = report
        self.now = now
        self.only = only
        self.dry_run = dry_run
        self.index = index
        self.waiting: dict[str, Outage] = {}
        self.held: dict[str, int] = {}
        self._resent: set[str] = set()

    def region_name(self, key: str) -> str:
        region = self.deps.gazetteer.find(key)
        return region.name if region is not None else key

    def start(self) -> None:
        """Take over the claims of a crashed sender here; note the waiting channels."""
        ledger = self.deps.ledger
        # A sender that crashed on this machine left claims; no need to wait out its lease.
        for claimant in ledger.claimants(self.now):
            if is_dead_here(claimant):
                log.info("taking over the digests of %s (that process is gone)", claimant)
                ledger.release(claimant)
        self.waiting = {
            name: outage
            for name, outage in Outages(self.deps.store.channels).all().items()
            if outage.waiting(self.now, transport_fingerprint(self.deps.settings, name))
        }
        self.held = dict.fromkeys(self.waiting, 0)

    def _keep(self, digest: Digest) -> bool:
        """False (and counted as held) for a channel whose transport is waiting."""
        if digest.channel in self.waiting:
            self.held[digest.channel] += 1
            return False
        return True

    # 1. Digests recorded earlier and not known to be delivered.
    def resends(self) -> Iterator[Batch]:
        records = []
        for record in self.deps.ledger.outstanding(self.now, self.only):
            if record.channel in self.waiting:
                self.held[record.channel] += 1
            else:
                records.append(record)
        if not records:
            return
        by_id = {s.id: s for s in self.subscribers}
        articles = articles_by_seq(self.deps.store, records)
        for start in range(0, len(records), PLAN_BATCH):
            chunk = records[start : start + PLAN_BATCH]
            states = self.deps.ledger.states({r.subscriber_id for r in chunk})
            batch = Batch()
            for record in chunk:
                sub = by_id.get(record.subscriber_id)
                keep = effective(sub, states.get(record.subscriber_id)) if sub else None
                digest = rebuild(record, keep, articles, self.region_name) if keep else None
                if digest is None:
                    batch.dropped.append(Outcome(
                        record.id, ok=False, permanent=True,
                        error=f"not sent: subscriber removed, unsubscribed, or its "
                              f"{record.channel} removed or disabled"))
                    continue
                batch.work.append(digest)
                self._resent.add(digest.id)
            self.report.resent += len(batch.work)
            if self.dry_run:
                self._list(batch.work)
            yield batch

    # 2. New digests for subscribers whose schedule is due.
    def planned(self) -> Iterator[Batch]:
        subscribers, ledger = self.subscribers, self.deps.ledger
        due = bytearray(len(subscribers))
        low: int | None = None
        for start in range(0, len(subscribers), PLAN_BATCH):
            chunk = subscribers[start : start + PLAN_BATCH]
            states = ledger.states(s.id for s in chunk)
            for offset, sub in enumerate(chunk):
                state = states.get(sub.id)
                if is_due(sub, state, self.now):
                    # 1: due and new (starts at the end, nothing to match); 2: due
                    due[start + offset] = 1 if state is None else 2
                    if state is not None:
                        cursor = max(state.last_seq, state.first_seen_seq)
                        low = cursor if low is None else min(low, cursor)
        if not any(due):
            return
        upto = self.deps.store.max_seq()
        matched: dict[str, list[Article]] = {}
        if low is not None and low < upto:
            matched = self._match(due, low, upto)
        for start in range(0, len(subscribers), PLAN_BATCH):
            chunk = [s for i, s in enumerate(subscribers[start : start + PLAN_BATCH], start)
                     if due[i]]
            if chunk:
                yield self._plan(chunk, matched, upto)

    def _match(self, due: bytearray, low: int, upto: int) -> dict[str, list[Article]]:
        wanted = {s.id for i, s in enumerate(self.subscribers) if due[i] == 2}
        index = self.index
        if index is None:
            index, wanted_ids = MatchIndex(s for s in self.subscribers if s.id in wanted), None
        else:
            wanted_ids = wanted
        stream = takewhile(lambda a: a.seq <= upto, self.deps.store.iter_articles(after_seq=low))
        return match_articles(index, stream, wanted_ids)

    def _plan(
        self, chunk: list[Subscriber], matched: dict[str, list[Article]], upto: int
    ) -> Batch:
        states = self.deps.ledger.states(s.id for s in chunk)
        plan = plan_digests(
            chunk, matched, states, upto_seq=upto, now=self.now,
            notify_max_age=self.deps.settings.notify_max_age, region_name=self.region_name,
        )
        for sub in chunk:  # planned: their matches are not needed any more
            matched.pop(sub.id, None)
        report = self.report
        report.new_subscribers += len(plan.new_subscribers)
        report.skipped_articles += sum(len(v) for v in plan.skipped.values())
        moved = None
        if not self.dry_run:
            expected = {sid: state.last_seq for sid, state in states.items()}
            moved = self.deps.ledger.record_plan(plan, self.now, expected)
        fresh = [
            d for d in plan.digests
            if d.id not in self._resent and (moved is None or d.subscriber.id in moved)
        ]
        report.planned += len(fresh)
        work = [d for d in fresh if self._keep(d)]
        if self.dry_run:
            self._list(work)
        return Batch(work=work)

    def _list(self, digests: Sequence[Digest]) -> None:
        """A dry run lists what it would send (a real pass keeps no list: memory)."""
        self.report.digests += [(d.subscriber.id, d.id, len(d.articles)) for d in digests]
