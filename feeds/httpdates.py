"""HTTP dates (RFC 9110 §5.6.7) read and written in one place.

The crawler honours ``Retry-After``, the webhook channel too; the feed server and
the sample portal answer ``If-Modified-Since`` and send ``Last-Modified``. Each
used to parse the header on its own; this is the one reading (naive dates are
UTC, unreadable ones are ``None``, never an exception). Pure: ``now`` is passed in.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime


def parse_http_date(value: str | None) -> datetime | None:
    """An aware datetime from an HTTP date header, or ``None`` if absent or unreadable."""
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def http_date(when: datetime) -> str:
    """``when`` as an IMF-fixdate (``Sun, 06 Nov 1994 08:49:37 GMT``)."""
    return format_datetime(when.astimezone(UTC), usegmt=True)


def retry_after(value: str | None, now: float) -> float | None:
    """``Retry-After`` as seconds from ``now`` (a Unix time): a number of seconds or an
    HTTP date (RFC 9110 §10.2.3); ``None`` when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # "²" and "٣" are digits to str, not to float
        return float(value)
    when = parse_http_date(value)
    return None if when is None else max(0.0, when.timestamp() - now)
