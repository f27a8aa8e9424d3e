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


#: The ``unit`` of a bar counting bytes: its rate reads ``1.2 MB/s``.
BYTES = "B"


def _bytes(amount: float) -> str:
    """``950 B``, ``1.2 kB``, ``3.4 MB``, ``1.0 GB`` (SI, as file managers show)."""
    step = 0
    while amount >= 1000 and step < 3:
        amount /= 1000
        step += 1
    return f"{amount:,.0f} B" if step == 0 else f"{amount:.1f} {'kMG'[step - 1]}B"


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
    rate_text = (_bytes(rate) if unit == BYTES else f"{rate:,.0f}{unit}") + "/s" if rate else "…"
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

    def _due(self, force: bool) -> bool:
        """Whether to draw now: on a terminal, at most ten times a second."""
        if not self.enabled:
            return False
        now = time.monotonic()
        if not force and now - self._last < 0.1:
            return False
        self._last = now
        return True

    def _draw(self, text: str) -> None:
        self._shown = True
        self.stream.write(f"\r\x1b[K{self.label}: {text}")
        self.stream.flush()

    def update(self, text: str, *, force: bool = False) -> None:
        if self._due(force):
            self._draw(text)

    def bar(
        self, done: float, total: float, text: str = "", *, unit: str = "",
        force: bool = False,
    ) -> None:
        """The bar with percent, rate and time left, then ``text`` (counts so far).

        Cheap when nothing is drawn (a pipe, or drawn less than 0.1 s ago), so a
        command may call it for every line or page it handles."""
        if not self._due(force):
            return
        line = bar_text(done, total, time.monotonic() - self._started, unit)
        self._draw(f"{line}  {text}" if text else line)

    def count(self, done: float, total: float | None, text: str = "", *,
              unit: str = "", force: bool = False) -> None:
        """:meth:`bar` when the total is known, else ``text`` alone (a counter)."""
        if total is None:
            self.update(text, force=force)
        else:
            self.bar(done, total, text, unit=unit, force=force)

    def restart(self) -> None:
        """Measure rate and time left from now (the next of several sources)."""
        self._started = time.monotonic()

    def done(self) -> None:
        if self.enabled and self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
