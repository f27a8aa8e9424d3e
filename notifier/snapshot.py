"""A subscriber as plain JSON-ready data, and back (distributed mode, SPEC §11).

Digest planning stores, beside each planned digest, the subscriber it was planned
for, so a delivery job can rebuild and send the digest without parsing the whole
subscriptions file (the parse, not the result, is what costs a worker its memory).
This module is only the pure conversion; sealing the bytes is
:mod:`notifier.distributed.sealing`'s.

``to_dict`` keeps every field the rebuild and the send read; ``from_dict`` refuses
any other shape with :class:`SnapshotError` (a newer release's snapshot, a damaged
one) so the caller can fall back to the file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import time
from typing import Any

from notifier.errors import NotifierError
from notifier.models import Keywords, Schedule, ScheduleKind, Subscriber, WebhookTarget

#: The shape written by this release; another one is refused, never guessed at.
VERSION = 1


class SnapshotError(NotifierError, ValueError):
    """A snapshot this release cannot read back."""


def to_dict(subscriber: Subscriber) -> dict[str, Any]:
    """Every field of ``subscriber``, as JSON types."""
    s, hook = subscriber.schedule, subscriber.webhook
    return {
        "v": VERSION,
        "id": subscriber.id,
        "schedule": {
            "kind": s.kind.value, "text": s.text,
            "at": None if s.at is None else s.at.isoformat(),
            "weekday": s.weekday, "cron": s.cron,
        },
        "regions": list(subscriber.regions),
        "email": subscriber.email,
        "webhook": None if hook is None else {
            "url": hook.url, "format": hook.format, "secret": hook.secret,
        },
        "keywords": {"include": list(subscriber.keywords.include),
                     "exclude": list(subscriber.keywords.exclude)},
        "categories": list(subscriber.categories),
        "timezone": subscriber.timezone,
        "language": subscriber.language,
        "max_articles": subscriber.max_articles,
        "name": subscriber.name,
        "fingerprint": subscriber.fingerprint,
    }


def _strs(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError("expected a list of strings")
    return tuple(value)


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def _opt(value: Any, kind: type) -> Any:
    if value is not None and not isinstance(value, kind):
        raise TypeError(f"expected {kind.__name__} or null")
    return value


def from_dict(data: Mapping[str, Any]) -> Subscriber:
    """The :class:`Subscriber` ``to_dict`` described; :class:`SnapshotError` otherwise."""
    try:
        if data.get("v") != VERSION:
            raise SnapshotError(f"snapshot version {data.get('v')!r}, this release reads "
                                f"{VERSION}")
        s, hook, words = data["schedule"], data["webhook"], data["keywords"]
        at = _opt(s["at"], str)
        schedule = Schedule(
            kind=ScheduleKind(s["kind"]), text=_str(s["text"]),
            at=None if at is None else time.fromisoformat(at),
            weekday=_opt(s["weekday"], int), cron=_opt(s["cron"], str),
        )
        webhook = None if hook is None else WebhookTarget(
            url=_str(hook["url"]), format=_str(hook["format"]),
            secret=_opt(hook["secret"], str),
        )
        max_articles = data["max_articles"]
        if not isinstance(max_articles, int) or isinstance(max_articles, bool):
            raise TypeError("max_articles: expected an integer")
        return Subscriber(
            id=_str(data["id"]), schedule=schedule, regions=_strs(data["regions"]),
            email=_opt(data["email"], str), webhook=webhook,
            keywords=Keywords(_strs(words["include"]), _strs(words["exclude"])),
            categories=_strs(data["categories"]), timezone=_str(data["timezone"]),
            language=_str(data["language"]), max_articles=max_articles,
            name=_opt(data["name"], str), fingerprint=_str(data["fingerprint"]),
        )
    except SnapshotError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SnapshotError(f"not a subscriber snapshot: {exc!r}") from None


def dumps(subscriber: Subscriber) -> bytes:
    """Canonical bytes of ``to_dict`` (sorted keys, no spaces): equal subscribers give
    equal bytes, so a hash of them tells whether an entry changed."""
    text = json.dumps(to_dict(subscriber), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)
    return text.encode("utf-8", "surrogatepass")


def loads(raw: bytes) -> Subscriber:
    """The subscriber ``dumps`` wrote; :class:`SnapshotError` for anything else."""
    try:
        data = json.loads(raw.decode("utf-8", "surrogatepass"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SnapshotError(f"not a subscriber snapshot: {exc}") from None
    if not isinstance(data, dict):
        raise SnapshotError("not a subscriber snapshot: not an object")
    return from_dict(data)
