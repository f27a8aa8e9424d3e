"""Two schedulers on one database: only the leader defers jobs; when its lock
connection is killed (pg_terminate_backend) it stops leading and the standby takes
over within distributed.lead_timeout (SPEC §11), and the ledger shows that no digest
was planned twice: a worker runs the plan jobs of both leaders, and every article
is in exactly one digest of each subscriber."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from feeds.intake import Ingestor
from feeds.models import ArticleRecord
from feeds.storage.leader import SqlLeaderLock, leader_holder
from notifier.app import App
from notifier.distributed.app import make_app, transaction_deferrer
from notifier.distributed.context import WorkerContext
from notifier.distributed.leader import Leader
from notifier.distributed.planning import plan_and_defer
from notifier.distributed.tasks import CONTEXT_KEY
from notifier.reload import ConfigHolder
from tests.notifier.distributed.support import write_config
from tests.support.servers import SmtpSink, smtp_sink

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(120)]
SUBSCRIBERS = 30

TIMEOUT = timedelta(seconds=3)


def leader(url: str, name: str) -> Leader:
    return Leader(make_app(url), SqlLeaderLock(url, timeout=3, name=name), [], TIMEOUT,
                  plan_every=timedelta(seconds=0.5), resend_every=timedelta(seconds=0.5))


def queued(url: str, task: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM procrastinate_jobs WHERE task_name = %s "
                           "AND status = 'todo'", (task,)).fetchone()
    return int(row[0]) if row else 0


def add_articles(app: App, first: int, count: int) -> None:
    now = datetime.now(UTC)
    Ingestor(app.store, app.gazetteer).add([ArticleRecord(
        url=f"https://n.example/{n}", title=f"西城区新闻{n}", region="西城区",
        published=now - timedelta(minutes=n), content="正文")
        for n in range(first, first + count)], now=now)


def planned_digests(app: App) -> int:
    return sum(app.store.ledger.counts().values())


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with smtp_sink() as server:
        yield server


def test_one_leader_defers_and_the_standby_takes_over_when_its_session_is_killed(
    pg_url: str, sink: SmtpSink, tmp_path: Path
) -> None:
    config = write_config(tmp_path, pg_url, sink.port, SUBSCRIBERS, batch=10)
    app = App.from_config(str(config))  # migrated
    holder = ConfigHolder(app.config_file, lambda: app.gazetteer, settings=None)
    # The subscribers start now: what arrives from here on is theirs.
    plan_and_defer(app, holder, transaction_deferrer(make_app(pg_url)),
                   datetime.now(UTC) - timedelta(minutes=1))
    add_articles(app, 1, 3)
    a, b = leader(pg_url, "A"), leader(pg_url, "B")
    worker_queue = make_app(pg_url)
    ctx = WorkerContext(app, holder, worker_queue, concurrency=2)

    async def scenario() -> tuple[float, Leader, Leader]:
        stopping = asyncio.Event()
        async with a.queue.open_async(), b.queue.open_async(), worker_queue.open_async():
            tasks = [asyncio.create_task(x.run(stopping)) for x in (a, b)]
            worker = asyncio.create_task(worker_queue.run_worker_async(
                concurrency=2, additional_context={CONTEXT_KEY: ctx},
                fetch_job_polling_interval=0.2))
            await asyncio.sleep(3)
            first, second = (a, b) if a.leading else (b, a)
            assert first.leading and not second.leading
            assert first.deferred >= 1 and second.deferred == 0
            assert leader_holder(pg_url).startswith(first.lock.name)
            # One waiting plan job however many ticks (its queueing lock).
            assert queued(pg_url, "zonewire:plan") <= 1
            # The first leader's plan jobs planned the three articles.
            assert await wait_for(lambda: planned_digests(app) == SUBSCRIBERS)
            pid = first.lock.backend_pid()
            with psycopg.connect(pg_url, autocommit=True) as conn:
                conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
            killed = time.monotonic()
            while not (second.leading and not first.leading):
                assert time.monotonic() - killed < TIMEOUT.total_seconds(), "no takeover"
                await asyncio.sleep(0.05)
            took = time.monotonic() - killed
            # News during the takeover: the new leader's plan jobs plan it, once.
            await asyncio.to_thread(add_articles, app, 10, 2)
            before = second.deferred
            assert await wait_for(lambda: planned_digests(app) == 2 * SUBSCRIBERS)
            await asyncio.sleep(1.5)  # more plan ticks of the new leader: nothing new
            assert second.deferred > before  # the new leader defers
            assert not first.leading
            stopping.set()
            await asyncio.gather(*tasks)
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
            await ctx.channels.aclose()  # as `zonewire worker` does when it stops
            return took, first, second

    took, first, second = asyncio.run(scenario())
    print(f"\nstandby led {took:.2f}s after the leader's session was killed")
    # The ledger: every subscriber has exactly two digests (one per planning round),
    # every article in exactly one of them; nothing was planned twice.
    seen: set[tuple[int, ...]] = set()
    for i in range(SUBSCRIBERS):
        records = app.store.ledger.digests_of(f"s{i:05d}")
        assert len(records) == 2, records
        in_digests = Counter(seq for r in records for seq in r.article_seqs)
        assert len(in_digests) == 5 and set(in_digests.values()) == {1}, in_digests
        seen.add(tuple(sorted(in_digests)))
    assert len(seen) == 1  # the same five articles for everyone
    assert planned_digests(app) == 2 * SUBSCRIBERS
    assert queued(pg_url, "zonewire:plan") <= 1
    app.close()


async def wait_for(check: Callable[[], bool], timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await asyncio.to_thread(check):
            return True
        await asyncio.sleep(0.1)
    return await asyncio.to_thread(check)
