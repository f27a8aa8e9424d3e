"""Progress on a terminal: a bar with percent, rate and time left; nothing in a pipe."""

from __future__ import annotations

import io

from hypothesis import given
from hypothesis import strategies as st

from notifier.progress import BYTES, Progress, bar_text


def test_bar_shows_percent_rate_and_time_left() -> None:
    text = bar_text(250, 1000, elapsed=5.0, unit=" articles")
    assert "25%" in text
    assert "50 articles/s" in text
    assert "0:15 left" in text  # 750 more at 50/s


def test_complete_bar_says_done() -> None:
    assert bar_text(10, 10, elapsed=2.0).endswith("done")
    assert "100%" in bar_text(10, 10, elapsed=2.0)


def test_long_remaining_time_shows_hours() -> None:
    assert "2:46:39 left" in bar_text(1, 10_000, elapsed=1.0)


@given(done=st.floats(-1e9, 1e9), total=st.floats(-1e9, 1e9), elapsed=st.floats(0, 1e6))
def test_bar_never_fails_and_keeps_its_width(done: float, total: float, elapsed: float) -> None:
    text = bar_text(done, total, elapsed)
    assert text.startswith("[") and text.index("]") == 25
    assert "%" in text


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bar_is_drawn_on_a_terminal_and_silent_in_a_pipe() -> None:
    tty, pipe = _Tty(), io.StringIO()
    for stream in (tty, pipe):
        progress = Progress("importing x.jsonl", stream)
        progress.bar(5, 10, "5 articles")
        progress.done()
    assert "importing x.jsonl: [" in tty.getvalue() and "50%" in tty.getvalue()
    assert pipe.getvalue() == ""


def test_a_bar_of_bytes_shows_its_rate_in_bytes() -> None:
    assert "2.5 MB/s" in bar_text(5_000_000, 20_000_000, elapsed=2.0, unit=BYTES)
    assert "250 B/s" in bar_text(500, 2_000, elapsed=2.0, unit=BYTES)
    assert "0:06 left" in bar_text(5_000_000, 20_000_000, elapsed=2.0, unit=BYTES)


def test_count_without_a_total_is_a_counter_not_a_bar() -> None:
    tty = _Tty()
    progress = Progress("importing stdin", tty)
    progress.count(1234, None, "12 articles")
    assert tty.getvalue() == "\r\x1b[Kimporting stdin: 12 articles"
    progress.count(50, 100, "24 articles", force=True)
    assert "50%" in tty.getvalue().rsplit("\r", 1)[1]


def test_drawing_is_throttled_but_forced_draws_always_show() -> None:
    tty = _Tty()
    progress = Progress("building feeds", tty)
    for done in range(1, 1001):
        progress.bar(done, 1000, f"{done}/1000", force=done == 1000)
    drawn = tty.getvalue().split("\r\x1b[K")[1:]
    assert 2 <= len(drawn) < 100, len(drawn)  # not once per call
    assert "100%" in drawn[-1] and "1000/1000" in drawn[-1]
