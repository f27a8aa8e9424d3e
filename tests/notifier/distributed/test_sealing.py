"""Sealed snapshots (notifier.distributed.sealing): what is stored in the ledger
opens back to the subscriber with the same key and digest id only, and shows no
address or secret to whoever reads the database."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifier.distributed.sealing import HEAD, Sealer, mark_of
from notifier.models import Schedule, ScheduleKind, Subscriber, WebhookTarget
from notifier.snapshot import SnapshotError
from tests.notifier.test_snapshot import subscribers

KEY = b"k" * 43
sealer = Sealer(KEY)

addresses = st.from_regex(r"[a-z0-9._]{3,20}@[a-z0-9]{3,12}\.(com|org|cn)", fullmatch=True)
secrets_ = st.from_regex(r"whsec_[A-Za-z0-9+/]{12,40}", fullmatch=True)


def person(email: str, secret: str) -> Subscriber:
    return Subscriber(
        id="alice", schedule=Schedule(ScheduleKind.IMMEDIATE, "immediate"),
        regions=("110102",), email=email,
        webhook=WebhookTarget("https://hooks.example.org/zonewire", "json", secret),
        fingerprint="0123456789abcdef",
    )


@given(subscribers, st.text(min_size=1, max_size=40))
def test_a_sealed_subscriber_opens_back_equal(subscriber: Subscriber, digest_id: str) -> None:
    blob = sealer.seal(subscriber, digest_id)
    assert sealer.open(blob, digest_id) == subscriber
    assert mark_of(blob[:HEAD]) == sealer.mark(subscriber)


@given(addresses, secrets_)
def test_the_stored_bytes_hold_no_address_and_no_secret(email: str, secret: str) -> None:
    blob = sealer.seal(person(email, secret), "d" + "0" * 32)
    for shown in (email, secret, email.split("@")[0], "hooks.example.org"):
        assert shown.encode() not in blob
        assert shown.encode("utf-16-le") not in blob


def test_it_opens_only_for_its_digest_and_with_its_key() -> None:
    alice = person("alice@example.com", "whsec_abcdefghijklmnop")
    blob = sealer.seal(alice, "d1")
    with pytest.raises(SnapshotError, match="another secret_key"):
        sealer.open(blob, "d2")  # copied onto another digest's row
    with pytest.raises(SnapshotError, match="another secret_key"):
        Sealer(b"x" * 43).open(blob, "d1")
    tampered = bytearray(blob)
    tampered[-1] ^= 1
    with pytest.raises(SnapshotError):
        sealer.open(bytes(tampered), "d1")
    with pytest.raises(SnapshotError):
        sealer.open(b"zs1short", "d1")
    with pytest.raises(SnapshotError):
        sealer.open(b"\x00" * 80, "d1")
    # Each seal has its own nonce: the same subscriber never gives the same bytes.
    assert sealer.seal(alice, "d1") != blob


def test_the_mark_tells_an_edited_entry_and_depends_on_the_key() -> None:
    alice = person("alice@example.com", "whsec_abcdefghijklmnop")
    mark = sealer.mark(alice)
    assert sealer.mark(replace(alice)) == mark
    assert sealer.mark(replace(alice, email="alice@example.net")) != mark
    assert sealer.mark(replace(alice, language="en")) != mark
    assert Sealer(b"x" * 43).mark(alice) != mark
    assert mark_of(None) is None
    assert mark_of(b"zs") is None
