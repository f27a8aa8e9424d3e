"""The worker's promises (SPEC §9): catch-up after downtime, a graceful SIGTERM in
the middle of a fan-out, and one active worker per store."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from feeds.intake import Ingestor
from feeds.models import CHINA_TZ, ArticleRecord
from notifier.app import App
from notifier.config import load_settings
from notifier.lock import WorkerBusy, WorkerLock
from notifier.reload import ConfigHolder
from notifier.worker import Worker
from tests.support.servers import free_port, serving_smtp, wait_for_http


def write_files(root: Path, database: str, subscribers: str, extra: str = "") -> None:
    (root / "config").mkdir(exist_ok=True)
    (root / "config" / "zonewire.yaml").write_text(
        f"database: {database}\nnotify_max_age: 36500d\n{extra}", encoding="utf-8"
    )
    (root / "config" / "subscriptions.yaml").write_text(
        "subscribers:\n" + textwrap.indent(textwrap.dedent(subscribers), "  "), encoding="utf-8"
    )


def article(n: int, published: datetime, region: str = "西城区") -> ArticleRecord:
    return ArticleRecord(
        url=f"https://portal.example.org/index.php/home/news/detail/id/{n}.html",
        title=f"第{n}号项目开工仪式举行",
        published=published,
        source="区融媒体中心",
        zone="白塔寺文创园区",
        region=region,
        content=f"<p>第{n}号项目正文。</p>",
    )


def jsonl(records: list[ArticleRecord]) -> str:
    return "".join(
        json.dumps(
            {
                "url": r.url,
                "title": r.title,
                "published": r.published.isoformat(),
                "zone": r.zone,
                "region": r.region,
                "source": r.source,
                "content": r.content,
            },
            ensure_ascii=False,
        )
        + "\n"
        for r in records
    )


def outbox(root: Path) -> list[email.message.EmailMessage]:
    folder = root / "var" / "outbox" / "new"
    if not folder.exists():
        return []
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for p in sorted(folder.iterdir())
    ]


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def test_missed_daily_slots_give_one_digest_on_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write_files(
        tmp_path,
        "sqlite:///var/zonewire.db",
        """\
        - id: daily
          email: daily@example.com
          schedule: daily 08:00
          regions: [北京市]
        """,
    )
    monday_7am = datetime(2026, 11, 23, 7, 0, tzinfo=CHINA_TZ)
    clock = Clock(monday_7am)
    app = App(load_settings(Path("config/zonewire.yaml")), Path("config/zonewire.yaml"))
    try:
        worker = Worker(app, ConfigHolder(app.config_file, lambda: app.gazetteer), clock=clock)
        asyncio.run(worker.deliver())  # the subscriber is seen from Monday 07:00

        clock.now = monday_7am + timedelta(minutes=30)
        Ingestor(app.store, app.gazetteer).add(
            [article(n, clock.now - timedelta(hours=n)) for n in range(1, 4)], now=clock.now
        )
        # Down from Monday 07:30 until Thursday 10:00: the 08:00 slots of Monday,
        # Tuesday, Wednesday and Thursday were all missed.
        clock.now = datetime(2026, 11, 26, 10, 0, tzinfo=CHINA_TZ)
        report = asyncio.run(worker.deliver())
        assert report.sent == 1
        (message,) = outbox(tmp_path)
        assert message["To"] == "daily@example.com"
        assert message.get_body(("plain",)).get_content().count("第") >= 3  # type: ignore[union-attr]

        # Later the same day: no new slot, nothing more.
        clock.now += timedelta(hours=3)
        assert asyncio.run(worker.deliver()).sent == 0
        # Friday 08:00 is a new slot but nothing is new: an empty digest is not sent.
        clock.now = datetime(2026, 11, 27, 8, 1, tzinfo=CHINA_TZ)
        assert asyncio.run(worker.deliver()).sent == 0
        # Something new before Saturday's slot: one digest with only that.
        Ingestor(app.store, app.gazetteer).add([article(9, clock.now)], now=clock.now)
        clock.now = datetime(2026, 11, 28, 8, 0, 30, tzinfo=CHINA_TZ)
        assert asyncio.run(worker.deliver()).sent == 1
        latest = outbox(tmp_path)
        assert len(latest) == 2
    finally:
        app.close()


class SlowSink:
    """An SMTP server that takes its time over each message."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.received: list[tuple[str, str]] = []  # (rcpt, message-id)
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.delay)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.received.append((rcpt, str(message["Message-ID"])))
        return "250 OK"


