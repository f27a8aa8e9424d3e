"""`zonewire status` in distributed mode (SPEC §11): the queue per task (waiting /
running / failed), the workers seen in the last minute, and the leader."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from feeds.storage.leader import SqlLeaderLock
from notifier.cli import main
from notifier.distributed.app import DELIVER, make_app
from notifier.ledger import SENT
from tests.notifier.distributed.support import (
    SlowSink,
    planned_setup,
    start,
    stop,
    wait_until,
    write_config,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(120)]



def status(config: Path, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert main(["-c", str(config), "status"]) == 0
    return capsys.readouterr().out


def test_status_shows_the_queue_the_workers_and_the_leader(
    pg_url: str, sink: SlowSink, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sink.delay = 0.1  # a job of 100 digests over 4 sessions takes a few seconds
    config = write_config(tmp_path, pg_url, sink.port, subscribers=300)
    app, jobs = planned_setup(config)
    assert jobs == 3
    # A job that cannot run (wrong arguments): it fails, and status says so.
    with make_app(app.store.url).open() as queue:
        queue.configure_task(DELIVER).defer(digest_ids=["nope"])

    out = status(config, capsys)
    assert "queue (waiting / running / failed):" in out
    assert "  deliver: 4 / 0 / 0" in out
    assert "  plan: 0 / 0 / 0" in out
    assert "workers seen in the last minute: none (start `zonewire worker`)" in out
    assert "leader: none (start `zonewire scheduler`" in out

    lock = SqlLeaderLock(app.store.url, timeout=10, name="scheduler-a on host-1")
    assert lock.try_acquire()
    worker = start(config, "worker", "--concurrency", "1")
    try:
        assert wait_until(lambda: 1 in app.store.queue_counts().running.values(), 40)
        out = status(config, capsys)
        assert re.search(r"  deliver: [0-3] / 1 / 0", out), out
        assert re.search(r"workers seen in the last minute: 1 \(#\d+ running 1\)", out), out
        assert re.search(r"leader: scheduler-a on host-1 \(database session \d+\)", out), out
        assert wait_until(lambda: app.store.ledger.counts() == {SENT: 300}, 60)
        assert wait_until(
            lambda: app.store.queue_counts().by_task[DELIVER].get("failed", 0) == 1, 20)
        out = status(config, capsys)
        assert "  deliver: 0 / 0 / 1" in out
        assert re.search(r"workers seen in the last minute: 1 \(#\d+ running 0\)", out), out
    finally:
        stop([worker])
        lock.release()
    out = status(config, capsys)
    assert "leader: none" in out
    [log] = (tmp_path / "logs").glob("worker-*.log")
    assert re.search(r"^worker on \S+: 1 jobs at once \(every kind of job\), queue in postgresql",
                     log.read_text(encoding="utf-8"), re.M)
    app.close()


def test_embedded_status_has_no_queue_section(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "zonewire.yaml"
    config.write_text(f"database: sqlite:///{tmp_path / 'z.db'}\n", encoding="utf-8")
    out = status(config, capsys)
    assert "articles: 0" in out
    assert "queue" not in out and "leader" not in out
