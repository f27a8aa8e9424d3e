"""Two senders on one ledger, without the worker lock, never send a digest twice
(SPEC §9): each digest is claimed in the ledger before it is sent. A claim whose
lease ran out (a crashed sender elsewhere) is taken over, and the digest goes out
with the same id. SQLite and PostgreSQL; messages counted on the aiosmtpd side."""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from feeds.intake import Ingestor
from feeds.models import CHINA_TZ, ArticleRecord
from feeds.regions import Gazetteer
from feeds.storage import Storage
from notifier.config import Settings
from notifier.deliver import DeliveryDeps, DeliveryReport, send_due
from notifier.ledger import SENT, Ledger
from notifier.models import Schedule, ScheduleKind, Subscriber, Subscriptions
from notifier.plan import Plan, plan_digests
from notifier.tokens import Signer
from tests.support.servers import SmtpSink, free_port

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=CHINA_TZ)
SUBSCRIBERS = 40


class SlowSink(SmtpSink):
    """Takes a moment per message, so two fan-outs overlap."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(0.01)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def sink() -> Iterator[SlowSink]:
    server = SlowSink()
    server.port = free_port()
    controller = Controller(server, hostname="127.0.0.1", port=server.port)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


def sender(database_url: str, port: int) -> DeliveryDeps:
    """A sender of its own: its own engine (connection pool), ledger and channels."""
    settings = Settings.model_validate({
        "database": database_url,
        "public_url": "https://z.example/",
        "email": {"transport": "smtp", "from": "zw <news@example.org>",
                  "smtp": {"host": "127.0.0.1", "port": port}},
        "delivery": {"concurrency": 3},
    })
    store = Storage.open(database_url)
    return DeliveryDeps(settings=settings, store=store, gazetteer=Gazetteer.default(),
                        ledger=Ledger(store.ledger), signer=Signer(b"k" * 32),
                        rng=random.Random())


def subscriptions() -> Subscriptions:
    return Subscriptions(tuple(
        Subscriber(id=f"s{i:02d}", schedule=Schedule(ScheduleKind.IMMEDIATE, "immediate"),
                   regions=("110102",), email=f"s{i:02d}@example.com", fingerprint="fp")
        for i in range(SUBSCRIBERS)))


def prepare(deps: DeliveryDeps) -> None:
    deps.ledger.record_plan(
        Plan(new_subscribers={s.id: 0 for s in subscriptions().subscribers}),
        NOW - timedelta(hours=1))
    Ingestor(deps.store, deps.gazetteer).add([ArticleRecord(
        url=f"https://n.example/{n}", title=f"西城区新闻{n}", region="西城区",
        published=NOW - timedelta(hours=n), content="正文") for n in range(1, 4)], now=NOW)


@pytest.mark.parametrize("senders", [2, 3])
def test_concurrent_senders_without_the_lock_never_double_send(
    database_url: str, sink: SlowSink, senders: int
) -> None:
    deps = [sender(database_url, sink.port) for _ in range(senders)]
    prepare(deps[0])
    subs = subscriptions()
    start = threading.Barrier(senders)
    reports: list[DeliveryReport] = []
    failures: list[BaseException] = []

    def run(own: DeliveryDeps) -> None:
        try:
            start.wait()
            reports.append(send_due(own, subs, NOW))
        except BaseException as exc:  # pragma: no cover - shown by the assert below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(d,)) for d in deps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert failures == []
    received = Counter(rcpt for rcpt, _ in sink.messages)
    assert received == {f"s{i:02d}@example.com": 1 for i in range(SUBSCRIBERS)}
    assert sum(r.sent for r in reports) == SUBSCRIBERS
    assert deps[0].ledger.counts() == {SENT: SUBSCRIBERS}
    # Every claim was given back.
    assert all(r.claimed_by is None for s in subs.subscribers
               for r in deps[0].ledger.digests_of(s.id))
    for d in deps:
        d.store.close()


def test_a_claim_is_respected_until_its_lease_runs_out_then_taken_over(
    database_url: str, sink: SlowSink
) -> None:
    deps = sender(database_url, sink.port)
    prepare(deps)
    subs = subscriptions()
    ledger = deps.ledger
    # A sender on another machine planned and claimed everything, then vanished.
    articles = list(deps.store.iter_articles())
    plan = plan_digests(list(subs.subscribers), {s.id: articles for s in subs.subscribers},
                        ledger.states(), upto_seq=deps.store.max_seq(), now=NOW,
                        notify_max_age=timedelta(days=7), region_name=lambda key: key)
    ledger.record_plan(plan, NOW)
    ids = [d.id for d in plan.digests]
    assert len(ids) == SUBSCRIBERS
    lease = timedelta(minutes=2)
    claimed = ledger.claim(ids, "elsewhere:4242:0.0:abc", NOW, lease)
    assert claimed == set(ids)
    # A second claim on the same digests gets nothing.
    assert ledger.claim(ids, "me:1:0.0:def", NOW, lease) == set()

    # While the lease runs, nobody else sends them.
    early = send_due(deps, subs, NOW + timedelta(minutes=1))
    assert (early.sent, early.resent) == (0, 0)
    assert sink.messages == []

    # The lease ran out: taken over, sent once, with the ids recorded at planning.
    late = send_due(deps, subs, NOW + timedelta(minutes=3))
    assert (late.resent, late.sent) == (SUBSCRIBERS, SUBSCRIBERS)
    message_ids = {raw.split(b"Message-ID: <", 1)[1].split(b"@", 1)[0].decode()
                   for _, raw in sink.messages}
    assert message_ids == set(ids)
    assert Counter(rcpt for rcpt, _ in sink.messages) == {
        f"s{i:02d}@example.com": 1 for i in range(SUBSCRIBERS)}
    deps.store.close()
