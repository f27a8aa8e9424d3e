"""Delivery jobs carry their subscribers (SPEC §11): a worker that only delivers
never reads the subscriptions file, the ledger holds each subscriber sealed (no
address, no secret readable) and only until the digest is settled."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import psycopg
import pytest

from feeds.storage.leader import libpq_url
from notifier.ledger import SENT
from tests.notifier.distributed.support import (
    SlowSink,
    planned_setup,
    start,
    stop,
    wait_until,
    write_config,
)
from tests.support.servers import WEBHOOK_SECRET, webhook_receiver

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(120)]



def add_desks(config: Path, hook_url: str, count: int) -> None:
    """Subscribers with an email and a signed webhook each (two digests apiece)."""
    path = config.parent / "subscriptions.yaml"
    with path.open("a", encoding="utf-8") as out:
        for i in range(count):
            out.write(f"  - id: desk{i}\n    email: desk{i}@example.org\n"
                      f"    webhook: {{url: \"{hook_url}\", format: json, "
                      f"secret: \"{WEBHOOK_SECRET}\"}}\n"
                      "    schedule: immediate\n    regions: [西城区]\n")


def snapshots(url: str) -> dict[str, bytes | None]:
    """The snapshot column as whoever reads the database sees it."""
    with psycopg.connect(libpq_url(url)) as conn:
        rows = conn.execute("SELECT id, snapshot FROM digests").fetchall()
    return {i: None if s is None else bytes(s) for i, s in rows}


def worker_log(tmp_path: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in (tmp_path / "logs").glob("worker-*"))


def test_a_worker_delivers_every_digest_with_the_subscriptions_file_gone(
    pg_url: str, sink: SlowSink, tmp_path: Path
) -> None:
    count, desks = 250, 5
    with webhook_receiver() as hook:
        config = write_config(tmp_path, pg_url, sink.port, count)
        add_desks(config, hook.url, desks)
        app, jobs = planned_setup(config)
        total = count + 2 * desks
        sealed = snapshots(app.store.url)
        assert len(sealed) == total and all(sealed.values())
        for blob in sealed.values():
            assert blob is not None
            for shown in (b"@example.", b"s00001", b"desk", WEBHOOK_SECRET.encode(),
                          WEBHOOK_SECRET.encode()[6:], b"127.0.0.1", b"/hook"):
                assert shown not in blob
        (config.parent / "subscriptions.yaml").unlink()  # the workers' machine has none
        worker = start(config, "worker", "--concurrency", "2")
        try:
            assert wait_until(lambda: app.store.ledger.counts() == {SENT: total}, 60), \
                app.store.ledger.counts()
        finally:
            stop([worker])
        assert hook.rejected == 0  # signed with the secret carried in the snapshot
        assert sorted(p["subscriber"] for p in hook.payloads) == [f"desk{i}" for i in
                                                                  range(desks)]
    received = Counter(rcpt for rcpt, _ in sink.messages)
    assert received == {**{f"s{i:05d}@example.com": 1 for i in range(count)},
                        **{f"desk{i}@example.org": 1 for i in range(desks)}}
    # Settled: the ledger keeps no address.
    assert set(snapshots(app.store.url).values()) == {None}
    log = worker_log(tmp_path)
    assert "subscriptions read by plan jobs only" in log
    assert "subscriptions file read" not in log  # this worker never parsed it
    assert "Traceback" not in log
    app.close()


def test_rows_without_a_snapshot_that_opens_are_sent_from_the_file(
    pg_url: str, sink: SlowSink, tmp_path: Path
) -> None:
    """Rows of an older release (no snapshot) and snapshots sealed with another key:
    the delivery job reads the file for those, and sends every digest."""
    count = 200
    config = write_config(tmp_path, pg_url, sink.port, count)
    app, _ = planned_setup(config)
    with psycopg.connect(libpq_url(app.store.url)) as conn:
        conn.execute("UPDATE digests SET snapshot = NULL WHERE subscriber_id < 's00010'")
        conn.execute("UPDATE digests SET snapshot = 'zs1'::bytea || sha512(id::bytea) "
                     "WHERE subscriber_id BETWEEN 's00150' AND 's00154'")
    worker = start(config, "worker", "--concurrency", "1")
    try:
        assert wait_until(lambda: app.store.ledger.counts() == {SENT: count}, 60), \
            app.store.ledger.counts()
    finally:
        stop([worker])
    received = Counter(rcpt for rcpt, _ in sink.messages)
    assert received == {f"s{i:05d}@example.com": 1 for i in range(count)}
    log = worker_log(tmp_path)
    assert "subscriptions file read: 200 subscribers" in log  # lazily, for those rows
    assert "did not open" in log and "another secret_key" in log
    app.close()
