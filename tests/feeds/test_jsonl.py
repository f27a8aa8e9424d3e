from __future__ import annotations

import json
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.errors import ImportLineError
from feeds.models import CHINA_TZ, ArticleRecord
from feeds.sources.jsonl import parse_line, read_records, record_to_json
from feeds.text import valid_text

GOOD = {
    "url": "https://www.investchn.com/index.php/home/news/detail/id/7.html",
    "title": "新能源电池项目签约",
    "published": "2022-11-07",
    "zone": "嘉兴港区",
    "region": "嘉兴",
}


def line(**changes: object) -> str:
    data = {**GOOD, **changes}
    return json.dumps({k: v for k, v in data.items() if v is not ...}, ensure_ascii=False)


def test_a_good_line_becomes_a_record_in_beijing_time() -> None:
    record = parse_line(line(published="2022-11-07T09:30:00+08:00"), 1)
    assert record.title == "新能源电池项目签约"
    assert record.published == datetime(2022, 11, 7, 9, 30, tzinfo=CHINA_TZ)
    assert parse_line(line(), 1).published == datetime(2022, 11, 7, tzinfo=CHINA_TZ)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{not json", "not valid JSON"),
        ('["a", "list"]', "expected a JSON object"),
        (line(author="张三"), "unknown key 'author'"),
        (line(url=...), "missing required key 'url'"),
        (line(title=...), "missing required key 'title'"),
        (line(published=...), "missing required key 'published'"),
        (line(zone=..., region=...), "needs at least one of 'zone' or 'region'"),
        (line(zone="", region="  "), "needs at least one of 'zone' or 'region'"),
        (line(url="www.example.org/a.html"), "'url': not an absolute http(s) URL"),
        (line(published="上周三"), "'published': not a date"),
        (line(published="2022-02-30"), "'published': not a real date"),
        (line(title=42), "'title' must be a string"),
        (line(title="   "), "'title' is blank"),
    ],
)
def test_each_kind_of_bad_line_is_reported_with_its_number(text: str, reason: str) -> None:
    with pytest.raises(ImportLineError) as info:
        parse_line(text, 17)
    assert info.value.line == 17
    assert reason in info.value.reason


def test_bad_lines_are_skipped_and_good_ones_kept() -> None:
    errors: list[ImportLineError] = []
    lines = ["\ufeff" + line(), "", "garbage", line(url=GOOD["url"] + "?x=2")]
    got = list(read_records(lines, errors))
    assert [n for n, _ in got] == [1, 4]
    assert [e.line for e in errors] == [3]


@pytest.mark.parametrize(
    "published", ["2022/11/07", "2022年11月7日", "2022-11-07 00:00", "２０２２-１１-０７"]
)
def test_portal_date_spellings(published: str) -> None:
    assert parse_line(line(published=published), 1).published == datetime(
        2022, 11, 7, tzinfo=CHINA_TZ
    )


def test_round_trip_through_json() -> None:
    record = parse_line(line(content="<p>正文</p>", source="嘉兴日报"), 1)
    assert parse_line(record_to_json(record), 1) == record


# -- hostile lines (issue 10) ---------------------------------------------------------

ANY_CHAR = st.one_of(st.characters(), st.sampled_from(["\ud800", "\udfff", "\x00", "\x1b"]))
HOSTILE = st.lists(ANY_CHAR, max_size=30).map("".join)


@st.composite
def hostile_line(draw: st.DrawFn) -> str:
    """JSON that parses and JSON that does not, with any text in any field."""
    values = st.one_of(HOSTILE, st.integers(), st.none(), st.floats(), st.booleans(),
                       st.lists(HOSTILE, max_size=3))
    data = {**GOOD, **draw(st.dictionaries(st.sampled_from([*GOOD, "content", "x"]), values))}
    text = json.dumps(data, ensure_ascii=draw(st.booleans()))
    mangle = draw(st.sampled_from(["none", "truncate", "nest", "digits", "raw"]))
    if mangle == "truncate":
        return text[: draw(st.integers(0, len(text)))]
    if mangle == "nest":
        depth = draw(st.integers(1, 50_000))
        return '{"title": ' + "[" * depth + "]" * depth + "}"
    if mangle == "digits":
        return text[:-1] + ', "title": ' + "7" * draw(st.integers(1, 6000)) + "}"
    if mangle == "raw":
        return draw(HOSTILE)
    return text


@settings(max_examples=300)
@given(hostile_line())
def test_any_line_is_a_record_or_its_own_error(text: str) -> None:
    try:
        record = parse_line(text, 9)
    except ImportLineError as exc:
        assert exc.line == 9 and exc.reason
        return
    # A record that came out is valid Unicode all through: it hashes and stores.
    for value in (record.url, record.title, record.content, record.zone, record.region):
        (value or "").encode("utf-8")


@given(st.builds(
    ArticleRecord, url=st.just(GOOD["url"]), title=HOSTILE.map(lambda t: "标题" + t),
    published=st.just(datetime(2022, 11, 7, tzinfo=CHINA_TZ)), region=st.just("嘉兴"),
    content=HOSTILE, source=HOSTILE,
))
def test_extract_output_is_always_a_line_that_imports(record: ArticleRecord) -> None:
    text = record_to_json(record)
    text.encode("utf-8")  # `zonewire extract` can print it
    back = parse_line(text, 1)
    assert back.title == valid_text(record.title).strip()
    assert back.content == valid_text(record.content)
