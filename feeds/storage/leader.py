"""Storage of the scheduler lead (distributed mode, SPEC §11): a session advisory
lock on a PostgreSQL connection of its own, checked, with bounded waits.

The lock goes with its session: when the leader's connection drops (a network cut,
``pg_terminate_backend``, a killed process) PostgreSQL releases it at once and a
standby's next try takes it. The leader learns it lost the lead at its next
:meth:`SqlLeaderLock.check`, which fails fast because every statement on the
connection has a timeout and TCP keepalives are short.
"""

from __future__ import annotations

import os
import socket
import threading
import zlib
from typing import Any

import psycopg

from feeds.storage import advisory

#: Its own key: a scheduler's lead and the embedded worker lock never collide.
LEADER_KEY = zlib.crc32(b"zonewire-scheduler")
_PREFIX = "zonewire scheduler "

_HOLDER = (
    "SELECT a.pid, a.application_name FROM pg_locks l "
    "JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.classid = 0 AND l.objid::bigint = %s "
    "AND l.objsubid = 1 AND l.granted "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL (``postgresql+psycopg://``) as libpq reads it."""
    scheme, sep, rest = url.partition("://")
    return "postgresql://" + rest if sep and scheme.startswith("postgres") else url


class SqlLeaderLock:
    """One leader among the schedulers of one database."""

    def __init__(self, url: str, *, timeout: float = 30.0, name: str | None = None) -> None:
        self.url = libpq_url(url)
        #: Every wait on the lock's connection is bounded by a third of this.
        self.timeout = timeout
        self.name = name or f"pid {os.getpid()} on {socket.gethostname()}"
        self._conn: psycopg.Connection[Any] | None = None
        self._mutex = threading.Lock()

    def _connect(self) -> psycopg.Connection[Any]:
        step = max(int(self.timeout / 3), 1)
        return psycopg.connect(
            self.url,
            autocommit=True,
            application_name=(_PREFIX + self.name)[:63],
            connect_timeout=step,
            keepalives=1,
            keepalives_idle=step,
            keepalives_interval=1,
            keepalives_count=2,
            options=f"-c statement_timeout={step * 1000}",
        )

    @property
    def held(self) -> bool:
        return self._conn is not None

    def try_acquire(self) -> bool:
        """Take the lead if nobody holds it (never waits for it)."""
        with self._mutex:
            if self._conn is not None:
                return True
            conn = self._connect()
            if not advisory.try_lock(conn, LEADER_KEY):
                return False
            self._conn = conn
            return True

    def check(self) -> str | None:
        """``None`` while the lead is ours; otherwise why not (and it is let go)."""
        with self._mutex:
            if self._conn is None:
                return "not leading"
            why = advisory.lost(self._conn, LEADER_KEY)
            if why is not None:
                self._drop()
            return why

    def release(self) -> None:
        with self._mutex:
            if self._conn is None:
                return
            advisory.unlock(self._conn, LEADER_KEY)
            self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass

    def backend_pid(self) -> int | None:
        """The leader's database session (tests and operators terminate it by this)."""
        conn = self._conn
        return None if conn is None else conn.info.backend_pid


def leader_holder(url: str) -> str:
    """Who leads, for ``status`` ("" when no scheduler leads)."""
    try:
        with psycopg.connect(libpq_url(url), connect_timeout=10) as conn:
            row = conn.execute(_HOLDER, (LEADER_KEY,)).fetchone()
    except psycopg.Error:
        return ""
    if row is None:
        return ""
    pid, name = row
    who = str(name or "").removeprefix(_PREFIX)
    return f"{who} (database session {pid})"
