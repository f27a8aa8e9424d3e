"""Webhook secrets never reach logs, errors, the ledger or `status` (issue 11, item 7)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from notifier.cli import main
from notifier.field_checks import check_webhook_url
from notifier.redact import MASK, redact_text, redact_url, scrub, secrets_of
from tests.support.servers import LocalServer, QuietHandler, serving

SLACK_TOKEN = "Zq7xK2mWp9Lr4Tv8Yb3Nc6Hd"


@pytest.mark.parametrize(("url", "fmt", "shown"), [
    ("https://hooks.slack.com/services/T0AB12CD3/B0EF45GH6/" + SLACK_TOKEN, "slack",
     "https://hooks.slack.com/services/***/***/***"),
    ("https://hooks.slack.com/services/T0AB12CD3/B0EF45GH6/" + SLACK_TOKEN, None,
     "https://hooks.slack.com/services/***/***/***"),
    ("https://open.feishu.cn/open-apis/bot/v2/hook/8a9e2f10-41c3-4b7a-9d2e-5f6a7b8c9d0e",
     "feishu", "https://open.feishu.cn/open-apis/bot/v2/hook/***"),
    ("https://oapi.dingtalk.com/robot/send?access_token=5c1d2e3f4a5b6c7d8e9f", "dingtalk",
     "https://oapi.dingtalk.com/robot/send?access_token=***"),
    ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7a2b-4c3d-8e9f",
     "wecom", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***"),
    # an unknown receiver: every query value, the password and opaque path segments
    ("https://bob:pa55@hooks.example.org/in/3f9a8b7c6d5e4f3a2b1c?team=ops", "json",
     "https://bob:***@hooks.example.org/in/***?team=***"),
    ("https://hooks.example.org/deliver/news", "json", "https://hooks.example.org/deliver/news"),
    # a slack-format hook on any host: its path is the credential
    ("http://127.0.0.1:8080/relay/abc/def", "slack", "http://127.0.0.1:8080/relay/***/***"),
    ("hooks.slack.com/services/T0AB12CD3/B0EF45GH6/" + SLACK_TOKEN, None,
     "hooks.slack.com/services/***/***/***"),
])
def test_redact_url_masks_each_platforms_secret(url: str, fmt: str | None, shown: str) -> None:
    assert redact_url(url, fmt) == shown


def test_scrub_masks_credentials_but_keeps_ordinary_urls_readable() -> None:
    line = ("GET https://portal.example.cn/news/list?page=2 then POST "
            "http://127.0.0.1:9/services/T0AB12CD3/B0EF45GH6/" + SLACK_TOKEN + " and "
            "https://oapi.dingtalk.com/robot/send?access_token=abc123def&timestamp=17")
    assert scrub(line) == (
        "GET https://portal.example.cn/news/list?page=2 then POST "
        "http://127.0.0.1:9/services/***/***/*** and "
        "https://oapi.dingtalk.com/robot/send?access_token=***&timestamp=17"
    )


def test_check_shows_a_bad_webhook_url_without_its_token() -> None:
    why = check_webhook_url("ftp://hooks.slack.com/services/T0AB12CD3/B0EF45GH6/" + SLACK_TOKEN)
    assert why is not None and "https://" in why and SLACK_TOKEN not in why


tokens = st.text(st.sampled_from("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ0123456789"),
                 min_size=8, max_size=48)


@given(token=tokens, host=st.sampled_from(["hooks.slack.com", "127.0.0.1:8080", "relay.example"]))
@example(token="services", host="hooks.slack.com")  # once failed: a word of the URL itself
def test_no_slack_or_feishu_path_token_survives(token: str, host: str) -> None:
    shapes = [(f"https://{host}/services/T0AB12CD3/B0EF45GH6/", "slack"),
              (f"https://{host}/open-apis/bot/v2/hook/", "feishu"),
              (f"https://{host}/x/", "slack")]
    # A "token" that is also a word of the URL's fixed part (``services``) would be
    # found there after any redaction: that says nothing about the secret.
    assume(not any(token in fixed for fixed, _ in shapes))
    for fixed, fmt in shapes:
        url = fixed + token
        error = f"{url}: HTTP 500 Internal Server Error (echo: {token}, {url})"
        assert token not in redact_url(url, fmt)
        assert token not in redact_text(error, url, fmt)
        assert token in secrets_of(url, fmt)


@given(token=tokens, key=st.sampled_from(["access_token", "key", "anything"]))
def test_no_query_secret_survives(token: str, key: str) -> None:
    url = f"https://oapi.example.com/robot/send?{key}={token}&timestamp=1"
    assert token not in redact_url(url, "dingtalk")
    assert token not in redact_text(f"POST {url} failed: {token}", url, "dingtalk")
    assert MASK in redact_url(url, "dingtalk")


# -- end to end: a failing delivery to a real local server ---------------------------------

class FailingHook(LocalServer):
    """A receiver that answers every POST with 500 and echoes its own path."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(_Fail)
        self.posts = 0


