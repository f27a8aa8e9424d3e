"""Digest -> email (subject, text, HTML) and webhook bodies, through Jinja2 templates.

Rendering is the expensive part of a large fan-out, and subscribers who follow the
same regions in the same language get the same articles. So a body is rendered once
per :meth:`notifier.plan.Digest.content_key`, with *slots* where the personal parts
go (unsubscribe token, digest id, subscriber id), and each recipient's copy is made
by replacing the slots: a few ``str.replace`` calls instead of a template run.

Templates live in ``notifier/templates``; a ``templates_dir`` given in the config is
searched first, so a user can override any single file or add a webhook format.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import css_inline
import jinja2

from feeds.models import CHINA_TZ, Article, Region
from notifier.errors import NotifierError
from notifier.plan import Digest, shortened

#: Slots in a shared rendering, replaced per recipient. Plain ASCII that survives
#: HTML and JSON escaping unchanged and cannot occur in article text by accident.
#: What chat robots accept in one message, measured on its text (the longest string
#: in the JSON body): WeCom markdown 4,096 bytes, DingTalk about 20,000 bytes, Feishu
#: 20 KB per request, a Slack section 3,000 characters. A digest over the limit is
#: sent with fewer articles and "and N more" instead of being refused.
CHAT_LIMITS: dict[str, tuple[int, str]] = {
    "wecom": (4096, "bytes"),
    "dingtalk": (20000, "bytes"),
    "feishu": (18000, "bytes"),
    "slack": (3000, "chars"),
}

SLOT_TOKEN = "zwslot0token0a7c3"
SLOT_ID = "zwslot0digest0a7c3"
SLOT_SUBSCRIBER = "zwslot0subscriber0a7c3"

CHAT_FORMATS = ("dingtalk", "wecom", "feishu", "slack")

WORDS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "subject_one": "{regions}：{count} 篇新文章",
        "subject_many": "{regions}：{count} 篇新文章",
        "heading": "{regions} 有新动态",
        "intro": "以下是自上次摘要以来新增的 {count} 篇文章。",
        "more": "另有 {count} 篇未列出",
        "more_link": "在订阅源中查看全部",
        "subscribe": "在阅读器中订阅",
        "subscribe_hint": "把下面的地址添加到 RSS 阅读器（Thunderbird、Miniflux、Inoreader 等）：",
        "unsubscribe": "退订",
        "unsubscribe_hint": "不想再收到这些邮件？",
        "source": "来源",
        "zone": "开发区",
        "published": "发布",
        "footer": "本邮件由 zonewire 根据您的订阅自动发送。",
        "joiner": "、",
        "other": "其他",
    },
    "en": {
        "subject_one": "{regions}: {count} new article",
        "subject_many": "{regions}: {count} new articles",
        "heading": "What's new in {regions}",
        "intro": "{count} articles were added since your last digest.",
        "more": "and {count} more",
        "more_link": "see them all in the feed",
        "subscribe": "Subscribe in your reader",
        "subscribe_hint": "Add these addresses to a feed reader (Thunderbird, Miniflux…):",
        "unsubscribe": "Unsubscribe",
        "unsubscribe_hint": "Don't want these emails any more?",
        "source": "Source",
        "zone": "Zone",
        "published": "Published",
        "footer": "Sent by zonewire because of your subscription.",
        "joiner": ", ",
        "other": "Other",
    },
}


def words(language: str) -> dict[str, str]:
    """The wording for ``language``: ``zh*`` reads Chinese, anything else English."""
    return WORDS["zh-CN"] if language.lower().startswith("zh") else WORDS["en"]


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    text: str  # with SLOT_TOKEN
    html: str  # with SLOT_TOKEN, CSS inlined


@dataclass(frozen=True, slots=True)
class RenderedWebhook:
    format: str
    body: str  # JSON text with SLOT_ID / SLOT_SUBSCRIBER / SLOT_TOKEN


_TAGS = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"\s+")


def plain_summary(article: Article, limit: int = 140) -> str:
    """The article's summary, or the start of its text, without markup."""
    text = article.summary or article.content or ""
    text = _SPACES.sub(" ", html.unescape(_TAGS.sub(" ", text))).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _iso(value: datetime) -> str:
    return value.astimezone(CHINA_TZ).isoformat()


