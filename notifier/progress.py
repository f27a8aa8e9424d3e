"""What commands print for a person: progress lines on a terminal (silence in a
pipe, SPEC §4), and times in one form everywhere."""

from __future__ import annotations

import sys
import time
from datetime import datetime
from typing import TextIO

from feeds.models import CHINA_TZ


def local_time(moment: datetime) -> str:
    """How every command shows a time: Beijing time, to the minute, with its offset."""
    return moment.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M %z")


class Progress:
    """A single self-overwriting status line, redrawn at most ten times a second."""

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.label = label
        self._last = 0.0
        self._shown = False

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

    def done(self) -> None:
        if self.enabled and self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