class _Fail(QuietHandler):
    server: FailingHook

    def do_POST(self) -> None:
        self.read_body()
        self.server.posts += 1
        body = f"no such hook {self.path}".encode()
        self.send_response(500)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def failing_hook() -> Iterator[FailingHook]:
    with serving(FailingHook()) as server:
        yield server


def test_a_slack_token_never_appears_in_logs_ledger_or_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture, failing_hook: FailingHook,
) -> None:
    monkeypatch.chdir(tmp_path)
    port = failing_hook.server_address[1]
    url = f"http://127.0.0.1:{port}/services/T0AB12CD3/B0EF45GH6/{SLACK_TOKEN}"
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "zonewire.yaml").write_text(
        "public_url: https://z.example/\nsecret_key: " + "k" * 40 + "\n"
        "delivery:\n  timeout: 5s\n  retry: {initial: 1s, max: 2s, max_attempts: 2}\n",
        encoding="utf-8")
    (tmp_path / "config" / "subscriptions.yaml").write_text(
        "subscribers:\n  - id: desk\n    schedule: immediate\n    regions: [西城区]\n"
        f"    webhook: {{url: \"{url}\", format: slack}}\n", encoding="utf-8")
    caplog.set_level(logging.DEBUG)
    assert main(["--log-json", "digest", "send"]) == 0  # desk is new: starts from now
    line = {"url": "https://n.example/9", "title": "西城区发布营商环境新政",
            "published": (datetime.now() - timedelta(days=1)).date().isoformat(),
            "region": "西城区", "content": "新政内容"}
    (tmp_path / "a.jsonl").write_text(json.dumps(line, ensure_ascii=False) + "\n", "utf-8")
    assert main(["--log-json", "import", "a.jsonl"]) == 0
    main(["--log-json", "-v", "digest", "send"])
    assert failing_hook.posts == 1  # the delivery really reached the server and failed
    main(["status"])
    out, err = capsys.readouterr()
    seen = {"stdout": out, "stderr (--log-json)": err, "caplog": caplog.text,
            "ledger": ""}
    import sqlite3

    with sqlite3.connect(tmp_path / "var" / "zonewire.db") as db:
        seen["ledger"] = "\n".join(str(row) for row in db.execute("select * from digests"))
    assert "HTTP 500" in seen["ledger"] and "HTTP 500" in out  # the failure is recorded
    assert f"127.0.0.1:{port}/services/***/***/***" in out  # and says which hook
    for where, text in seen.items():
        assert SLACK_TOKEN not in text, f"the Slack token leaked into {where}"


def test_the_channel_error_and_httpx_request_log_carry_no_token(
    caplog: pytest.LogCaptureFixture, failing_hook: FailingHook,
) -> None:
    import asyncio

    from notifier.channels.base import Envelope, TemporaryError
    from notifier.channels.webhook import WebhookChannel

    port = failing_hook.server_address[1]
    url = f"http://127.0.0.1:{port}/services/T0AB12CD3/B0EF45GH6/{SLACK_TOKEN}"

    async def send() -> str:
        channel = WebhookChannel(timeout=5)
        try:
            await channel.send(Envelope("d1", "desk", url, b"{}", format="slack"))
        except TemporaryError as exc:
            return str(exc)
        finally:
            await channel.aclose()
        raise AssertionError("a 500 must be a temporary error")

    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="httpx")  # as an embedding host may leave it
    error = asyncio.run(send())
    assert error == f"http://127.0.0.1:{port}/services/***/***/***: HTTP 500 Internal Server Error"
    assert "HTTP Request: POST" in caplog.text  # httpx logged the request line...
    assert SLACK_TOKEN not in caplog.text  # ...without the token
