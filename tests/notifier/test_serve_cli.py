"""`zonewire serve` as a user starts it: feeds and the unsubscribe pages on the public
port, /metrics only on the metrics port, and configuration edits followed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from feeds.models import CHINA_TZ
from notifier.tokens import Signer, load_secret
from tests.support.servers import free_port, wait_for_http

SUBSCRIPTIONS = "subscribers:\n  - id: alice\n    email: alice@example.com\n    regions: [西城区]\n"


def _config(port: int, metrics: int, extra: str = "") -> str:
    return f"serve: {{port: {port}, metrics_port: {metrics}}}\n{extra}"


@pytest.mark.slow
def test_serve_answers_feeds_and_unsubscribe_links(tmp_path: Path) -> None:
    port, metrics_port = free_port(), free_port()
    (tmp_path / "config").mkdir()
    config = tmp_path / "config" / "zonewire.yaml"
    config.write_text(_config(port, metrics_port), encoding="utf-8")
    (tmp_path / "config" / "subscriptions.yaml").write_text(SUBSCRIPTIONS, encoding="utf-8")
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
        assert feed.headers["x-content-type-options"] == "nosniff"
        # /metrics is not on the public port; it is on the metrics port (loopback).
        assert httpx.get(f"{base}/metrics").status_code == 404
        metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
        assert "zonewire_articles 1.0" in metrics
        assert "zonewire_articles_unresolved 0.0" in metrics
        health = httpx.get(f"{base}/healthz")
        assert health.json() == {"status": "ok"} and str(tmp_path) not in health.text
        # A forged token is refused by the unsubscribe page, not a 404: the route is there.
        assert httpx.get(f"{base}/unsubscribe/not-a-token").status_code == 400
        # A real token, as a digest carries it: GET asks, POST unsubscribes.
        token = Signer(load_secret(None, tmp_path / "var")).token("alice")  # serve's key
        page = httpx.get(f"{base}/unsubscribe/{token}")
        assert page.status_code == 200 and "退订这份摘要？" in page.text
        assert "default-src 'none'" in page.headers["content-security-policy"]
        done = httpx.post(f"{base}/unsubscribe/{token}", data={"action": "unsubscribe"})
        assert done.status_code == 200 and "已退订" in done.text
        assert "已退订" in httpx.get(f"{base}/unsubscribe/{token}").text

        # An edit is followed on the next request: the subscriber is gone...
        (tmp_path / "config" / "subscriptions.yaml").write_text("subscribers: []\n", "utf-8")
        assert httpx.get(f"{base}/unsubscribe/{token}").status_code == 404
        # ...and a new templates_dir and output_dir apply to the pages and files served.
        templates = tmp_path / "mine" / "web"
        templates.mkdir(parents=True)
        (templates / "unsubscribe.html.j2").write_text(
            "<!DOCTYPE html><title>{{ title }}</title><p>OUR OWN PAGE {{ title }}</p>", "utf-8")
        other = tmp_path / "other-public"
        other.mkdir()
        (other / "index.html").write_text("<!DOCTYPE html><p>another index</p>", "utf-8")
        config.write_text(_config(port, metrics_port, f"templates_dir: {tmp_path / 'mine'}\n"
                                  f"feeds: {{output_dir: {other}}}\n"), encoding="utf-8")
        assert "OUR OWN PAGE" in httpx.get(f"{base}/unsubscribe/{token}").text
        assert "another index" in httpx.get(f"{base}/").text
        assert httpx.get(f"{base}/feeds/110102.atom").status_code == 404
    finally:
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=30)
    assert server.returncode == 0, err
    assert f"metrics: http://127.0.0.1:{metrics_port}/metrics" in out
    assert "Traceback" not in err


@pytest.mark.slow
def test_a_taken_metrics_port_is_a_warning_and_a_taken_port_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        port = free_port()
        (tmp_path / "config").mkdir()
        (tmp_path / "config" / "zonewire.yaml").write_text(_config(port, busy), "utf-8")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        server = subprocess.Popen([sys.executable, "-m", "notifier", "serve"], cwd=tmp_path,
                                  env=env, text=True, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        try:
            assert wait_for_http(f"http://127.0.0.1:{port}/healthz").status_code == 503
        finally:
            server.send_signal(signal.SIGTERM)
            out, err = server.communicate(timeout=30)
        assert server.returncode == 0, err
        assert f"metrics: cannot listen on 127.0.0.1:{busy}" in err and "metrics: off" in out

        started = time.monotonic()
        refused = subprocess.run([sys.executable, "-m", "notifier", "serve", "--port",
                                  str(busy)], cwd=tmp_path, env=env, text=True,
                                 capture_output=True, timeout=60)
        assert refused.returncode == 1
        assert f"cannot listen on 127.0.0.1:{busy}" in refused.stderr
        assert "Traceback" not in refused.stderr
        assert time.monotonic() - started < 30
