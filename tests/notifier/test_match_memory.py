"""The match index stays small per subscriber (issue 12: a fan-out in bounded memory).

A delivery pass holds the index of every subscriber; most subscribers have no words
and no categories, and their entries must not cost a set each (an empty frozenset
is 216 bytes). Measured with tracemalloc, which counts exactly what Python holds.
"""

from __future__ import annotations

import tracemalloc

from notifier.match import MatchIndex, match_articles, match_naive
from notifier.models import Keywords, Schedule, ScheduleKind, Subscriber

DAILY = Schedule(ScheduleKind.DAILY, "daily 08:00")
KEYS = ("110102", "330402", "330481", "440305", "310115", "320506")


def subscribers(n: int) -> list[Subscriber]:
    return [
        Subscriber(id=f"s{i}", schedule=DAILY, regions=(KEYS[i % 6], KEYS[(i // 6) % 6]),
                   keywords=Keywords(("芯片",)) if i % 10 == 0 else Keywords())
        for i in range(n)
    ]


def test_index_costs_well_under_a_set_per_subscriber() -> None:
    subs = subscribers(20_000)
    tracemalloc.start()
    try:
        index = MatchIndex(subs)
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    per = held / len(subs)
    print(f"match index: {per:.0f} bytes per subscriber")
    assert len(index) == 20_000
    assert per < 300, f"{per:.0f} bytes per subscriber"


def test_subscribers_with_the_same_articles_share_one_list() -> None:
    from datetime import datetime

    from feeds.models import CHINA_TZ, Article

    when = datetime(2026, 11, 30, tzinfo=CHINA_TZ)
    arts = [Article(id=f"a{i}", seq=i, url=f"https://n.example/{i}", title="芯片项目签约",
                    published=when, updated=when, ingested_at=when, source=None, zone=None,
                    region=None, category=None, content="", summary=None, content_hash="h",
                    region_keys=("110000", "110100", "110102")) for i in range(1, 4)]
    subs = subscribers(600)
    found = match_articles(MatchIndex(subs), iter(arts), batch=2)
    assert found == match_naive(subs, arts)
    takers = list(found.values())
    assert len(takers) > 100 and all(t == arts for t in takers)
    # after a second batch each list is its own (a shared list is never extended)
    assert len({id(t) for t in takers}) == len(takers)
    single = match_articles(MatchIndex(subscribers(600)), iter(arts))
    assert len({id(t) for t in single.values()}) < 10
