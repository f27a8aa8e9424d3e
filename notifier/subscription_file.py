"""The shape of ``config/subscriptions.yaml`` (SPEC §7) as pydantic models.

They validate the YAML's structure and give the JSON Schema editors use
(``config/subscriptions.schema.json``); what needs outside knowledge (regions,
schedules, addresses, secrets) is checked by :mod:`notifier.subscriptions`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from notifier.schedules import FORMS


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


def _schedule_field(default: str | None) -> Any:
    return Field(
        default=default,
        description=f"when digests go out: {FORMS}",
        examples=["immediate", "hourly", "daily 08:00", "weekly mon 09:00", 'cron "0 8 * * 1-5"'],
    )


class DefaultsModel(_Model):
    """Values every subscriber gets unless it sets its own."""

    timezone: str = Field(default="Asia/Shanghai", description="IANA time zone of schedules")
    language: str = Field(default="zh-CN", pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
    max_articles: int = Field(default=30, ge=1, le=1000, description="articles listed per digest")
    schedule: str = _schedule_field("daily 08:00")


class KeywordsModel(_Model):
    include: list[str] = Field(default=[], description="an article must mention one of these")
    exclude: list[str] = Field(
        default=[], description="an article mentioning any of these is skipped"
    )


class WebhookModel(_Model):
    url: str = Field(description="http(s) URL the digest is POSTed to")
    format: str = Field(
        default="json",
        description="json, dingtalk, wecom, feishu, slack, or a template "
        "webhook/<format>.json.j2 in templates_dir",
    )
    secret: str | None = Field(default=None, description='signing secret; write "${ENV_VAR}"')


class SubscriberModel(_Model):
    id: str = Field(
        pattern=r"^[\w][\w.@+-]*$",
        max_length=200,
        description="unique, stable name of the subscriber",
    )
    name: str | None = None
    email: str | None = Field(default=None, description="email address for digests")
    webhook: WebhookModel | None = None
    schedule: str | None = _schedule_field(None)
    regions: list[str] = Field(
        min_length=1,
        description="names, adcodes or paths like 北京市/朝阳区; following a region "
        "follows everything under it",
        json_schema_extra={"items": {"type": ["string", "integer"]}},  # 330400 unquoted
    )
    keywords: KeywordsModel = Field(default_factory=KeywordsModel)
    categories: list[str] = Field(
        default=[], description="only these portal categories (e.g. 文字新闻)"
    )
    timezone: str | None = None
    language: str | None = Field(default=None, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
    max_articles: int | None = Field(default=None, ge=1, le=1000)


class SubscriptionsFile(_Model):
    """The whole of ``config/subscriptions.yaml``."""

    defaults: DefaultsModel = Field(default_factory=DefaultsModel)
    subscribers: list[SubscriberModel] = []
