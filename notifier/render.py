"""Digest -> email (subject, text, HTML) and webhook bodies, rendered once per content.

Rendering is the expensive part of a large fan-out, and subscribers who follow the
same regions in the same language get the same articles. So a body is rendered once
per :meth:`notifier.plan.Digest.content_key`, with *slots* where the personal parts
go (unsubscribe token, digest id, subscriber id), and each recipient's copy is made
by replacing the slots: a few ``str.replace`` calls instead of a template run.

The parts: the Jinja2 environment (:mod:`notifier.templates_env`), the wording
(:mod:`notifier.digest_words`), the data a template is given
(:mod:`notifier.payload`), and chat messages fitted to their platform's size limit
(:mod:`notifier.chatfit`). This module caches and personalises.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import css_inline
import jinja2

from feeds.models import Article
from notifier.chatfit import CHAT_LIMITS, NO_CAPS, Caps, fit
from notifier.errors import NotifierError
from notifier.escaping import clean, one_line
from notifier.lru import BoundedCache
from notifier.payload import (
    JSON_TEMPLATE,
    SLOT_FEED_TOKEN,
    SLOT_ID,
    SLOT_SUBSCRIBER,
    SLOT_TOKEN,
    RegionLookup,
    article_context,
    article_json,
    article_payload,
    digest_context,
    feed_url,
    json_body,
    region_name,
    unsubscribe_url,
)
from notifier.plan import Digest, shortened
from notifier.templates_env import (
    inlined_template,
    load_template,
    make_environment,
    render_loaded,
    render_template,
    source_of,
)

__all__ = [
    "CHAT_FORMATS", "SLOT_ID", "SLOT_SUBSCRIBER", "SLOT_TOKEN", "RenderedEmail",
    "RenderedWebhook", "Renderer",
]

CHAT_FORMATS = tuple(CHAT_LIMITS)
_HTML = "email/digest.html.j2"
#: Articles whose template fields are kept (all digests of a pass share them).
ARTICLE_CACHE = 1024

#: What a slot may grow to in a personal copy, for measuring a shared chat body.
_SLOT_STAND_INS = {slot: "x" * 256 for slot in (SLOT_TOKEN, SLOT_ID, SLOT_SUBSCRIBER)}


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    text: str  # with SLOT_TOKEN
    html: str  # with SLOT_TOKEN, CSS inlined


@dataclass(frozen=True, slots=True)
class RenderedWebhook:
    format: str
    body: str  # JSON text with SLOT_ID / SLOT_SUBSCRIBER / SLOT_TOKEN


class Renderer:
    """Renders digests with a per-run cache keyed by their content."""

    def __init__(
        self,
        *,
        public_url: str,
        region: RegionLookup,
        templates_dir: Path | None = None,
    ) -> None:
        self.public_url = public_url if public_url.endswith("/") else public_url + "/"
        self._region = region
        self.env = make_environment(templates_dir)
        self._inliner = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)
        # Bounded: with a content per subscriber, memory stays flat in a fan-out.
        self._emails: BoundedCache[tuple[object, ...], RenderedEmail] = BoundedCache()
        self._webhooks: BoundedCache[tuple[object, ...], RenderedWebhook] = BoundedCache()
        # An article is shown in many digests: its fields are shaped once.
        self._views: BoundedCache[tuple[Article, Caps], dict[str, Any]] = BoundedCache(
            ARTICLE_CACHE)
        self._payloads: BoundedCache[Article, str] = BoundedCache(ARTICLE_CACHE)
        #: templates loaded for this renderer's life (a pass)
        self._templates: dict[str, jinja2.Template] = {}
        #: whether the HTML template has its CSS inlined already (the bundled one)
        self._html_inlined = False
        self._json_bundled: bool | None = None

    # -- context ------------------------------------------------------------------

    def region_name(self, key: str) -> str:
        return region_name(self._region, key)

    def unsubscribe_url(self, token: str) -> str:
        return unsubscribe_url(self.public_url, token)

    def feed_url(self, key: str) -> str:
        return feed_url(self.public_url, key)

    def article_payload(self, article: Article) -> dict[str, Any]:
        """One article as in the SPEC §8 JSON payload (:func:`notifier.payload.article_payload`)."""
        return article_payload(article, self._region)

    def context(self, digest: Digest, caps: Caps = NO_CAPS) -> dict[str, Any]:
        """Template variables; article fields one line, clean and within ``caps``."""
        return digest_context(digest, self.public_url, self._region, caps, self._article_view)

    def _article_view(self, article: Article, caps: Caps) -> dict[str, Any]:
        key = (article, caps)
        found = self._views.get(key)
        if found is None:
            found = self._views[key] = article_context(article, caps)
        return found

    def _article_json(self, article: Article) -> str:
        found = self._payloads.get(article)
        if found is None:
            found = self._payloads[article] = article_json(self.article_payload(article))
        return found

    # -- email ------------------------------------------------------------------------

    def _render(self, name: str, context: dict[str, Any]) -> str:
        template = self._templates.get(name)
        if template is None:
            if name == _HTML and source_of(self.env, name)[1]:
                template = inlined_template(self.env, name)
                self._html_inlined = True
            else:
                template = load_template(self.env, name)
            self._templates[name] = template
        return render_loaded(template, name, context)

    def email(self, digest: Digest) -> RenderedEmail:
        """Subject, text and HTML for this digest's content (cached)."""
        key = digest.content_key()
        found = self._emails.get(key)
        if found is None:
            ctx = self.context(digest)
            # clean() again on the output: a user's template may add its own text.
            subject = one_line(self._render("email/subject.txt.j2", ctx))
            text = clean(self._render("email/digest.txt.j2", ctx))
            page = clean(self._render(_HTML, ctx))
            if not self._html_inlined:  # a user's template: inlined once rendered
                page = self._inliner.inline(page)
            found = RenderedEmail(subject, text, page)
            self._emails[key] = found
        return found

    @staticmethod
    def personal_email(rendered: RenderedEmail, token: str, feed_token: str) -> tuple[str, str]:
        """(text, html) for one recipient: unsubscribe and private feed tokens."""
        text = rendered.text.replace(SLOT_TOKEN, token).replace(SLOT_FEED_TOKEN, feed_token)
        html = rendered.html.replace(SLOT_TOKEN, token).replace(SLOT_FEED_TOKEN, feed_token)
        return text, html

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
        name = f"webhook/{fmt}.json.j2"
        if fmt == "json":
            if self._json_bundled is None:
                source, bundled = source_of(self.env, name)
                self._json_bundled = bundled and source == JSON_TEMPLATE
            if self._json_bundled:  # the template's own text, without running it
                return json_body(digest, map(self._article_json, digest.articles))
        ctx = self.context(digest, caps)
        articles = [self.article_payload(a) for a in digest.articles]
        ctx["articles"] = articles
        ctx["articles_json"] = json.dumps(articles, ensure_ascii=False)
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
        """A web page (the unsubscribe pages; looked up each time, a server lives long)."""
        return render_template(self.env, name, context)
