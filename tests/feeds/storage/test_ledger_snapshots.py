"""The ledger's snapshot column (distributed mode, migration 0010), on SQLite and
PostgreSQL: written with the plan, read only by delivery jobs, cleared once a digest
is settled; open digests paged by id for the plan pass and the resend job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from feeds.storage import Storage
from feeds.storage.ledger_rows import FAILED, RETRYING, SENT, Failure, NewDigest

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def _plan(storage: Storage, count: int, snapshot: bool = True, now: datetime = NOW) -> list[str]:
    ids = [f"d{n:03d}" for n in range(count)]
    digests = [NewDigest(d, f"s{n:03d}", "email", 0, 3, [1, 2, 3], 0,
                         (b"zs1" + bytes([n % 256]) * 40) if snapshot else None)
               for n, d in enumerate(ids)]
    storage.ledger.record_plan({f"s{n:03d}": 0 for n in range(count)},
                               {f"s{n:03d}": 3 for n in range(count)}, digests, now)
    return ids


def _retry(failure: Failure, tried: int) -> tuple[str, datetime | None]:
    return (FAILED, None) if failure.permanent else (RETRYING, NOW + timedelta(hours=1))


def test_delivery_reads_the_snapshot_and_no_one_else_does(storage: Storage) -> None:
    _plan(storage, 3)
    found = storage.ledger.for_delivery(["d002", "nope", "d000"])
    assert [r.id for r in found] == ["d002", "d000"]  # in the order asked
    assert found[0].snapshot == b"zs1" + b"\x02" * 40
    assert isinstance(found[0].snapshot, bytes)
    # Listings (status, the embedded pass, resends) do not carry the sealed bytes.
    assert all(r.snapshot is None for r in storage.ledger.outstanding(NOW))
    assert storage.ledger.get("d000").snapshot is None  # type: ignore[union-attr]
    assert all(r.snapshot is None for r in storage.ledger.problems())


def test_a_settled_digest_keeps_no_snapshot_a_retrying_one_does(storage: Storage) -> None:
    _plan(storage, 3)
    storage.ledger.mark(["d000"], [Failure("d001", "busy"),
                                   Failure("d002", "gone", permanent=True)], NOW, _retry)
    kept = {r.id: (r.status, r.snapshot) for r in storage.ledger.for_delivery(
        ["d000", "d001", "d002"])}
    assert kept["d000"] == (SENT, None)
    assert kept["d001"] == (RETRYING, b"zs1" + b"\x01" * 40)
    assert kept["d002"] == (FAILED, None)


def test_open_heads_page_through_open_digests_only(storage: Storage) -> None:
    ids = _plan(storage, 25)
    storage.ledger.mark(["d003"], [], NOW, _retry)
    _plan_old = NewDigest("e000", "old", "email", 0, 3, [1], 0, None)
    storage.ledger.record_plan({"old": 0}, {"old": 3}, [_plan_old], NOW)
    heads = list(storage.ledger.open_heads(5, page=4))
    assert [h[0] for h in heads] == sorted([*(i for i in ids if i != "d003"), "e000"])
    assert heads[0] == ("d000", "s000", b"zs1\x00\x00")
    assert dict((h[0], h[2]) for h in heads)["e000"] is None


def test_reseal_changes_open_digests_only(storage: Storage) -> None:
    _plan(storage, 2)
    storage.ledger.mark(["d000"], [], NOW, _retry)
    assert storage.ledger.reseal({"d000": b"new0", "d001": b"new1"}) >= 1
    found = {r.id: r.snapshot for r in storage.ledger.for_delivery(["d000", "d001"])}
    assert found == {"d000": None, "d001": b"new1"}
    assert storage.ledger.reseal({}) == 0


def test_due_again_pages_lost_pending_digests_and_due_retries(storage: Storage) -> None:
    old = _plan(storage, 7, now=NOW - timedelta(hours=1))
    storage.ledger.mark([], [Failure("d001", "busy")], NOW, _retry)  # retry at NOW+1h
    later = NOW + timedelta(minutes=10)
    storage.ledger.claim(["d002"], "someone", later, LEASE)  # being sent right now
    fresh = [NewDigest("f000", "new", "email", 0, 3, [1], 0, None)]
    storage.ledger.record_plan({"new": 0}, {"new": 3}, fresh, later)
    lost = [i for i in old if i not in ("d001", "d002")]
    before = later - timedelta(minutes=5)
    assert storage.ledger.due_again(later, before, limit=3) == lost[:3]
    assert storage.ledger.due_again(later, before, after=lost[2], limit=3) == lost[3:]
    assert storage.ledger.due_again(later, before, after=lost[-1]) == []
    # An hour on, the retry is due and the claim's lease has run out.
    after_retry = NOW + timedelta(hours=2)
    assert storage.ledger.due_again(after_retry, before) == sorted(["d001", "d002", *lost])
