"""Digests to envelopes: render once per content, personalise per recipient.

A digest names its channel; a subscriber with an email and a webhook has one digest
for each, and each becomes the envelope of its own channel.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from email.utils import parseaddr
from typing import TYPE_CHECKING

from notifier.channels.base import Envelope
from notifier.errors import NotifierError
from notifier.lru import BoundedCache
from notifier.mime import MimeTemplate
from notifier.plan import Digest
from notifier.render import Renderer

if TYPE_CHECKING:
    from notifier.deliver import DeliveryDeps

#: New contents with at most this many articles are rendered on the event loop.
QUICK_ARTICLES = 40


class Composer:
    """Builds each envelope just before it is sent (memory stays flat in a fan-out)."""

    def __init__(self, deps: DeliveryDeps, now: datetime) -> None:
        settings = deps.settings
        self.renderer = Renderer(
            public_url=settings.public_url,
            region=deps.gazetteer.find,
            templates_dir=settings.templates_dir,
        )
        self.signer = deps.signer
        self.feed_signer = deps.signer.for_purpose("feed")  # private feed links
        self.sender_header = settings.email.from_
        self.sender = parseaddr(settings.email.from_)[1]
        self.now = now
        # Bounded like the renderer's caches: a content per subscriber stays flat.
        #: contents rendered lately (the renderer holds their renderings)
        self._seen: BoundedCache[tuple[object, ...], bool] = BoundedCache()
        #: the MIME skeleton of the pass (sender and date); subject, recipient and
        #: bodies are filled in per message
        self._mime: MimeTemplate | None = None

    async def aenvelope(self, digest: Digest) -> Envelope:
        """:meth:`envelope` without blocking the event loop for long.

        A digest whose content was rendered already only fills in the personal parts.
        A new content is rendered here too when it is quick (an email or ``json``
        body of up to :data:`QUICK_ARTICLES` articles: a millisecond or two, less
        than handing it to a thread costs); a longer one, or a chat message that may
        be re-rendered to fit its platform, is rendered in a thread.
        """
        if self._rendered(digest) or self._quick(digest):
            return self.envelope(digest)
        return await asyncio.to_thread(self.envelope, digest)

    @staticmethod
    def _quick(digest: Digest) -> bool:
        if len(digest.articles) > QUICK_ARTICLES:
            return False
        if digest.channel == "email":
            return True
        hook = digest.subscriber.webhook
        return digest.channel == "webhook" and hook is not None and hook.format == "json"

    def _rendered(self, digest: Digest) -> bool:
        return (digest.channel, digest.content_key()) in self._seen

    def envelope(self, digest: Digest) -> Envelope:
        if digest.channel == "email":
            return self._email(digest)
        if digest.channel == "webhook":
            return self._webhook(digest)
        raise NotifierError(f"digest {digest.id}: unknown channel {digest.channel!r}")

    def _email(self, digest: Digest) -> Envelope:
        sub = digest.subscriber
        if not sub.email:
            raise NotifierError(f"subscriber {sub.id} has no email address any more")
        token = self.signer.token(sub.id)
        rendered = self.renderer.email(digest)
        self._seen[("email", digest.content_key())] = True
        template = self._mime
        if template is None:
            template = self._mime = MimeTemplate(sender=self.sender_header, date=self.now)
        text, html = self.renderer.personal_email(rendered, token,
                                                  self.feed_signer.token(sub.id))
        body = template.build(
            to=sub.email,
            name=sub.name,
            subject=rendered.subject,
            digest_id=digest.id,
            unsubscribe_url=self.renderer.unsubscribe_url(token),
            mailto=None,
            text=text,
            html=html,
        )
        return Envelope(digest.id, sub.id, sub.email, body, sender=self.sender)

    def _webhook(self, digest: Digest) -> Envelope:
        sub = digest.subscriber
        if sub.webhook is None:
            raise NotifierError(f"subscriber {sub.id} has no webhook any more")
        token = self.signer.token(sub.id)
        hook = self.renderer.webhook(digest)
        self._seen[("webhook", digest.content_key())] = True
        body_text = self.renderer.personal_webhook(hook, digest.id, sub.id, token)
        return Envelope(
            digest.id,
            sub.id,
            sub.webhook.url,
            body_text.encode("utf-8"),
            format=sub.webhook.format,
            secret=sub.webhook.secret,
        )
