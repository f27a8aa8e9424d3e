"""Migration 0006 upgrades a ledger with rows in it (SQLite and PostgreSQL): old
digests keep their ids and are sent with them; new ones go out per channel."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from feeds.intake import Ingestor
from feeds.models import CHINA_TZ, ArticleRecord, Region
from feeds.regions import Gazetteer
from feeds.storage import Storage
from feeds.storage.engine import create_engine, migrate
from feeds.storage.ledger import SqlLedgerStore
from notifier.config import Settings
from notifier.deliver import DeliveryDeps, send_due
from notifier.ledger import PENDING, SENT, Ledger
from notifier.models import Schedule, ScheduleKind, Subscriber, Subscriptions, WebhookTarget
from notifier.plan import digest_id
from notifier.tokens import Signer

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=CHINA_TZ)


def naive_utc(moment: datetime) -> datetime:
    """How the store keeps times (UTC, without an offset)."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def upgrade_to(engine: sa.Engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", "feeds.storage:migrations")
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def _old_articles(engine: sa.Engine) -> list[int]:
    gazetteer = Gazetteer.default()
    region = gazetteer.resolve("西城区")
    assert isinstance(region, Region)
    keys = gazetteer.ancestor_keys(region.key)
    seqs = []
    with engine.begin() as conn:
        for n in (1, 2):
            published = naive_utc(NOW - timedelta(hours=n))
            seq = conn.execute(sa.text(
                "INSERT INTO articles (entry_id, url, title, published, updated, ingested_at, "
                "source, zone, region, category, content, summary, content_hash, backfill, "
                "source_name, region_key, unresolved) VALUES (:entry, :url, :title, :p, :p, "
                ":now, NULL, NULL, '西城区', NULL, '正文', NULL, :hash, :f, NULL, :key, NULL) "
                "RETURNING seq"),
                {"entry": f"tag:n.example,2026:{n}", "url": f"https://n.example/{n}",
                 "title": f"西城区新闻{n}", "p": published, "now": naive_utc(NOW),
                 "hash": f"{n:064x}", "f": False, "key": region.key}).scalar_one()
            conn.execute(sa.text(
                "INSERT INTO article_regions (article_seq, region_key) VALUES (:seq, :key)"),
                [{"seq": seq, "key": key} for key in keys])
            seqs.append(seq)
    return seqs


def test_upgrade_keeps_old_digests_and_their_ids(database_url: str, tmp_path: Path) -> None:
    engine = create_engine(database_url)
    upgrade_to(engine, "0005")  # a ledger as the previous release left it
    # Articles as a 0005-era release stored them: today's store code expects the
    # columns of later migrations, so the rows are written as they were then.
    seqs = _old_articles(engine)
    old_id = digest_id("alice", 0, max(seqs))  # how 0005-era ids were made
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO subscriber_state (subscriber_id, first_seen_seq, first_seen_at, "
            "last_seq, last_planned_at, unsubscribed_all, unsubscribed_regions) VALUES "
            "(:s, 0, :t, :seq, :t, :f, '[]')"),
            [{"s": s, "t": naive_utc(NOW - timedelta(hours=3)), "seq": max(seqs),
              "f": False} for s in ("alice", "bob")])
        conn.execute(sa.text(
            "INSERT INTO digests (id, subscriber_id, channel, first_seq, last_seq, "
            "article_seqs, more, status, attempts, next_attempt_at, last_error, created_at, "
            "sent_at) VALUES (:id, :s, 'email', 0, :last, :seqs, 0, :status, :attempts, "
            "NULL, :error, :t, NULL)"),
            [{"id": old_id, "s": "alice", "last": max(seqs), "seqs": json.dumps(seqs),
              "status": PENDING, "attempts": 1, "error": "451 later",
              "t": naive_utc(NOW - timedelta(hours=2))},
             {"id": digest_id("bob", 0, max(seqs)), "s": "bob", "last": max(seqs),
              "seqs": json.dumps(seqs), "status": SENT, "attempts": 1, "error": None,
              "t": naive_utc(NOW - timedelta(hours=2))}])

    migrate(engine)  # 0006 and later, as any command does on start
    migrate(engine)  # and a second time is a no-op
    store = Storage(engine)
    columns = {c["name"] for c in sa.inspect(engine).get_columns("digests")}
    assert {"claimed_by", "claim_expires_at"} <= columns
    assert "channel_state" in sa.inspect(engine).get_table_names()
    ledger = Ledger(SqlLedgerStore(engine))
    alice = ledger.get(old_id)
    assert alice is not None
    assert (alice.status, alice.attempts, alice.claimed_by) == (PENDING, 1, None)
    assert ledger.counts() == {PENDING: 1, SENT: 1}

    # The old pending digest goes out with its old id; new ones go per channel.
    outbox = tmp_path / "outbox"
    settings = Settings.model_validate({
        "database": database_url, "public_url": "https://z.example/",
        "email": {"transport": "maildir", "outbox": str(outbox),
                  "from": "zw <news@example.org>"}})
    deps = DeliveryDeps(settings=settings, store=store, gazetteer=Gazetteer.default(),
                        ledger=ledger, signer=Signer(b"k" * 32), rng=random.Random(0))
    alice_sub = Subscriber(id="alice", schedule=Schedule(ScheduleKind.IMMEDIATE, "immediate"),
                           regions=("110102",), email="alice@example.com", fingerprint="fp")
    report = send_due(deps, Subscriptions((alice_sub,)), NOW)
    assert (report.resent, report.sent) == (1, 1)
    (message,) = [p.read_bytes() for p in (outbox / "new").iterdir()]
    assert f"Message-ID: <{old_id}@example.org>".encode() in message
    assert ledger.get(old_id).status == SENT  # type: ignore[union-attr]

    # A channel added later gets its own entries beside the email's.
    Ingestor(store, Gazetteer.default()).add([ArticleRecord(
        url="https://n.example/3", title="西城区新闻3", region="西城区",
        published=NOW, content="正文")], now=NOW)
    both = Subscriber(id="alice", schedule=alice_sub.schedule, regions=alice_sub.regions,
                      email="alice@example.com",
                      webhook=WebhookTarget("http://127.0.0.1:9/hook", "json"), fingerprint="fp")
    later = send_due(deps, Subscriptions((both,)), NOW + timedelta(minutes=1))
    assert later.planned == 2
    channels = sorted(r.channel for r in ledger.digests_of("alice") if r.id != old_id)
    assert channels == ["email", "webhook"]
    engine.dispose()
