"""Storage of the worker lock: one active worker per store (SPEC §9), held in a
way the operating system or the database releases by itself when the holder dies.

- SQLite: ``flock`` on a file beside the database's real path (a symlink to the same
  file finds the same lock); the file holds the holder's PID and host.
- PostgreSQL: a session advisory lock on a connection of its own (never a pooled
  one), named after the holder (``application_name``) so another worker can say who.
"""

from __future__ import annotations

import fcntl
import os
import socket
import threading
import zlib
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from feeds.storage import advisory

#: The advisory lock key: a fixed number derived from the name, the same everywhere.
ADVISORY_KEY = zlib.crc32(b"zonewire-worker")

_HOLDER = sa.text(
    "SELECT a.pid, host(a.client_addr) AS addr, a.application_name FROM pg_locks l "
    "JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.classid = 0 AND l.objid::bigint = :key "
    "AND l.objsubid = 1 AND l.granted "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def _me() -> str:
    return f"pid {os.getpid()} on {socket.gethostname()}"


class SqlWorkerLock:
    """:class:`~feeds.storage.protocols.WorkerLockStore`: a flock file beside
    SQLite, a session advisory lock on a connection of its own on PostgreSQL."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._file: Any = None
        self._conn: Any = None
        self._mutex = threading.Lock()

    @property
    def where(self) -> str:
        return self._engine.url.render_as_string(hide_password=True)

    @property
    def path(self) -> Path | None:
        """SQLite: the lock file, beside the database's real path (symlinks resolved)."""
        if self._engine.dialect.name != "sqlite":
            return None
        database = self._engine.url.database or ""
        if database in ("", ":memory:"):
            return None
        real = Path(os.path.realpath(database))
        return real.with_name(real.name + ".worker-lock")

    # -- taking and giving back ---------------------------------------------------

    def try_acquire(self) -> bool:
        if self._engine.dialect.name == "sqlite":
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
        cargs, cparams = self._engine.dialect.create_connect_args(self._engine.url)
        cparams = {**cparams, "application_name": f"zonewire worker {_me()}"[:63]}
        cparams.setdefault("connect_timeout", 10)
        conn = self._engine.dialect.connect(*cargs, **cparams)
        conn.autocommit = True
        if not advisory.try_lock(conn, ADVISORY_KEY):
            return False
        self._conn = conn
        return True

    def holder(self) -> str:
        """Who holds the lock, as well as can be told ("" when unknown)."""
        try:
            if self._engine.dialect.name == "sqlite":
                path = self.path
                text = path.read_text(encoding="utf-8").strip() if path else ""
                return text.splitlines()[0] if text else ""
            with self._engine.connect() as conn:
                row = conn.execute(_HOLDER, {"key": ADVISORY_KEY}).first()
        except (OSError, sa.exc.SQLAlchemyError):
            return ""
        if row is None:
            return ""
        name = str(row.application_name or "")
        who = name.removeprefix("zonewire worker ") if name.startswith("zonewire") else ""
        session = f"database session {row.pid} from {row.addr or 'a local socket'}"
        return f"{who} ({session})" if who else session

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
                return advisory.lost(self._conn, ADVISORY_KEY)
            return None

    def release(self) -> None:
        with self._mutex:
            if self._file is not None:
                fcntl.flock(self._file, fcntl.LOCK_UN)
                self._file.close()
                self._file = None
            if self._conn is not None:
                advisory.unlock(self._conn, ADVISORY_KEY)
                self._conn.close()
                self._conn = None
