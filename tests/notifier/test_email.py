"""Email digests against a real aiosmtpd server: content, headers, failures, exactly once."""

from __future__ import annotations

import email
import email.policy
import random
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from feeds.intake import Ingestor
from feeds.models import CHINA_TZ, ArticleRecord
from feeds.regions import Gazetteer
from feeds.storage import Storage
from notifier.config import Settings
from notifier.deliver import DeliveryDeps, send_due
from notifier.ledger import FAILED, RETRYING, SENT, Ledger, status_lines
from notifier.models import Schedule, ScheduleKind, Subscriber, Subscriptions
from notifier.tokens import Signer
from tests.support.servers import serving_smtp

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=CHINA_TZ)
IMMEDIATE = Schedule(ScheduleKind.IMMEDIATE, "immediate")


class Sink:
    """An SMTP server that keeps every message and can refuse recipients on cue."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.refuse: dict[str, list[str]] = {}  # recipient -> replies to give, in turn
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        with self.lock:
            replies = self.refuse.get(address)
            if replies:
                return replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.messages.append((rcpt, envelope.content))
        return "250 Message accepted"

    def parsed(self, rcpt: str) -> list[email.message.EmailMessage]:
        return [
            email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[misc]
            for to, raw in self.messages
            if to == rcpt
        ]


@pytest.fixture
def sink() -> Iterator[tuple[Sink, int]]:
    handler = Sink()
    with serving_smtp(handler) as port:
        yield handler, port


def record(n: int, title: str, region: str, zone: str | None = None,
           days_ago: float = 1) -> ArticleRecord:
    return ArticleRecord(
        url=f"https://news.example.cn/detail/id/{n}.html", title=title,
        published=NOW - timedelta(days=days_ago), source="区投资促进局", region=region,
        zone=zone, category="文字新闻", content=f"<p>{title}的正文。</p>",
    )


def subscriber(sid: str, regions: tuple[str, ...], **kw: object) -> Subscriber:
    return Subscriber(id=sid, schedule=IMMEDIATE, regions=regions, email=f"{sid}@example.com",
                      fingerprint=f"fp-{sid}", **kw)  # type: ignore[arg-type]


def make_deps(tmp_path: Path, port: int) -> DeliveryDeps:
    settings = Settings.model_validate({
        "database": f"sqlite:///{tmp_path / 'zw.db'}",
        "public_url": "https://zonewire.example.org/",
        "secret_key": "test-secret",
        "email": {"transport": "smtp", "from": "招商快讯 <news@example.org>",
                  "smtp": {"host": "127.0.0.1", "port": port, "timeout": "5s"}},
        "delivery": {"concurrency": 4, "retry": {"initial": "30s", "max": "1h"}},
    })
    store = Storage.open(settings.database)
    return DeliveryDeps(settings=settings, store=store, gazetteer=Gazetteer.default(),
                        ledger=Ledger(store.ledger), signer=Signer(b"test-secret"),
                        rng=random.Random(1))


def test_each_subscriber_gets_exactly_its_articles_with_headers(tmp_path: Path, sink) -> None:  # type: ignore[no-untyped-def]
    server, port = sink
    deps = make_deps(tmp_path, port)
    ingest = Ingestor(deps.store, deps.gazetteer)
    ingest.add([record(1, "旧闻不该发送", "西城区")], now=NOW - timedelta(hours=2))
    subs = Subscriptions((subscriber("alice", ("110102",), name="王小明"),
                          subscriber("bob", ("330400",), language="en")))
    first = send_due(deps, subs, NOW - timedelta(hours=1))
    assert first.new_subscribers == 2 and server.messages == []

    ingest.add([record(2, "西城区新签约项目", "西城区"),
                record(3, "嘉兴港区新能源产业园开工", "嘉兴", zone="嘉兴港区", days_ago=0.5),
                record(4, "南湖区半导体项目落地", "南湖区", days_ago=0.2)], now=NOW)
    ingest.add([record(5, "一篇回填文章", "西城区")], now=NOW, backfill=True)
    report = send_due(deps, subs, NOW)
    assert (report.sent, report.failed) == (2, 0)

    (alice,) = server.parsed("alice@example.com")
    (bob,) = server.parsed("bob@example.com")
    text = alice.get_body(("plain",)).get_content()
    assert "西城区新签约项目" in text and "旧闻不该发送" not in text
    assert "嘉兴港区" not in text
    bob_html = bob.get_body(("html",)).get_content()
    assert "嘉兴港区新能源产业园开工" in bob_html and "南湖区半导体项目落地" in bob_html
    # grouped by leaf region, newest group first
    assert bob_html.index("南湖区半导体") < bob_html.index("嘉兴港区新能源")
    assert "回填" not in text

    # headers a mail client and a mailbox provider look at
    assert alice.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alice.iter_parts()] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in alice.iter_parts())
    assert alice["Subject"] == "西城区：1 篇新文章"
    assert bob["Subject"] == "嘉兴市: 2 new articles"
    assert str(alice["To"]) == "王小明 <alice@example.com>"
    assert str(alice["From"]) == "招商快讯 <news@example.org>"
    digest = deps.ledger.digests_of("alice")[-1]
    assert alice["Message-ID"] == f"<{digest.id}@example.org>"
    unsub = alice["List-Unsubscribe"]
    assert unsub.startswith("<https://zonewire.example.org/unsubscribe/")
    token = unsub.strip("<>").rsplit("/", 1)[1]
    assert deps.signer.verify(token) == "alice"
    assert alice["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = alice.get_body(("html",)).get_content()
    assert f"/unsubscribe/{token}" in html and f"/unsubscribe/{token}" in text
    assert "https://zonewire.example.org/feeds/110102.atom" in html
    raw_headers = dict(server.messages)["alice@example.com"].split(b"\r\n\r\n", 1)[0]
    assert raw_headers.isascii()  # RFC 2047: encoded words, no raw UTF-8 in headers

    # a re-run sends nothing new
    again = send_due(deps, subs, NOW + timedelta(minutes=5))
    assert (again.sent, again.planned) == (0, 0)
    assert len(server.messages) == 2
    deps.store.close()


def test_451_is_retried_with_the_same_message_id_and_550_is_permanent(tmp_path: Path, sink) -> None:  # type: ignore[no-untyped-def]
    server, port = sink
    deps = make_deps(tmp_path, port)
    subs = Subscriptions((subscriber("carol", ("110102",)), subscriber("dave", ("110102",)),
                          subscriber("erin", ("110102",))))
    send_due(deps, subs, NOW - timedelta(hours=1))
    Ingestor(deps.store, deps.gazetteer).add([record(7, "西城区营商环境发布会", "西城区")], now=NOW)
    server.refuse = {"carol@example.com": ["451 4.7.1 greylisted, try later"],
                     "dave@example.com": ["550 5.1.1 no such user"]}

    report = send_due(deps, subs, NOW)
    assert (report.sent, report.retrying, report.failed) == (1, 1, 1)
    by_sub = {s: deps.ledger.digests_of(s)[0] for s in ("carol", "dave", "erin")}
    assert by_sub["carol"].status == RETRYING and "451" in (by_sub["carol"].last_error or "")
    assert by_sub["dave"].status == FAILED and "550" in (by_sub["dave"].last_error or "")
    assert by_sub["erin"].status == SENT
    retry_at = by_sub["carol"].next_attempt_at
    assert retry_at is not None and retry_at > NOW

    # not due yet: nothing happens
    assert send_due(deps, subs, NOW + timedelta(seconds=1)).sent == 0
    later = send_due(deps, subs, retry_at + timedelta(seconds=1))
    assert later.sent == 1
    (carol,) = server.parsed("carol@example.com")
    assert carol["Message-ID"] == f"<{by_sub['carol'].id}@example.org>"
    assert deps.ledger.get(by_sub["carol"].id).status == SENT  # type: ignore[union-attr]
    assert server.parsed("dave@example.com") == []

    class FakeApp:
        store = deps.store

    lines = status_lines(FakeApp())
    assert lines[0] == "deliveries: 2 sent, 0 pending, 0 retrying, 1 failed"
    assert any("failed dave" in line and "550" in line for line in lines)
    deps.store.close()
