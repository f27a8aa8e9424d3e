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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from feeds.models import Article
from feeds.regions import Gazetteer
from feeds.store import ArticleStore
from notifier.channels.base import Channel
from notifier.channels.factory import build_channels, transport_fingerprint
from notifier.claimant import is_dead_here, new_claimant
from notifier.compose import Composer
from notifier.config import Settings
from notifier.errors import UsageError
from notifier.fanout import MARK_BATCH, FanOut, _Lane, apply_statuses
from notifier.ledger import DigestRecord, Ledger, Outcome
from notifier.models import Subscriber, Subscriptions
from notifier.outages import Outage, Outages
from notifier.plan import (
    Digest,
    SubscriberState,
    build_digest,
    channels_of,
    effective,
    plan_digests,
)
from notifier.tokens import Signer, load_secret

log = logging.getLogger(__name__)

#: Kept for callers that import them from here.
_Composer = Composer
__all__ = ["MARK_BATCH", "DeliveryDeps", "DeliveryReport", "asend_due", "build_channels",
           "send_due"]

Matcher = Callable[[Article], Iterable[str]]


@dataclass
class DeliveryDeps:
    """Everything :func:`send_due` needs, passed in (tests build their own)."""

    settings: Settings
    store: ArticleStore
    gazetteer: Gazetteer
    ledger: Ledger
    signer: Signer
    #: "email" / "webhook" -> channel; ``None`` builds them from the settings per run.
    channels: Mapping[str, Channel] | None = None
    rng: random.Random = field(default_factory=random.Random)
    matcher: Callable[[Sequence[Subscriber]], Matcher] | None = None
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
            ledger=Ledger(app.store.engine),
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


def make_matcher(subscribers: Sequence[Subscriber]) -> Matcher:
    """Article -> ids of the subscribers it matches, through the shared index."""
    from notifier.match import MatchIndex

    return MatchIndex(subscribers).subscribers_for


def is_due(subscriber: Subscriber, state: SubscriberState | None, now: datetime) -> bool:
    """New subscribers and those whose schedule fired since their last planning."""
    if state is None or state.last_planned_at is None:
        return True
    from notifier.schedules import last_due

    slot = last_due(subscriber.schedule, ZoneInfo(subscriber.timezone), now)
    return slot is not None and slot > state.last_planned_at


def _articles_by_seq(store: ArticleStore, records: Sequence[DigestRecord]) -> dict[int, Article]:
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


