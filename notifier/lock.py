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
import fcntl
import logging
import os
import socket
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from notifier.errors import NotifierError

log = logging.getLogger(__name__)

#: The advisory lock key: a fixed number derived from the name, the same everywhere.
ADVISORY_KEY = zlib.crc32(b"zonewire-worker")
#: How often a running worker makes sure it still holds the lock.
CHECK_EVERY = 5.0

_HELD = (
    "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = 0 "
    "AND objid::bigint = %s AND objsubid = 1 AND granted AND pid = pg_backend_pid()"
)
_HOLDER = sa.text(
    "SELECT a.pid, host(a.client_addr) AS addr, a.application_name FROM pg_locks l "
    "JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.classid = 0 AND l.objid::bigint = :key "
    "AND l.objsubid = 1 AND l.granted "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


class WorkerBusy(NotifierError):
    """Another worker holds the store."""


class WorkerLost(NotifierError):
    """This worker no longer holds the store's lock: it must stop sending."""


def _me() -> str:
    return f"pid {os.getpid()} on {socket.gethostname()}"


class WorkerLock:
    """Exclusive right to run the worker on one store."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._file: Any = None
        self._conn: Any = None
        self._mutex = threading.Lock()

    @property
    def where(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def path(self) -> Path | None:
        """SQLite: the lock file, beside the database's real path (symlinks resolved)."""
        if self.engine.dialect.name != "sqlite":
            return None
        database = self.engine.url.database or ""
        if database in ("", ":memory:"):
            return None
        real = Path(os.path.realpath(database))
        return real.with_name(real.name + ".worker-lock")

    # -- taking and giving back ---------------------------------------------------

    def try_acquire(self) -> bool:
        if self.engine.dialect.name == "sqlite":
            return self._try_file()
        return self._try_advisory()

    def _try_file(self) -> bool:
        path = self.path
        if path is None:
            return True
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        if not self._same_file(handle, path):  # removed while we waited: try again
            handle.close()
            return self._try_file()
        handle.seek(0)
        handle.truncate()
        handle.write(f"{_me()}\n")
        handle.flush()
        self._file = handle
        return True

    @staticmethod
    def _same_file(handle: Any, path: Path) -> bool:
        try:
            on_disk = os.stat(path)
        except FileNotFoundError:
            return False
        mine = os.fstat(handle.fileno())
        return (mine.st_dev, mine.st_ino) == (on_disk.st_dev, on_disk.st_ino)

    def _try_advisory(self) -> bool:
        # A connection of its own: a pooled one could be handed to other work, closed
        # by the pool, or recycled, and the lock would go with it unnoticed.
        cargs, cparams = self.engine.dialect.create_connect_args(self.engine.url)
        cparams = {**cparams, "application_name": f"zonewire worker {_me()}"[:63]}
        cparams.setdefault("connect_timeout", 10)
        conn = self.engine.dialect.connect(*cargs, **cparams)
        conn.autocommit = True
        try:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (ADVISORY_KEY,)).fetchone()
        except Exception:
            conn.close()
            raise
        if not (row and row[0]):
            conn.close()
            return False
        self._conn = conn
        return True

    def holder(self) -> str:
        """Who holds the lock, as well as can be told ("" when unknown)."""
        try:
            if self.engine.dialect.name == "sqlite":
                path = self.path
                text = path.read_text(encoding="utf-8").strip() if path else ""
                return text.splitlines()[0] if text else ""
            with self.engine.connect() as conn:
                row = conn.execute(_HOLDER, {"key": ADVISORY_KEY}).first()
        except (OSError, sa.exc.SQLAlchemyError):
            return ""
        if row is None:
            return ""
        name = str(row.application_name or "")
        who = name.removeprefix("zonewire worker ") if name.startswith("zonewire") else ""
        session = f"database session {row.pid} from {row.addr or 'a local socket'}"
        return f"{who} ({session})" if who else session

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
        with self._mutex:
            if self._file is not None:
                path = self.path
                assert path is not None
                if not self._same_file(self._file, path):
                    return f"the lock file {path} was removed or replaced"
                return None
            if self._conn is not None:
                try:
                    row = self._conn.execute(_HELD, (ADVISORY_KEY,)).fetchone()
                except Exception as exc:  # noqa: BLE001 - any failure means: not held
                    return f"its database connection failed: {type(exc).__name__}: {exc}"
                return None if row else "the database no longer shows it as held"
            return None

    def ensure(self) -> None:
        """Raise :class:`WorkerLost` when the lock is not ours any more."""
        reason = self.check()
        if reason is not None:
            raise WorkerLost(
                f"lost the worker lock on {self.where}: {reason}; sending stops here so "
                "that no other worker's digests are doubled"
            )

    def release(self) -> None:
        with self._mutex:
            if self._file is not None:
                fcntl.flock(self._file, fcntl.LOCK_UN)
                self._file.close()
                self._file = None
            if self._conn is not None:
                try:
                    self._conn.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_KEY,))
                except Exception:  # noqa: BLE001 - a dead session released it already
                    pass
                finally:
                    self._conn.close()
                    self._conn = None

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
