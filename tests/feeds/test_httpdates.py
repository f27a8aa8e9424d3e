"""HTTP dates: the one reading of ``If-Modified-Since``, ``Last-Modified`` and ``Retry-After``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feeds.httpdates import http_date, parse_http_date, retry_after

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(("value", "expected"), [
    ("Mon, 30 Nov 2026 08:00:00 GMT", NOW),
    ("  Mon, 30 Nov 2026 08:00:00 GMT  ", NOW),
    ("Mon, 30 Nov 2026 16:00:00 +0800", NOW),
    ("Mon, 30 Nov 2026 08:00:00 -0000", NOW),  # "no zone known": read as UTC
    (None, None),
    ("", None),
    ("yesterday", None),
    ("Mon, 99 Foo 2026 08:00:00 GMT", None),
])
def test_parse_http_date(value: str | None, expected: datetime | None) -> None:
    assert parse_http_date(value) == expected


def test_http_date_is_an_imf_fixdate_in_gmt_and_reads_back() -> None:
    beijing = NOW.astimezone(timezone(timedelta(hours=8)))
    assert http_date(beijing) == "Mon, 30 Nov 2026 08:00:00 GMT"
    assert parse_http_date(http_date(beijing)) == NOW


@pytest.mark.parametrize(("value", "seconds"), [
    ("120", 120.0),
    (" 7 ", 7.0),
    ("Mon, 30 Nov 2026 08:01:30 GMT", 90.0),
    ("Mon, 30 Nov 2026 07:00:00 GMT", 0.0),  # a date in the past: retry now
    ("-5", None),
    ("²", None),
    ("soon", None),
    ("", None),
    (None, None),
])
def test_retry_after_seconds_or_date(value: str | None, seconds: float | None) -> None:
    assert retry_after(value, NOW.timestamp()) == seconds


@given(st.text(max_size=80))
def test_any_header_text_reads_as_a_date_or_none_never_an_error(value: str) -> None:
    when = parse_http_date(value)
    assert when is None or when.tzinfo is not None
    wait = retry_after(value, NOW.timestamp())
    assert wait is None or wait >= 0
