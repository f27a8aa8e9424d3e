"""LedgerStore contract, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from feeds.storage import Storage
from feeds.storage.ledger_rows import FAILED, PENDING, RETRYING, SENT, Failure, NewDigest

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def _plan(storage: Storage, *ids: str) -> None:
    # One digest per seq range: (subscriber, channel, range) is the ledger's key.
    digests = [NewDigest(d, "s1", "email", n, 3 + n, [1, 2, 3], 0) for n, d in enumerate(ids)]
    storage.ledger.record_plan({"s1": 0}, {"s1": 3}, digests, NOW)


def test_a_plan_moves_the_cursor_and_records_pending_digests(storage: Storage) -> None:
    _plan(storage, "d1")
    state = storage.ledger.states(["s1"])["s1"]
    assert (state.first_seen_seq, state.last_seq, state.unsubscribed_all) == (0, 3, False)
    (record,) = storage.ledger.digests_of("s1")
    assert (record.id, record.status, record.article_seqs) == ("d1", PENDING, (1, 2, 3))
    assert record.created_at == NOW


def test_a_stale_plan_moves_nothing_and_records_nothing(storage: Storage) -> None:
    _plan(storage, "d1")
    later = [NewDigest("d2", "s1", "email", 3, 5, [4, 5], 0)]
    moved = storage.ledger.record_plan({}, {"s1": 5}, later, NOW, expected={"s1": 0})
    assert moved == set()
    assert [r.id for r in storage.ledger.digests_of("s1")] == ["d1"]
    assert storage.ledger.record_plan({}, {"s1": 5}, later, NOW, expected={"s1": 3}) == {"s1"}


def test_a_claimed_digest_is_not_claimed_twice_until_its_lease_runs_out(storage: Storage) -> None:
    _plan(storage, "d1")
    assert storage.ledger.claim(["d1"], "a", NOW, LEASE) == {"d1"}
    assert storage.ledger.claim(["d1"], "b", NOW, LEASE) == set()
    assert storage.ledger.outstanding(NOW) == []
    assert storage.ledger.claimants(NOW) == {"a"}
    later = NOW + LEASE + timedelta(seconds=1)
    assert storage.ledger.claim(["d1"], "b", later, LEASE) == {"d1"}


def test_marks_apply_the_callers_retry_rule_and_only_the_claimants(storage: Storage) -> None:
    _plan(storage, "d1", "d2", "d3")
    storage.ledger.claim(["d1", "d2", "d3"], "a", NOW, LEASE)
    seen: list[tuple[str, int]] = []

    def retry(failure: Failure, tried: int) -> tuple[str, datetime | None]:
        seen.append((failure.digest_id, tried))
        return (FAILED, None) if failure.permanent else (RETRYING, NOW + timedelta(hours=1))

    statuses = storage.ledger.mark(
        ["d1"], [Failure("d2", "busy"), Failure("d3", "gone", permanent=True)], NOW, retry,
        claimant="b",
    )
    assert statuses == {}  # b holds none of them
    statuses = storage.ledger.mark(
        ["d1"], [Failure("d2", "busy"), Failure("d3", "gone", permanent=True)], NOW, retry,
        claimant="a",
    )
    assert statuses == {"d1": SENT, "d2": RETRYING, "d3": FAILED}
    assert ("d2", 1) in seen
    d2 = storage.ledger.get("d2")
    assert d2 is not None and d2.last_error == "busy" and d2.claimed_by is None
    assert storage.ledger.counts() == {SENT: 1, RETRYING: 1, FAILED: 1}
    assert storage.ledger.counts_by_channel() == {"email": {SENT: 1, RETRYING: 1, FAILED: 1}}
    assert [r.id for r in storage.ledger.outstanding(NOW + timedelta(hours=2))] == ["d2"]


def test_the_same_digest_planned_twice_is_one_row(storage: Storage) -> None:
    _plan(storage, "d1")
    _plan(storage, "d1")
    twin = [NewDigest("other-id", "s1", "email", 0, 3, [1, 2, 3], 0)]
    storage.ledger.record_plan({}, {}, twin, NOW)
    assert [r.id for r in storage.ledger.digests_of("s1")] == ["d1"]


def test_released_claims_stay_due(storage: Storage) -> None:
    _plan(storage, "d1", "d2")
    storage.ledger.claim(["d1", "d2"], "a", NOW, LEASE)
    assert storage.ledger.renew("a", NOW, LEASE) == 2
    storage.ledger.release("a", ["d1"])
    assert [r.id for r in storage.ledger.outstanding(NOW)] == ["d1"]
    storage.ledger.release("a")
    assert {r.id for r in storage.ledger.outstanding(NOW)} == {"d1", "d2"}


def test_choices_and_disabled_webhooks(storage: Storage) -> None:
    storage.ledger.set_choice("s9", "fp", unsubscribed_all=False, regions=["b", "a", "a"],
                              now=NOW, start_seq=7)
    state = storage.ledger.states()["s9"]
    assert (state.last_seq, state.unsubscribed_regions) == (7, frozenset({"a", "b"}))
    storage.ledger.disable("s9", "fp", "410 Gone")
    assert storage.ledger.disabled() == [("s9", "410 Gone")]
