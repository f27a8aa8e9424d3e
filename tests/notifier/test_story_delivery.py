"""A subscriber is never notified twice for one story (SPEC §6, §8): the real worker
delivering to the Maildir outbox, with the zone site's article and the portal's
repost arriving in either order, or together; "also at" in both email parts."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from feeds.intake import Ingestor
from feeds.models import CHINA_TZ
from notifier.app import App
from notifier.config import load_settings
from notifier.payload import article_payload
from notifier.reload import ConfigHolder
from notifier.worker import Worker
from tests.feeds.test_stories import ORIGINAL_TITLE
from tests.feeds.test_story_folding import PORTAL_URL, SITE_URL, repost, site_article
from tests.notifier.test_worker import Clock, outbox, write_files

START = datetime(2026, 11, 30, 9, 0, tzinfo=CHINA_TZ)
SUBSCRIBER = """\
- id: zone-desk
  email: desk@example.com
  schedule: {schedule}
  regions: [嘉兴市]
"""


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    write_files(tmp_path, "sqlite:///var/zonewire.db",
                SUBSCRIBER.format(schedule=getattr(request, "param", "immediate")))
    opened = App(load_settings(Path("config/zonewire.yaml")), Path("config/zonewire.yaml"))
    yield opened
    opened.close()


def bodies(root: Path) -> list[tuple[str, str]]:
    return [
        (m.get_body(("plain",)).get_content(), m.get_body(("html",)).get_content())  # type: ignore[union-attr]
        for m in outbox(root)
    ]


@pytest.mark.parametrize("first", ["site", "portal"])
def test_the_story_is_sent_once_whichever_source_brings_it_first(
    app: App, tmp_path: Path, first: str
) -> None:
    clock = Clock(START)
    worker = Worker(app, ConfigHolder(app.config_file, lambda: app.gazetteer), clock=clock)
    asyncio.run(worker.deliver())  # the subscriber starts now
    ingest = Ingestor(app.store, app.gazetteer)
    arrivals = [("zone-site", site_article), ("investchn", repost)]
    if first == "portal":
        arrivals.reverse()

    clock.now += timedelta(minutes=10)
    name, make = arrivals[0]
    ingest.add([make(clock.now)], now=clock.now, source_name=name)
    assert asyncio.run(worker.deliver()).sent == 1
    (text, _), = bodies(tmp_path)
    assert "安全生产工作会议" in text

    clock.now += timedelta(hours=2)
    name, make = arrivals[1]
    ingest.add([make(clock.now)], now=clock.now, source_name=name)
    report = asyncio.run(worker.deliver())
    assert report.sent == 0
    assert len(outbox(tmp_path)) == 1
    # Stored and folded, not lost: the first article now names the other source.
    lead = app.store.get(SITE_URL if first == "site" else PORTAL_URL)
    assert lead is not None and len(lead.also) == 1


@pytest.mark.parametrize("app", ["daily 08:00"], indirect=True)
def test_both_in_one_digest_give_one_item_with_also_at(app: App, tmp_path: Path) -> None:
    clock = Clock(START)
    worker = Worker(app, ConfigHolder(app.config_file, lambda: app.gazetteer), clock=clock)
    asyncio.run(worker.deliver())
    ingest = Ingestor(app.store, app.gazetteer)
    clock.now += timedelta(hours=1)
    ingest.add([site_article(clock.now)], now=clock.now, source_name="zone-site")
    ingest.add([repost(clock.now)], now=clock.now, source_name="investchn")
    clock.now = datetime(2026, 12, 1, 8, 0, 30, tzinfo=CHINA_TZ)
    assert asyncio.run(worker.deliver()).sent == 1
    (text, html), = bodies(tmp_path)
    assert text.count(ORIGINAL_TITLE) == 1 and "1 篇文章" in text
    assert f"另见: 投资中国网 {PORTAL_URL}" in text
    assert f'href="{PORTAL_URL}"' in html and "另见" in html

    lead = app.store.get(SITE_URL)
    assert lead is not None
    payload = article_payload(lead, app.gazetteer.find)
    assert payload["also"] == [{"url": PORTAL_URL, "source": "投资中国网"}]
