"""Plain values for subscribers and their settings (SPEC §7).

``notifier.config`` builds these from YAML; everything else (matching, planning,
rendering, delivery) reads only these frozen objects.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import time


class ScheduleKind(enum.StrEnum):
    IMMEDIATE = "immediate"
    HOURLY = "hourly"
    DAILY = "daily"
    WEEKLY = "weekly"
    CRON = "cron"


@dataclass(frozen=True, slots=True)
class Schedule:
    """When a subscriber's digest is due, in the subscriber's time zone.

    ``at`` is the time of day for daily/weekly, ``weekday`` 0=Monday for weekly,
    ``cron`` the five-field expression for cron. ``text`` is what the YAML said.
    """

    kind: ScheduleKind
    text: str
    at: time | None = None
    weekday: int | None = None
    cron: str | None = None


@dataclass(frozen=True, slots=True)
class Keywords:
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    url: str
    format: str = "json"  # json | dingtalk | wecom | feishu | slack | a user template
    secret: str | None = None


@dataclass(frozen=True, slots=True)
class Subscriber:
    """One entry of ``subscribers:``, validated and with its regions resolved.

    ``regions`` are region keys (adcodes or ``zone-…``); ``fingerprint`` is a hash of
    the YAML entry, so a stored choice (an unsubscribe) can tell when the operator
    has since edited that subscriber.
    """

    id: str
    schedule: Schedule
    regions: tuple[str, ...]
    email: str | None = None
    webhook: WebhookTarget | None = None
    keywords: Keywords = Keywords()
    categories: tuple[str, ...] = ()
    timezone: str = "Asia/Shanghai"
    language: str = "zh-CN"
    max_articles: int = 30
    name: str | None = None
    fingerprint: str = ""


@dataclass(frozen=True, slots=True)
class Subscriptions:
    subscribers: tuple[Subscriber, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    def by_id(self, subscriber_id: str) -> Subscriber | None:
        for subscriber in self.subscribers:
            if subscriber.id == subscriber_id:
                return subscriber
        return None
