"""Dates as Chinese portals write them, read as Beijing time."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from feeds.models import CHINA_TZ

_NUMERIC = re.compile(
    r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[\sT]*(\d{1,2})\s*[:：时]\s*(\d{1,2})(?:\s*[:：分]\s*(\d{1,2})(?:\.\d+)?)?\s*秒?)?"
    r"\s*$"
)
#: SPEC §5: no portal article predates 1990; a date before it is a typo or a default.
EARLIEST = datetime(1990, 1, 1, tzinfo=CHINA_TZ)
#: SPEC §5: a little slack for clocks and time zones, no more. A date in year 9999
#: would stay first in its feeds for good (issue 10).
FUTURE_SLACK = timedelta(days=1)

# Full-width digits appear on some portals; fold them to ASCII first.
_FULLWIDTH = str.maketrans("０１２３４５６７８９／－：", "0123456789/-:")


def parse_date(text: str) -> datetime:
    """``2022-11-07``, ``2022/11/07 09:30``, ``2022年11月7日``, ISO 8601 with offset.

    A value without an offset is Asia/Shanghai; a value without a time is midnight
    there. Raises ``ValueError`` with the text when it is none of these.
    """
    value = text.strip().translate(_FULLWIDTH)
    if not value:
        raise ValueError("empty date")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is not None:
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=CHINA_TZ)
    match = _NUMERIC.match(value)
    if match is None:
        raise ValueError(f"not a date: {text!r} (write 2022-11-07 or 2022-11-07T09:30:00+08:00)")
    y, m, d, hh, mm, ss = match.groups()
    try:
        day = date(int(y), int(m), int(d))
        clock = time(int(hh or 0), int(mm or 0), int(ss or 0))
    except ValueError as exc:
        raise ValueError(f"not a real date: {text!r} ({exc})") from exc
    return datetime.combine(day, clock, tzinfo=CHINA_TZ)


def date_problem(published: datetime, now: datetime) -> str | None:
    """Why ``published`` cannot be an article's date, or ``None`` when it can.

    The window is 1990-01-01 (Beijing time) to one day after ``now``; the caller
    passes ``now`` (the import's or poll's time), so this reads no clock. Comparing
    aware datetimes never converts them, so year 1 or 9999 cannot overflow here.
    """
    if published.tzinfo is None:
        return f"'published' {published.isoformat()} has no time zone"
    if published < EARLIEST:
        return (f"'published' {published.isoformat()} is before 1990-01-01: "
                "not a real publication date, check the date")
    if published - now > FUTURE_SLACK:
        return (f"'published' {published.isoformat()} is more than a day after now "
                f"({now.astimezone(CHINA_TZ).isoformat(timespec='seconds')}): "
                "check the date")
    return None
