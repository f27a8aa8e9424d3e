"""`zonewire worker --only KIND`: each kind of job waits in its own queue, so a
machine can be kept to some work (a plan job reads and matches every subscriber;
a worker that only delivers never parses the subscriptions file)."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import psycopg
import pytest

from feeds.storage.leader import libpq_url
from notifier.distributed.app import PLAN, QUEUE_OF, make_app, queues_for
from notifier.errors import UsageError
from notifier.ledger import SENT
from tests.notifier.distributed.support import (
    ROOT,
    SlowSink,
    planned_setup,
    start,
    stop,
    wait_until,
    write_config,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(120)]



def jobs(url: str) -> list[tuple[str, str, str]]:
    with psycopg.connect(libpq_url(url)) as conn:
        rows = conn.execute(
            "SELECT task_name, queue_name, status::text FROM procrastinate_jobs"
        ).fetchall()
    return [(str(t), str(q), str(s)) for t, q, s in rows]


def test_kinds_name_their_queues_and_a_typo_is_refused() -> None:
    assert queues_for("deliver") == ["zonewire-deliver"]
    assert queues_for(" plan , deliver ") == ["zonewire-deliver", "zonewire-plan"]
    with pytest.raises(UsageError, match=r"'delivery'.*ingest, feeds, plan, deliver"):
        queues_for("deliver,delivery")
    with pytest.raises(UsageError, match="ingest, feeds, plan, deliver"):
        queues_for(",")


def test_a_delivery_only_worker_sends_every_digest_and_leaves_plan_jobs_waiting(
    tmp_path: Path, pg_url: str, sink: SlowSink
) -> None:
    config = write_config(tmp_path, pg_url, sink.port, subscribers=150, batch=50)
    app, deferred = planned_setup(config)
    try:
        queue = make_app(app.store.url)
        with queue.open():
            queue.configure_task(PLAN, queueing_lock="plan", lock="plan").defer()
        waiting = Counter(q for _, q, _ in jobs(pg_url))
        assert waiting == {QUEUE_OF[PLAN]: 1, "zonewire-deliver": deferred} and deferred == 3

        worker = start(config, "worker", "--only", "deliver")
        try:
            assert wait_until(lambda: app.store.ledger.counts().get(SENT, 0) == 150, 60)
        finally:
            stop([worker])
        assert sorted(r for r, _ in sink.messages) == [f"s{i:05d}@example.com" for i in range(150)]
        statuses = {(t, s) for t, _, s in jobs(pg_url)}
        assert ("zonewire:plan", "todo") in statuses  # left for a worker that plans
        assert ("zonewire:deliver", "succeeded") in statuses
    finally:
        app.close()


def test_an_unknown_kind_is_a_one_line_usage_error(tmp_path: Path, pg_url: str) -> None:
    config = write_config(tmp_path, pg_url, smtp_port=9, subscribers=1)
    done = subprocess.run(
        [sys.executable, "-m", "notifier", "-c", str(config), "worker", "--only", "sending"],
        cwd=tmp_path, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "--only 'sending': unknown kind 'sending'" in done.stderr
    assert "Traceback" not in done.stderr
