"""The match index is built once per subscriptions version and reused by every
delivery pass of the worker (issue 12); a reload with a change brings a new one."""

from __future__ import annotations

import asyncio
import email
import email.policy
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from feeds.intake import Ingestor
from feeds.models import CHINA_TZ, ArticleRecord
from notifier.app import App
from notifier.config import load_settings
from notifier.reload import ConfigHolder
from notifier.worker import Worker

ALICE = """\
subscribers:
  - id: alice
    email: alice@example.com
    schedule: immediate
    regions: [北京市]
"""
BOB = """\
  - id: bob
    email: bob@example.com
    schedule: immediate
    regions: [西城区]
"""
START = datetime(2026, 11, 23, 7, 0, tzinfo=CHINA_TZ)


def article(n: int, published: datetime) -> ArticleRecord:
    return ArticleRecord(
        url=f"https://portal.example.org/detail/id/{n}.html", title=f"第{n}号项目开工仪式举行",
        published=published, source="区融媒体中心", region="西城区",
        content=f"<p>第{n}号项目正文。</p>",
    )


def recipients(root: Path) -> list[str]:
    folder = root / "var" / "outbox" / "new"
    messages = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
                for p in sorted(folder.iterdir())] if folder.exists() else []
    return sorted(str(m["To"]) for m in messages)


def test_index_built_once_per_subscriptions_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config").mkdir()
    config = tmp_path / "config" / "zonewire.yaml"
    config.write_text("database: sqlite:///var/zonewire.db\nnotify_max_age: 36500d\n",
                      encoding="utf-8")
    subs = tmp_path / "config" / "subscriptions.yaml"
    subs.write_text(ALICE, encoding="utf-8")
    app = App(load_settings(Path("config/zonewire.yaml")), Path("config/zonewire.yaml"))
    now = START

    def clock() -> datetime:
        return now

    def add(n: int) -> None:
        Ingestor(app.store, app.gazetteer).add([article(n, now)], now=now)

    try:
        holder = ConfigHolder(app.config_file, lambda: app.gazetteer)
        worker = Worker(app, holder, clock=clock)
        asyncio.run(worker.deliver())  # alice is seen
        for n in (1, 2):
            now += timedelta(minutes=10)
            add(n)
            assert asyncio.run(worker.deliver()).sent == 1
        assert recipients(tmp_path) == ["alice@example.com"] * 2
        assert holder.index_builds == 1  # three passes, one index

        subs.write_text(ALICE + BOB, encoding="utf-8")
        assert holder.reload() is True
        now += timedelta(minutes=10)
        asyncio.run(worker.deliver())  # bob is seen
        now += timedelta(minutes=10)
        add(3)
        assert asyncio.run(worker.deliver()).sent == 2  # the new index knows bob
        assert holder.index_builds == 2

        # Files rewritten with the same content: same version, same index.
        subs.write_text(ALICE + BOB, encoding="utf-8")
        assert holder.reload(force=True) is False
        now += timedelta(minutes=10)
        add(4)
        assert asyncio.run(worker.deliver()).sent == 2
        assert holder.index_builds == 2 and holder.version == 2
        assert recipients(tmp_path).count("bob@example.com") == 2
    finally:
        app.close()
