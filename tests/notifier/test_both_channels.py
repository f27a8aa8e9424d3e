"""A subscriber with an email and a webhook gets each digest on both (SPEC §8): one
ledger entry per channel, own retries, and one channel's trouble never holds back
the other. Real aiosmtpd and a real signed-webhook receiver."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from feeds.intake import Ingestor
from feeds.models import CHINA_TZ, ArticleRecord
from feeds.regions import Gazetteer
from feeds.storage import Storage
from notifier.config import Settings
from notifier.deliver import DeliveryDeps, send_due
from notifier.delivery_status import status_lines
from notifier.ledger import FAILED, PENDING, RETRYING, SENT, Ledger
from notifier.models import Schedule, ScheduleKind, Subscriber, Subscriptions, WebhookTarget
from notifier.tokens import Signer
from tests.support.servers import (
    WEBHOOK_SECRET,
    LocalServer,
    QuietHandler,
    SmtpSink,
    free_port,
    serving,
    smtp_sink,
    webhook_receiver,
)

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=CHINA_TZ)


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with smtp_sink() as server:
        yield server


def deps_for(database_url: str, smtp_port: int) -> DeliveryDeps:
    settings = Settings.model_validate({
        "database": database_url,
        "public_url": "https://zonewire.example.org/",
        "email": {"transport": "smtp", "from": "招商快讯 <news@example.org>",
                  "smtp": {"host": "127.0.0.1", "port": smtp_port, "timeout": "5s"}},
        "delivery": {"concurrency": 2, "timeout": "5s",
                     "retry": {"initial": "30s", "max": "1h"}},
    })
    store = Storage.open(database_url)
    return DeliveryDeps(settings=settings, store=store, gazetteer=Gazetteer.default(),
                        ledger=Ledger(store.ledger), signer=Signer(b"k" * 32),
                        rng=random.Random(2))


def both(url: str) -> Subscriptions:
    return Subscriptions((Subscriber(
        id="desk", schedule=Schedule(ScheduleKind.IMMEDIATE, "immediate"),
        regions=("110102",), email="desk@example.com",
        webhook=WebhookTarget(url, "json", WEBHOOK_SECRET), fingerprint="fp-desk"),))


def add_news(deps: DeliveryDeps, n: int) -> None:
    Ingestor(deps.store, deps.gazetteer).add([ArticleRecord(
        url=f"https://news.example.cn/detail/id/{n}.html", title=f"西城区第{n}号项目签约",
        published=NOW - timedelta(hours=1), source="区投资促进局", region="西城区",
        content="<p>正文</p>")], now=NOW)


def by_channel(deps: DeliveryDeps) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for record in deps.ledger.digests_of("desk"):
        found.setdefault(record.channel, []).append(record.status)
    return found


class FakeApp:
    def __init__(self, deps: DeliveryDeps) -> None:
        self.store = deps.store


def test_both_channels_receive_each_digest(database_url: str, sink: SmtpSink) -> None:
    deps = deps_for(database_url, sink.port)
    with webhook_receiver() as hook:
        subs = both(hook.url)
        send_due(deps, subs, NOW - timedelta(hours=2))  # the subscriber is seen
        add_news(deps, 1)
        report = send_due(deps, subs, NOW)
        assert (report.planned, report.sent, report.failed) == (2, 2, 0)

        (mail,) = sink.to("desk@example.com")
        (payload,) = hook.payloads
        assert "西城区第1号项目签约" in mail.get_body(("plain",)).get_content()
        assert [a["title"] for a in payload["articles"]] == ["西城区第1号项目签约"]
        records = {r.channel: r for r in deps.ledger.digests_of("desk")}
        assert set(records) == {"email", "webhook"}
        assert records["email"].id != records["webhook"].id
        assert mail["Message-ID"] == f"<{records['email'].id}@example.org>"
        assert hook.headers_seen[0]["webhook-id"] == records["webhook"].id == payload["id"]

        # Nothing new: nothing more on either channel.
        assert send_due(deps, subs, NOW + timedelta(minutes=1)).sent == 0
        assert len(sink.messages) == 1 and len(hook.payloads) == 1
    deps.store.close()


def test_a_failing_webhook_does_not_hold_back_the_email(
    database_url: str, sink: SmtpSink
) -> None:
    deps = deps_for(database_url, sink.port)
    port = free_port()  # nothing listens here yet: connection refused
    subs = both(f"http://127.0.0.1:{port}/hook")
    send_due(deps, subs, NOW - timedelta(hours=2))
    add_news(deps, 2)
    report = send_due(deps, subs, NOW)
    assert (report.sent, report.retrying, report.failed) == (1, 1, 0)
    assert len(sink.to("desk@example.com")) == 1
    assert by_channel(deps) == {"email": [SENT], "webhook": [RETRYING]}
    lines = status_lines(FakeApp(deps))
    assert "  email: 1 sent, 0 pending, 0 retrying, 0 failed" in lines
    assert "  webhook: 0 sent, 0 pending, 1 retrying, 0 failed" in lines

    # The receiver is back; at the retry time only the webhook goes out.
    (webhook,) = [r for r in deps.ledger.digests_of("desk") if r.channel == "webhook"]
    assert webhook.next_attempt_at is not None
    with webhook_receiver(port) as hook:
        later = send_due(deps, subs, webhook.next_attempt_at + timedelta(seconds=1))
        assert (later.resent, later.sent) == (1, 1)
        (payload,) = hook.payloads
        assert payload["id"] == webhook.id
    assert len(sink.to("desk@example.com")) == 1  # the email was not sent again
    assert by_channel(deps) == {"email": [SENT], "webhook": [SENT]}
    deps.store.close()


def test_a_broken_mail_server_does_not_hold_back_the_webhook(
    database_url: str, tmp_path: Path
) -> None:
    deps = deps_for(database_url, free_port())  # no SMTP server: connection refused
    with webhook_receiver() as hook:
        subs = both(hook.url)
        send_due(deps, subs, NOW - timedelta(hours=2))
        add_news(deps, 3)
        report = send_due(deps, subs, NOW)
        assert (report.sent, report.failed, report.held) == (1, 0, 1)
        assert len(hook.payloads) == 1
        assert "email" in report.transport and "cannot connect" in report.transport["email"]
    # The email is not the recipient's failure: it stays due, and status says why.
    assert by_channel(deps) == {"email": [PENDING], "webhook": [SENT]}
    lines = status_lines(FakeApp(deps))
    assert any(line.startswith("  email transport failing since") for line in lines)
    deps.store.close()


class Gone(QuietHandler):
    """A webhook receiver that has been shut down for good."""

    def do_POST(self) -> None:
        self.read_body()
        self.send_response(410)
        self.send_header("content-length", "0")
        self.end_headers()


def test_a_gone_webhook_is_disabled_and_the_email_keeps_coming(
    database_url: str, sink: SmtpSink
) -> None:
    deps = deps_for(database_url, sink.port)
    with closing(deps.store), serving(LocalServer(Gone, path="/hook")) as gone:
        subs = both(gone.url)
        send_due(deps, subs, NOW - timedelta(hours=2))
        add_news(deps, 4)
        first = send_due(deps, subs, NOW)
        assert (first.sent, first.failed) == (1, 1)
        assert deps.ledger.disabled() and deps.ledger.disabled()[0][0] == "desk"
        add_news(deps, 5)
        second = send_due(deps, subs, NOW + timedelta(minutes=1))
        assert (second.planned, second.sent) == (1, 1)  # the email only
        assert len(sink.to("desk@example.com")) == 2
        assert by_channel(deps) == {"email": [SENT, SENT], "webhook": [FAILED]}
