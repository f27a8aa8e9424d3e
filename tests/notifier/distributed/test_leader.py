"""Two schedulers on one database: only the leader defers jobs; when its lock
connection is killed (pg_terminate_backend) it stops leading and the standby takes
over within distributed.lead_timeout (SPEC §11)."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import psycopg
import pytest

from feeds.storage import Storage
from feeds.storage.leader import SqlLeaderLock, leader_holder
from notifier.distributed.app import make_app
from notifier.distributed.leader import Leader

pytestmark = pytest.mark.postgres

TIMEOUT = timedelta(seconds=3)


def leader(url: str, name: str) -> Leader:
    return Leader(make_app(url), SqlLeaderLock(url, timeout=3, name=name), [], TIMEOUT,
                  plan_every=timedelta(seconds=0.5), resend_every=timedelta(seconds=0.5))


def queued(url: str, task: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM procrastinate_jobs WHERE task_name = %s",
                           (task,)).fetchone()
    return int(row[0]) if row else 0


def test_one_leader_defers_and_the_standby_takes_over_when_its_session_is_killed(
    pg_url: str,
) -> None:
    Storage.open(pg_url).close()  # migrated
    a, b = leader(pg_url, "A"), leader(pg_url, "B")

    async def scenario() -> tuple[float, Leader, Leader]:
        stopping = asyncio.Event()
        async with a.queue.open_async(), b.queue.open_async():
            tasks = [asyncio.create_task(x.run(stopping)) for x in (a, b)]
            await asyncio.sleep(3)
            first, second = (a, b) if a.leading else (b, a)
            assert first.leading and not second.leading
            assert first.deferred >= 1 and second.deferred == 0
            assert leader_holder(pg_url).startswith(first.lock.name)
            # One waiting plan job however many ticks (its queueing lock).
            assert queued(pg_url, "zonewire:plan") == 1
            pid = first.lock.backend_pid()
            with psycopg.connect(pg_url, autocommit=True) as conn:
                conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
            killed = time.monotonic()
            while not (second.leading and not first.leading):
                assert time.monotonic() - killed < TIMEOUT.total_seconds(), "no takeover"
                await asyncio.sleep(0.05)
            took = time.monotonic() - killed
            before = second.deferred
            await asyncio.sleep(1.5)
            assert second.deferred >= before  # the new leader defers
            assert not first.leading
            stopping.set()
            await asyncio.gather(*tasks)
            return took, first, second

    took, first, second = asyncio.run(scenario())
    print(f"\nstandby led {took:.2f}s after the leader's session was killed")
    # Still one plan job waiting: the takeover deferred nothing twice.
    assert queued(pg_url, "zonewire:plan") == 1
