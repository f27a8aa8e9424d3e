"""Pure digest planning: (subscribers, new articles, ledger state, now) -> digests.

Like reader's ``Decider``, this returns a description of the work; the ledger
records it and a channel carries it out. No clock, no I/O: ``now`` is a parameter.

Rules (SPEC §8): a subscriber gets each matching article once; "new" means a ``seq``
above the subscriber's cursor; backfill articles and articles published more than
``notify_max_age`` ago move the cursor but are never sent; a subscriber seen for the
first time starts at the current end of the store; an empty digest is not produced.
An article that joined a story another article leads (SPEC §6: a repost, or the
zone site's original arriving after the repost) is never a new item: the story's
first article is the one that is sent, whichever source it came from, so nobody
is notified twice for one story.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from feeds.models import Article
from notifier.models import Subscriber


@dataclass(frozen=True, slots=True)
class SubscriberState:
    """What the ledger remembers about one subscriber.

    ``last_seq`` is the cursor: every article with a larger ``seq`` is still to be
    considered. ``unsubscribed_*`` hold the reader's own choice, valid only while the
    subscriber's YAML entry still has ``choice_fingerprint``.
    """

    subscriber_id: str
    first_seen_seq: int
    last_seq: int
    first_seen_at: datetime | None = None
    last_planned_at: datetime | None = None
    choice_fingerprint: str | None = None
    unsubscribed_all: bool = False
    unsubscribed_regions: frozenset[str] = frozenset()
    disabled_fingerprint: str | None = None
    disabled_reason: str | None = None

    def choice_applies(self, subscriber: Subscriber) -> bool:
        return self.choice_fingerprint is not None and (
            self.choice_fingerprint == subscriber.fingerprint
        )

    def disabled_for(self, subscriber: Subscriber) -> bool:
        """A webhook disabled (HTTP 410) stays off until its YAML entry changes."""
        return self.disabled_fingerprint is not None and (
            self.disabled_fingerprint == subscriber.fingerprint
        )


def channels_of(subscriber: Subscriber) -> tuple[str, ...]:
    """The channels a subscriber gets each digest on (SPEC §8: every one it has)."""
    return tuple(
        name
        for name, present in (("email", subscriber.email), ("webhook", subscriber.webhook))
        if present
    )


def effective(subscriber: Subscriber, state: SubscriberState | None) -> Subscriber | None:
    """The subscriber as the reader chose to keep it; ``None`` when nothing is left.

    A disabled webhook (HTTP 410) takes away that channel only: an email beside it
    keeps coming.
    """
    if state is None:
        return subscriber
    if state.disabled_for(subscriber):
        if subscriber.webhook is None or subscriber.email is None:
            return None
        subscriber = replace(subscriber, webhook=None)
    if not state.choice_applies(subscriber):
        return subscriber
    if state.unsubscribed_all:
        return None
    regions = tuple(r for r in subscriber.regions if r not in state.unsubscribed_regions)
    if not regions:
        return None
    if regions == subscriber.regions:
        return subscriber
    return replace(subscriber, regions=regions)


@dataclass(frozen=True, slots=True)
class RegionGroup:
    """The articles of one leaf region, newest first."""

    key: str
    name: str
    articles: tuple[Article, ...]


@dataclass(frozen=True, slots=True)
class Digest:
    """What one subscriber gets at one time.

    ``id`` is derived from the subscriber, the channel and the ``seq`` range the
    digest covers, so planning the same state again (after a crash) gives the same id,
    hence the same ``Message-ID`` and ``webhook-id``. A subscriber with an email and a
    webhook gets one digest per channel, each with its own id and ledger entry.
    """

    id: str
    subscriber: Subscriber
    after_seq: int
    upto_seq: int
    groups: tuple[RegionGroup, ...]
    more: int
    generated_at: datetime
    channel: str = "email"

    @property
    def articles(self) -> tuple[Article, ...]:
        return tuple(a for g in self.groups for a in g.articles)

    @property
    def article_seqs(self) -> tuple[int, ...]:
        return tuple(a.seq for g in self.groups for a in g.articles)

    def content_key(self) -> tuple[object, ...]:
        """Digests with equal keys render to the same body apart from personal slots."""
        sub = self.subscriber
        fmt = sub.webhook.format if self.channel == "webhook" and sub.webhook else "email"
        return (fmt, sub.language, sub.regions, self.article_seqs, self.more)


def shortened(digest: Digest, keep: int) -> Digest:
    """The same digest showing only its ``keep`` newest articles; the rest join
    "and N more". For channels that cap a message's size (chat robots)."""
    ordered = sorted(digest.articles, key=lambda a: (a.published, a.seq), reverse=True)
    kept = {a.seq for a in ordered[: max(keep, 1)]}
    groups = tuple(
        RegionGroup(g.key, g.name, tuple(a for a in g.articles if a.seq in kept))
        for g in digest.groups
    )
    groups = tuple(g for g in groups if g.articles)
    dropped = len(ordered) - len(kept)
    return replace(digest, groups=groups, more=digest.more + dropped)


