"""Channels kept open across the delivery jobs of one worker process.

A delivery job sends one batch (``delivery.batch`` subscribers, 100 by default);
opening an SMTP session per job and quitting it at the end cost more than sending
the batch did. A worker keeps one channel per name and transport settings for as
long as it runs, sized for every job it may run at once
(``delivery.concurrency`` x the worker's job concurrency), and opens a new one when
the operator changes the transport (a new fingerprint); the old one is closed once
no job uses it. A channel nobody used for :data:`IDLE` is closed before its next use
rather than trusted: mail servers drop quiet sessions.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from notifier.channels.base import Channel
from notifier.channels.factory import build_channels, transport_fingerprint
from notifier.config import Settings

#: A channel unused this long is reopened before its next use (seconds).
IDLE = 20.0


@dataclass
class _Kept:
    channel: Channel
    users: int = 0
    last_used: float = field(default_factory=time.monotonic)


class ChannelCache:
    """One per worker process; :meth:`lease` per job, :meth:`aclose` at the end."""

    def __init__(self, jobs_at_once: int) -> None:
        self.jobs_at_once = max(jobs_at_once, 1)
        self._kept: dict[tuple[str, str], _Kept] = {}
        self._retired: list[_Kept] = []
        #: Channels opened so far (tests check that jobs share them).
        self.opened = 0

    def lease(self, settings: Settings) -> ChannelLease:
        return ChannelLease(self, settings)

    def _get(self, name: str, settings: Settings) -> _Kept | None:
        key = (name, transport_fingerprint(settings, name) + f"/{settings.delivery.concurrency}")
        kept = self._kept.get(key)
        if kept is not None and kept.users == 0 and time.monotonic() - kept.last_used > IDLE:
            del self._kept[key]
            self._retired.append(kept)
            kept = None
        if kept is None:
            for old_key in [k for k in self._kept if k[0] == name]:
                self._retired.append(self._kept.pop(old_key))  # settings changed
            wide = settings.delivery.model_copy(
                update={"concurrency": settings.delivery.concurrency * self.jobs_at_once}
            )
            built = build_channels(settings.model_copy(update={"delivery": wide}), {name})
            if name not in built:
                return None
            kept = self._kept[key] = _Kept(built[name])
            self.opened += 1
        kept.users += 1
        return kept

    async def _put(self, kept: _Kept) -> None:
        kept.users -= 1
        kept.last_used = time.monotonic()
        await self._close_retired()

    async def _close_retired(self) -> None:
        idle = [k for k in self._retired if k.users == 0]
        self._retired = [k for k in self._retired if k.users > 0]
        for kept in idle:
            await kept.channel.aclose()

    async def aclose(self) -> None:
        """Close every channel (the worker is stopping)."""
        self._retired += self._kept.values()
        self._kept.clear()
        for kept in self._retired:
            kept.users = 0
        await self._close_retired()


class ChannelLease:
    """The channels one job uses: ``open_channel`` for :class:`~notifier.fanout.FanOut`,
    then :meth:`release` (never closes a channel another job is using)."""

    def __init__(self, cache: ChannelCache, settings: Settings) -> None:
        self._cache = cache
        self._settings = settings
        self._held: dict[str, _Kept | None] = {}
        self._lock = asyncio.Lock()

    def open_channel(self, name: str) -> Channel | None:
        if name not in self._held:
            self._held[name] = self._cache._get(name, self._settings)
        kept = self._held[name]
        return kept.channel if kept is not None else None

    async def release(self) -> None:
        async with self._lock:
            held, self._held = self._held, {}
            for kept in held.values():
                if kept is not None:
                    await self._cache._put(kept)
