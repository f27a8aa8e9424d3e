"""The JSONL import format (SPEC §5): one article per line, checked field by field."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from feeds.dates import parse_date
from feeds.errors import ImportLineError
from feeds.models import ArticleRecord
from feeds.urls import InvalidURL, canonical_url

FIELDS = ("url", "title", "published", "source", "zone", "region", "category", "content", "summary")
REQUIRED = ("url", "title", "published")


def parse_line(text: str, line: int) -> ArticleRecord:
    """One JSONL line to a record, or :class:`ImportLineError` saying what to fix."""
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportLineError(line, f"not valid JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(data, dict):
        raise ImportLineError(line, f"expected a JSON object, got {type(data).__name__}")
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise ImportLineError(
            line, f"unknown key {', '.join(map(repr, unknown))} (allowed: {', '.join(FIELDS)})"
        )
    for key in REQUIRED:
        if data.get(key) in (None, ""):
            raise ImportLineError(line, f"missing required key {key!r}")
    for key in FIELDS:
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise ImportLineError(line, f"{key!r} must be a string, got {type(value).__name__}")
    if not (data.get("zone") or "").strip() and not (data.get("region") or "").strip():
        raise ImportLineError(line, "needs at least one of 'zone' or 'region'")
    try:
        url = canonical_url(data["url"])
    except InvalidURL as exc:
        raise ImportLineError(line, f"'url': {exc}") from None
    title = data["title"].strip()
    if not title:
        raise ImportLineError(line, "'title' is blank")
    try:
        published = parse_date(data["published"])
    except ValueError as exc:
        raise ImportLineError(line, f"'published': {exc}") from None
    return ArticleRecord(
        url=url,
        title=title,
        published=published,
        source=_clean(data.get("source")),
        zone=_clean(data.get("zone")),
        region=_clean(data.get("region")),
        category=_clean(data.get("category")),
        content=data.get("content") or "",
        summary=_clean(data.get("summary")),
    )


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.replace("\u3000", " ").strip()
    return value or None


def read_records(
    lines: Iterable[str], errors: list[ImportLineError]
) -> Iterator[tuple[int, ArticleRecord]]:
    """Stream records from lines; bad lines go to ``errors`` and are skipped.

    Blank lines are allowed and ignored. A UTF-8 BOM on the first line is dropped.
    """
    for number, raw in enumerate(lines, start=1):
        text = raw.lstrip("\ufeff") if number == 1 else raw
        if not text.strip():
            continue
        try:
            yield number, parse_line(text, number)
        except ImportLineError as exc:
            errors.append(exc)


def record_to_json(record: ArticleRecord) -> str:
    """The inverse of :func:`parse_line`: used by ``zonewire extract`` and samples."""
    data: dict[str, str] = {
        "url": record.url,
        "title": record.title,
        "published": record.published.isoformat(),
    }
    for key in ("source", "zone", "region", "category", "content", "summary"):
        value = getattr(record, key)
        if value:
            data[key] = value
    return json.dumps(data, ensure_ascii=False)
