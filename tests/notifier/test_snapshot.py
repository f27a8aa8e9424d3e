"""A subscriber survives the trip through its snapshot unchanged (notifier.snapshot),
and anything that is not a snapshot of this release is refused, not guessed at."""

from __future__ import annotations

import json
from datetime import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifier.models import Keywords, Schedule, ScheduleKind, Subscriber, WebhookTarget
from notifier.snapshot import SnapshotError, dumps, from_dict, loads, to_dict

texts = st.text(max_size=30)
names = st.lists(texts, max_size=5).map(tuple)

schedules = st.one_of(
    st.builds(Schedule, kind=st.sampled_from([ScheduleKind.IMMEDIATE, ScheduleKind.HOURLY]),
              text=texts),
    st.builds(Schedule, kind=st.just(ScheduleKind.DAILY), text=texts, at=st.times()),
    st.builds(Schedule, kind=st.just(ScheduleKind.WEEKLY), text=texts, at=st.times(),
              weekday=st.integers(0, 6)),
    st.builds(Schedule, kind=st.just(ScheduleKind.CRON), text=texts, cron=texts),
)

subscribers = st.builds(
    Subscriber,
    id=texts,
    schedule=schedules,
    regions=names,
    email=st.none() | texts,
    webhook=st.none() | st.builds(WebhookTarget, url=texts, format=texts,
                                  secret=st.none() | texts),
    keywords=st.builds(Keywords, include=names, exclude=names),
    categories=names,
    timezone=texts,
    language=texts,
    max_articles=st.integers(-(2**40), 2**40),
    name=st.none() | texts,
    fingerprint=texts,
)


@given(subscribers)
def test_every_subscriber_comes_back_equal(subscriber: Subscriber) -> None:
    assert from_dict(to_dict(subscriber)) == subscriber
    assert loads(dumps(subscriber)) == subscriber
    # The dict is plain JSON: what the ledger stores (sealed) is these bytes.
    assert from_dict(json.loads(json.dumps(to_dict(subscriber)))) == subscriber


@given(subscribers, subscribers)
def test_equal_subscribers_give_equal_bytes(a: Subscriber, b: Subscriber) -> None:
    assert (dumps(a) == dumps(b)) == (a == b)


def test_a_real_entry() -> None:
    alice = Subscriber(
        id="alice", schedule=Schedule(ScheduleKind.DAILY, "daily 08:00", at=time(8, 0)),
        regions=("110102", "zone-jiaxing-port"), email="alice@example.com",
        webhook=WebhookTarget("https://example.org/hook", "json", "whsec_abc"),
        keywords=Keywords(("新能源",), ("招聘",)), categories=("招商",),
        name="Alice", fingerprint="0123456789abcdef",
    )
    data = to_dict(alice)
    assert data["schedule"] == {"kind": "daily", "text": "daily 08:00", "at": "08:00:00",
                                "weekday": None, "cron": None}
    assert loads(dumps(alice)) == alice
    assert "新能源".encode() in dumps(alice)  # compact UTF-8, not \\u escapes


@pytest.mark.parametrize("broken", [
    b"", b"[]", b"{}", b"not json", b"\xff\xfe",
    json.dumps({"v": 2, "id": "x"}).encode(),
])
def test_anything_else_is_refused(broken: bytes) -> None:
    with pytest.raises(SnapshotError):
        loads(broken)


PLAIN = to_dict(Subscriber("x", Schedule(ScheduleKind.IMMEDIATE, "immediate"), ()))


@given(st.dictionaries(
    st.sampled_from(sorted(PLAIN)),
    st.none() | st.booleans() | st.integers() | texts | st.lists(st.integers())
    | st.dictionaries(texts, texts),
))
def test_a_damaged_snapshot_is_refused_with_snapshot_error(changes: dict[str, object]) -> None:
    try:
        from_dict({**PLAIN, **changes})
    except SnapshotError:
        pass  # the only error it may raise
