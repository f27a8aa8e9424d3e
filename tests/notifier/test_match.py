"""Matching: regions with everything under them, keywords, categories; index == naive."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.models import CHINA_TZ, Article
from notifier.match import (
    MatchIndex,
    article_text,
    match_articles,
    match_naive,
    matches,
    plain_text,
)
from notifier.models import Keywords, Schedule, ScheduleKind, Subscriber

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=CHINA_TZ)

# 西城区 (110102) in 北京市 (110000); 嘉兴市 (330400) in 浙江省 (330000)
XICHENG = ("110102", "110000")
JIAXING_ZONE = ("zone-jiaxinggangqu", "330400", "330000")
JIAXING = ("330400", "330000")
HUZHOU = ("330500", "330000")


def article(
    seq: int, keys: tuple[str, ...], title: str = "标题", content: str = "",
    summary: str | None = None, category: str | None = "文字新闻",
) -> Article:
    return Article(
        id=f"tag:example.org,2026:{seq}", seq=seq, url=f"https://example.org/{seq}",
        title=title, published=T0, updated=T0, ingested_at=T0, source=None, zone=None,
        region=None, category=category, content=content, summary=summary,
        content_hash=str(seq), region_keys=keys,
    )


def subscriber(
    sid: str, regions: tuple[str, ...], include: tuple[str, ...] = (),
    exclude: tuple[str, ...] = (), categories: tuple[str, ...] = (),
) -> Subscriber:
    return Subscriber(
        id=sid, schedule=Schedule(ScheduleKind.IMMEDIATE, "immediate"), regions=regions,
        email=f"{sid}@example.com", keywords=Keywords(include, exclude), categories=categories,
    )


def test_following_a_region_follows_everything_under_it():
    province = subscriber("zj", ("330000",))
    city = subscriber("jx", ("330400",))
    zone = subscriber("port", ("zone-jiaxinggangqu",))
    beijing = subscriber("bj", ("110000",))
    index = MatchIndex([province, city, zone, beijing])
    a_zone, a_city, a_huzhou, a_xicheng = (
        article(1, JIAXING_ZONE), article(2, JIAXING), article(3, HUZHOU), article(4, XICHENG))
    assert index.subscribers_for(a_zone) == ["zj", "jx", "port"]
    assert index.subscribers_for(a_city) == ["zj", "jx"]
    assert index.subscribers_for(a_huzhou) == ["zj"]
    assert index.subscribers_for(a_xicheng) == ["bj"]
    assert index.match([a_zone, a_city, a_huzhou, a_xicheng]) == {
        "zj": [a_zone, a_city, a_huzhou], "jx": [a_zone, a_city], "port": [a_zone],
        "bj": [a_xicheng],
    }


@pytest.mark.parametrize("include, exclude, title, content, wanted", [
    (("新能源",), (), "嘉兴签约新能源项目", "", True),
    (("新能源",), (), "嘉兴签约光伏项目", "", False),
    # tags vanish
    (("新能源",), (), "项目签约", "<p>总投资十亿元的<b>新</b>能源整车项目</p>", True),
    (("半导体", "芯片"), (), "芯片封装基地开工", "", True),  # any include
    ((), ("招聘",), "园区招聘会举行", "", False),
    ((), ("招聘",), "园区签约", "", True),
    (("新能源",), ("招聘",), "新能源企业招聘", "", False),  # exclude wins
    (("AI",), (), "园区发布ai算力平台", "", True),  # Latin: any case
    (("ai",), (), "ＡＩ产业园开园", "", True),  # full-width
    (("Straße",), (), "STRASSE 项目", "", True),  # casefold
    (("R&D",), (), "标题", "<p>新建R&amp;D中心</p>", True),  # entities
    (("新能源",), (), "标题", "新\n能源", False),  # not across a break
])
def test_keywords(include: tuple[str, ...], exclude: tuple[str, ...], title: str, content: str,
                  wanted: bool):
    sub = subscriber("a", ("330400",), include, exclude)
    item = article(1, JIAXING, title=title, content=content)
    assert matches(sub, item) is wanted
    assert MatchIndex([sub]).subscribers_for(item) == (["a"] if wanted else [])


def test_keywords_search_title_summary_and_body():
    sub = subscriber("a", ("330000",), include=("储能",))
    index = MatchIndex([sub])
    assert index.subscribers_for(article(1, JIAXING, title="储能电站并网"))
    assert index.subscribers_for(article(2, JIAXING, summary="一座储能电站"))
    assert index.subscribers_for(article(3, JIAXING, content="<p>储能</p>"))
    assert not index.subscribers_for(article(4, JIAXING, title="光伏"))


def test_categories():
    sub = subscriber("a", ("330000",), categories=("招商动态",))
    index = MatchIndex([sub])
    assert index.subscribers_for(article(1, JIAXING, category="招商动态")) == ["a"]
    assert index.subscribers_for(article(2, JIAXING, category="文字新闻")) == []
    assert index.subscribers_for(article(3, JIAXING, category=None)) == []


def test_plain_text_drops_markup():
    assert plain_text("<p>一</p><p>二<script>x</script></p>") == "\n一\n\n二\n\n"
    assert "新能源" in article_text(article(1, (), content="<div>新<span>能源</span></div>"))


def test_the_core_module_imports_no_edges():
    code = (
        "import sys, notifier.match; "
        "print(sorted(m for m in ('yaml', 'sqlalchemy', 'httpx', 'apscheduler') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"


# -- the index gives exactly the naive answer ---------------------------------------

# A small world, so that hypothesis hits overlaps: keys of a tiny hierarchy, words
# that appear inside each other (能源 in 新能源), mixed-case Latin.
KEYS = [("330000",), JIAXING, JIAXING_ZONE, HUZHOU, XICHENG, ("110000",), ()]
WORDS = ["新能源", "能源", "芯片", "招聘", "AI", "ai", "光伏", "港区", "Ab"]
REGION_KEYS = ["330000", "330400", "330500", "zone-jiaxinggangqu", "110000", "110102"]
CATEGORIES = ["文字新闻", "招商动态"]

subscribers_st = st.lists(
    st.builds(
        lambda regions, include, exclude, categories: (regions, include, exclude, categories),
        st.lists(st.sampled_from(REGION_KEYS), min_size=1, max_size=3).map(tuple),
        st.lists(st.sampled_from(WORDS), max_size=2).map(tuple),
        st.lists(st.sampled_from(WORDS), max_size=2).map(tuple),
        st.lists(st.sampled_from(CATEGORIES), max_size=1).map(tuple),
    ),
    max_size=25,
)
text_st = st.lists(
    st.sampled_from([*WORDS, "的", "新", "<b>", "</b>", "<p>", "AB", "ＡＩ", " "]), max_size=8
).map("".join)
articles_st = st.lists(
    st.tuples(st.sampled_from(KEYS), text_st, text_st, st.sampled_from([*CATEGORIES, None])),
    max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(subscribers_st, articles_st)
def test_index_equals_naive(subs: list[tuple], arts: list[tuple]):  # type: ignore[type-arg]
    subscribers = [subscriber(f"s{i}", r, inc, exc, cat)
                   for i, (r, inc, exc, cat) in enumerate(subs)]
    articles = [article(i, keys, title=title, content=body, category=category)
                for i, (keys, title, body, category) in enumerate(arts)]
    index = MatchIndex(subscribers)
    assert index.match(articles) == match_naive(subscribers, articles)
    for item in articles:
        assert index.subscribers_for(item) == [s.id for s in subscribers if matches(s, item)]


@settings(max_examples=100, deadline=None)
@given(subscribers_st, articles_st, st.integers(1, 5), st.sets(st.integers(0, 24)))
def test_a_delivery_pass_in_article_batches_equals_naive(
    subs: list[tuple], arts: list[tuple], batch: int, due: set[int]  # type: ignore[type-arg]
):
    """What a pass runs (one index, articles streamed in batches, only the due
    subscribers kept) gives the plain rule's answer for exactly those subscribers."""
    subscribers = [subscriber(f"s{i}", r, inc, exc, cat)
                   for i, (r, inc, exc, cat) in enumerate(subs)]
    articles = [article(i, keys, title=title, content=body, category=category)
                for i, (keys, title, body, category) in enumerate(arts)]
    wanted = {f"s{i}" for i in due}
    found = match_articles(MatchIndex(subscribers), iter(articles), wanted, batch=batch)
    naive = match_naive([s for s in subscribers if s.id in wanted], articles)
    assert found == naive
