"""Channels from the settings in force, and a fingerprint of each channel's transport.

The fingerprint tells a transport outage (:mod:`notifier.outages`) that the
operator changed the settings it failed with, so the next pass tries at once instead
of waiting out the backoff.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from notifier.channels.base import Channel
from notifier.config import Settings


def build_channels(settings: Settings, needed: set[str]) -> dict[str, Channel]:
    """One channel per name in ``needed`` ("email", "webhook"), for one pass."""
    channels: dict[str, Channel] = {}
    delivery = settings.delivery
    if "email" in needed:
        email = settings.email
        if email.transport == "smtp":
            from notifier.channels.smtp import SmtpChannel

            smtp = email.smtp
            channels["email"] = SmtpChannel(
                host=smtp.host,
                port=smtp.port,
                security=smtp.security,
                username=smtp.username,
                password=smtp.password,
                timeout=smtp.timeout.total_seconds(),
                concurrency=delivery.concurrency,
                ca_file=str(smtp.ca_file) if smtp.ca_file else None,
            )
        else:
            from notifier.channels.maildir import MaildirChannel

            channels["email"] = MaildirChannel(Path(email.outbox))
    if "webhook" in needed:
        from notifier.channels.webhook import WebhookChannel

        channels["webhook"] = WebhookChannel(
            concurrency=delivery.concurrency,
            timeout=delivery.timeout.total_seconds(),
            user_agent=settings.crawl.user_agent,
        )
    return channels


def transport_fingerprint(settings: Settings, channel: str) -> str:
    """A hash of everything the channel's transport is built from (secrets included,
    never shown: only the hash is stored)."""
    if channel == "email":
        data: object = settings.email.model_dump(mode="json")
    else:
        data = {"timeout": settings.delivery.timeout.total_seconds(),
                "user_agent": settings.crawl.user_agent}
    raw = json.dumps([channel, data], sort_keys=True, default=str).encode()
    return hashlib.sha256(raw).hexdigest()
