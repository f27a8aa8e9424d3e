"""What one subscriber would get now (``zonewire digest preview``), sending nothing.

It runs the send path's own steps, not a copy of them: the subscriber's articles
since their cursor are matched by :func:`notifier.match.match_articles` and planned
by :func:`notifier.plan.plan_digests`, exactly as a delivery pass does; only the
ledger is read, never written. A subscriber who has had no digest yet is shown what
a first one would hold (the last ``notify_max_age``), not the empty start a real
first pass makes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from itertools import takewhile

from feeds.models import Region
from feeds.storage.protocols import Stores
from notifier.errors import UsageError
from notifier.ledger import Ledger
from notifier.match import MatchIndex, match_articles
from notifier.models import Subscriber, Subscriptions
from notifier.plan import Digest, SubscriberState, plan_digests


def find_subscriber(subscriptions: Subscriptions, subscriber_id: str) -> Subscriber:
    """The subscriber, or a usage error that lists some known ids."""
    subscriber = subscriptions.by_id(subscriber_id)
    if subscriber is None:
        known = ", ".join(s.id for s in subscriptions.subscribers[:10]) or "none"
        raise UsageError(f"no subscriber {subscriber_id!r} (known: {known})")
    return subscriber


def preview_digest(
    store: Stores,
    region: Callable[[str], Region | None],
    notify_max_age: timedelta,
    subscriber: Subscriber,
    now: datetime,
) -> tuple[Digest | None, bool]:
    """The digest ``subscriber`` would get now, and whether they have had none yet."""
    state = Ledger(store.ledger).states([subscriber.id]).get(subscriber.id)
    first = state is None
    if state is None:
        state = SubscriberState(subscriber.id, first_seen_seq=0, last_seq=0)
    cursor = max(state.last_seq, state.first_seen_seq)
    upto = store.max_seq()
    articles = takewhile(lambda a: a.seq <= upto, store.iter_articles(after_seq=cursor))
    matched = match_articles(MatchIndex([subscriber]), articles)

    def region_name(key: str) -> str:
        found = region(key)
        return found.name if found else key

    plan = plan_digests([subscriber], matched, {subscriber.id: state}, upto_seq=upto, now=now,
                        notify_max_age=notify_max_age, region_name=region_name)
    return (plan.digests[0] if plan.digests else None), first
