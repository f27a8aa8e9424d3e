"""The private feeds over HTTP: ``GET /s/TOKEN.atom`` and ``/s/TOKEN.json``.

What a feed holds is :mod:`notifier.private_feed`'s business; this module checks
the token and answers like the public feeds do (content type, strong ``ETag`` of
the bytes, 304, gzip and the security headers from the app's middleware), but
``Cache-Control: private`` and no referrer, since the URL is a secret. Anything
that opens no feed is the same plain 404.

Each request's work (token, ledger, store queries, rendering) runs in the HTTP
side's thread pool (:func:`feeds.httpguard.off_loop`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from feeds.httpguard import off_loop
from feeds.regions import Gazetteer
from feeds.storage.protocols import ArticleStore
from feeds.web import JSON_FEED_TYPE, TYPES
from notifier.ledger import Ledger
from notifier.models import Subscriptions
from notifier.private_feed import feed_subscriber, render_private_feed, select_articles
from notifier.tokens import FEED, Signer, TokenError

#: The two formats, by the URL's extension.
KINDS = {"atom": TYPES[".atom"], "json": JSON_FEED_TYPE}
#: The token is a secret: no shared cache keeps the feed, no page passes it on.
FEED_HEADERS = {"cache-control": "private, max-age=300, must-revalidate",
                "referrer-policy": "no-referrer", "vary": "Accept-Encoding"}


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _matches_etag(header: str | None, etag: str) -> bool:
    """RFC 9110 §13.1.2 (weak comparison: a gzip layer may mark it ``W/``)."""
    if header is None:
        return False
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag in tags


@dataclass
class PrivateFeedService:
    """The state the routes need; the callables give what is in force now, so the
    feed follows reloads of ``secret_key``, ``public_url`` and the subscriptions."""

    store: ArticleStore
    ledger: Ledger
    signer: Callable[[], Signer]
    subscriptions: Callable[[], Subscriptions]
    gazetteer: Callable[[], Gazetteer]
    base_url: Callable[[], str]
    entries: Callable[[], int]

    def document(self, token: str, kind: str) -> bytes | None:
        """The feed's bytes, or ``None`` for a token that opens no feed."""
        if kind not in KINDS:
            return None
        try:
            subscriber_id = self.signer().verify(token)
        except TokenError:
            return None
        subscriber = self.subscriptions().by_id(subscriber_id)
        if subscriber is None:
            return None  # revoked: no longer in the subscriptions file
        subscriber = feed_subscriber(subscriber, self.ledger)
        if subscriber is None:
            return None
        articles = select_articles(self.store, subscriber, self.entries())
        return render_private_feed(kind, token, subscriber, articles, self.base_url(),
                                   self.gazetteer())

    def answer(self, token: str, kind: str, if_none_match: str | None, head: bool) -> Response:
        """GET/HEAD (blocking: runs in a worker thread)."""
        body = self.document(token, kind)
        if body is None:
            return PlainTextResponse("not found\n", status_code=404,
                                     headers={"cache-control": "no-store"})
        etag = _etag(body)
        headers = {**FEED_HEADERS, "etag": etag}
        if _matches_etag(if_none_match, etag):
            return Response(status_code=304, headers=headers)
        headers["content-length"] = str(len(body))
        return Response(b"" if head else body, headers=headers, media_type=KINDS[kind])

    async def get(self, request: Request) -> Response:
        return await off_loop(self.answer, request.path_params["token"],
                              request.path_params["kind"], request.headers.get("if-none-match"),
                              request.method == "HEAD")

    def routes(self) -> list[Route]:
        return [Route("/s/{token}.{kind}", self.get, methods=["GET", "HEAD"])]


def private_feed_service(app: Any, config: Any) -> PrivateFeedService:
    """The service for ``zonewire serve`` and ``run``; ``config`` holds the
    configuration in force (``.settings``, ``.subscriptions``), read per request."""
    return PrivateFeedService(
        store=app.store,
        ledger=Ledger(app.store.ledger),
        signer=lambda: app.signer(config.settings, FEED),
        subscriptions=lambda: config.subscriptions,
        gazetteer=lambda: app.gazetteer,
        base_url=lambda: config.settings.public_url,
        entries=lambda: config.settings.feeds.entries,
    )