@pytest.fixture
def slow_sink() -> Iterator[tuple[SlowSink, int]]:
    sink = SlowSink(delay=0.15)
    with serving_smtp(sink) as port:
        yield sink, port


def zonewire(root: Path, *args: str, **kw: Any) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "notifier", *args],
        cwd=root,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kw,
    )


def once(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a zonewire command to completion, as a user would from a shell."""
    return subprocess.run(
        [sys.executable, "-m", "notifier", *args],
        cwd=root,
        text=True,
        capture_output=True,
        timeout=120,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def many_subscribers(count: int) -> str:
    return "".join(
        f"- id: s{i}\n  email: s{i}@example.com\n  schedule: immediate\n  regions: [西城区]\n"
        for i in range(count)
    )


@pytest.mark.slow
def test_sigterm_during_a_fan_out_loses_nothing_and_doubles_nothing(
    tmp_path: Path, slow_sink: tuple[SlowSink, int]
) -> None:
    sink, port = slow_sink
    subscribers = 40
    write_files(
        tmp_path,
        "sqlite:///var/zonewire.db",
        many_subscribers(subscribers),
        f"email: {{transport: smtp, smtp: {{host: 127.0.0.1, port: {port}}}}}\n"
        "delivery: {concurrency: 2}\n",
    )
    assert once(tmp_path, "run", "--once").returncode == 0  # subscribers seen
    now = datetime.now(CHINA_TZ)
    (tmp_path / "news.jsonl").write_text(jsonl([article(n, now) for n in range(1, 6)]))
    assert once(tmp_path, "import", "news.jsonl").returncode == 0

    worker = zonewire(tmp_path, "run", "--no-serve")
    deadline = time.monotonic() + 60
    while not sink.received and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sink.received, "the worker never started sending"
    worker.send_signal(signal.SIGTERM)
    out, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, err
    # SIGTERM came while most of the fan-out was still to go; it was finished.
    assert Counter(r for r, _ in sink.received) == {
        f"s{i}@example.com": 1 for i in range(subscribers)
    }
    # A restart has nothing left to send: nothing is doubled.
    assert once(tmp_path, "run", "--once").returncode == 0
    assert len(sink.received) == subscribers


def test_the_worker_lock_admits_one_holder(database_url: str, tmp_path: Path) -> None:
    from feeds.storage.engine import create_engine
    from feeds.storage.locks import SqlWorkerLock

    engine = create_engine(database_url)
    first, second = WorkerLock(SqlWorkerLock(engine)), WorkerLock(SqlWorkerLock(engine))
    try:
        first.acquire(wait=False)
        with pytest.raises(WorkerBusy, match="another zonewire worker is running"):
            second.acquire(wait=False)
        first.release()
        second.acquire(wait=False)  # free again once the first lets go
        second.release()
    finally:
        first.release()
        engine.dispose()


@pytest.mark.slow
@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_two_workers_on_one_store_never_double_send(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    database = (
        "sqlite:///var/zonewire.db" if backend == "sqlite" else request.getfixturevalue("pg_url")
    )
    subscribers = 6
    write_files(tmp_path, database, many_subscribers(subscribers))
    assert once(tmp_path, "run", "--once").returncode == 0
    now = datetime.now(CHINA_TZ)
    (tmp_path / "news.jsonl").write_text(jsonl([article(n, now) for n in range(1, 4)]))
    assert once(tmp_path, "import", "news.jsonl").returncode == 0

    # A long-running worker holds the store: a second one refuses at once...
    holder = zonewire(tmp_path, "run", "--no-serve")
    deadline = time.monotonic() + 60
    while len(outbox(tmp_path)) < subscribers and time.monotonic() < deadline:
        time.sleep(0.1)
    refused = once(tmp_path, "run", "--once")
    assert refused.returncode == 1
    assert "another zonewire worker is running" in refused.stderr
    assert "Traceback" not in refused.stderr
    # ...or, with --wait, waits for it and then finds nothing left to send.
    waiting = zonewire(tmp_path, "run", "--once", "--wait")
    time.sleep(1.0)
    assert waiting.poll() is None
    holder.send_signal(signal.SIGTERM)
    holder.communicate(timeout=60)
    assert holder.returncode == 0
    waiting.communicate(timeout=60)
    assert waiting.returncode == 0
    assert Counter(m["To"] for m in outbox(tmp_path)) == {
        f"s{i}@example.com": 1 for i in range(subscribers)
    }


@pytest.mark.slow
def test_run_serves_feeds_health_and_metrics_then_stops_on_sigterm(tmp_path: Path) -> None:
    port, metrics_port = free_port(), free_port()
    write_files(
        tmp_path,
        "sqlite:///var/zonewire.db",
        many_subscribers(1),
        f"serve: {{host: 127.0.0.1, port: {port}, metrics_port: {metrics_port}}}\n",
    )
    (tmp_path / "news.jsonl").write_text(jsonl([article(1, datetime.now(CHINA_TZ))]))
    assert once(tmp_path, "import", "news.jsonl", "--backfill").returncode == 0
    assert once(tmp_path, "feeds", "build").returncode == 0
    worker = zonewire(tmp_path, "run")
    base = f"http://127.0.0.1:{port}"
    try:
        health = wait_for_http(f"{base}/healthz")
        assert health.status_code == 200
        feed = httpx.get(f"{base}/feeds/all.atom")
        assert feed.status_code == 200 and "第1号项目" in feed.text
        assert httpx.get(f"{base}/metrics").status_code == 404  # not on the public port
        metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics")
        assert "zonewire_feed_builds_total" in metrics.text
        assert "zonewire_articles 1.0" in metrics.text  # the store's gauges too
    finally:
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, err
    assert f"serving feeds at http://127.0.0.1:{port}/" in out


def test_digest_send_refuses_beside_a_running_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from feeds.storage.engine import create_engine
    from feeds.storage.locks import SqlWorkerLock
    from notifier.cli import main

    monkeypatch.chdir(tmp_path)
    write_files(tmp_path, "sqlite:///var/zonewire.db", many_subscribers(1))
    assert main(["digest", "send"]) == 0  # creates the store
    engine = create_engine("sqlite:///var/zonewire.db")
    worker_lock = WorkerLock(SqlWorkerLock(engine))
    worker_lock.acquire(wait=False)
    try:
        capsys.readouterr()
        assert main(["digest", "send"]) == 1
        assert "a zonewire worker is running" in capsys.readouterr().err
        assert main(["digest", "send", "--dry-run"]) == 0  # looking is harmless
    finally:
        worker_lock.release()
        engine.dispose()


def test_an_edited_source_interval_reschedules_its_ingest_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from notifier.scheduler import Service

    monkeypatch.chdir(tmp_path)
    source = (
        "sources:\n  - name: portal\n    type: portal\n    base_url: http://127.0.0.1:9\n"
        '    list_urls: ["/list.html"]\n    interval: {interval}\n'
    )
    write_files(
        tmp_path, "sqlite:///var/zonewire.db", many_subscribers(1), source.format(interval="10m")
    )
    app = App(load_settings(Path("config/zonewire.yaml")), Path("config/zonewire.yaml"))

    async def scenario() -> list[float]:
        service = Service(Worker(app, ConfigHolder(app.config_file, lambda: app.gazetteer)))
        service.schedule_sources()
        service.scheduler.start(paused=True)  # wiring only: no job runs here
        try:
            seen = [service.scheduler.get_job("ingest:portal").trigger.interval_length]
            write_files(
                tmp_path,
                "sqlite:///var/zonewire.db",
                many_subscribers(1),
                source.format(interval="30s"),
            )
            await service.reload_job()
            seen.append(service.scheduler.get_job("ingest:portal").trigger.interval_length)
            write_files(tmp_path, "sqlite:///var/zonewire.db", many_subscribers(1))
            await service.reload_job()
            assert service.scheduler.get_job("ingest:portal") is None  # source removed
            return seen
        finally:
            service.scheduler.shutdown(wait=False)

    try:
        assert asyncio.run(scenario()) == [600.0, 30.0]
    finally:
        app.close()


def test_log_json_writes_one_json_object_per_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from notifier.cli import main

    monkeypatch.chdir(tmp_path)
    write_files(
        tmp_path,
        "sqlite:///var/zonewire.db",
        many_subscribers(1)
        + "- id: hq\n  email: hq@example.com\n  regions: [南湖微电子产业园区]\n",
    )
    assert main(["--log-json", "run", "--once"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    warning = next(r for r in records if r["level"] == "warning")
    assert "南湖微电子产业园区" in warning["message"] and warning["logger"] == "notifier.reload"