def _text_size(body: str, unit: str) -> int:
    """The size of a chat message's text: the longest string in its JSON body."""
    longest = ""
    stack: list[Any] = [json.loads(body)]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            longest = node if len(node) > len(longest) else longest
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return len(longest.encode("utf-8")) if unit == "bytes" else len(longest)


class Renderer:
    """Renders digests with a per-run cache keyed by their content."""

    def __init__(
        self,
        *,
        public_url: str,
        region: Callable[[str], Region | None],
        templates_dir: Path | None = None,
    ) -> None:
        self.public_url = public_url if public_url.endswith("/") else public_url + "/"
        self._region = region
        loaders: list[jinja2.BaseLoader] = []
        if templates_dir is not None:
            loaders.append(jinja2.FileSystemLoader(str(templates_dir)))
        loaders.append(jinja2.PackageLoader("notifier", "templates"))
        self.env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            autoescape=lambda name: bool(name) and ".html" in str(name),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        # Chinese stays readable (and 3x smaller) in webhook bodies; <>&' are still escaped.
        self.env.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "sort_keys": False}
        self._inliner = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)
        self._emails: dict[tuple[object, ...], RenderedEmail] = {}
        self._webhooks: dict[tuple[object, ...], RenderedWebhook] = {}

    # -- context ------------------------------------------------------------------

    def region_name(self, key: str) -> str:
        region = self._region(key)
        return region.name if region is not None else key

    def unsubscribe_url(self, token: str) -> str:
        return f"{self.public_url}unsubscribe/{token}"

    def feed_url(self, key: str) -> str:
        return f"{self.public_url}feeds/{key}.atom"

    def article_payload(self, article: Article) -> dict[str, Any]:
        """One article as in the SPEC §8 JSON payload; ``id`` is the Atom entry id."""
        regions: list[dict[str, str | None]] = []
        for key in article.region_keys:
            region = self._region(key)
            if region is not None:
                regions.append({"key": key, "name": region.name, "level": region.level.value})
            else:
                regions.append({"key": key, "name": key, "level": None})
        return {
            "id": article.id,
            "url": article.url,
            "title": article.title,
            "summary": plain_summary(article, 500),
            "published": _iso(article.published),
            "updated": _iso(article.updated),
            "source": article.source,
            "category": article.category,
            "zone": article.zone,
            "region": article.region,
            "regions": regions,
        }

    def context(self, digest: Digest) -> dict[str, Any]:
        sub = digest.subscriber
        t = words(sub.language)
        names = [self.region_name(k) for k in sub.regions]
        regions_text = t["joiner"].join(names)
        count = len(digest.articles) + digest.more
        groups = [
            {
                "key": group.key,
                "name": group.name or t["other"],
                "feed_url": self.feed_url(group.key) if group.key else None,
                "articles": [
                    {
                        "id": a.id,
                        "url": a.url,
                        "title": a.title,
                        "summary": plain_summary(a),
                        "published": a.published.astimezone(CHINA_TZ).strftime("%Y-%m-%d"),
                        "source": a.source,
                        "zone": a.zone,
                        "category": a.category,
                    }
                    for a in group.articles
                ],
            }
            for group in digest.groups
        ]
        subject_key = "subject_one" if count == 1 else "subject_many"
        return {
            "t": t,
            "lang": "zh-CN" if t is WORDS["zh-CN"] else "en",
            "subject": t[subject_key].format(regions=regions_text, count=count),
            "heading": t["heading"].format(regions=regions_text),
            "intro": t["intro"].format(count=count),
            "count": count,
            "shown": len(digest.articles),
            "more": digest.more,
            "more_text": t["more"].format(count=digest.more),
            "groups": groups,
            "feeds": [
                {"name": n, "url": self.feed_url(k)}
                for k, n in zip(sub.regions, names, strict=True)
            ],
            "all_feed_url": self.feed_url(sub.regions[0]) if sub.regions else None,
            "unsubscribe_url": self.unsubscribe_url(SLOT_TOKEN),
            "digest_id": SLOT_ID,
            "subscriber": SLOT_SUBSCRIBER,
            "generated_at": _iso(digest.generated_at),
            "public_url": self.public_url,
        }

    # -- email ------------------------------------------------------------------------

    def _render(self, name: str, context: dict[str, Any]) -> str:
        try:
            return self.env.get_template(name).render(context)
        except jinja2.TemplateNotFound as exc:
            raise NotifierError(
                f"template {exc.name} not found (in templates_dir or the bundled templates)"
            ) from None
        except jinja2.TemplateError as exc:
            where = getattr(exc, "filename", None) or name
            line = getattr(exc, "lineno", None)
            raise NotifierError(f"{where}:{line or 1}: template error: {exc}") from None

    def email(self, digest: Digest) -> RenderedEmail:
        """Subject, text and HTML for this digest's content (cached)."""
        key = digest.content_key()
        found = self._emails.get(key)
        if found is None:
            ctx = self.context(digest)
            subject = " ".join(self._render("email/subject.txt.j2", ctx).split())
            text = self._render("email/digest.txt.j2", ctx)
            page = self._render("email/digest.html.j2", ctx)
            found = RenderedEmail(subject, text, self._inliner.inline(page))
            self._emails[key] = found
        return found

    @staticmethod
    def personal_email(rendered: RenderedEmail, token: str) -> tuple[str, str]:
        """(text, html) for one recipient."""
        return rendered.text.replace(SLOT_TOKEN, token), rendered.html.replace(SLOT_TOKEN, token)

    # -- webhook -----------------------------------------------------------------------

    def webhook(self, digest: Digest) -> RenderedWebhook:
        """The body for the subscriber's webhook format (cached); always valid JSON."""
        sub = digest.subscriber
        fmt = sub.webhook.format if sub.webhook is not None else "json"
        key = digest.content_key()
        found = self._webhooks.get(key)
        if found is None:
            body = self._webhook_body(fmt, digest)
            limit = CHAT_LIMITS.get(fmt)
            shown = len(digest.articles)
            while limit is not None and shown > 1:
                size = _text_size(body, limit[1])
                if size <= limit[0]:
                    break
                shown = min(shown - 1, int(shown * limit[0] / size))
                body = self._webhook_body(fmt, shortened(digest, max(shown, 1)))
            found = RenderedWebhook(fmt, body)
            self._webhooks[key] = found
        return found

    def _webhook_body(self, fmt: str, digest: Digest) -> str:
        ctx = self.context(digest)
        articles = [self.article_payload(a) for a in digest.articles]
        ctx["articles"] = articles
        ctx["articles_json"] = json.dumps(articles, ensure_ascii=False)
        name = f"webhook/{fmt}.json.j2"
        body = self._render(name, ctx)
        try:
            json.loads(body)
        except ValueError as exc:
            raise NotifierError(f"{name}: does not produce valid JSON: {exc}") from None
        return body

    @staticmethod
    def personal_webhook(
        rendered: RenderedWebhook, digest_id: str, subscriber_id: str, token: str
    ) -> str:
        sid = json.dumps(subscriber_id, ensure_ascii=False)[1:-1]
        return (
            rendered.body.replace(SLOT_ID, digest_id)
            .replace(SLOT_SUBSCRIBER, sid)
            .replace(SLOT_TOKEN, token)
        )

    # -- pages ---------------------------------------------------------------------------

    def page(self, name: str, **context: Any) -> str:
        """A web page (the unsubscribe pages)."""
        return self._render(name, context)
