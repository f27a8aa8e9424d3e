"""The pure Atom renderer: RFC 4287 validity, safety, determinism (no store)."""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import feedparser
import pytest
from lxml import etree

from feeds.atom import (
    AtomRenderer,
    entry_updated,
    feed_info,
    render_feed,
    sanitize_html,
    summary_text,
)
from feeds.models import CHINA_TZ, Article, Region, RegionLevel
from feeds.text import html_to_text, truncate, xml_safe

DATA = Path(__file__).resolve().parent.parent / "data"
ATOM = "{http://www.w3.org/2005/Atom}"
BASE = "http://feeds.example.org/zw/"
T0 = datetime(2026, 11, 30, 9, 0, tzinfo=CHINA_TZ)

ZONE = Region("zone-deshengyuan", "中关村科技园区德胜园", RegionLevel.ZONE, "110102", "deshengyuan")
NAMES = {"zone-deshengyuan": ZONE.name, "110102": "西城区", "110000": "北京市"}


def atom_schema() -> etree.RelaxNG:
    return etree.RelaxNG(etree.parse(str(DATA / "atom.rng")))


def assert_valid(data: bytes) -> etree._Element:
    """Valid against RFC 4287's RELAX NG grammar, and feedparser finds no fault."""
    schema = atom_schema()
    root = etree.fromstring(data)
    assert schema.validate(root), schema.error_log
    parsed = feedparser.parse(data)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return root


def article(n: int, **changes: object) -> Article:
    base = Article(
        id=f"tag:zonewire,2026-11-30:article/{n:020d}",
        seq=n,
        url=f"https://www.investchn.com/index.php/home/news/detail/id/{180700 + n}.html",
        title=f"德胜园第{n}批科技企业集中签约入驻",
        published=T0 - timedelta(days=n),
        updated=T0 - timedelta(days=n),
        ingested_at=T0,
        source="西城区人民政府",
        zone=ZONE.name,
        region="西城区",
        category="文字新闻",
        content=f"<p>11月{n}日,德胜园举行企业签约仪式,{n}家科技企业集中入驻。</p>"
        "<p>园区负责人介绍,今年以来园区持续优化服务,新增企业数量稳步增长。</p>",
        summary=None,
        content_hash=f"hash-{n}",
        region_keys=("zone-deshengyuan", "110102", "110000"),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_feed_is_valid_atom_with_the_promised_fields() -> None:
    data = render_feed(ZONE, [article(1), article(2)], BASE, names=NAMES, label="德胜园 (西城区)")
    root = assert_valid(data)
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "zh-CN"
    self_link = root.find(f"{ATOM}link[@rel='self']")
    assert self_link is not None
    assert self_link.get("href") == BASE + "feeds/zone-deshengyuan.atom"
    entries = root.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}id") for e in entries] == [article(1).id, article(2).id]
    first = entries[0]
    assert first.findtext(f"{ATOM}published") == "2026-11-29T09:00:00+08:00"
    # updated: when zonewire stored it (T0), ingest order in the microseconds.
    assert first.findtext(f"{ATOM}updated") == "2026-11-30T09:00:00.000001+08:00"
    assert first.findtext(f"{ATOM}author/{ATOM}name") == "西城区人民政府"
    labels = [(c.get("term"), c.get("label")) for c in first.findall(f"{ATOM}category")]
    assert labels == [
        ("zone-deshengyuan", "中关村科技园区德胜园"),
        ("110102", "西城区"),
        ("110000", "北京市"),
        ("文字新闻", "文字新闻"),
    ]
    content = first.find(f"{ATOM}content")
    assert content is not None and content.get("type") == "html"
    assert "<p>11月1日" in (content.text or "")
    summary = first.findtext(f"{ATOM}summary") or ""
    assert summary.startswith("11月1日,德胜园举行企业签约仪式") and "<" not in summary
    # Feed <updated> is the newest entry's, not the clock.
    assert root.findtext(f"{ATOM}updated") == "2026-11-30T09:00:00.000002+08:00"


def test_entry_updated_is_the_store_time_distinct_within_one_import() -> None:
    # Forty articles stored in the same instant, one re-imported later.
    later = T0 + timedelta(hours=5, microseconds=123)
    arts = [article(n) for n in range(1, 41)]
    arts[7] = article(8, updated=later)
    data = render_feed(ZONE, arts, BASE, names=NAMES)
    root = assert_valid(data)
    values = [e.findtext(f"{ATOM}updated") for e in root.findall(f"{ATOM}entry")]
    published = [e.findtext(f"{ATOM}published") for e in root.findall(f"{ATOM}entry")]
    assert len(set(values)) == 40
    assert values[0] == "2026-11-30T09:00:00.000001+08:00" != published[0]
    assert values[7] == "2026-11-30T14:00:00.000008+08:00"
    assert root.findtext(f"{ATOM}updated") == values[7]
    # Stable: the same articles give the same bytes.
    assert render_feed(ZONE, arts, BASE, names=NAMES) == data
    # A new article moves the feed's updated.
    newer = article(41, ingested_at=T0 + timedelta(days=1))
    again = etree.fromstring(render_feed(ZONE, [newer, *arts], BASE, names=NAMES))
    assert again.findtext(f"{ATOM}updated") == "2026-12-01T09:00:00.000041+08:00"


