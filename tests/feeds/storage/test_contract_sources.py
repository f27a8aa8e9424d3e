"""SourceStateStore contract, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from feeds.sources.state import SourceState, Validators
from feeds.storage import Storage

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_source_state_round_trips(storage: Storage) -> None:
    assert storage.sources.get("s") == SourceState("s")
    state = SourceState("s", last_poll_at=NOW, last_result="ok", polls=3, backfill_done=True)
    storage.sources.save(state)
    storage.sources.save(replace(state, polls=4))
    assert storage.sources.get("s") == replace(state, polls=4)
    assert list(storage.sources.all()) == ["s"]


def test_validators_and_failures_per_url(storage: Storage) -> None:
    storage.sources.save_validators("s", {"http://a/": Validators('"e"', None)}, now=NOW)
    assert storage.sources.validators(["http://a/", "http://b/"]) == {
        "http://a/": Validators('"e"', None)
    }
    storage.sources.record_failure("s", "http://b/", "404", permanent=True, now=NOW)
    storage.sources.record_failure("s", "http://c/", "timeout", permanent=False, now=NOW,
                                   give_up_after=2)
    hour = timedelta(hours=1)
    assert storage.sources.skipped(["http://b/", "http://c/"], now=NOW, recheck=hour) == {
        "http://b/"
    }
    assert storage.sources.retry_urls("s", limit=10) == ["http://c/"]
    storage.sources.record_failure("s", "http://c/", "timeout", permanent=False, now=NOW,
                                   give_up_after=2)
    assert storage.sources.failures("s") == [
        ("http://b/", "404", True, 1), ("http://c/", "timeout", True, 2)
    ]
    storage.sources.clear_failures(["http://b/", "http://c/"])
    assert storage.sources.failures("s") == []
