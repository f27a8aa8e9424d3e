"""The JSONL import format (SPEC §5): one article per line, checked field by field."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from feeds.dates import parse_date
from feeds.errors import ImportLineError
from feeds.models import ArticleRecord
from feeds.text import lone_surrogate, valid_text
from feeds.urls import InvalidURL, canonical_url

FIELDS = ("url", "title", "published", "source", "zone", "region", "category", "content", "summary")
REQUIRED = ("url", "title", "published")


def parse_line(text: str, line: int) -> ArticleRecord:
    """One JSONL line to a record, or :class:`ImportLineError` saying what to fix.

    Nothing else escapes: JSON that Python cannot hold (a number of thousands of
    digits, nesting thousands deep) and text that is not Unicode (a lone
    surrogate such as ``\\ud800``) are bad lines like any other (issue 10).
    """
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportLineError(line, f"not valid JSON: {exc.msg} at column {exc.colno}") from None
    except RecursionError:
        raise ImportLineError(
            line, "JSON nested too deeply: an article is one flat object of strings"
        ) from None
    except ValueError as exc:  # a number past int's digit limit, and the like
        raise ImportLineError(
            line, f"not usable JSON: {_first_sentence(exc)} (every field takes a string)"
        ) from None
    if not isinstance(data, dict):
        raise ImportLineError(line, f"expected a JSON object, got {type(data).__name__}")
    unknown = sorted(set(data) - set(FIELDS))
    if any(lone_surrogate(key) is not None for key in unknown):
        raise ImportLineError(line, "a key is not valid Unicode (a lone surrogate)")
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
        if value is not None and (at := lone_surrogate(value)) is not None:
            raise ImportLineError(
                line,
                f"{key!r} is not valid Unicode: a lone surrogate \\u{ord(value[at]):04x} at "
                f"character {at + 1} (the tool that wrote the file split a character; "
                "fix it there)",
            )
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


def _first_sentence(exc: Exception) -> str:
    text = str(exc).split(";")[0].strip()
    return text or type(exc).__name__


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
    Whatever goes wrong with one line is that line's error, never the import's.
    """
    for number, raw in enumerate(lines, start=1):
        text = raw.lstrip("\ufeff") if number == 1 else raw
        if not text.strip():
            continue
        try:
            record = parse_line(text, number)
        except ImportLineError as exc:
            errors.append(exc)
            continue
        except Exception as exc:  # a case parse_line missed must not stop the import
            errors.append(ImportLineError(number, f"cannot be read: {type(exc).__name__}: {exc}"))
            continue
        yield number, record


def record_to_json(record: ArticleRecord) -> str:
    """The inverse of :func:`parse_line`: used by ``zonewire extract`` and samples.

    Text is made valid first, so the line can be written as UTF-8 and read back.
    """
    data: dict[str, str] = {
        "url": valid_text(record.url),
        "title": valid_text(record.title),
        "published": record.published.isoformat(),
    }
    for key in ("source", "zone", "region", "category", "content", "summary"):
        value = getattr(record, key)
        if value:
            data[key] = valid_text(value)
    return json.dumps(data, ensure_ascii=False)
