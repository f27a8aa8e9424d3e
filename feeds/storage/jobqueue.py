"""Storage side of distributed mode (SPEC §11): procrastinate's schema in the same
database, what ``status`` reads of its queue, and digest rows by id for delivery jobs.

procrastinate owns its tables (``procrastinate_jobs``, ``procrastinate_workers``...);
they are not part of :data:`feeds.storage.schema.metadata` and Alembic never touches
them. :func:`apply_queue_schema` installs them once; upgrades of procrastinate
apply its own SQL migrations (see the README, "Running several machines").
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import resources

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from feeds.storage.leader import libpq_url

#: Serialises schema installs of processes starting at the same moment.
_SCHEMA_KEY = zlib.crc32(b"zonewire-queue-schema")


def apply_queue_schema(url: str) -> bool:
    """Install procrastinate's schema unless it is there; True if it was installed.

    procrastinate's own ``schema.sql`` is not idempotent, so the check and the
    install run in one transaction under an advisory lock: any number of processes
    may start at once.
    """
    sql = (resources.files("procrastinate.sql") / "schema.sql").read_text(encoding="utf-8")
    with psycopg.connect(libpq_url(url)) as conn:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_KEY,))
        row = conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
        if row and row[0] is not None:
            return False
        conn.execute(sql)  # procrastinate's own, trusted SQL
        return True


@dataclass(frozen=True, slots=True)
class QueueCounts:
    """Jobs per task and status; workers seen lately, with the jobs each is running."""

    by_task: dict[str, dict[str, int]]
    workers: int
    #: worker id -> jobs it is running, for each worker seen lately.
    running: dict[int, int] = field(default_factory=dict)


def queue_counts(engine: Engine, seen_within: timedelta = timedelta(minutes=1)) -> QueueCounts:
    """Jobs waiting (todo) / running (doing) / failed per task; live workers."""
    by_task: dict[str, dict[str, int]] = {}
    with engine.connect() as conn:
        if conn.execute(sa.text("SELECT to_regclass('procrastinate_jobs')")).scalar() is None:
            return QueueCounts({}, 0)
        rows = conn.execute(sa.text(
            "SELECT task_name, status::text, count(*) FROM procrastinate_jobs "
            "WHERE status IN ('todo', 'doing', 'failed') GROUP BY task_name, status"
        ))
        for task, status, count in rows:
            by_task.setdefault(task, {})[status] = int(count)
        running = {
            int(worker): int(jobs)
            for worker, jobs in conn.execute(
                sa.text("SELECT w.id, count(j.id) FROM procrastinate_workers w "
                        "LEFT JOIN procrastinate_jobs j "
                        "ON j.worker_id = w.id AND j.status = 'doing' "
                        "WHERE w.last_heartbeat > now() - make_interval(secs => :secs) "
                        "GROUP BY w.id ORDER BY w.id"),
                {"secs": seen_within.total_seconds()},
            )
        }
    return QueueCounts(by_task, len(running), running)