def _rebuild(
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
class _Prepared:
    work: list[Digest] = field(default_factory=list)
    dropped: list[Outcome] = field(default_factory=list)
    #: channel -> (outage, digests it keeps waiting this pass)
    waiting: dict[str, tuple[Outage, int]] = field(default_factory=dict)


def _prepare(
    deps: DeliveryDeps,
    subscribers: Sequence[Subscriber],
    report: DeliveryReport,
    now: datetime,
    only: str | None,
    dry_run: bool,
) -> _Prepared:
    """Steps 1 and 2 (blocking: run in a thread)."""
    out = _Prepared()
    by_id = {s.id: s for s in subscribers}
    ledger = deps.ledger
    # A sender that crashed on this machine left claims; no need to wait out its lease.
    for claimant in ledger.claimants(now):
        if is_dead_here(claimant):
            log.info("taking over the digests of %s (that process is gone)", claimant)
            ledger.release(claimant)
    states = ledger.states(by_id)
    waiting = {
        name: outage
        for name, outage in Outages(deps.store.engine).all().items()
        if outage.waiting(now, transport_fingerprint(deps.settings, name))
    }
    held: dict[str, int] = dict.fromkeys(waiting, 0)

    def region_name(key: str) -> str:
        region = deps.gazetteer.find(key)
        return region.name if region is not None else key

    # 1. Digests recorded earlier and not known to be delivered.
    outstanding = []
    for record in ledger.outstanding(now, only):
        if record.channel in waiting:
            held[record.channel] += 1
        else:
            outstanding.append(record)
    if outstanding:
        articles = _articles_by_seq(deps.store, outstanding)
        for record in outstanding:
            sub = by_id.get(record.subscriber_id)
            keep = effective(sub, states.get(record.subscriber_id)) if sub else None
            digest = _rebuild(record, keep, articles, region_name) if keep else None
            if digest is None:
                out.dropped.append(Outcome(
                    record.id, ok=False, permanent=True,
                    error=f"not sent: subscriber removed, unsubscribed, or its {record.channel} "
                          "removed or disabled"))
                continue
            out.work.append(digest)
        report.resent = len(out.work)

    # 2. Plan new digests for subscribers whose schedule is due.
    due = [s for s in subscribers if is_due(s, states.get(s.id), now)]
    upto = deps.store.max_seq()
    planned_ids = {d.id for d in out.work}
    if due:
        cursors = [
            max(states[s.id].last_seq, states[s.id].first_seen_seq) for s in due if s.id in states
        ]
        matched: dict[str, list[Article]] = {}
        if cursors and min(cursors) < upto:
            factory = deps.matcher or make_matcher
            matcher = factory([s for s in due if s.id in states])
            for article in deps.store.iter_articles(after_seq=min(cursors)):
                if article.seq > upto:
                    break
                for sid in matcher(article):
                    matched.setdefault(sid, []).append(article)
        plan = plan_digests(
            due, matched, states, upto_seq=upto, now=now,
            notify_max_age=deps.settings.notify_max_age, region_name=region_name,
        )
        report.new_subscribers = len(plan.new_subscribers)
        report.skipped_articles = sum(len(v) for v in plan.skipped.values())
        moved = None
        if not dry_run:
            expected = {sid: state.last_seq for sid, state in states.items()}
            moved = ledger.record_plan(plan, now, expected)
        fresh = [
            d for d in plan.digests
            if d.id not in planned_ids and (moved is None or d.subscriber.id in moved)
        ]
        report.planned = len(fresh)
        for digest in fresh:
            if digest.channel in waiting:
                held[digest.channel] += 1
            else:
                out.work.append(digest)
    report.digests = [(d.subscriber.id, d.id, len(d.articles)) for d in out.work]
    out.waiting = {name: (waiting[name], held[name]) for name in waiting}
    return out


async def asend_due(
    deps: DeliveryDeps,
    subscriptions: Subscriptions,
    now: datetime,
    only: str | None = None,
    dry_run: bool = False,
) -> DeliveryReport:
    """Send every due digest (and pending/retry ones) now; see the module docstring."""
    report = DeliveryReport()
    subscribers = list(subscriptions.subscribers)
    if only is not None:
        subscribers = [s for s in subscribers if s.id == only]
        if not subscribers:
            raise UsageError(f"no subscriber with id {only!r} in the subscriptions file")
    prepared = await asyncio.to_thread(_prepare, deps, subscribers, report, now, only, dry_run)
    if dry_run:
        return report
    for name, (outage, count) in prepared.waiting.items():
        if count:
            _say_broken(report, name, outage, count, now)
    claimant = new_claimant()
    if prepared.dropped:
        await asyncio.to_thread(_drop, deps, report, prepared.dropped, claimant, now)
    if not prepared.work:
        return report

    own = deps.channels is None
    needed = {d.channel for d in prepared.work}
    channels = build_channels(deps.settings, needed) if own else dict(deps.channels or {})
    fan = FanOut(deps, report, now, _retry(deps), claimant)
    try:
        lanes = await fan.run(prepared.work, channels)
    finally:
        if own:
            for channel in channels.values():
                await channel.aclose()
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
    outages = Outages(deps.store.engine)
    retry = deps.settings.delivery.retry
    for name, lane in lanes.items():
        if lane.broken is not None:
            count = len(lane.held) + len(lane.ready) + len(lane.todo)
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
) -> DeliveryReport:
    """Synchronous wrapper of :func:`asend_due` for the CLI and the worker."""
    return asyncio.run(asend_due(deps, subscriptions, now, only, dry_run))
