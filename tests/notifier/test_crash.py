"""Kill the sender (SIGKILL) in the middle of a fan-out, restart, and count what arrived."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from feeds.intake import Ingestor
from feeds.models import CHINA_TZ, ArticleRecord
from feeds.regions import Gazetteer
from feeds.storage import Storage
from notifier.ledger import SENT, Ledger
from notifier.plan import Plan

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=CHINA_TZ)
SUBSCRIBERS = 60

CHILD = r'''
import json, random, sys
from datetime import datetime
import notifier.deliver as deliver
import notifier.fanout as fanout
from feeds.regions import Gazetteer
from feeds.storage import Storage
from notifier.config import Settings
from notifier.ledger import Ledger
from notifier.models import Schedule, ScheduleKind, Subscriber, Subscriptions
from notifier.tokens import Signer

fanout.MARK_BATCH = 5
cfg = json.loads(sys.argv[1])
settings = Settings.model_validate(cfg["settings"])
store = Storage.open(settings.database)
subs = Subscriptions(tuple(
    Subscriber(id=s["id"], schedule=Schedule(ScheduleKind.IMMEDIATE, "immediate"),
               regions=tuple(s["regions"]), email=s["email"], fingerprint="fp")
    for s in cfg["subscribers"]))
deps = deliver.DeliveryDeps(settings=settings, store=store, gazetteer=Gazetteer.default(),
                            ledger=Ledger(store.ledger), signer=Signer(b"k"))
report = deliver.send_due(deps, subs, datetime.fromisoformat(cfg["now"]))
print(json.dumps({"sent": report.sent, "resent": report.resent, "planned": report.planned}))
'''


class SlowSink:
    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        await asyncio.sleep(0.03)
        with self.lock:
            self.messages += [(rcpt, envelope.content) for rcpt in envelope.rcpt_tos]
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
def test_sigkill_mid_fanout_then_restart_delivers_everything_once_or_same_id(
    tmp_path: Path,
) -> None:
    sink = SlowSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        database = f"sqlite:///{tmp_path / 'zw.db'}"
        store = Storage.open(database)
        subscribers = [
            {"id": f"s{i:03d}", "email": f"s{i:03d}@example.com",
             "regions": ["110102"] if i % 2 else ["330400"]}
            for i in range(SUBSCRIBERS)
        ]
        # Every subscriber is known (first seen) before the articles arrive.
        Ledger(store.ledger).record_plan(
            Plan(new_subscribers={s["id"]: 0 for s in subscribers}), NOW - timedelta(hours=1))
        records = [
            ArticleRecord(url=f"https://n.example/{n}", title=f"新闻{n}", region=region,
                          published=NOW - timedelta(hours=n), source="投促局", content="正文")
            for n, region in [(1, "西城区"), (2, "西城区"), (3, "南湖区"), (4, "嘉兴"),
                              (5, "西城区")]
        ]
        Ingestor(store, Gazetteer.default()).add(records, now=NOW)
        expected = {
            s["id"]: {a.id for a in store.iter_articles() if s["regions"][0] in a.region_keys}
            for s in subscribers
        }
        cfg = json.dumps({
            "settings": {"database": database, "public_url": "https://z.example/",
                         "email": {"transport": "smtp", "from": "zw <news@example.org>",
                                   "smtp": {"host": "127.0.0.1", "port": port}},
                         "delivery": {"concurrency": 2}},
            "subscribers": subscribers, "now": NOW.isoformat(),
        })
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        child = subprocess.Popen([sys.executable, "-c", CHILD, cfg], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while len(sink.messages) < SUBSCRIBERS // 3 and time.monotonic() < deadline:
            time.sleep(0.005)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        killed_at = len(sink.messages)
        assert 0 < killed_at < SUBSCRIBERS, "the kill must land mid fan-out"

        rerun = subprocess.run([sys.executable, "-c", CHILD, cfg], env=env,
                               capture_output=True, text=True, timeout=60, check=True)
        summary = json.loads(rerun.stdout.strip().splitlines()[-1])
        assert summary["planned"] == 0 and summary["resent"] > 0

        got: dict[str, list[email.message.EmailMessage]] = defaultdict(list)
        for rcpt, raw in sink.messages:
            got[rcpt.split("@")[0]].append(
                email.message_from_bytes(raw, policy=email.policy.default))  # type: ignore[arg-type]
        for sub in subscribers:
            messages = got[sub["id"]]
            assert messages, f"{sub['id']} got nothing"
            # any repeat is the same digest: same Message-ID
            assert len({m["Message-ID"] for m in messages}) == 1
            html = messages[0].get_body(("html",)).get_content()
            for article in store.iter_articles():
                assert (article.url in html) == (article.id in expected[sub["id"]])
        statuses = {r.status for s in subscribers
                    for r in Ledger(store.ledger).digests_of(s["id"])}
        assert statuses == {SENT}
        store.close()
    finally:
        controller.stop()