@dataclass(frozen=True, slots=True)
class Plan:
    """Digests to record and send, and where every considered cursor moves."""

    digests: tuple[Digest, ...] = ()
    #: subscriber id -> new cursor, for every subscriber considered (sent or not)
    cursors: Mapping[str, int] = field(default_factory=dict)
    #: subscribers seen for the first time: id -> their starting cursor
    new_subscribers: Mapping[str, int] = field(default_factory=dict)
    #: subscriber id -> seqs recorded but not sent (backfill, too old, joined a story)
    skipped: Mapping[str, tuple[int, ...]] = field(default_factory=dict)


def digest_id(subscriber_id: str, after_seq: int, upto_seq: int, channel: str = "email") -> str:
    """Stable, header-safe id: ``d`` + 32 hex digits of a SHA-256.

    The email channel keeps the id it had before digests were per channel (so an
    upgraded ledger and its ``Message-ID`` stay the same); other channels add their
    name, so each channel's digest is its own ledger entry.
    """
    raw = f"{subscriber_id}\x1f{after_seq}\x1f{upto_seq}"
    if channel != "email":
        raw += f"\x1f{channel}"
    return "d" + hashlib.sha256(raw.encode()).hexdigest()[:32]


def build_digest(
    subscriber: Subscriber,
    articles: Iterable[Article],
    *,
    after_seq: int,
    upto_seq: int,
    now: datetime,
    region_name: Callable[[str], str],
    channel: str | None = None,
) -> Digest | None:
    """Group ``articles`` (already filtered) by leaf region, newest first, capped.

    ``channel`` defaults to the subscriber's first one (email before webhook).
    """
    if channel is None:
        channel = (channels_of(subscriber) or ("email",))[0]
    ordered = sorted(articles, key=lambda a: (a.published, a.seq), reverse=True)
    if not ordered:
        return None
    shown = ordered[: max(subscriber.max_articles, 1)]
    by_region: dict[str, list[Article]] = {}
    for article in shown:
        leaf = article.region_keys[0] if article.region_keys else ""
        by_region.setdefault(leaf, []).append(article)
    # Regions in the order of their newest article; within, newest first.
    groups = tuple(
        RegionGroup(key=key, name=region_name(key) if key else "", articles=tuple(items))
        for key, items in by_region.items()
    )
    return Digest(
        id=digest_id(subscriber.id, after_seq, upto_seq, channel),
        subscriber=subscriber,
        after_seq=after_seq,
        upto_seq=upto_seq,
        groups=groups,
        more=len(ordered) - len(shown),
        generated_at=now,
        channel=channel,
    )


def plan_digests(
    subscribers: Sequence[Subscriber],
    matched: Mapping[str, Sequence[Article]],
    states: Mapping[str, SubscriberState],
    *,
    upto_seq: int,
    now: datetime,
    notify_max_age: timedelta,
    region_name: Callable[[str], str],
) -> Plan:
    """Plan one round for ``subscribers`` (already filtered to those due).

    ``matched[id]`` holds the articles matching that subscriber with ``seq`` up to
    ``upto_seq``; articles at or below its cursor are ignored here, so callers may pass
    a superset. ``upto_seq`` is the store's end when the round started.
    """
    digests: list[Digest] = []
    cursors: dict[str, int] = {}
    new: dict[str, int] = {}
    skipped: dict[str, tuple[int, ...]] = {}
    oldest = now - notify_max_age
    for subscriber in subscribers:
        state = states.get(subscriber.id)
        if state is None:
            new[subscriber.id] = upto_seq
            continue
        after = max(state.last_seq, state.first_seen_seq)
        # Even with nothing new the round counts as this slot's digest (a daily digest
        # with nothing at 08:00 must not go out at 10:00 when an article arrives).
        cursors[subscriber.id] = max(after, upto_seq)
        if after >= upto_seq:
            continue
        keep = effective(subscriber, state)
        fresh = [a for a in matched.get(subscriber.id, ()) if after < a.seq <= upto_seq]
        sendable = [
            a for a in fresh if not a.backfill and a.published >= oldest and a.leads_story
        ]
        if len(sendable) != len(fresh):
            sent = {a.seq for a in sendable}
            skipped[subscriber.id] = tuple(a.seq for a in fresh if a.seq not in sent)
        if keep is None:
            continue
        if keep is not subscriber:
            allowed = set(keep.regions)
            sendable = [a for a in sendable if allowed.intersection(a.region_keys)]
        digest = build_digest(
            keep, sendable, after_seq=after, upto_seq=upto_seq, now=now, region_name=region_name
        )
        if digest is None:
            continue
        # One digest per channel: same articles, own id, own ledger entry and retries.
        for channel in channels_of(keep):
            digests.append(
                replace(
                    digest,
                    id=digest_id(keep.id, after, upto_seq, channel),
                    channel=channel,
                )
            )
    return Plan(tuple(digests), cursors, new, skipped)
