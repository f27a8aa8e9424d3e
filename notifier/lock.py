"""One active worker per store (SPEC §9): a lock the operating system or the
database releases by itself when the holder dies, so a crash never leaves it stuck.

- SQLite: ``flock`` on a file beside the database;
- PostgreSQL: a session advisory lock on a connection held for the worker's life.
"""

from __future__ import annotations

import fcntl
import os
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from notifier.errors import NotifierError

#: The advisory lock key: a fixed number derived from the name, the same everywhere.
ADVISORY_KEY = zlib.crc32(b"zonewire-worker")


class WorkerBusy(NotifierError):
    """Another worker holds the store."""


class WorkerLock:
    """Exclusive right to run the worker on one store."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._file: Any = None
        self._conn: Any = None

    @property
    def where(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def try_acquire(self) -> bool:
        if self.engine.dialect.name == "sqlite":
            database = self.engine.url.database or ""
            if database in ("", ":memory:"):
                return True
            path = Path(database).with_name(Path(database).name + ".worker-lock")
            handle = path.open("a+")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                return False
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            self._file = handle
            return True
        conn = self.engine.raw_connection()
        cursor = conn.cursor()
        cursor.execute(f"SELECT pg_try_advisory_lock({ADVISORY_KEY})")
        row = cursor.fetchone()
        got = bool(row and row[0])
        conn.commit()
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

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
                    f"another zonewire worker is running on {self.where}; stop it first, "
                    "or run this one with --wait to take over when it stops"
                )
            if not told and on_wait is not None:
                on_wait()
                told = True
            if should_stop():
                raise WorkerBusy("stopped while waiting for the other worker")
            time.sleep(poll)

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
        if self._conn is not None:
            try:
                cursor = self._conn.cursor()
                cursor.execute(f"SELECT pg_advisory_unlock({ADVISORY_KEY})")
                self._conn.commit()
            finally:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> WorkerLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
