"""When digests are due: parsing SPEC §7 schedules and pure date arithmetic.

``last_due`` and ``next_due`` take the clock as a parameter, like APScheduler's
triggers, so the digest planner, the worker and the tests share one definition.
Slots are computed in the subscriber's time zone (``zoneinfo``); cron expressions
use APScheduler 3's :class:`CronTrigger`, whose ``get_next_fire_time`` reads no
clock either.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta, tzinfo
from functools import lru_cache

from notifier.models import Schedule, ScheduleKind

FORMS = 'immediate, hourly, daily HH:MM, weekly mon HH:MM or cron "m h dom mon dow"'

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES = {
    **{d: i for i, d in enumerate(_DAYS)},
    "monday": 0,
    "tuesday": 1,
    "wednesday": 2,
    "thursday": 3,
    "friday": 4,
    "saturday": 5,
    "sunday": 6,
    "周一": 0,
    "周二": 1,
    "周三": 2,
    "周四": 3,
    "周五": 4,
    "周六": 5,
    "周日": 6,
    "周天": 6,
}
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_CRONTAB_DOW = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # crontab: 0 and 7 are Sunday


def _at(text: str, whole: str) -> time:
    match = _TIME.match(text)
    if not match:
        raise ValueError(f"bad schedule '{whole}': '{text}' is not a time HH:MM (00:00 to 23:59)")
    return time(int(match.group(1)), int(match.group(2)))


def parse_schedule(text: str) -> Schedule:
    """``daily 08:00`` -> :class:`Schedule`; raises ``ValueError`` naming the forms."""
    whole = " ".join(str(text).split())
    words = whole.split(" ", 1)
    head = words[0].lower() if words else ""
    rest = words[1] if len(words) > 1 else ""
    if head in ("immediate", "hourly") and not rest:
        return Schedule(ScheduleKind(head), whole)
    if head == "daily" and rest:
        return Schedule(ScheduleKind.DAILY, whole, at=_at(rest, whole))
    if head == "weekly" and rest:
        parts = rest.split(" ")
        if len(parts) == 2:
            day = _DAY_NAMES.get(parts[0].lower())
            if day is None:
                raise ValueError(
                    f"bad schedule '{whole}': '{parts[0]}' is not a weekday (mon, tue, wed, "
                    "thu, fri, sat, sun)"
                )
            return Schedule(ScheduleKind.WEEKLY, whole, at=_at(parts[1], whole), weekday=day)
    if head == "cron" and rest:
        expr = rest.strip()
        if len(expr) >= 2 and expr[0] == expr[-1] and expr[0] in "\"'":
            expr = expr[1:-1].strip()
        expr = " ".join(expr.split())
        try:
            trigger = cron_trigger(expr, "UTC")
        except ValueError as exc:
            raise ValueError(f"bad cron expression '{expr}': {exc}") from None
        reference = datetime(2000, 1, 1, tzinfo=trigger.timezone)
        if trigger.get_next_fire_time(None, reference) is None:
            raise ValueError(f"cron expression '{expr}' never fires (check day and month)")
        return Schedule(ScheduleKind.CRON, whole, cron=expr)
    raise ValueError(f"bad schedule '{whole}' — write {FORMS}")


def _crontab_days(field: str) -> str:
    """Translate a crontab day-of-week field to APScheduler's day names.

    APScheduler 3 numbers weekdays from Monday = 0 while crontab has Sunday = 0
    (APScheduler issue 286), so ``1-5`` would silently mean Tuesday to Saturday.
    Numbers are turned into names here, giving the crontab meaning.
    """
    if field == "*":
        return field
    days: set[int] = set()
    for item in field.lower().split(","):
        body, _, step_text = item.partition("/")
        step = int(step_text) if step_text.isdigit() else None
        if step_text and step is None or step == 0:
            raise ValueError(f"bad step in day of week '{item}'")
        if body == "*":
            low, high = 0, 6
        else:
            first, _, last = body.partition("-")
            low = _crontab_day(first)
            high = _crontab_day(last) if last else (6 if step else low)
            if last and high == 0 and last.strip() in ("7", "sun"):
                high = 7
        if high < low:
            raise ValueError(f"bad range in day of week '{item}'")
        days.update(d % 7 for d in range(low, high + 1, step or 1))
    if len(days) == 7:
        return "*"
    # Names in Monday-first order: APScheduler compares them by its own numbers.
    return ",".join(_DAYS[(d - 1) % 7] for d in sorted(days, key=lambda d: (d - 1) % 7))


def _crontab_day(text: str) -> int:
    text = text.strip()
    if text.isdigit() and 0 <= int(text) <= 7:
        return int(text)
    if text in _CRONTAB_DOW:
        return _CRONTAB_DOW.index(text)
    raise ValueError(f"'{text}' is not a day of week (0-7 or sun-sat)")


@lru_cache(maxsize=1024)
def cron_trigger(expr: str, tz: tzinfo | str):  # type: ignore[no-untyped-def]
    """An APScheduler 3 ``CronTrigger`` with crontab semantics for weekdays."""
    from apscheduler.triggers.cron import CronTrigger

    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(
            f"a cron expression has 5 fields (minute hour day month weekday), not {len(fields)}"
        )
    minute, hour, day, month, dow = fields
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=_crontab_days(dow),
        timezone=tz,
    )


def _check(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment!r} has no time zone; pass an aware datetime")


def _local(day: datetime, at: time, tz: tzinfo) -> datetime:
    return datetime.combine(day.date(), at, tzinfo=tz)


def last_due(schedule: Schedule, tz: tzinfo, now: datetime) -> datetime | None:
    """The most recent slot at or before ``now``, in ``tz``.

    ``immediate`` is due at every cycle, so its last slot is ``now`` itself. ``None``
    means the schedule has not fired in the last eight years (a cron for 29 February
    of a year far away, say).
    """
    _check(now)
    local = now.astimezone(tz)
    kind = schedule.kind
    if kind is ScheduleKind.IMMEDIATE:
        return local
    if kind is ScheduleKind.HOURLY:
        return local.replace(minute=0, second=0, microsecond=0)
    if kind is ScheduleKind.DAILY:
        assert schedule.at is not None
        slot = _local(local, schedule.at, tz)
        return slot if slot <= local else _local(local - timedelta(days=1), schedule.at, tz)
    if kind is ScheduleKind.WEEKLY:
        assert schedule.at is not None and schedule.weekday is not None
        back = (local.weekday() - schedule.weekday) % 7
        slot = _local(local - timedelta(days=back), schedule.at, tz)
        return slot if slot <= local else _local(local - timedelta(days=back + 7), schedule.at, tz)
    assert schedule.cron is not None
    trigger = cron_trigger(schedule.cron, tz)
    # CronTrigger only looks forward: search windows that grow until one holds a slot.
    for window in (
        timedelta(hours=1),
        timedelta(days=1),
        timedelta(days=8),
        timedelta(days=32),
        timedelta(days=367),
        timedelta(days=8 * 366),
    ):
        found: datetime | None = None
        fire = trigger.get_next_fire_time(None, local - window)
        while fire is not None and fire <= local:
            found = fire
            fire = trigger.get_next_fire_time(fire, fire)
        if found is not None:
            return found
    return None


def next_due(schedule: Schedule, tz: tzinfo, after: datetime) -> datetime:
    """The first slot strictly after ``after``, in ``tz``.

    For ``immediate`` that is ``after`` itself: it is due at every cycle.
    """
    _check(after)
    local = after.astimezone(tz)
    kind = schedule.kind
    if kind is ScheduleKind.IMMEDIATE:
        return local
    if kind is ScheduleKind.HOURLY:
        return local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    if kind is ScheduleKind.DAILY:
        assert schedule.at is not None
        slot = _local(local, schedule.at, tz)
        return slot if slot > local else _local(local + timedelta(days=1), schedule.at, tz)
    if kind is ScheduleKind.WEEKLY:
        assert schedule.at is not None and schedule.weekday is not None
        ahead = (schedule.weekday - local.weekday()) % 7
        slot = _local(local + timedelta(days=ahead), schedule.at, tz)
        return slot if slot > local else _local(local + timedelta(days=ahead + 7), schedule.at, tz)
    assert schedule.cron is not None
    trigger = cron_trigger(schedule.cron, tz)
    fire = trigger.get_next_fire_time(None, local + timedelta(microseconds=1))
    if fire is None:
        raise ValueError(f"cron expression '{schedule.cron}' never fires again")
    return fire  # type: ignore[no-any-return]
