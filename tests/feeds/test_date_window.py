"""SPEC §5's date window: a pure check with a fixed ``now``, no clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from feeds.dates import date_problem
from feeds.models import CHINA_TZ

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=CHINA_TZ)


@pytest.mark.parametrize(
    ("published", "says"),
    [
        (datetime(1989, 12, 31, 23, 59, tzinfo=CHINA_TZ), "before 1990-01-01"),
        (datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=8))), "before 1990-01-01"),
        (datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-8))), "more than a day"),
        (datetime(9999, 1, 1, tzinfo=CHINA_TZ), "more than a day"),
        (NOW + timedelta(days=2), "more than a day"),
        (NOW + timedelta(days=1, seconds=1), "more than a day"),
        (datetime(2022, 11, 7), "no time zone"),
    ],
)
def test_dates_outside_the_window_are_refused_with_the_date(
    published: datetime, says: str
) -> None:
    problem = date_problem(published, NOW)
    assert problem is not None
    assert says in problem
    assert published.isoformat() in problem  # the operator sees which date


@pytest.mark.parametrize(
    "published",
    [
        NOW,
        NOW.astimezone(UTC),
        NOW - timedelta(days=3650),
        NOW + timedelta(hours=23),  # a portal a few hours ahead of us
        NOW + timedelta(days=1),
        datetime(1990, 1, 1, tzinfo=CHINA_TZ),
    ],
)
def test_dates_inside_the_window_pass(published: datetime) -> None:
    assert date_problem(published, NOW) is None
