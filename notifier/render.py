"""Digest -> email (subject, text, HTML) and webhook bodies, through Jinja2 templates.

Rendering is the expensive part of a large fan-out, and subscribers who follow the
same regions in the same language get the same articles. So a body is rendered once
per :meth:`notifier.plan.Digest.content_key`, with *slots* where the personal parts
go (unsubscribe token, digest id, subscriber id), and each recipient's copy is made
by replacing the slots: a few ``str.replace`` calls instead of a template run.

Templates live in ``notifier/templates``; a ``templates_dir`` given in the config is
searched first, so a user can override any single file or add a webhook format.

Article text is hostile until shown otherwise (issue 11): every field is cleaned of
control characters and made one line here (:mod:`notifier.escaping`), the chat
templates escape it with their platform's filter (``slack``, ``markdown``,
``slack_url``, ``link_url``), and chat messages are fitted to their platform's
size limit (:mod:`notifier.chatfit`).
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
from notifier.chatfit import CHAT_LIMITS, NO_CAPS, Caps, fit
from notifier.errors import NotifierError
from notifier.escaping import (
    clean,
    ellipsize,
    link_url,
    markdown_text,
    one_line,
    slack_text,
    slack_url,
)
from notifier.plan import Digest, shortened

#: Slots in a shared rendering, replaced per recipient. Plain ASCII that survives
#: HTML and JSON escaping unchanged and cannot occur in article text by accident.
SLOT_TOKEN = "zwslot0token0a7c3"
SLOT_ID = "zwslot0digest0a7c3"
SLOT_SUBSCRIBER = "zwslot0subscriber0a7c3"

CHAT_FORMATS = tuple(CHAT_LIMITS)

#: What a slot may grow to in a personal copy, for measuring a shared chat body.
_SLOT_STAND_INS = {slot: "x" * 256 for slot in (SLOT_TOKEN, SLOT_ID, SLOT_SUBSCRIBER)}

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


def plain_summary(article: Article, limit: int = 140) -> str:
    """The article's summary, or the start of its text, without markup."""
    text = article.summary or article.content or ""
    return ellipsize(one_line(html.unescape(_TAGS.sub(" ", text))), limit)


def _iso(value: datetime) -> str:
    return value.astimezone(CHINA_TZ).isoformat()


def _line(value: str | None, cap: int) -> str | None:
    """An article field on one line, without control characters, at most ``cap`` long."""
    return None if value is None else ellipsize(one_line(value), cap)


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
        # One filter per chat markup, for every field that comes from an article.
        self.env.filters.update(
            slack=slack_text, slack_url=slack_url, markdown=markdown_text, link_url=link_url,
        )
        self._inliner = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)
        self._emails: dict[tuple[object, ...], RenderedEmail] = {}
        self._webhooks: dict[tuple[object, ...], RenderedWebhook] = {}

    # -- context ------------------------------------------------------------------

    def region_name(self, key: str) -> str:
        region = self._region(key)
        return one_line(region.name if region is not None else key)

    def unsubscribe_url(self, token: str) -> str:
        return f"{self.public_url}unsubscribe/{token}"

    def feed_url(self, key: str) -> str:
        return f"{self.public_url}feeds/{key}.atom"

    def article_payload(self, article: Article) -> dict[str, Any]:
        """One article as in the SPEC §8 JSON payload; ``id`` is the Atom entry id.

        Text is kept whole (receivers do their own escaping) but without control
        characters or line breaks."""
        regions: list[dict[str, str | None]] = []
        for key in article.region_keys:
            region = self._region(key)
            if region is not None:
                regions.append({"key": key, "name": one_line(region.name),
                                "level": region.level.value})
            else:
                regions.append({"key": key, "name": one_line(key), "level": None})
        return {
            "id": article.id,
            "url": clean(article.url),
            "title": one_line(article.title),
            "summary": plain_summary(article, 500),
            "published": _iso(article.published),
            "updated": _iso(article.updated),
            "source": _line(article.source, 10**9),
            "category": _line(article.category, 10**9),
            "zone": _line(article.zone, 10**9),
            "region": _line(article.region, 10**9),
            "regions": regions,
        }

    def context(self, digest: Digest, caps: Caps = NO_CAPS) -> dict[str, Any]:
        """Template variables; article fields one line, clean and within ``caps``."""
        sub = digest.subscriber
        t = words(sub.language)
        names = [self.region_name(k) for k in sub.regions]
        regions_text = ellipsize(t["joiner"].join(names), caps.heading)
        count = len(digest.articles) + digest.more
        groups = [
            {
                "key": group.key,
                "name": _line(group.name, caps.field) or t["other"],
                "feed_url": self.feed_url(group.key) if group.key else None,
                "articles": [
                    {
                        "id": a.id,
                        "url": clean(a.url) if len(a.url) <= caps.url else "",
                        "title": _line(a.title, caps.title),
                        "summary": plain_summary(a, caps.summary),
                        "published": a.published.astimezone(CHINA_TZ).strftime("%Y-%m-%d"),
                        "source": _line(a.source, caps.field),
                        "zone": _line(a.zone, caps.field),
                        "category": _line(a.category, caps.field),
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
            # clean() again on the output: a user's template may add its own text.
            subject = one_line(self._render("email/subject.txt.j2", ctx))
            text = clean(self._render("email/digest.txt.j2", ctx))
            page = clean(self._render("email/digest.html.j2", ctx))
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
            limit = CHAT_LIMITS.get(fmt)
            if limit is None:
                body = self._webhook_body(fmt, digest, NO_CAPS)
            else:
                count = len(digest.articles)

                def render(shown: int, caps: Caps) -> str:
                    made = digest if shown >= count else shortened(digest, shown)
                    return self._webhook_body(fmt, made, caps)

                body = fit(render, count, limit, name=f"webhook/{fmt}.json.j2",
                           slots=_SLOT_STAND_INS)
            found = RenderedWebhook(fmt, body)
            self._webhooks[key] = found
        return found

    def _webhook_body(self, fmt: str, digest: Digest, caps: Caps) -> str:
        ctx = self.context(digest, caps)
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
