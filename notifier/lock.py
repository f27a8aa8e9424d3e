"""One active worker per store (SPEC §9): a lock the operating system or the
database releases by itself when the holder dies, so a crash never leaves it stuck.

- SQLite: ``flock`` on a file beside the database's real path (a symlink to the same
  file finds the same lock); the file holds the holder's PID and host.
- PostgreSQL: a session advisory lock on a connection of its own (never a pooled
  one), named after the holder (``application_name``) so another worker can say who.

The lock is not the only guard against double sends (the ledger's claims are), but
a worker that loses it stops sending: :meth:`WorkerLock.check` is called before each
fan-out and every :data:`CHECK_EVERY` by :func:`watch`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path

from feeds.storage.locks import ADVISORY_KEY
from feeds.storage.protocols import WorkerLockStore
from notifier.errors import NotifierError

log = logging.getLogger(__name__)

__all__ = ["ADVISORY_KEY", "CHECK_EVERY", "WorkerBusy", "WorkerLock", "WorkerLost", "watch"]

#: How often a running worker makes sure it still holds the lock.
CHECK_EVERY = 5.0


class WorkerBusy(NotifierError):
    """Another worker holds the store."""


class WorkerLost(NotifierError):
    """This worker no longer holds the store's lock: it must stop sending."""


class WorkerLock:
    """Exclusive right to run the worker on one store, over a
    :class:`~feeds.storage.protocols.WorkerLockStore` (the storage holds the lock;
    this class says what waiting, refusing and losing it mean)."""

    def __init__(self, store: WorkerLockStore) -> None:
        self.store = store

    @property
    def where(self) -> str:
        return self.store.where

    @property
    def path(self) -> Path | None:
        """SQLite: the lock file, beside the database's real path (symlinks resolved)."""
        return self.store.path

    def try_acquire(self) -> bool:
        return self.store.try_acquire()

    def holder(self) -> str:
        """Who holds the lock, as well as can be told ("" when unknown)."""
        return self.store.holder()

    def acquire(
        self,
        *,
        wait: bool,
        poll: float = 2.0,
        on_wait: Callable[[], None] | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        """Take the lock, waiting for it if ``wait``; :class:`WorkerBusy` otherwise."""
        told = False
        while not self.try_acquire():
            if not wait:
                raise WorkerBusy(
                    f"another zonewire worker is running on {self.where}{self.held_by()}; "
                    "stop it first, or run this one with --wait to take over when it stops"
                )
            if not told and on_wait is not None:
                on_wait()
                told = True
            if should_stop():
                raise WorkerBusy("stopped while waiting for the other worker")
            time.sleep(poll)

    def held_by(self) -> str:
        """`` (pid N on HOST)`` for messages, or nothing when the holder is unknown."""
        who = self.holder()
        return f" ({who})" if who else ""

    # -- still ours? ------------------------------------------------------------

    def check(self) -> str | None:
        """``None`` while the lock is ours; otherwise why it is not (blocking)."""
        return self.store.check()

    def ensure(self) -> None:
        """Raise :class:`WorkerLost` when the lock is not ours any more."""
        reason = self.check()
        if reason is not None:
            raise WorkerLost(
                f"lost the worker lock on {self.where}: {reason}; sending stops here so "
                "that no other worker's digests are doubled"
            )

    def release(self) -> None:
        self.store.release()

    def __enter__(self) -> WorkerLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


async def watch(
    lock: WorkerLock, stopping: asyncio.Event, on_lost: Callable[[str], None],
    every: float | None = None,
) -> None:
    """Check the lock every ``every`` seconds until ``stopping``; on loss, call
    ``on_lost(reason)`` (which stops the worker) and return."""
    interval = CHECK_EVERY if every is None else every
    while not stopping.is_set():
        try:
            await asyncio.wait_for(stopping.wait(), timeout=interval)
            return
        except TimeoutError:
            pass
        reason = await asyncio.to_thread(lock.check)
        if reason is not None:
            on_lost(reason)
            return
