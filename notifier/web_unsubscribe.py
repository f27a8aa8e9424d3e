"""Unsubscribe over HTTP: the link in every digest and the RFC 8058 one-click POST.

SPEC §8: a GET (or HEAD) of the link changes nothing — mail scanners and link
previews fetch it — it shows a confirmation page whose button POSTs (a plain HTML
form). A POST unsubscribes: the RFC 8058 one-click body
``List-Unsubscribe=One-Click`` (form-urlencoded or multipart) from a mail provider,
or the page's own buttons (``action=unsubscribe``, ``drop`` one region,
``resubscribe``). The choice is stored in the ledger with the subscriber's YAML
fingerprint, so it survives config reloads and lapses only when the operator edits
that subscriber's entry.

Each request's work (token check, subscriptions, ledger, page rendering) runs in a
worker thread: a slow database or a reload never stalls the event loop.
"""

from __future__ import annotations

import email.parser
import email.policy
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from feeds.httpguard import html_csp, off_loop
from notifier.ledger import Ledger
from notifier.models import Subscriber, Subscriptions
from notifier.render import Renderer
from notifier.tokens import Signer, TokenError
from notifier.web_words import PAGE_WORDS, Words

#: Pages carry the token in their URL: never cached, never sent on as a referrer.
PAGE_HEADERS = {"cache-control": "no-store", "referrer-policy": "no-referrer"}


def parse_form(body: bytes, content_type: str) -> dict[str, list[str]]:
    """A form body as RFC 8058 allows it: urlencoded or ``multipart/form-data``."""
    if content_type.lower().startswith("multipart/form-data"):
        head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
        form: dict[str, list[str]] = {}
        if not message.is_multipart():
            return form
        for part in message.walk():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if isinstance(name, str) and isinstance(payload, bytes):
                form.setdefault(name, []).append(payload.decode("utf-8", "replace").strip())
        return form
    return urllib.parse.parse_qs(body.decode("utf-8", "replace"), max_num_fields=20)


