"""``digest preview`` shows exactly what ``digest send`` then sends: same steps, same digest."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from feeds.models import CHINA_TZ
from notifier.app import App
from notifier.cli import main
from notifier.preview import find_subscriber, preview_digest
from notifier.subscriptions import load_subscriptions


def _setup(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "zonewire.yaml").write_text(
        "public_url: https://z.example/\nsecret_key: " + "k" * 40 + "\n", encoding="utf-8")
    (tmp_path / "config" / "subscriptions.yaml").write_text(
        "subscribers:\n"
        "  - id: alice\n    email: alice@example.com\n    schedule: immediate\n"
        "    regions: [西城区]\n    keywords: {include: [新政], exclude: [广告]}\n",
        encoding="utf-8")


def _import(tmp_path: Path, titles: list[str]) -> None:
    day = (datetime.now(CHINA_TZ) - timedelta(days=1)).date().isoformat()
    lines = [
        json.dumps({"url": f"https://n.example/{i}-{len(titles)}", "title": title,
                    "published": day, "region": "西城区", "content": f"<p>{title}</p>"},
                   ensure_ascii=False)
        for i, title in enumerate(titles)
    ]
    (tmp_path / "a.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["import", "a.jsonl"]) == 0


def test_preview_plans_the_digest_send_then_sends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    _setup(tmp_path)
    assert main(["digest", "send"]) == 0  # alice is new: she starts from now
    _import(tmp_path, ["西城区新政一", "西城区广告新政", "西城区新闻", "西城区新<b>政</b>二"])
    app = App.from_config(None)
    try:
        subscriptions = load_subscriptions(app.settings.subscriptions, app.gazetteer)
        alice = find_subscriber(subscriptions, "alice")
        digest, first = preview_digest(app.store, app.gazetteer.find,
                                       app.settings.notify_max_age, alice, datetime.now(UTC))
    finally:
        app.close()
    assert digest is not None and not first
    # Keywords: 新政 in, 广告 out; markup does not hide a word (one HTML-to-text).
    assert sorted(a.title for a in digest.articles) == ["西城区新<b>政</b>二", "西城区新政一"]
    capsys.readouterr()
    assert main(["digest", "send", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert re.search(rf"would send alice: 2 articles \(digest {re.escape(digest.id)}\)", out), out


def test_preview_of_a_subscriber_without_a_digest_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    _setup(tmp_path)
    _import(tmp_path, ["西城区新政一"])
    capsys.readouterr()
    assert main(["digest", "preview", "alice"]) == 0
    captured = capsys.readouterr()
    assert "alice has had no digest yet" in captured.err
    assert "西城区新政一" in captured.out
    assert main(["digest", "preview", "bob"]) == 1
    assert "no subscriber 'bob' (known: alice)" in capsys.readouterr().err

