"""PostgreSQL session advisory locks held on a DB-API connection of their own: the
worker lock (:mod:`feeds.storage.locks`) and the scheduler lead
(:mod:`feeds.storage.leader`) take, check and give back theirs the same way.

The lock lives as long as the session, so the connection is the lock: it is kept
while the lock is held and closed when it is not.
"""

from __future__ import annotations

from typing import Any

_HELD = (
    "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = 0 "
    "AND objid::bigint = %s AND objsubid = 1 AND granted AND pid = pg_backend_pid()"
)


def try_lock(conn: Any, key: int) -> bool:
    """Take ``key`` on ``conn`` without waiting; ``False`` when another session
    holds it. ``conn`` is closed unless the lock is taken (also when this raises)."""
    try:
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
    except Exception:
        conn.close()
        raise
    if not (row and row[0]):
        conn.close()
        return False
    return True


def lost(conn: Any, key: int) -> str | None:
    """``None`` while ``conn``'s session still holds ``key``; otherwise why not."""
    try:
        row = conn.execute(_HELD, (key,)).fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means: not held
        return f"its database connection failed: {type(exc).__name__}: {exc}"
    return None if row else "the database no longer shows it as held"


def unlock(conn: Any, key: int) -> None:
    """Give ``key`` back; the caller closes ``conn`` afterwards."""
    try:
        conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
    except Exception:  # noqa: BLE001 - a dead session released it already
        pass
