"""Chat messages that always fit their platform's size limit (pure).

Robots refuse a message over their limit outright, so a digest that is too big is
never delivered (issue 11: one 10,000-character title made a 60 KB WeCom message).
Two levers, in this order: show fewer articles (the rest become "and N more"),
then shorten every article-derived field with an ellipsis, down to a floor that
fits even one article with the longest title, the longest names and a URL too
long to link. The bundled templates always fit; a user's template that still does
not is refused with the figures rather than sent to be rejected.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from notifier.errors import NotifierError


@dataclass(frozen=True, slots=True)
class ChatLimit:
    """How much one platform accepts and how it counts.

    ``scope`` ``text`` measures the message text (the longest string in the JSON
    body), ``body`` the whole request body.
    """

    size: int
    unit: Literal["bytes", "chars"]
    scope: Literal["text", "body"] = "text"


#: WeCom markdown ``content`` 4,096 bytes; DingTalk markdown text about 20,000
#: bytes; Feishu 20 KB per request (18,000 leaves room for the signature fields);
#: a Slack section text 3,000 characters (counted here in UTF-16 units, which is
#: never fewer than the characters Slack counts).
CHAT_LIMITS: dict[str, ChatLimit] = {
    "wecom": ChatLimit(4096, "bytes"),
    "dingtalk": ChatLimit(20000, "bytes"),
    "feishu": ChatLimit(18000, "bytes", "body"),
    "slack": ChatLimit(3000, "chars"),
}


@dataclass(frozen=True, slots=True)
class Caps:
    """Longest each field may be, in characters, before it is ellipsized.

    ``url`` 0 means an article's link is left out (its title is still shown).
    """

    title: int = 200
    field: int = 60
    heading: int = 120
    summary: int = 140
    url: int = 1000

    def smaller(self) -> Caps | None:
        """The next, tighter caps, or ``None`` below the floor."""
        if self.title <= 12:
            return None
        return Caps(
            title=max(self.title // 2, 12),
            field=max(self.field // 2, 8),
            heading=max(self.heading // 2, 16),
            summary=max(self.summary // 2, 16),
            url=self.url // 2 if self.url > 250 else 0,
        )


#: Email and the ``json`` payload are not cut (a summary is always a short excerpt).
NO_CAPS = Caps(title=10**9, field=10**9, heading=10**9, summary=140, url=10**9)


def _units(text: str, unit: str) -> int:
    if unit == "bytes":
        return len(text.encode("utf-8"))
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def measure(body: str, limit: ChatLimit, slots: dict[str, str] | None = None) -> int:
    """The size of ``body`` as ``limit`` counts it.

    ``slots`` maps the placeholders still in a shared rendering to a stand-in as
    long as the longest value they may take, so the personal copy fits as well.
    """
    for slot, stand_in in (slots or {}).items():
        body = body.replace(slot, stand_in)
    if limit.scope == "body":
        return _units(body, limit.unit)
    longest = 0
    stack: list[Any] = [json.loads(body)]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            longest = max(longest, _units(node, limit.unit))
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return longest


def fit(
    render: Callable[[int, Caps], str],
    count: int,
    limit: ChatLimit,
    *,
    name: str,
    slots: dict[str, str] | None = None,
) -> str:
    """The first rendering that fits: ``render(shown, caps)`` with fewer articles
    shown, then tighter caps. Raises :class:`NotifierError` if even the floor
    (one article, shortest caps) is too big, which only a user's template can do."""
    caps = Caps()
    shown = max(count, 1)
    body = render(shown, caps)
    size = measure(body, limit, slots)
    while size > limit.size and shown > 1:
        shown = max(min(shown - 1, shown * limit.size // size), 1)
        body = render(shown, caps)
        size = measure(body, limit, slots)
    while size > limit.size:
        tighter = caps.smaller()
        if tighter is None:
            raise NotifierError(
                f"{name}: the message is {size} {limit.unit} even with one article and "
                f"titles cut to {caps.title} characters; the platform takes at most "
                f"{limit.size} {limit.unit} (shorten the template)"
            )
        caps = tighter
        body = render(shown, caps)
        size = measure(body, limit, slots)
    return body
