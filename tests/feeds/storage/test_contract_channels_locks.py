"""ChannelStateStore and WorkerLockStore contracts, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from feeds.storage import Storage

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_a_broken_channel_counts_failures_until_cleared(storage: Storage) -> None:
    def retry_at(failures: int) -> datetime:
        return NOW + timedelta(minutes=failures)

    first = storage.channels.record("email", "535 auth", "fp", NOW, retry_at)
    second = storage.channels.record("email", "535 auth again", "fp", NOW, retry_at)
    assert (first.failures, second.failures) == (1, 2)
    assert second.retry_at == NOW + timedelta(minutes=2) and second.since == NOW
    assert storage.channels.all()["email"].problem == "535 auth again"
    assert storage.channels.clear("email") is True
    assert storage.channels.clear("email") is False
    assert storage.channels.all() == {}


def test_one_holder_of_the_worker_lock_at_a_time(storage: Storage) -> None:
    first, second = storage.worker_lock(), storage.worker_lock()
    try:
        assert first.try_acquire() is True
        assert second.try_acquire() is False
        assert first.check() is None
        assert "pid" in first.holder() or "session" in first.holder()
        first.release()
        assert second.try_acquire() is True
    finally:
        first.release()
        second.release()
