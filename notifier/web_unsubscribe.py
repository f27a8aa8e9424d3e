"""Unsubscribe over HTTP: the link in every digest and the RFC 8058 one-click POST.

``GET /unsubscribe/{token}`` unsubscribes at once (one click, not two) and offers to
stop only one region instead, or to re-subscribe. ``POST`` with the body
``List-Unsubscribe=One-Click`` is what mail providers send for RFC 8058. The choice
is stored in the ledger with the subscriber's YAML fingerprint, so it survives
config reloads and lapses only when the operator edits that subscriber's entry.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from notifier.ledger import Ledger
from notifier.models import Subscriber, Subscriptions
from notifier.render import Renderer
from notifier.tokens import Signer, TokenError

PAGE_WORDS = {
    "zh-CN": {
        "done": "已退订",
        "done_message": "您将不再收到这份摘要（{regions}）。",
        "drop_hint": "只想停止某一个地区？选择后其余地区照常发送：",
        "drop_label": "只退订这个地区",
        "dropped": "已退订 {region}",
        "dropped_message": "其余地区照常发送：{regions}。",
        "resubscribe": "重新订阅",
        "resubscribed": "已重新订阅",
        "resubscribed_message": "您将继续收到 {regions} 的摘要。",
        "bad": "退订链接无效",
        "gone": "订阅不存在",
        "gone_message": "这个订阅已不在配置中，不会再发送任何邮件。",
        "joiner": "、",
    },
    "en": {
        "done": "You are unsubscribed",
        "done_message": "You will no longer receive this digest ({regions}).",
        "drop_hint": "Only want to stop one region? Pick it and keep the others:",
        "drop_label": "Stop only this region",
        "dropped": "Stopped {region}",
        "dropped_message": "You still receive: {regions}.",
        "resubscribe": "Subscribe again",
        "resubscribed": "Subscribed again",
        "resubscribed_message": "You will keep receiving digests for {regions}.",
        "bad": "This unsubscribe link is not valid",
        "gone": "No such subscription",
        "gone_message": "This subscription is no longer configured; nothing more will be sent.",
        "joiner": ", ",
    },
}


@dataclass
class UnsubscribeService:
    """The state the routes need; ``subscriptions`` returns the configuration in force."""

    ledger: Ledger
    signer: Signer
    renderer: Renderer
    subscriptions: Callable[[], Subscriptions]
    start_seq: Callable[[], int]
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def _find(self, token: str) -> Subscriber | None:
        return self.subscriptions().by_id(self.signer.verify(token))

    def unsubscribe_all(self, subscriber: Subscriber) -> None:
        self.ledger.set_choice(subscriber.id, subscriber.fingerprint, unsubscribed_all=True,
                               now=self.clock(), start_seq=self.start_seq())

    def resubscribe(self, subscriber: Subscriber) -> None:
        self.ledger.set_choice(subscriber.id, subscriber.fingerprint, unsubscribed_all=False,
                               now=self.clock(), start_seq=self.start_seq())

    def drop(self, subscriber: Subscriber, region: str) -> None:
        self.ledger.set_choice(subscriber.id, subscriber.fingerprint, unsubscribed_all=False,
                               regions=[region], now=self.clock(), start_seq=self.start_seq())

    def _page(self, subscriber: Subscriber | None, token: str, kind: str,
              region: str | None = None, status: int = 200) -> HTMLResponse:
        language = subscriber.language if subscriber else "zh-CN"
        w = PAGE_WORDS["zh-CN" if language.lower().startswith("zh") else "en"]
        regions = [
            {"key": key, "name": self.renderer.region_name(key)}
            for key in (subscriber.regions if subscriber else ())
        ]
        kept = [r["name"] for r in regions if r["key"] != region]
        names = w["joiner"].join(kept)
        context: dict[str, Any] = {
            "lang": "zh-CN" if w is PAGE_WORDS["zh-CN"] else "en",
            "action": f"/unsubscribe/{token}",
            "regions": [],
            "show_resubscribe": False,
            "drop_hint": w["drop_hint"],
            "drop_label": w["drop_label"],
            "resubscribe_label": w["resubscribe"],
        }
        if kind == "done":
            context.update(title=w["done"], message=w["done_message"].format(regions=names),
                           regions=regions if len(regions) > 1 else [],
                           show_resubscribe=True)
        elif kind == "dropped":
            dropped = self.renderer.region_name(region or "")
            context.update(title=w["dropped"].format(region=dropped),
                           message=w["dropped_message"].format(regions=names),
                           show_resubscribe=True)
        elif kind == "resubscribed":
            context.update(title=w["resubscribed"],
                           message=w["resubscribed_message"].format(regions=names))
        elif kind == "gone":
            context.update(title=w["gone"], message=w["gone_message"])
        else:
            context.update(title=w["bad"], message="")
        body = self.renderer.page("web/unsubscribe.html.j2", **context)
        return HTMLResponse(body, status_code=status, headers={"cache-control": "no-store"})

    async def get(self, request: Request) -> Response:
        token = request.path_params["token"]
        try:
            subscriber = self._find(token)
        except TokenError as exc:
            return self._bad(str(exc))
        if subscriber is None:
            return self._page(None, token, "gone", status=404)
        self.unsubscribe_all(subscriber)
        return self._page(subscriber, token, "done")

    async def post(self, request: Request) -> Response:
        token = request.path_params["token"]
        try:
            subscriber = self._find(token)
        except TokenError as exc:
            return self._bad(str(exc))
        form = urllib.parse.parse_qs((await request.body()).decode("utf-8", "replace"))
        if subscriber is None:
            return PlainTextResponse("no such subscription\n", status_code=404)
        # RFC 8058 §3.2: the one-click POST carries List-Unsubscribe=One-Click.
        if form.get("List-Unsubscribe") == ["One-Click"]:
            self.unsubscribe_all(subscriber)
            return PlainTextResponse("unsubscribed\n")
        action = (form.get("action") or [""])[0]
        if action == "resubscribe":
            self.resubscribe(subscriber)
            return self._page(subscriber, token, "resubscribed")
        region = (form.get("region") or [""])[0]
        if action == "drop" and region in subscriber.regions:
            self.drop(subscriber, region)
            return self._page(subscriber, token, "dropped", region=region)
        return PlainTextResponse("unknown action\n", status_code=400)

    def _bad(self, reason: str) -> HTMLResponse:
        body = self.renderer.page(
            "web/unsubscribe.html.j2", lang="en", action="", regions=[],
            show_resubscribe=False, drop_hint="", drop_label="", resubscribe_label="",
            title=PAGE_WORDS["en"]["bad"], message=reason,
        )
        return HTMLResponse(body, status_code=400)

    def routes(self) -> list[Route]:
        return [
            Route("/unsubscribe/{token}", self.get, methods=["GET"]),
            Route("/unsubscribe/{token}", self.post, methods=["POST"]),
        ]


def routes_for_app(
    app: Any, subscriptions: Callable[[], Subscriptions] | None = None
) -> list[Route]:
    """The unsubscribe routes for ``zonewire serve``; pass ``subscriptions`` to share a
    reloading configuration, else the subscriptions file is read on each request."""
    from notifier.tokens import load_secret

    settings = app.settings
    if subscriptions is None:
        from notifier.subscriptions import load_subscriptions

        def subscriptions() -> Subscriptions:
            return load_subscriptions(settings.subscriptions, app.gazetteer,
                                      templates_dir=settings.templates_dir)

    service = UnsubscribeService(
        ledger=Ledger(app.store.engine),
        signer=Signer(load_secret(settings.secret_key)),
        renderer=Renderer(public_url=settings.public_url, region=app.gazetteer.find,
                          templates_dir=settings.templates_dir),
        subscriptions=subscriptions,
        start_seq=app.store.max_seq,
    )
    return service.routes()
