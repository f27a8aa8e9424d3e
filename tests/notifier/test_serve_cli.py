"""`zonewire serve` as a user starts it: feeds and the unsubscribe pages together."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from feeds.models import CHINA_TZ
from notifier.tokens import Signer, load_secret
from tests.support.servers import free_port, wait_for_http


@pytest.mark.slow
def test_serve_answers_feeds_and_unsubscribe_links(tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "zonewire.yaml").write_text(
        f"serve: {{port: {port}}}\n", encoding="utf-8"
    )
    (tmp_path / "config" / "subscriptions.yaml").write_text(
        "subscribers:\n  - id: alice\n    email: alice@example.com\n    regions: [西城区]\n",
        encoding="utf-8",
    )
    (tmp_path / "a.jsonl").write_text(
        '{"url": "https://p.example.org/1.html", "title": "金融街论坛开幕", '
        f'"published": "{datetime.now(CHINA_TZ):%Y-%m-%d}", "region": "西城区"}}\n',
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for command in (["import", "a.jsonl"], ["feeds", "build"]):
        subprocess.run([sys.executable, "-m", "notifier", *command], cwd=tmp_path, env=env,
                       check=True, capture_output=True)
    server = subprocess.Popen([sys.executable, "-m", "notifier", "serve"], cwd=tmp_path,
                              env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        feed = wait_for_http(f"{base}/feeds/110102.atom")
        assert feed.status_code == 200 and "金融街论坛开幕" in feed.text
        assert feed.headers["content-type"] == "application/atom+xml; charset=utf-8"
        metrics = httpx.get(f"{base}/metrics").text
        assert "zonewire_articles 1.0" in metrics
        assert "zonewire_articles_unresolved 0.0" in metrics
        # A forged token is refused by the unsubscribe page, not a 404: the route is there.
        assert httpx.get(f"{base}/unsubscribe/not-a-token").status_code == 400
        # A real token, as a digest carries it, unsubscribes in one click.
        token = Signer(load_secret(None, tmp_path / "var")).token("alice")  # serve's key
        page = httpx.get(f"{base}/unsubscribe/{token}")
        assert page.status_code == 200 and "已退订" in page.text
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)
