"""What commands print for a person: progress on a terminal (silence in a pipe,
SPEC §4), and times in one form everywhere."""

from __future__ import annotations

import sys
import time
from datetime import datetime
from typing import TextIO

from feeds.models import CHINA_TZ

_BAR_WIDTH = 24


def local_time(moment: datetime) -> str:
    """How every command shows a time: Beijing time, to the minute, with its offset."""
    return moment.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M %z")


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def bar_text(done: float, total: float, elapsed: float, unit: str = "") -> str:
    """``[#####-----]  42%  1,234/s  0:17 left``: how far, how fast, how long still.

    ``done`` and ``total`` share a unit (articles, pages, bytes of the input); the rate
    and the time left come from the average so far, which is steadier than the latest
    interval. A total of zero or less is shown as complete.
    """
    fraction = 1.0 if total <= 0 else min(max(done / total, 0.0), 1.0)
    filled = int(fraction * _BAR_WIDTH)
    bar = "#" * filled + "-" * (_BAR_WIDTH - filled)
    rate = done / elapsed if elapsed > 0 else 0.0
    rate_text = f"{rate:,.0f}{unit}/s" if rate else "…"
    if fraction >= 1.0:
        left = "done"
    elif rate > 0:
        left = f"{_duration((total - done) / rate)} left"
    else:
        left = "… left"
    return f"[{bar}] {fraction * 100:3.0f}%  {rate_text}  {left}"


class Progress:
    """A single self-overwriting status line, redrawn at most ten times a second."""

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.label = label
        self._last = 0.0
        self._shown = False
        self._started = time.monotonic()

    def update(self, text: str, *, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.1:
            return
        self._last = now
        self._shown = True
        self.stream.write(f"\r\x1b[K{self.label}: {text}")
        self.stream.flush()

    def bar(self, done: float, total: float, text: str = "", *, unit: str = "") -> None:
        """The bar with percent, rate and time left, then ``text`` (counts so far)."""
        if not self.enabled:
            return
        line = bar_text(done, total, time.monotonic() - self._started, unit)
        self.update(f"{line}  {text}" if text else line)

    def done(self) -> None:
        if self.enabled and self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
