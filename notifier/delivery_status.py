"""The deliveries section of ``zonewire status``: per channel, what is sent, pending,
retrying and failed; a broken transport; the unsubscribed; disabled webhooks."""

from __future__ import annotations

from typing import Any

from notifier.ledger import FAILED, PENDING, RETRYING, SENT, Ledger
from notifier.outages import Outages
from notifier.plan import SubscriberState
from notifier.progress import local_time
from notifier.redact import scrub

STATUSES = (SENT, PENDING, RETRYING, FAILED)


def _summary(counts: dict[str, int]) -> str:
    return ", ".join(f"{counts.get(s, 0)} {s}" for s in STATUSES)


def unsubscribed_lines(app: Any, states: dict[str, SubscriberState]) -> list[str]:
    """Subscribers whose own choice (the unsubscribe link) is in force now.

    A stored choice applies while the subscriber's YAML entry is unchanged, so this
    reads the subscriptions file; without it, the stored choices are counted as such.
    """
    chosen = [s for s in states.values() if s.unsubscribed_all or s.unsubscribed_regions]
    if not chosen:
        return ["unsubscribed: none"]
    try:
        from notifier.subscriptions import load_subscriptions

        settings = app.settings
        subscriptions = load_subscriptions(
            settings.subscriptions, app.gazetteer, templates_dir=settings.templates_dir
        )
    except Exception as exc:  # noqa: BLE001 - status shows what it can
        every = sum(1 for s in chosen if s.unsubscribed_all)
        return [
            f"unsubscribed: {every} from everything, {len(chosen) - every} from some regions "
            f"(stored choices; the subscriptions file could not be read: {exc})"
        ]
    every = some = 0
    for subscriber in subscriptions.subscribers:
        state = states.get(subscriber.id)
        if state is None or not state.choice_applies(subscriber):
            continue
        if state.unsubscribed_all:
            every += 1
        elif state.unsubscribed_regions & set(subscriber.regions):
            some += 1
    return [f"unsubscribed: {every} from everything, {some} from some of their regions"]


def status_lines(app: Any) -> list[str]:
    """Deliveries per channel, transport problems, problems per digest, unsubscribed."""
    ledger = Ledger(app.store.ledger)
    by_channel = ledger.counts_by_channel()
    total: dict[str, int] = {}
    for counts in by_channel.values():
        for status, n in counts.items():
            total[status] = total.get(status, 0) + n
    lines = [f"deliveries: {_summary(total)}"]
    for channel in sorted(by_channel):
        lines.append(f"  {channel}: {_summary(by_channel[channel])}")
    for channel, outage in sorted(Outages(app.store.channels).all().items()):
        waiting = by_channel.get(channel, {})
        due = waiting.get(PENDING, 0) + waiting.get(RETRYING, 0)
        lines.append(
            f"  {channel} transport failing since {local_time(outage.since)} "
            f"({outage.failures} {'tries' if outage.failures != 1 else 'try'}): "
            f"{outage.problem}; {due} digests wait, next try {local_time(outage.retry_at)} "
            "or as soon as its settings change"
        )
    for record in ledger.problems():
        when = ""
        if record.status == RETRYING and record.next_attempt_at is not None:
            when = f", next attempt {local_time(record.next_attempt_at)}"
        # scrub(): rows written before secrets were redacted at the source (issue 11)
        error = f": {scrub(record.last_error)}" if record.last_error else ""
        lines.append(
            f"  {record.status} {record.subscriber_id} ({record.channel}, digest {record.id}, "
            f"{record.attempts} attempts{when}){error}"
        )
    for sid, reason in ledger.disabled():
        lines.append(
            f"  disabled webhook {sid}: {scrub(reason)} (edit its entry to enable it again)"
        )
    lines += unsubscribed_lines(app, ledger.states())
    return lines
