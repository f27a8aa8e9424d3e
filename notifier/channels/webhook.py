"""Webhooks through one pooled ``httpx.AsyncClient`` with bounded concurrency.

``json`` bodies are signed per Standard Webhooks by its reference library
(``standardwebhooks``; ``webhook-id`` = the digest id, so a re-send after a crash is
recognisably the same delivery); DingTalk and Feishu robots get their own timestamp +
secret signatures. WeCom and Slack carry their secret in the URL (Slack and Feishu in
its path), so every error names the hook through :mod:`notifier.redact`. HTTP 5xx,
429 (honouring ``Retry-After``), timeouts and connection errors are temporary; other
4xx are permanent and 410 disables the hook.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import urllib.parse
from datetime import UTC, datetime

import httpx
from standardwebhooks import Webhook

from feeds.httpdates import retry_after
from notifier.channels.base import DeliveryError, Envelope, PermanentError, TemporaryError
from notifier.redact import install_httpx_filter, redact_text, redact_url

#: Chat platforms answer 200 with an error code in the body; these mean "slow down".
_RATE_LIMIT_CODES = {130101, 45009, 11232, 9499}


def standard_webhook_headers(
    secret: str, msg_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """Standard Webhooks headers, signed by the ``standardwebhooks`` library (``v1,`` +
    base64 HMAC-SHA256 of ``id.timestamp.body``).

    A ``whsec_`` secret is base64 after the prefix (the spec's form, checked by
    ``zonewire check``); any other string is used as raw UTF-8 key bytes.
    """
    key: str | bytes = secret if secret.startswith("whsec_") else secret.encode("utf-8")
    when = datetime.fromtimestamp(timestamp, tz=UTC)
    # Bodies are UTF-8 JSON (rendered and personalised as text), so decoding is exact.
    signature = Webhook(key).sign(msg_id, when, body.decode("utf-8"))
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }


def dingtalk_url(url: str, secret: str, timestamp_ms: int) -> str:
    """DingTalk robot "加签": HMAC-SHA256(secret, "{ts}\\n{secret}"), base64, in the URL."""
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    sign = base64.b64encode(hmac.new(secret.encode(), to_sign, hashlib.sha256).digest()).decode()
    query = urllib.parse.urlencode({"timestamp": str(timestamp_ms), "sign": sign})
    return f"{url}{'&' if '?' in url else '?'}{query}"


def feishu_sign(secret: str, timestamp: int) -> str:
    """Feishu robot signature: HMAC-SHA256 keyed by "{ts}\\n{secret}" over nothing."""
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def prepare(envelope: Envelope, now: float) -> tuple[str, dict[str, str], bytes]:
    """URL, headers and body for one attempt (signatures carry the attempt's time)."""
    headers = {"content-type": "application/json; charset=utf-8"}
    url, body, secret = envelope.to, envelope.body, envelope.secret
    if envelope.format == "json":
        if secret:
            headers.update(standard_webhook_headers(secret, envelope.digest_id, int(now), body))
        else:
            headers["webhook-id"] = envelope.digest_id
            headers["webhook-timestamp"] = str(int(now))
    elif envelope.format == "dingtalk" and secret:
        url = dingtalk_url(url, secret, int(now * 1000))
    elif envelope.format == "feishu" and secret:
        payload = json.loads(body)
        payload["timestamp"] = str(int(now))
        payload["sign"] = feishu_sign(secret, int(now))
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return url, headers, body


def _chat_error(envelope: Envelope, response: httpx.Response) -> None:
    """Chat robots report errors in a 200 body: ``errcode`` (DingTalk, WeCom), ``code`` (Feishu)."""
    if envelope.format not in ("dingtalk", "wecom", "feishu"):
        return
    try:
        data = response.json()
    except ValueError:
        return
    if not isinstance(data, dict):
        return
    code = data.get("errcode", data.get("code", data.get("StatusCode", 0)))
    if code in (0, None):
        return
    message = data.get("errmsg") or data.get("msg") or data.get("StatusMessage") or ""
    text = f"{envelope.format} robot answered error {code}: {message}"
    if code in _RATE_LIMIT_CODES:
        raise TemporaryError(text, retry_after=60)
    raise PermanentError(text)


class WebhookChannel:
    def __init__(
        self,
        *,
        concurrency: int = 8,
        timeout: float = 20,
        user_agent: str = "zonewire",
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._limit = asyncio.Semaphore(concurrency)
        install_httpx_filter()  # httpx logs each request URL, secrets included
        self.client = httpx.AsyncClient(
            timeout=timeout,
            limits=httpx.Limits(
                max_connections=concurrency, max_keepalive_connections=concurrency
            ),
            headers={"user-agent": user_agent},
            follow_redirects=False,
            transport=transport,
        )

    async def send(self, envelope: Envelope) -> None:
        """Post one envelope; every error it raises names the hook with its secrets masked
        (issue 11: Slack and Feishu carry their token in the path, not only the query)."""
        try:
            await self._send(envelope)
        except DeliveryError as exc:
            safe = redact_text(str(exc), envelope.to, envelope.format)
            if safe != str(exc):
                raise type(exc)(safe, retry_after=exc.retry_after, disable=exc.disable) from None
            raise

    async def _send(self, envelope: Envelope) -> None:
        async with self._limit:
            url, headers, body = prepare(envelope, time.time())
            where = redact_url(envelope.to, envelope.format)
            # ``from None`` below: the httpx exception holds the request, and with it
            # the secret URL, which a logged traceback would print.
            try:
                response = await self.client.post(url, content=body, headers=headers)
            except httpx.TimeoutException as exc:
                raise TemporaryError(f"{where}: timed out ({type(exc).__name__})") from None
            except httpx.TransportError as exc:
                text = redact_text(str(exc), url, envelope.format)
                raise TemporaryError(f"{where}: {type(exc).__name__}: {text}") from None
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                text = redact_text(str(exc), url, envelope.format)
                raise PermanentError(f"{where}: {type(exc).__name__}: {text}") from None
        status = response.status_code
        if 200 <= status < 300:
            _chat_error(envelope, response)
            return
        reason = f"{where}: HTTP {status} {response.reason_phrase}".rstrip()
        if status == 429:
            wait = retry_after(response.headers.get("retry-after"), time.time())
            raise TemporaryError(reason, retry_after=wait)
        if status >= 500 or status == 408:
            wait = retry_after(response.headers.get("retry-after"), time.time())
            raise TemporaryError(reason, retry_after=wait)
        if status == 410:
            raise PermanentError(
                reason + " (the receiver says the hook is gone; it is disabled until its "
                "entry in the subscriptions file changes)",
                disable=True,
            )
        raise PermanentError(reason)

    async def aclose(self) -> None:
        await self.client.aclose()


