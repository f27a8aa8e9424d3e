"""The worker lock (SPEC §9): it names its holder, follows the database's real path,
and a worker that loses it (its PostgreSQL session killed) stops sending."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from feeds.intake import Ingestor
from feeds.models import CHINA_TZ, ArticleRecord
from feeds.storage.engine import create_engine
from feeds.storage.locks import SqlWorkerLock
from notifier.app import App
from notifier.config import load_settings
from notifier.ledger import Ledger
from notifier.lock import ADVISORY_KEY, WorkerBusy, WorkerLock, WorkerLost
from notifier.reload import ConfigHolder
from notifier.worker import Worker
from tests.support.servers import smtp_sink


def test_the_same_sqlite_database_through_a_symlink_has_one_lock(tmp_path: Path) -> None:
    real = tmp_path / "data" / "zonewire.db"
    real.parent.mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "data", target_is_directory=True)
    (tmp_path / "link.db").symlink_to(real)
    engines = [create_engine(f"sqlite:///{p}") for p in
               (real, tmp_path / "alias" / "zonewire.db", tmp_path / "link.db")]
    first = WorkerLock(SqlWorkerLock(engines[0]))
    try:
        first.acquire(wait=False)
        for engine in engines[1:]:
            with pytest.raises(WorkerBusy) as refused:
                WorkerLock(SqlWorkerLock(engine)).acquire(wait=False)
            assert f"pid {os.getpid()}" in str(refused.value)
        assert first.check() is None
    finally:
        first.release()
        for engine in engines:
            engine.dispose()


def test_a_removed_sqlite_lock_file_counts_as_lost(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'zw.db'}")
    lock = WorkerLock(SqlWorkerLock(engine))
    try:
        lock.acquire(wait=False)
        assert lock.path is not None
        lock.path.unlink()  # another worker could now lock a new file
        with pytest.raises(WorkerLost, match="removed or replaced"):
            lock.ensure()
    finally:
        lock.release()
        engine.dispose()


@pytest.mark.postgres
def test_postgres_refusal_names_the_holder(pg_url: str) -> None:
    engine = create_engine(pg_url)
    first, second = WorkerLock(SqlWorkerLock(engine)), WorkerLock(SqlWorkerLock(engine))
    try:
        first.acquire(wait=False)
        with pytest.raises(WorkerBusy) as refused:
            second.acquire(wait=False)
        message = str(refused.value)
        assert f"pid {os.getpid()}" in message and "database session" in message
        # The lock's connection is its own: the engine's pool holds none of it.
        assert engine.pool.checkedout() == 0
    finally:
        first.release()
        engine.dispose()


def lock_backends(pg_url: str) -> list[int]:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid::bigint = %s "
            "AND granted AND database = (SELECT oid FROM pg_database "
            "WHERE datname = current_database())", (ADVISORY_KEY,)).fetchall()
    return [int(r[0]) for r in rows]


def terminate(pg_url: str, pid: int) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (pid,))


def write_config(root: Path, database: str, port: int) -> None:
    (root / "config").mkdir(exist_ok=True)
    (root / "config" / "zonewire.yaml").write_text(textwrap.dedent(f"""\
        database: {database}
        notify_max_age: 36500d
        email: {{transport: smtp, smtp: {{host: 127.0.0.1, port: {port}}}}}
        """), encoding="utf-8")
    (root / "config" / "subscriptions.yaml").write_text(
        "subscribers:\n  - {id: a, email: a@example.com, schedule: immediate, regions: [西城区]}\n",
        encoding="utf-8")


@pytest.mark.postgres
def test_a_worker_whose_lock_session_is_killed_stops_sending(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    now = datetime(2026, 11, 30, 9, 0, tzinfo=CHINA_TZ)
    with smtp_sink() as sink:
        write_config(tmp_path, pg_url, sink.port)
        app = App(load_settings(Path("config/zonewire.yaml")), Path("config/zonewire.yaml"))
        lock = WorkerLock(app.store.worker_lock())
        try:
            lock.acquire(wait=False)
            worker = Worker(app, ConfigHolder(app.config_file, lambda: app.gazetteer),
                            clock=lambda: now)
            worker.lock = lock
            asyncio.run(worker.deliver())  # the subscriber is seen, the lock checked
            Ingestor(app.store, app.gazetteer).add([ArticleRecord(
                url="https://n.example/1", title="西城区新闻", region="西城区",
                published=now - timedelta(hours=1), content="x")], now=now)

            (backend,) = lock_backends(pg_url)
            terminate(pg_url, backend)
            assert lock.check() is not None
            report = asyncio.run(worker.deliver())
            assert report.sent == 0 and "lost the worker lock" in report.errors[0]
            assert sink.messages == []
            assert worker.lock_lost is not None
            assert Ledger(app.store.ledger).digests_of("a") == []  # nothing planned either
        finally:
            lock.release()
            app.close()


@pytest.mark.slow
@pytest.mark.postgres
def test_run_exits_nonzero_when_its_lock_session_is_killed(pg_url: str, tmp_path: Path) -> None:
    with smtp_sink() as sink:
        write_config(tmp_path, pg_url, sink.port)
        worker = subprocess.Popen(
            [sys.executable, "-m", "notifier", "run", "--no-serve"], cwd=tmp_path, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            deadline = time.monotonic() + 60
            while not lock_backends(pg_url):
                assert worker.poll() is None, worker.communicate()
                assert time.monotonic() < deadline, "the worker never took the lock"
                time.sleep(0.2)
            for backend in lock_backends(pg_url):
                terminate(pg_url, backend)
            out, err = worker.communicate(timeout=60)
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.communicate()
        assert worker.returncode == 1, err
        assert "lost the worker lock" in err and "Traceback" not in err
        assert sink.messages == []
