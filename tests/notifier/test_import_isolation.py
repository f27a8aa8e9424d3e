"""`zonewire import` with hostile input: every line stands alone (SPEC §5, issue 10).

Real files, the real CLI function, a real SQLite file and PostgreSQL database. A line
that cannot be stored for any reason is reported as ``FILE:LINE: message``; every
other line is stored; nothing escapes the command.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feeds.models import CHINA_TZ
from feeds.storage import Storage
from feeds.text import valid_text
from notifier.cli import main
from tests.support.workdir import enter_workdir

REPORTED = re.compile(r"^news\.jsonl:(\d+): ", re.M)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> Path:
    return enter_workdir(tmp_path, monkeypatch, f"database: {database_url}\n")


@pytest.fixture
def store(workdir: Path, database_url: str) -> Iterator[Storage]:
    opened = Storage.open(database_url)
    try:
        yield opened
    finally:
        opened.close()


def url(n: int) -> str:
    return f"https://www.investchn.com/index.php/home/news/detail/id/{n}.html"


def article(n: int, **extra: object) -> dict[str, object]:
    return {
        "url": url(n),
        "title": f"港区第{n}批重点项目集中开工",
        "published": "2021-05-26",
        "zone": "嘉兴港区",
        "region": "嘉兴",
        **extra,
    }


def line(n: int, **extra: object) -> str:
    return json.dumps(article(n, **extra), ensure_ascii=False)


def run_import(capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["import", "news.jsonl"])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_surrogate_at_line_1876_of_2026_loses_only_that_line(
    workdir: Path, store: Storage, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [line(n) for n in range(1, 2027)]
    lines[1875] = json.dumps(article(1876, title="港区\ud800新闻"))  # "\ud800": valid JSON
    (workdir / "news.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, err = run_import(capsys)
    assert code == 1
    assert err.splitlines() == [
        "news.jsonl:1876: 'title' is not valid Unicode: a lone surrogate \\ud800 at character 3 "
        "(the tool that wrote the file split a character; fix it there)"
    ]
    assert "2025 inserted, 0 updated, 0 unchanged, 1 rejected" in out
    assert store.count() == 2025
    assert store.get(url(2026)) is not None  # read past the bad line
    assert store.get(url(1876)) is None


BAD_LINES = {
    "lone surrogate": (json.dumps(article(7, source="区\udfff政府")), "not valid Unicode"),
    "year 1 with an offset": (line(7, published="0001-01-01T00:00:00+08:00"), "before 1990"),
    "year 9999": (line(7, published="9999-12-31T23:59:59-08:00"), "more than a day after now"),
    "5,000-digit number": ('{"url": ' + "9" * 5000 + "}", "4300 digits"),
    "100,000-deep nesting": (
        '{"title": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"
    ),
    "NUL only title": (line(7, title="\u0000"), "'title' is blank"),
}


@pytest.mark.parametrize("kind", BAD_LINES)
def test_one_bad_line_in_twelve_leaves_eleven_stored(
    workdir: Path, store: Storage, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    bad, says = BAD_LINES[kind]
    lines = [line(n) for n in range(1, 13)]
    lines[6] = bad
    (workdir / "news.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, err = run_import(capsys)
    assert code == 1
    assert len(err.splitlines()) == 1
    assert err.startswith("news.jsonl:7: ") and says in err
    assert "11 inserted, 0 updated, 0 unchanged, 1 rejected" in out
    assert store.count() == 11


def test_the_date_window_is_relative_to_the_import(
    workdir: Path, store: Storage, capsys: pytest.CaptureFixture[str]
) -> None:
    today = datetime.now(CHINA_TZ)
    lines = [
        line(1, published="1989-12-31"),
        line(2, published="9999-01-01"),
        line(3, published=(today + timedelta(days=2)).isoformat()),
        line(4, published=today.isoformat()),
        line(5, published="1990-01-01"),
    ]
    (workdir / "news.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, err = run_import(capsys)
    assert code == 1
    assert [int(n) for n in REPORTED.findall(err)] == [1, 2, 3]
    assert "news.jsonl:1: 'published' 1989-12-31T00:00:00+08:00 is before 1990-01-01" in err
    assert "2 inserted" in out
    assert {a.url for a in store.iter_articles()} == {url(4), url(5)}


# -- property: arbitrary hostile lines -------------------------------------------------

REGIONS = ["嘉兴", "西城区", "海淀区", "苏州", "长春"]
ANY_TEXT = st.text(max_size=24)  # every code point but surrogates: controls, NUL, U+FFFF
SURROGATE = st.sampled_from(["\ud800", "\udbff", "\udc00", "\udfff"])
_examples = itertools.count(1)


@dataclass(frozen=True)
class Line:
    data: bytes = b""
    good: dict[str, str] | None = None  # an article a user expects stored (URL set later)
    ascii_only: bool = False
    bad: bool = False  # expected to be reported; neither: a blank line, ignored


@st.composite
def good_article(draw: st.DrawFn) -> dict[str, str]:
    day = draw(st.dates(min_value=datetime(1990, 1, 2).date(),
                        max_value=datetime(2024, 12, 31).date()))
    data = {
        "url": "https://example.org/news/0.html",
        "title": "标题" + draw(ANY_TEXT),
        "published": day.isoformat(),
        "region": draw(st.sampled_from(REGIONS)),
    }
    for key in ("zone", "source", "category", "content", "summary"):
        if draw(st.booleans()):
            data[key] = draw(ANY_TEXT)
    return data


def _encode(data: object, ascii_only: bool) -> bytes:
    return json.dumps(data, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


@st.composite
def any_line(draw: st.DrawFn) -> Line:
    kind = draw(st.sampled_from(
        ["good", "surrogate", "date", "number", "nesting", "broken", "garbage", "bytes", "blank"]
    ))
    if kind == "good":
        return Line(good=draw(good_article()), ascii_only=draw(st.booleans()))
    if kind == "surrogate":
        data = draw(good_article())
        key = draw(st.sampled_from(["title", "region", "source", "content"]))
        text = data.get(key, "")
        at = draw(st.integers(0, len(text)))
        data[key] = text[:at] + draw(SURROGATE) + text[at:]
        # As a JSON escape (valid JSON) or raw (then the line is not even UTF-8).
        return Line(_encode(data, draw(st.booleans())), bad=True)
    if kind == "date":
        data = draw(good_article())
        data["published"] = draw(st.sampled_from([
            "1989-12-31", "0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-08:00",
            "9999-01-01", "2999-06-01T08:00:00Z",
        ]))
        return Line(_encode(data, False), bad=True)
    if kind == "number":
        digits = "9" * draw(st.integers(4_301, 6_000))
        data = draw(good_article())
        text = json.dumps(data, ensure_ascii=False)
        text = draw(st.sampled_from([digits, text[:-1] + ', "title": ' + digits + "}"]))
        return Line(text.encode(), bad=True)
    if kind == "nesting":
        depth = draw(st.integers(1_000, 100_000))
        inner = draw(st.sampled_from(["[", '{"a":']))
        close = "]" if inner == "[" else "}"
        text = '{"content": ' + inner * depth + "1" + close * depth + "}"
        return Line(text.encode(), bad=True)
    if kind == "broken":
        text = json.dumps(draw(good_article()), ensure_ascii=False)
        return Line(text[: draw(st.integers(1, len(text) - 1))].encode(), bad=True)
    if kind == "garbage":
        text = draw(st.text(min_size=1, max_size=40).filter(
            lambda t: "\n" not in t and t.strip() != "" and not t.strip().startswith("{")
        ))
        return Line(text.encode(), bad=True)
    if kind == "bytes":
        tail = draw(st.binary(max_size=20)).replace(b"\n", b"")
        return Line(b"\xff" + tail, bad=True)
    return Line(draw(st.sampled_from([b"", b"   ", b"\t"])))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(lines=st.lists(any_line(), min_size=1, max_size=12))
def test_every_good_line_is_stored_and_every_bad_one_reported(
    workdir: Path, store: Storage, capsys: pytest.CaptureFixture[str], lines: list[Line]
) -> None:
    example = next(_examples)  # good lines get URLs no earlier example stored
    good: list[dict[str, str]] = []
    for n, x in enumerate(lines, start=1):
        if x.good is not None:
            good.append({**x.good, "url": f"https://example.org/{example}/{n}.html"})
    rendered = iter(good)
    (workdir / "news.jsonl").write_bytes(b"\n".join(
        _encode(next(rendered), x.ascii_only) if x.good is not None else x.data for x in lines
    ) + b"\n")
    code, out, err = run_import(capsys)  # nothing raises out of the command

    bad = {n for n, x in enumerate(lines, start=1) if x.bad}
    assert "Traceback" not in err
    assert {int(n) for n in REPORTED.findall(err)} == bad
    assert code == (1 if bad else 0)
    assert f": {len(good)} inserted, 0 updated, 0 unchanged, {len(bad)} rejected" in out
    for data in good:
        stored = store.get(data["url"])
        assert stored is not None, data
        # What was given, trimmed, without the characters XML and PostgreSQL refuse.
        assert stored.title == valid_text(data["title"].strip())
        assert stored.content == valid_text(data.get("content") or "")
