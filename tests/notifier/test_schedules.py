"""Schedules: parsing the SPEC §7 forms, and last/next slot as pure date arithmetic."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from notifier.models import ScheduleKind
from notifier.schedules import last_due, next_due, parse_schedule

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")
# Monday 30 November 2026, 09:00 in Shanghai
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=SH)


def at(day: int, hour: int, minute: int = 0, tz: ZoneInfo = SH, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=tz)


@pytest.mark.parametrize("text, kind, when, weekday, cron", [
    ("immediate", ScheduleKind.IMMEDIATE, None, None, None),
    ("hourly", ScheduleKind.HOURLY, None, None, None),
    ("daily 08:00", ScheduleKind.DAILY, time(8, 0), None, None),
    ("daily 7:05", ScheduleKind.DAILY, time(7, 5), None, None),
    ("weekly mon 09:30", ScheduleKind.WEEKLY, time(9, 30), 0, None),
    ("weekly Sun 23:59", ScheduleKind.WEEKLY, time(23, 59), 6, None),
    ('cron "0 8 * * 1-5"', ScheduleKind.CRON, None, None, "0 8 * * 1-5"),
    ("cron */15 * * * *", ScheduleKind.CRON, None, None, "*/15 * * * *"),
])
def test_parse(text: str, kind: ScheduleKind, when: time | None, weekday: int | None,
               cron: str | None):
    schedule = parse_schedule(text)
    assert (schedule.kind, schedule.at, schedule.weekday, schedule.cron) == (
        kind, when, weekday, cron)
    assert schedule.text == text


@pytest.mark.parametrize("text, fragment", [
    ("daily", "write immediate, hourly"),
    ("daily 24:00", "'24:00' is not a time"),
    ("weekly mon", "write immediate"),
    ("weekly moon 08:00", "'moon' is not a weekday"),
    ("hourly 5", "write immediate"),
    ('cron "0 8 * * 8"', "'8' is not a day of week"),
    ('cron "0 0 30 2 *"', "never fires"),
    ('cron "a b c d e"', "bad cron expression"),
])
def test_parse_rejects(text: str, fragment: str):
    with pytest.raises(ValueError, match=fragment):
        parse_schedule(text)


@pytest.mark.parametrize("text, now, last, after", [
    ("immediate", NOW, NOW, NOW),
    ("hourly", at(30, 9, 20), at(30, 9), at(30, 10)),
    ("daily 08:00", NOW, at(30, 8), at(1, 8, month=12)),
    ("daily 09:00", NOW, NOW, at(1, 9, month=12)),   # a slot at exactly now is due
    ("daily 09:30", NOW, at(29, 9, 30), at(30, 9, 30)),
    ("weekly mon 09:00", NOW, NOW, at(7, 9, month=12)),
    ("weekly fri 18:00", NOW, at(27, 18), at(4, 18, month=12)),
    ("weekly mon 10:00", NOW, at(23, 10), at(30, 10)),
    # crontab weekdays: 1-5 is Monday to Friday (APScheduler 3 alone would read Tue-Sat)
    ('cron "0 8 * * 1-5"', at(29, 12), at(27, 8), at(30, 8)),
    ('cron "0 8 * * 0"', NOW, at(29, 8), at(6, 8, month=12)),
    ('cron "0 8 * * 7"', NOW, at(29, 8), at(6, 8, month=12)),
    ('cron "0 8 * * sat,sun"', NOW, at(29, 8), at(5, 8, month=12)),
    ('cron "*/20 * * * *"', at(30, 9, 50), at(30, 9, 40), at(30, 10)),
    ('cron "0 0 1 1 *"', NOW, datetime(2026, 1, 1, tzinfo=SH), datetime(2027, 1, 1, tzinfo=SH)),
])
def test_last_and_next(text: str, now: datetime, last: datetime, after: datetime):
    schedule = parse_schedule(text)
    assert last_due(schedule, SH, now) == last
    assert next_due(schedule, SH, now) == after


def test_slots_are_in_the_subscribers_time_zone():
    schedule = parse_schedule("daily 08:00")
    # 09:00 in Shanghai is 20:00 the day before in New York (EST, UTC-5)
    assert last_due(schedule, NY, NOW) == datetime(2026, 11, 29, 8, 0, tzinfo=NY)
    assert next_due(schedule, NY, NOW) == datetime(2026, 11, 30, 8, 0, tzinfo=NY)


def test_daylight_saving_keeps_the_wall_clock_time():
    schedule = parse_schedule("daily 08:00")
    # New York leaves daylight saving on 1 November 2026
    before = last_due(schedule, NY, datetime(2026, 10, 31, 12, 0, tzinfo=NY))
    after = last_due(schedule, NY, datetime(2026, 11, 2, 12, 0, tzinfo=NY))
    assert before is not None and after is not None
    assert before.utcoffset() == timedelta(hours=-4) and before.hour == 8
    assert after.utcoffset() == timedelta(hours=-5) and after.hour == 8


def test_leap_day_cron_looks_back_years():
    schedule = parse_schedule('cron "0 0 29 2 *"')
    assert last_due(schedule, SH, NOW) == datetime(2024, 2, 29, tzinfo=SH)
    assert next_due(schedule, SH, NOW) == datetime(2028, 2, 29, tzinfo=SH)


def test_next_is_strictly_after_and_last_is_at_or_before():
    for text in ("hourly", "daily 08:00", "weekly wed 07:15", 'cron "5 */3 * * *"'):
        schedule = parse_schedule(text)
        moment = NOW
        for _ in range(20):
            following = next_due(schedule, SH, moment)
            assert following > moment
            assert last_due(schedule, SH, following) == following
            previous = last_due(schedule, SH, following - timedelta(microseconds=1))
            assert previous is not None and previous <= moment
            moment = following


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="no time zone"):
        last_due(parse_schedule("hourly"), SH, datetime(2026, 1, 1))