@dataclass
class UnsubscribeService:
    """The state the routes need; the callables return what is in force now, so
    the pages follow configuration reloads (``secret_key``, ``public_url``,
    ``templates_dir``, the subscriptions)."""

    ledger: Ledger
    signer: Callable[[], Signer]
    renderer: Callable[[], Renderer]
    subscriptions: Callable[[], Subscriptions]
    start_seq: Callable[[], int]
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def _find(self, token: str) -> Subscriber | None:
        return self.subscriptions().by_id(self.signer().verify(token))

    def _dropped(self, subscriber: Subscriber) -> tuple[bool, frozenset[str]]:
        """(unsubscribed from everything, regions dropped) as the reader chose."""
        state = self.ledger.states([subscriber.id]).get(subscriber.id)
        if state is None or not state.choice_applies(subscriber):
            return False, frozenset()
        return state.unsubscribed_all, state.unsubscribed_regions

    def _choose(self, subscriber: Subscriber, *, everything: bool,
                regions: frozenset[str] = frozenset()) -> None:
        self.ledger.set_choice(subscriber.id, subscriber.fingerprint, unsubscribed_all=everything,
                               regions=regions, now=self.clock(), start_seq=self.start_seq())

    # -- pages ------------------------------------------------------------------

    def _page(self, subscriber: Subscriber | None, token: str, kind: str, *,
              region: str | None = None, dropped: frozenset[str] = frozenset(),
              status: int = 200) -> HTMLResponse:
        language = subscriber.language if subscriber else "zh-CN"
        lang = "zh-CN" if language.lower().startswith("zh") else "en"
        w: Words = PAGE_WORDS[lang]
        renderer = self.renderer()
        keys = [k for k in (subscriber.regions if subscriber else ()) if k not in dropped]
        regions = [{"key": key, "name": renderer.region_name(key)} for key in keys]
        names = w["joiner"].join(r["name"] for r in regions)
        context: dict[str, Any] = {
            "lang": lang, "action": f"/unsubscribe/{token}", "regions": [],
            "show_confirm": False, "show_resubscribe": False,
            "drop_hint": w["drop_hint"], "drop_label": w["drop_label"],
            "confirm_label": w["confirm_button"], "resubscribe_label": w["resubscribe"],
        }
        if kind == "confirm":
            context.update(title=w["confirm"], message=w["confirm_message"].format(regions=names),
                           show_confirm=True, regions=regions if len(regions) > 1 else [])
        elif kind == "done":
            context.update(title=w["done"], message=w["done_message"].format(regions=names),
                           show_resubscribe=True)
        elif kind == "dropped":
            context.update(title=w["dropped"].format(region=renderer.region_name(region or "")),
                           message=w["dropped_message"].format(regions=names),
                           show_resubscribe=True, regions=regions if len(regions) > 1 else [])
        elif kind == "resubscribed":
            context.update(title=w["resubscribed"],
                           message=w["resubscribed_message"].format(regions=names))
        elif kind == "gone":
            context.update(title=w["gone"], message=w["gone_message"])
        body = renderer.page("web/unsubscribe.html.j2", **context)
        return HTMLResponse(body, status_code=status,
                            headers={**PAGE_HEADERS, "content-security-policy": html_csp(body)})

    def _bad(self, reason: str) -> HTMLResponse:
        w = PAGE_WORDS["en"]
        body = self.renderer().page(
            "web/unsubscribe.html.j2", lang="en", action="", regions=[], show_confirm=False,
            show_resubscribe=False, drop_hint="", drop_label="", confirm_label="",
            resubscribe_label="", title=w["bad"], message=reason,
        )
        return HTMLResponse(body, status_code=400,
                            headers={**PAGE_HEADERS, "content-security-policy": html_csp(body)})

    # -- handlers (blocking: each runs in a worker thread) ----------------------

    def show(self, token: str) -> Response:
        """GET and HEAD: say what a POST would do; change nothing."""
        try:
            subscriber = self._find(token)
        except TokenError as exc:
            return self._bad(str(exc))
        if subscriber is None:
            return self._page(None, token, "gone", status=404)
        everything, dropped = self._dropped(subscriber)
        if everything or not set(subscriber.regions) - dropped:
            return self._page(subscriber, token, "done")
        return self._page(subscriber, token, "confirm", dropped=dropped)

    def act(self, token: str, form: dict[str, list[str]]) -> Response:
        """POST: the one-click unsubscribe, or one of the page's buttons."""
        try:
            subscriber = self._find(token)
        except TokenError as exc:
            return self._bad(str(exc))
        if subscriber is None:
            return PlainTextResponse("no such subscription\n", status_code=404)
        # RFC 8058 §3.2: the one-click POST carries List-Unsubscribe=One-Click.
        if form.get("List-Unsubscribe") == ["One-Click"]:
            self._choose(subscriber, everything=True)
            return PlainTextResponse("unsubscribed\n", headers=PAGE_HEADERS)
        action = (form.get("action") or [""])[0]
        if action == "unsubscribe":
            self._choose(subscriber, everything=True)
            return self._page(subscriber, token, "done")
        if action == "resubscribe":
            self._choose(subscriber, everything=False)
            return self._page(subscriber, token, "resubscribed")
        region = (form.get("region") or [""])[0]
        if action == "drop" and region in subscriber.regions:
            _, dropped = self._dropped(subscriber)
            dropped |= {region}
            self._choose(subscriber, everything=False, regions=dropped)
            if not set(subscriber.regions) - dropped:
                return self._page(subscriber, token, "done")
            return self._page(subscriber, token, "dropped", region=region, dropped=dropped)
        return PlainTextResponse("unknown action\n", status_code=400)

    async def get(self, request: Request) -> Response:
        return await off_loop(self.show, request.path_params["token"])

    async def post(self, request: Request) -> Response:
        # The body is capped by feeds.httpguard before it reaches here.
        body = await request.body()
        form = parse_form(body, request.headers.get("content-type", ""))
        return await off_loop(self.act, request.path_params["token"], form)

    def routes(self) -> list[Route]:
        return [
            Route("/unsubscribe/{token}", self.get, methods=["GET", "HEAD"]),
            Route("/unsubscribe/{token}", self.post, methods=["POST"]),
        ]


def unsubscribe_service(app: Any, config: Any) -> UnsubscribeService:
    """The service for ``zonewire serve`` and ``run``: ``config`` is the holder of
    the configuration in force (``.settings``, ``.subscriptions``), read per request."""
    renderers: dict[tuple[str, Any], Renderer] = {}

    def renderer() -> Renderer:
        settings = config.settings
        key = (settings.public_url, settings.templates_dir)
        if key not in renderers:  # one per (public_url, templates_dir) in force
            renderers[key] = Renderer(public_url=settings.public_url,
                                      region=app.gazetteer.find,
                                      templates_dir=settings.templates_dir)
        return renderers[key]

    return UnsubscribeService(
        ledger=Ledger(app.store.ledger),
        signer=lambda: app.signer(config.settings),
        renderer=renderer,
        subscriptions=lambda: config.subscriptions,
        start_seq=app.store.max_seq,
    )
