"""Three `zonewire worker` processes share a 5,000-subscriber fan-out (SPEC §11):
every subscriber gets exactly one digest; a worker killed with SIGKILL mid-batch
leaves nobody without a digest and nobody with two different ones."""

from __future__ import annotations

import signal
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from notifier.distributed.app import make_app, transaction_deferrer
from notifier.distributed.planning import plan_and_defer
from notifier.ledger import SENT
from notifier.reload import ConfigHolder
from tests.notifier.distributed.support import (
    SlowSink,
    planned_setup,
    start,
    stop,
    wait_until,
    write_config,
)
from tests.support.servers import SmtpSink

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(150)]




def message_ids(sink: SmtpSink) -> dict[str, set[str]]:
    import email
    import email.policy

    with sink.lock:
        raw = list(sink.messages)
    ids: dict[str, set[str]] = defaultdict(set)
    for rcpt, data in raw:
        msg = email.message_from_bytes(data, policy=email.policy.default)
        ids[rcpt].add(str(msg["Message-ID"]))
    return ids


def test_three_workers_send_each_subscriber_exactly_one_digest(
    pg_url: str, sink: SlowSink, tmp_path: Path
) -> None:
    count = 5000
    config = write_config(tmp_path, pg_url, sink.port, count)
    app, jobs = planned_setup(config)
    assert jobs == count // 100
    started = time.monotonic()
    workers = [start(config, "worker", "--concurrency", "2") for _ in range(3)]
    try:
        # About 25 s on a loaded 2-core machine; a minute means something is wrong.
        assert wait_until(lambda: len(sink.messages) >= count, 60), len(sink.messages)
        assert wait_until(lambda: app.store.ledger.counts() == {SENT: count}, 10)
        elapsed = time.monotonic() - started
    finally:
        stop(workers)
    print(f"\n5,000 digests by 3 workers in {elapsed:.1f}s ({count / elapsed:.0f}/s)")
    received = Counter(rcpt for rcpt, _ in sink.messages)
    assert received == {f"s{i:05d}@example.com": 1 for i in range(count)}
    counts = app.store.queue_counts()
    assert counts.by_task.get("zonewire:deliver", {}).get("failed", 0) == 0
    app.close()


def test_a_worker_killed_mid_batch_leaves_nobody_without_or_with_two_digests(
    pg_url: str, sink: SlowSink, tmp_path: Path
) -> None:
    count = 600
    sink.delay = 0.01
    config = write_config(tmp_path, pg_url, sink.port, count)
    app, jobs = planned_setup(config)
    assert jobs == count // 100
    scheduler = start(config, "scheduler")
    victim = start(config, "worker", "--concurrency", "2")
    others: list[Any] = []
    try:
        assert wait_until(lambda: len(sink.messages) >= 150, 40)
        victim.send_signal(signal.SIGKILL)
        victim.wait()  # reaped: its claims are now visibly a dead process's
        others = [start(config, "worker", "--concurrency", "2")]
        assert wait_until(lambda: app.store.ledger.counts() == {SENT: count}, 50), \
            app.store.ledger.counts()
    finally:
        stop([scheduler, *others])
    ids = message_ids(sink)
    assert set(ids) == {f"s{i:05d}@example.com" for i in range(count)}
    twice = [rcpt for rcpt, found in ids.items() if len(found) != 1]
    assert twice == []  # a re-send carries the same Message-ID
    resent = len(sink.messages) - count
    print(f"\nkilled mid-batch: {resent} digests re-sent with their Message-ID")
    app.close()


def test_an_edit_of_the_subscriptions_reaches_open_digests_at_the_next_plan_pass(
    pg_url: str, sink: SlowSink, tmp_path: Path
) -> None:
    """A delivery job sends to the subscriber as planned (its sealed snapshot), so an
    edit reaches the digests still open at the next plan pass, the job that reads
    the file: removed subscribers' digests are dropped, an edited entry's resealed."""
    count = 200
    sink.delay = 0.15  # the first job (s00000-s00099) takes about 4 s
    config = write_config(tmp_path, pg_url, sink.port, count)
    app, jobs = planned_setup(config)
    assert jobs == 2
    planner = ConfigHolder(app.config_file, lambda: app.gazetteer, settings=None)
    deferrer = transaction_deferrer(make_app(app.store.url))
    worker = start(config, "worker", "--concurrency", "1")
    try:
        assert wait_until(lambda: len(sink.messages) >= 1, 40)
        # While the first job sends, ten subscribers of the second job leave and one
        # changes address; then a plan pass runs (the scheduler defers one every 30 s).
        path = config.parent / "subscriptions.yaml"
        lines = path.read_text(encoding="utf-8").splitlines()
        gone = range(150, 160)
        kept = lines[:1] + [line for n, line in enumerate(lines[1:])
                            if n // 4 not in gone]
        text = "\n".join(kept).replace("s00170@example.com", "new170@example.org")
        path.write_text(text + "\n", encoding="utf-8")
        report, deferred = plan_and_defer(app, planner, deferrer, datetime.now(UTC))
        assert (report.planned, deferred) == (0, 0)
        assert len(sink.messages) < 100, "the plan pass came after the second job began"
        assert wait_until(
            lambda: app.store.ledger.counts() == {SENT: count - 10, "failed": 10}, 40
        ), app.store.ledger.counts()
    finally:
        stop([worker])
    received = {rcpt for rcpt, _ in sink.messages}
    assert received == {*(f"s{i:05d}@example.com" for i in range(count)
                          if i not in gone and i != 170), "new170@example.org"}
    dropped = app.store.ledger.digests_of("s00150")
    assert "subscriber removed" in (dropped[-1].last_error or "")
    app.close()
