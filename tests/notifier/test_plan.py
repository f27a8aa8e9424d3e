"""Digest planning as plain data: who gets which articles, once, grouped and capped."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from feeds.models import CHINA_TZ, Article
from notifier.models import Schedule, ScheduleKind, Subscriber
from notifier.plan import SubscriberState, digest_id, effective, plan_digests

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=CHINA_TZ)
IMMEDIATE = Schedule(ScheduleKind.IMMEDIATE, "immediate")
NAMES = {"110102": "西城区", "330402": "南湖区", "zone-jiaxinggangqu": "嘉兴港区"}


def article(seq: int, region: str, *, age: timedelta = timedelta(hours=1),
            backfill: bool = False) -> Article:
    published = NOW - age
    return Article(
        id=f"tag:zonewire,2026-11-30:article/{seq}", seq=seq, url=f"https://x.test/{seq}",
        title=f"文章 {seq}", published=published, updated=published, ingested_at=NOW,
        source="来源", zone=None, region=NAMES[region], category="文字新闻", content="正文",
        summary=None, content_hash="h", region_keys=(region,), backfill=backfill,
    )


def sub(sid: str = "alice", regions: tuple[str, ...] = ("110102", "330402"),
        max_articles: int = 30, fingerprint: str = "fp1") -> Subscriber:
    return Subscriber(id=sid, schedule=IMMEDIATE, regions=regions, email=f"{sid}@example.org",
                      max_articles=max_articles, fingerprint=fingerprint)


def state(sid: str = "alice", cursor: int = 0, **kw: object) -> SubscriberState:
    return SubscriberState(subscriber_id=sid, first_seen_seq=0, last_seq=cursor, **kw)  # type: ignore[arg-type]


def plan(subscribers, matched, states, upto=100):  # type: ignore[no-untyped-def]
    return plan_digests(subscribers, matched, states, upto_seq=upto, now=NOW,
                        notify_max_age=timedelta(days=7), region_name=NAMES.__getitem__)


def test_new_subscriber_starts_now_and_gets_nothing_old() -> None:
    result = plan([sub()], {"alice": [article(5, "110102")]}, {}, upto=5)
    assert result.digests == ()
    assert result.new_subscribers == {"alice": 5}


def test_only_articles_after_the_cursor_grouped_by_region_newest_first() -> None:
    arts = [article(3, "110102", age=timedelta(hours=5)), article(4, "330402"),
            article(5, "110102", age=timedelta(hours=2)), article(6, "110102")]
    result = plan([sub()], {"alice": arts}, {"alice": state(cursor=3)}, upto=6)
    (digest,) = result.digests
    assert [(g.name, [a.seq for a in g.articles]) for g in digest.groups] == [
        ("西城区", [6, 5]), ("南湖区", [4])]
    assert digest.more == 0
    assert result.cursors == {"alice": 6}
    assert digest.id == digest_id("alice", 3, 6)


def test_backfill_and_too_old_are_recorded_not_sent() -> None:
    arts = [article(1, "110102", backfill=True), article(2, "110102", age=timedelta(days=8)),
            article(3, "110102")]
    result = plan([sub()], {"alice": arts}, {"alice": state()}, upto=3)
    (digest,) = result.digests
    assert digest.article_seqs == (3,)
    assert result.skipped == {"alice": (1, 2)}


def test_only_skippable_articles_give_no_digest_but_move_the_cursor() -> None:
    result = plan([sub()], {"alice": [article(1, "110102", backfill=True)]},
                  {"alice": state()}, upto=1)
    assert result.digests == ()
    assert result.cursors == {"alice": 1}


def test_cap_with_and_n_more() -> None:
    arts = [article(i, "110102", age=timedelta(minutes=100 - i)) for i in range(1, 8)]
    (digest,) = plan([sub(max_articles=3)], {"alice": arts}, {"alice": state()}, upto=7).digests
    assert digest.article_seqs == (7, 6, 5)
    assert digest.more == 4


def test_same_state_same_id_for_crash_replays() -> None:
    arts = {"alice": [article(2, "110102")]}
    first = plan([sub()], arts, {"alice": state(cursor=1)}, upto=2).digests[0]
    again = plan([sub()], arts, {"alice": state(cursor=1)}, upto=2).digests[0]
    assert first.id == again.id
    later = plan([sub()], arts, {"alice": state(cursor=1)}, upto=3).digests[0]
    assert later.id != first.id


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ({"unsubscribed_all": True}, None),
        ({"unsubscribed_regions": frozenset({"110102"})}, ("330402",)),
        ({"unsubscribed_regions": frozenset({"110102", "330402"})}, None),
    ],
)
def test_unsubscribe_choice_applies_while_the_entry_is_unchanged(choice, expected) -> None:  # type: ignore[no-untyped-def]
    chosen = state(choice_fingerprint="fp1", **choice)
    kept = effective(sub(), chosen)
    assert (kept.regions if kept else None) == expected
    # The operator edited the entry: the old choice no longer applies.
    assert effective(sub(fingerprint="fp2"), chosen) == sub(fingerprint="fp2")


def test_dropped_region_filters_articles() -> None:
    chosen = state(choice_fingerprint="fp1", unsubscribed_regions=frozenset({"110102"}))
    arts = [article(1, "110102"), article(2, "330402")]
    (digest,) = plan([sub()], {"alice": arts}, {"alice": chosen}, upto=2).digests
    assert digest.article_seqs == (2,)


def test_content_key_equal_for_same_content() -> None:
    arts = [article(1, "110102")]
    result = plan([sub("a"), sub("b")], {"a": arts, "b": arts},
                  {"a": state("a"), "b": state("b")}, upto=1)
    a, b = result.digests
    assert a.content_key() == b.content_key() and a.id != b.id
