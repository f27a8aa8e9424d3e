"""The main job end to end (issue 7): sample portal -> `zonewire run --once` -> feeds,
email digests in an SMTP sink and signed webhooks in a receiver; then new articles,
then an edited subscriptions file, then an invalid edit."""

from __future__ import annotations

import asyncio
import logging
import textwrap
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest

from feeds.sample.portal import SamplePortal
from feeds.sample.server import serve_portal
from notifier.app import App
from notifier.cli import main
from notifier.reload import ConfigHolder
from notifier.worker import Worker
from tests.support.servers import (
    WEBHOOK_SECRET,
    SmtpSink,
    WebhookReceiver,
    smtp_sink,
    webhook_receiver,
)


@pytest.fixture
def portal() -> Iterator[SamplePortal]:
    sample = SamplePortal(seed=7, articles=45)
    handle = serve_portal(sample)
    try:
        yield sample
    finally:
        handle.close()


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with smtp_sink() as server:
        yield server


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as server:
        yield server


def write_config(root: Path, portal: SamplePortal, sink: SmtpSink, database: str) -> Path:
    config = root / "config"
    config.mkdir(exist_ok=True)
    (config / "zonewire.yaml").write_text(
        textwrap.dedent(
            f"""\
            database: {database}
            public_url: http://feeds.example.test/
            notify_max_age: 36500d      # the sample portal's articles date from 2023
            email:
              transport: smtp
              from: "zonewire <news@example.com>"
              smtp: {{host: 127.0.0.1, port: {sink.port}}}
            crawl: {{per_host_delay: 0s, per_host_concurrency: 4, timeout: 5s, retries: 1}}
            sources:
              - name: sample
                type: portal
                base_url: {portal.base_url}
                list_urls: ["/index.php/home/news/index/p/1.html"]
            """
        ),
        encoding="utf-8",
    )
    return config


def write_subscriptions(config: Path, receiver: WebhookReceiver, extra: str = "") -> None:
    (config / "subscriptions.yaml").write_text(
        textwrap.dedent(
            f"""\
            subscribers:
              - id: zhejiang-desk
                email: zj@example.com
                schedule: immediate
                regions: [浙江省]
              - id: beijing-hook
                webhook: {{url: "{receiver.url}", format: json, secret: "{WEBHOOK_SECRET}"}}
                schedule: immediate
                regions: [北京市]
            """
        )
        + extra,
        encoding="utf-8",
    )


def provinces_of(portal: SamplePortal, pages: list[object], province: str) -> set[str]:
    from feeds.sample.content import ZONES

    province_of = {zone: prov for zone, _, prov in ZONES}
    return {
        page.record(portal.base_url).url  # type: ignore[attr-defined]
        for page in pages
        if province_of[page.text.zone] == province  # type: ignore[attr-defined]
    }


def urls_in_emails(sink: SmtpSink, rcpt: str) -> list[str]:
    urls = []
    for message in sink.to(rcpt):
        text = message.get_body(("plain",))
        assert text is not None
        urls += [w for w in text.get_content().split() if "/detail/id/" in w]
    return urls


def test_main_job_end_to_end(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    portal: SamplePortal,
    sink: SmtpSink,
    receiver: WebhookReceiver,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    config = write_config(tmp_path, portal, sink, "sqlite:///var/zonewire.db")
    write_subscriptions(config, receiver)

    # First cycle: a backfill. Every article is stored and in the feeds; nobody is
    # sent 45 old articles.
    assert main(["run", "--once"]) == 0
    out = capsys.readouterr().out
    assert "45 new" in out and "backfill" in out
    all_feed = feedparser.parse((tmp_path / "public/feeds/all.atom").read_bytes())
    assert not all_feed.bozo
    assert len(all_feed.entries) == 45
    assert {e.link for e in all_feed.entries} == {r.url for r in portal.records()}
    zhejiang = feedparser.parse((tmp_path / "public/feeds/330000.atom").read_bytes())
    assert {e.link for e in zhejiang.entries} == provinces_of(portal, portal.pages(), "浙江省")
    assert sink.messages == [] and receiver.payloads == []

    # New articles appear on the portal: the next cycle sends exactly those.
    fresh = portal.add_articles(12)
    assert main(["run", "--once"]) == 0
    assert "12 new" in capsys.readouterr().out
    want_zj = provinces_of(portal, fresh, "浙江省")
    want_bj = provinces_of(portal, fresh, "北京市")
    assert want_zj and want_bj, "the sample should spread 12 articles over both"
    assert sorted(urls_in_emails(sink, "zj@example.com")) == sorted(want_zj)
    assert len(receiver.payloads) == 1
    assert {a["url"] for a in receiver.payloads[0]["articles"]} == want_bj
    assert receiver.rejected == 0
    # The same article id in the feed and in the webhook payload.
    feed_ids = {
        e.link: e.id
        for e in feedparser.parse((tmp_path / "public/feeds/all.atom").read_bytes()).entries
    }
    for article in receiver.payloads[0]["articles"]:
        assert feed_ids[article["url"]] == article["id"]

    # Nothing new: nothing is sent again.
    assert main(["run", "--once"]) == 0
    assert len(sink.messages) == 1 and len(receiver.payloads) == 1

    # An edited subscriptions file takes effect on the next cycle.
    write_subscriptions(
        config,
        receiver,
        "  - id: sichuan\n    email: sc@example.com\n    schedule: immediate\n"
        "    regions: [四川省]\n",
    )
    assert main(["run", "--once"]) == 0
    later = portal.add_articles(14)
    assert main(["run", "--once"]) == 0
    assert sorted(urls_in_emails(sink, "sc@example.com")) == sorted(
        provinces_of(portal, later, "四川省")
    )

    capsys.readouterr()

    # A running worker: an invalid edit is logged, the last good configuration
    # stays in force, and delivery goes on with it.
    app = App.from_config(None)
    try:
        worker = Worker(app, ConfigHolder(app.config_file, lambda: app.gazetteer))
        (config / "subscriptions.yaml").write_text("subscribers:\n  - id: [broken\n")
        newest = portal.add_articles(10)
        caplog.set_level(logging.ERROR, logger="notifier.reload")
        report = asyncio.run(worker.cycle())
        assert "configuration not reloaded" in caplog.text
        assert "config/subscriptions.yaml:3:1" in caplog.text
        assert worker.holder.subscriptions.by_id("sichuan") is not None
        assert set(urls_in_emails(sink, "zj@example.com")) >= provinces_of(portal, newest, "浙江省")
        assert report.delivery is not None and report.delivery.failed == 0
    finally:
        app.close()

    # A fresh `run --once` has no good configuration to fall back on: it says where
    # the file is broken and exits 1 without a traceback.
    before = len(sink.messages)
    assert main(["run", "--once"]) == 1
    err = capsys.readouterr().err
    assert "zonewire: config/subscriptions.yaml:3:1: not valid YAML" in err
    assert "Traceback" not in err
    assert len(sink.messages) == before
