"""The delivery ledger on SQLite and PostgreSQL: record before send, mark after, retry."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from feeds.models import CHINA_TZ, Article
from feeds.storage import Storage
from notifier.ledger import FAILED, PENDING, RETRYING, SENT, Ledger, Outcome, backoff
from notifier.models import Schedule, ScheduleKind, Subscriber
from notifier.plan import Plan, build_digest

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=CHINA_TZ)
RETRY = {"max_attempts": 3, "initial": timedelta(seconds=30), "maximum": timedelta(hours=1)}


def digest(sid: str, after: int, upto: int):  # type: ignore[no-untyped-def]
    sub = Subscriber(id=sid, schedule=Schedule(ScheduleKind.IMMEDIATE, "immediate"),
                     regions=("110102",), email=f"{sid}@example.com")
    art = Article(id="tag:x", seq=upto, url="u", title="t", published=NOW, updated=NOW,
                  ingested_at=NOW, source=None, zone=None, region=None, category=None,
                  content="", summary=None, content_hash="h", region_keys=("110102",))
    return build_digest(sub, [art], after_seq=after, upto_seq=upto, now=NOW,
                        region_name=lambda k: k)


def test_plan_recorded_before_sending_and_outcomes_marked(store: Storage) -> None:
    ledger = Ledger(store.ledger)
    ledger.record_plan(Plan(new_subscribers={"a": 0, "b": 0, "c": 0}), NOW)
    d_a, d_b, d_c = digest("a", 0, 5), digest("b", 0, 5), digest("c", 0, 5)
    plan = Plan(digests=(d_a, d_b, d_c), cursors={"a": 5, "b": 5, "c": 5})
    ledger.record_plan(plan, NOW)
    ledger.record_plan(plan, NOW)  # recording twice (a replay) keeps one row each
    states = ledger.states()
    assert {s: states[s].last_seq for s in "abc"} == {"a": 5, "b": 5, "c": 5}
    assert [r.status for r in ledger.outstanding(NOW)] == [PENDING] * 3
    assert ledger.get(d_a.id).article_seqs == (5,)  # type: ignore[union-attr]

    statuses = ledger.mark(
        [Outcome(d_a.id, ok=True), Outcome(d_b.id, ok=False, error="451 later"),
         Outcome(d_c.id, ok=False, error="550 no", permanent=True)],
        NOW, rng=random.Random(0), **RETRY)
    assert statuses == {d_a.id: SENT, d_b.id: RETRYING, d_c.id: FAILED}
    b = ledger.get(d_b.id)
    assert b is not None and b.next_attempt_at is not None
    assert NOW + timedelta(seconds=15) <= b.next_attempt_at <= NOW + timedelta(seconds=30)
    assert ledger.outstanding(NOW) == []  # the retry is not due yet
    assert [r.id for r in ledger.outstanding(NOW + timedelta(minutes=1))] == [d_b.id]

    # repeated temporary failures end as failed after max_attempts
    for _ in range(2):
        ledger.mark([Outcome(d_b.id, ok=False, error="451 again", retry_after=90)],
                    NOW, rng=random.Random(0), **RETRY)
    final = ledger.get(d_b.id)
    assert final is not None and (final.status, final.attempts) == (FAILED, 3)
    assert ledger.counts() == {SENT: 1, FAILED: 2}


def test_choices_and_disabling_are_stored(store: Storage) -> None:
    ledger = Ledger(store.ledger)
    ledger.set_choice("new", "fp", unsubscribed_all=False, regions=["110102"], now=NOW,
                      start_seq=7)
    state = ledger.states(["new"])["new"]
    assert state.unsubscribed_regions == {"110102"} and state.first_seen_seq == 7
    ledger.disable("new", "fp", "HTTP 410 Gone")
    assert ledger.disabled() == [("new", "HTTP 410 Gone")]


def test_backoff_grows_and_is_capped() -> None:
    rng = random.Random(3)
    waits = [backoff(n, timedelta(seconds=30), timedelta(minutes=5), rng).total_seconds()
             for n in range(1, 8)]
    assert 15 <= waits[0] <= 30 and 60 <= waits[2] <= 120
    assert all(w <= 300 for w in waits) and waits[-1] >= 150
