"""Send due digests now: plan -> ledger -> channels, and record every outcome.

This is the edge the CLI (``zonewire digest send``) and the worker call. Order of
events for a crash-safe, exactly-once-per-article delivery:

1. digests left ``pending`` by an earlier run (which may have crashed mid-send) and
   retries that are due are picked up, with their recorded ids;
2. new digests are planned (pure, :mod:`notifier.plan`) and recorded as ``pending``
   together with the moved cursors, in one transaction;
3. everything is sent by a fixed pool of workers per channel (bounded concurrency
   and memory: a message is built just before it is sent); each outcome is captured
   per digest, so one failing subscriber never holds up another;
4. outcomes are marked in batches. A crash before the mark leaves the digest
   ``pending``, so it is sent again, with the same ``Message-ID`` / ``webhook-id``.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from feeds.models import Article
from feeds.regions import Gazetteer
from feeds.store import ArticleStore
from notifier.channels.base import Channel, DeliveryError, Envelope
from notifier.config import Settings
from notifier.errors import NotifierError, UsageError
from notifier.ledger import FAILED, PENDING, RETRYING, SENT, DigestRecord, Ledger, Outcome
from notifier.mime import MimeTemplate
from notifier.models import Subscriber, Subscriptions
from notifier.plan import Digest, SubscriberState, build_digest, effective, plan_digests
from notifier.redact import scrub
from notifier.render import Renderer
from notifier.tokens import Signer, load_secret

log = logging.getLogger(__name__)

#: Outcomes are written to the ledger this many at a time (and at the end).
MARK_BATCH = 200

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


def build_channels(settings: Settings, needed: set[str]) -> dict[str, Channel]:
    channels: dict[str, Channel] = {}
    delivery = settings.delivery
    if "email" in needed:
        email = settings.email
        if email.transport == "smtp":
            from notifier.channels.smtp import SmtpChannel

            smtp = email.smtp
            channels["email"] = SmtpChannel(
                host=smtp.host,
                port=smtp.port,
                security=smtp.security,
                username=smtp.username,
                password=smtp.password,
                timeout=smtp.timeout.total_seconds(),
                concurrency=delivery.concurrency,
                ca_file=str(smtp.ca_file) if smtp.ca_file else None,
            )
        else:
            from notifier.channels.maildir import MaildirChannel

            channels["email"] = MaildirChannel(Path(email.outbox))
    if "webhook" in needed:
        from notifier.channels.webhook import WebhookChannel

        channels["webhook"] = WebhookChannel(
            concurrency=delivery.concurrency,
            timeout=delivery.timeout.total_seconds(),
            user_agent=settings.crawl.user_agent,
        )
    return channels


class _Composer:
    """Turns digests into envelopes: render once per content, personalise per recipient."""

    def __init__(self, deps: DeliveryDeps, now: datetime) -> None:
        settings = deps.settings
        self.renderer = Renderer(
            public_url=settings.public_url,
            region=deps.gazetteer.find,
            templates_dir=settings.templates_dir,
        )
        self.signer = deps.signer
        self.sender_header = settings.email.from_
        self.sender = parseaddr(settings.email.from_)[1]
        self.now = now
        self._mime: dict[tuple[object, ...], MimeTemplate] = {}

    def envelope(self, digest: Digest) -> Envelope:
        sub = digest.subscriber
        token = self.signer.token(sub.id)
        if sub.email:
            rendered = self.renderer.email(digest)
            key = digest.content_key()
            template = self._mime.get(key)
            if template is None:
                template = MimeTemplate(
                    sender=self.sender_header, subject=rendered.subject, date=self.now
                )
                self._mime[key] = template
            text, html = self.renderer.personal_email(rendered, token)
            body = template.build(
                to=sub.email,
                name=sub.name,
                digest_id=digest.id,
                unsubscribe_url=self.renderer.unsubscribe_url(token),
                mailto=None,
                text=text,
                html=html,
            )
            return Envelope(digest.id, sub.id, sub.email, body, sender=self.sender)
        if sub.webhook is None:
            raise NotifierError(f"subscriber {sub.id} has neither email nor webhook")
        hook = self.renderer.webhook(digest)
        body_text = self.renderer.personal_webhook(hook, digest.id, sub.id, token)
        return Envelope(
            digest.id,
            sub.id,
            sub.webhook.url,
            body_text.encode("utf-8"),
            format=sub.webhook.format,
            secret=sub.webhook.secret,
        )


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
    """A recorded digest again, with its recorded id, articles and "more" count."""
    items = [articles[s] for s in record.article_seqs if s in articles]
    capped = replace(subscriber, max_articles=max(len(items), 1))
    digest = build_digest(
        capped,
        items,
        after_seq=record.first_seq,
        upto_seq=record.last_seq,
        now=record.created_at,
        region_name=region_name,
    )
    if digest is None:
        return None
    return replace(digest, id=record.id, more=record.more, subscriber=subscriber)


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
    by_id = {s.id: s for s in subscribers}
    ledger = deps.ledger
    states = ledger.states(by_id)

    def region_name(key: str) -> str:
        region = deps.gazetteer.find(key)
        return region.name if region is not None else key

    # 1. Digests recorded earlier and not known to be delivered.
    work: list[Digest] = []
    outstanding = ledger.outstanding(now, only)
    dropped: list[Outcome] = []
    if outstanding:
        articles = _articles_by_seq(deps.store, outstanding)
        for record in outstanding:
            sub = by_id.get(record.subscriber_id)
            keep = effective(sub, states.get(record.subscriber_id)) if sub else None
            digest = _rebuild(record, keep, articles, region_name) if keep else None
            if digest is None:
                dropped.append(
                    Outcome(record.id, ok=False, permanent=True,
                            error="not sent: subscriber removed, unsubscribed or disabled")
                )
                continue
            work.append(digest)
        report.resent = len(work)

    # 2. Plan new digests for subscribers whose schedule is due.
    due = [s for s in subscribers if is_due(s, states.get(s.id), now)]
    upto = deps.store.max_seq()
    planned_ids = {d.id for d in work}
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
            due,
            matched,
            states,
            upto_seq=upto,
            now=now,
            notify_max_age=deps.settings.notify_max_age,
            region_name=region_name,
        )
        report.new_subscribers = len(plan.new_subscribers)
        report.skipped_articles = sum(len(v) for v in plan.skipped.values())
        if not dry_run:
            ledger.record_plan(plan, now)
        fresh = [d for d in plan.digests if d.id not in planned_ids]
        report.planned = len(fresh)
        work += fresh
    report.digests = [(d.subscriber.id, d.id, len(d.articles)) for d in work]
    if dry_run:
        return report
    if dropped:
        _apply(report, ledger.mark(dropped, now, **_retry(deps)), dropped)
    if not work:
        return report

    # 3. Send, a fixed pool of workers per channel.
    composer = _Composer(deps, now)
    needed = {d.channel for d in work}
    own = deps.channels is None
    channels = build_channels(deps.settings, needed) if own else dict(deps.channels or {})
    pending: list[Outcome] = []
    flush_lock = asyncio.Lock()
    subscribers_by_id = {s.id: s for s in subscribers}

    async def flush(final: bool = False) -> None:
        async with flush_lock:
            if not pending or (not final and len(pending) < MARK_BATCH):
                return
            batch = pending[:]
            pending.clear()
            statuses = await asyncio.to_thread(ledger.mark, batch, now, **_retry(deps))
            _apply(report, statuses, batch)
            for outcome in batch:
                if outcome.disable:
                    sub = subscribers_by_id[subscriber_of[outcome.digest_id]]
                    await asyncio.to_thread(
                        ledger.disable, sub.id, sub.fingerprint, outcome.error or "HTTP 410"
                    )

    subscriber_of = {d.id: d.subscriber.id for d in work}

    async def worker(queue: asyncio.Queue[Digest], channel: Channel) -> None:
        while True:
            try:
                digest = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            try:
                envelope = composer.envelope(digest)
                await channel.send(envelope)
                outcome = Outcome(digest.id, ok=True)
            except DeliveryError as exc:
                outcome = Outcome(
                    digest.id, ok=False, error=str(exc), permanent=exc.permanent,
                    retry_after=exc.retry_after, disable=exc.disable,
                )
            except NotifierError as exc:
                outcome = Outcome(digest.id, ok=False, error=str(exc), permanent=True)
            except Exception as exc:  # noqa: BLE001 - one subscriber never stops the others
                log.exception("digest %s for %s failed", digest.id, digest.subscriber.id)
                outcome = Outcome(digest.id, ok=False, error=scrub(f"{type(exc).__name__}: {exc}"))
            if not outcome.ok:
                log.warning("digest %s for %s: %s", digest.id, digest.subscriber.id,
                            outcome.error)
            pending.append(outcome)
            if len(pending) >= MARK_BATCH:
                await flush()

    try:
        tasks = []
        for name, channel in channels.items():
            queue: asyncio.Queue[Digest] = asyncio.Queue()
            for digest in work:
                if digest.channel == name:
                    queue.put_nowait(digest)
            workers = min(deps.settings.delivery.concurrency, queue.qsize())
            tasks += [asyncio.create_task(worker(queue, channel)) for _ in range(workers)]
        await asyncio.gather(*tasks)
    finally:
        await flush(final=True)
        if own:
            for channel in channels.values():
                await channel.aclose()
    return report


def _retry(deps: DeliveryDeps) -> dict[str, Any]:
    retry = deps.settings.delivery.retry
    return {
        "max_attempts": retry.max_attempts,
        "initial": retry.initial,
        "maximum": retry.max,
        "rng": deps.rng,
    }


def _apply(report: DeliveryReport, statuses: Mapping[str, str], batch: Sequence[Outcome]) -> None:
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


def send_due(
    deps: DeliveryDeps,
    subscriptions: Subscriptions,
    now: datetime,
    only: str | None = None,
    dry_run: bool = False,
) -> DeliveryReport:
    """Synchronous wrapper of :func:`asend_due` for the CLI and the worker."""
    return asyncio.run(asend_due(deps, subscriptions, now, only, dry_run))
