"""Webhook digests against a real local HTTP receiver that checks signatures."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import threading
import time
import urllib.parse
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from feeds.intake import Ingestor
from feeds.models import CHINA_TZ, ArticleRecord
from feeds.regions import Gazetteer
from feeds.storage import Storage
from notifier.config import Settings
from notifier.deliver import DeliveryDeps, send_due
from notifier.ledger import FAILED, RETRYING, SENT, Ledger
from notifier.models import Schedule, ScheduleKind, Subscriber, Subscriptions, WebhookTarget
from notifier.tokens import Signer
from tests.support.servers import LocalServer, QuietHandler, serving

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=CHINA_TZ)
SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
DING_SECRET = "SEC-ding-secret"
FEISHU_SECRET = "feishu-secret"


class Receiver(LocalServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(Handler)
        self.script: dict[str, list[tuple[int, dict[str, str], float]]] = {}
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        self.lock = threading.Lock()

    def got(self, path: str) -> list[tuple[dict[str, str], bytes]]:
        return [(h, b) for p, h, b in self.received if p == path]


class Handler(QuietHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.read_body()
        path = urllib.parse.urlsplit(self.path).path
        headers = self.lower_headers()
        with self.server.lock:
            steps = self.server.script.get(path) or []
            status, extra, delay = steps.pop(0) if steps else (200, {}, 0.0)
        if delay:
            time.sleep(delay)
        if status == 200:
            self.check(path, headers, body)
            with self.server.lock:
                self.server.received.append((self.path, headers, body))
        self.send_response(status)
        for key, value in extra.items():
            self.send_header(key, value)
        self.send_header("content-length", "0")
        self.end_headers()

    def check(self, path: str, headers: dict[str, str], body: bytes) -> None:
        """Refuse (loudly, in the test) anything not signed as the platform expects."""
        if path.startswith("/json"):
            Webhook(SECRET).verify(body, headers)  # raises on a bad signature
        elif path == "/ding":
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            ts = query["timestamp"][0]
            mac = hmac.new(DING_SECRET.encode(), f"{ts}\n{DING_SECRET}".encode(), hashlib.sha256)
            assert query["sign"][0] == base64.b64encode(mac.digest()).decode()
        elif path == "/feishu":
            data = json.loads(body)
            key = f"{data['timestamp']}\n{FEISHU_SECRET}".encode()
            expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
            assert data["sign"] == expected


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serving(Receiver()) as server:
        yield server


def hook(sid: str, url: str, fmt: str = "json", secret: str | None = SECRET) -> Subscriber:
    return Subscriber(id=sid, schedule=Schedule(ScheduleKind.IMMEDIATE, "immediate"),
                      regions=("110102",), webhook=WebhookTarget(url, fmt, secret),
                      fingerprint=f"fp-{sid}")


def make_deps(tmp_path: Path) -> DeliveryDeps:
    settings = Settings.model_validate({
        "database": f"sqlite:///{tmp_path / 'zw.db'}",
        "public_url": "https://zonewire.example.org/",
        "delivery": {"concurrency": 4, "timeout": "0.5s",
                     "retry": {"initial": "30s", "max": "1h", "max_attempts": 3}},
    })
    store = Storage.open(settings.database)
    return DeliveryDeps(settings=settings, store=store, gazetteer=Gazetteer.default(),
                        ledger=Ledger(store.ledger), signer=Signer(b"k"), rng=random.Random(2))


def add_article(deps: DeliveryDeps, n: int, title: str) -> None:
    Ingestor(deps.store, deps.gazetteer).add([ArticleRecord(
        url=f"https://news.example.cn/detail/id/{n}.html", title=title,
        published=NOW - timedelta(hours=3), source="西城区投资促进局", region="西城区",
        zone="德胜科技园", category="文字新闻", content="<p>园区迎来新项目。</p>",
        summary="园区迎来新项目")], now=NOW)


def test_webhook_failures_and_signatures(tmp_path: Path, receiver: Receiver) -> None:
    deps = make_deps(tmp_path)
    base = receiver.base_url
    subs = Subscriptions((
        hook("ok", f"{base}/json/ok"), hook("flaky", f"{base}/json/flaky"),
        hook("busy", f"{base}/json/busy"), hook("gone", f"{base}/json/gone"),
        hook("slow", f"{base}/json/slow"),
        hook("ding", f"{base}/ding?access_token=abc", "dingtalk", DING_SECRET),
        hook("fs", f"{base}/feishu", "feishu", FEISHU_SECRET),
        hook("wc", f"{base}/wecom", "wecom", None), hook("sl", f"{base}/slack", "slack", None),
    ))
    send_due(deps, subs, NOW - timedelta(hours=1))
    add_article(deps, 1, "德胜园新签约数字经济项目")
    receiver.script = {
        "/json/flaky": [(500, {}, 0.0)],
        "/json/busy": [(429, {"retry-after": "600"}, 0.0)],
        "/json/gone": [(410, {}, 0.0)],
        "/json/slow": [(200, {}, 1.0)],
    }
    report = send_due(deps, subs, NOW)
    assert (report.sent, report.retrying, report.failed) == (5, 3, 1)
    status = {s.id: deps.ledger.digests_of(s.id)[0] for s in subs.subscribers}
    assert {k for k, v in status.items() if v.status == SENT} == {"ok", "ding", "fs", "wc", "sl"}
    assert status["flaky"].status == RETRYING and "HTTP 500" in (status["flaky"].last_error or "")
    busy_at = status["busy"].next_attempt_at
    assert status["busy"].status == RETRYING and busy_at is not None
    assert busy_at >= NOW + timedelta(seconds=600)  # Retry-After honoured over the backoff
    assert status["slow"].status == RETRYING and "timed out" in (status["slow"].last_error or "")
    assert status["gone"].status == FAILED and "410" in (status["gone"].last_error or "")

    # the json payload, exactly the SPEC §8 shape, with the Atom entry id
    ((headers, body),) = receiver.got("/json/ok")
    payload = json.loads(body)
    assert set(payload) == {"type", "id", "subscriber", "generated_at", "articles"}
    assert (payload["type"], payload["subscriber"]) == ("digest", "ok")
    assert payload["id"] == headers["webhook-id"] == status["ok"].id
    (item,) = payload["articles"]
    stored = deps.store.get("https://news.example.cn/detail/id/1.html")
    assert stored is not None and item["id"] == stored.id
    assert set(item) == {"id", "url", "title", "summary", "published", "updated", "source",
                         "category", "zone", "region", "regions", "also"}
    assert item["also"] == []  # no other source published this story
    assert item["published"].endswith("+08:00") and item["zone"] == "德胜科技园"
    assert item["regions"][0]["level"] == "zone" and item["regions"][-1]["name"] == "北京市"
    ((_, ding_body),) = [(h, b) for p, h, b in receiver.received if p.startswith("/ding")]
    assert json.loads(ding_body)["markdown"]["text"].count("德胜园新签约数字经济项目") == 1
    assert json.loads(receiver.got("/wecom")[0][1])["msgtype"] == "markdown"
    assert "德胜园新签约" in json.loads(receiver.got("/slack")[0][1])["blocks"][0]["text"]["text"]

    # later: the 500 and the slow receiver succeed, with the same webhook-id
    retry = send_due(deps, subs, NOW + timedelta(hours=1))
    assert retry.sent == 3  # flaky, slow and busy (its Retry-After has passed too)
    ((again, _),) = receiver.got("/json/flaky")
    assert again["webhook-id"] == status["flaky"].id

    # the 410 hook is disabled: a new article is not even planned for it
    add_article(deps, 2, "德胜园第二条新闻")
    after = send_due(deps, subs, NOW + timedelta(hours=2))
    assert "gone" not in {sid for sid, _, _ in after.digests}
    assert after.sent == 8
    assert deps.ledger.states(["gone"])["gone"].disabled_reason
    deps.store.close()


@pytest.mark.parametrize(("secret", "key"), [
    (SECRET, b"0123456789abcdef0123456789abcdef"),  # whsec_: base64 after the prefix
    ("plain-shared-secret", b"plain-shared-secret"),  # anything else: its UTF-8 bytes
])
def test_signature_is_hmac_sha256_of_id_timestamp_body_with_the_documented_key(
    secret: str, key: bytes
) -> None:
    """A receiver that does not use the library computes the same ``v1`` signature."""
    from notifier.channels.webhook import standard_webhook_headers

    body = json.dumps({"digest": "北京"}, ensure_ascii=False).encode("utf-8")
    headers = standard_webhook_headers(secret, "msg_7", 1_764_460_800, body)
    mac = hmac.new(key, b"msg_7.1764460800." + body, hashlib.sha256).digest()
    assert headers == {
        "webhook-id": "msg_7",
        "webhook-timestamp": "1764460800",
        "webhook-signature": "v1," + base64.b64encode(mac).decode(),
    }