def test_feedparser_reads_titles_dates_and_links() -> None:
    parsed = feedparser.parse(render_feed(ZONE, [article(3)], BASE, names=NAMES))
    entry = parsed.entries[0]
    assert entry.title == "德胜园第3批科技企业集中签约入驻"
    assert entry.link == article(3).url
    assert entry.id == article(3).id
    assert entry.author == "西城区人民政府"
    assert parsed.feed.language == "zh-CN"


def test_same_input_same_bytes_and_matches_plain_feedgen() -> None:
    articles = [article(n) for n in range(1, 6)] + [
        article(
            6,
            title="a&b<c>\"d'\r\ne\tf",
            source='来源 "引号" & <x>',
            category='类&别"',
            url='https://example.org/?a=1&b="2"\t',
            content=HOSTILE + '\r\n第二行 &amp; "q"',
            summary="摘要\r\n& <b>",
        ),
        article(7, source=None, category=None, content="", summary=None),
        article(8, content="纯文本\r\n第二段 & \"x\" 'y' >"),
    ]
    renderer = AtomRenderer(BASE, NAMES)
    once = renderer.render(feed_info(ZONE), articles)
    assert AtomRenderer(BASE, NAMES).render(feed_info(ZONE), articles) == once
    # The spliced, cached entries give exactly feedgen's own serialisation.
    fg = renderer.header(feed_info(ZONE), max(entry_updated(a) for a in articles))
    for a in articles:
        fg.add_entry(renderer.feed_entry(a), order="append")
    assert fg.atom_str(pretty=True, encoding="UTF-8") == once


def test_entry_without_source_inherits_the_feed_author() -> None:
    # RFC 4287 §4.1.1: an entry needs an author unless the feed has one.
    root = assert_valid(render_feed(None, [article(1, source=None)], BASE))
    assert root.findtext(f"{ATOM}author/{ATOM}name") == "zonewire"
    assert root.find(f"{ATOM}entry/{ATOM}author") is None


def test_empty_feed_is_valid_and_stable() -> None:
    data = render_feed(None, [], BASE)
    assert_valid(data)
    assert render_feed(None, [], BASE) == data


HOSTILE = (
    '<p onclick="steal()">正文\x00开始\x07<script>alert("x")</script>'
    '<img src="x.png" onerror="alert(1)"><a href="javascript:alert(2)">点我</a>'
    '<a href="https://example.org/ok">正常链接</a>'
    '<iframe src="https://evil.example/"></iframe><span style="position:fixed">样式</span>'
    '<svg onload="alert(3)"><circle/></svg>'
    "园区新闻 \U0001f3ed\U0001f680 \ud800孤立代理</p>"
)


def test_hostile_content_yields_valid_and_safe_feeds() -> None:
    evil = article(
        1,
        title="\x01标题\x08" + "超长" * 1000 + "\x0b",
        content=HOSTILE,
        source="来源\x0c<b>粗体</b>",
        category="文字\x00新闻",
    )
    data = render_feed(ZONE, [evil, article(2, content="纯文本\n第二段\x1f")], BASE, names=NAMES)
    root = assert_valid(data)
    entry = root.find(f"{ATOM}entry")
    assert entry is not None
    html = entry.findtext(f"{ATOM}content") or ""
    lowered = html.lower()
    for bad in ("<script", "onerror", "onclick", "onload", "javascript:", "<iframe", "style="):
        assert bad not in lowered, bad
    assert 'href="https://example.org/ok"' in html and "正常链接" in html
    assert "\U0001f3ed\U0001f680" in html  # emoji survive
    title = entry.findtext(f"{ATOM}title") or ""
    assert 0 < len(title) <= 200 and title.endswith("…") and title.startswith("标题")
    assert entry.findtext(f"{ATOM}category[@term='文字新闻']") is not None or any(
        c.get("term") == "文字新闻" for c in entry.findall(f"{ATOM}category")
    )
    for ch in ["\x00", "\x01", "\x07", "\x08", "\x0b", "\x0c", "\x1f"]:
        assert ch.encode() not in data
    plain = root.findall(f"{ATOM}entry")[1].findtext(f"{ATOM}content") or ""
    assert plain == "<p>纯文本</p><p>第二段</p>"


def test_sanitizer_and_text_helpers() -> None:
    assert sanitize_html('<a href="javascript:x()">a</a>') == (
        '<a rel="noopener noreferrer nofollow">a</a>'
    )
    assert sanitize_html("第一行\n\n第二行 A&B") == "<p>第一行</p><p>第二行 A&amp;B</p>"
    assert html_to_text("<p>一&nbsp;二</p><style>p{}</style><p>三\u3000四</p>") == "一 二\n三 四"
    assert xml_safe("a\x00b\ud800c\ufffe\td") == "abc\td"
    assert truncate("短句。", 10) == "短句。"
    cut = truncate("第一句话说完了。第二句话还有很多很多很多内容", 11)
    assert cut == "第一句话说完了。…"
    assert summary_text(article(1, summary="  自带摘要  ")) == "自带摘要"


@pytest.mark.skipif(sys.maxunicode < 0x10FFFF, reason="narrow build")
def test_lone_surrogates_in_every_field_are_dropped() -> None:
    odd = article(
        1, title="\udc00标题", source="\ud83d来源", content="\udfff正文", summary="\ud800摘要"
    )
    data = render_feed(ZONE, [odd], BASE, names=NAMES)
    root = assert_valid(data)
    assert root.findtext(f"{ATOM}entry/{ATOM}title") == "标题"
    assert root.findtext(f"{ATOM}entry/{ATOM}summary") == "摘要"
