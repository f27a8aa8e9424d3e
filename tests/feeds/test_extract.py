"""The article page extractor, on the sample portal over HTTP and on hand-written pages."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from feeds.charset import decode_page
from feeds.errors import ExtractError
from feeds.extract import extract_article, extract_links, find_next_page
from feeds.models import ArticleRecord
from feeds.sample import (
    ABOUT_PATH,
    CHARSETS,
    DETAIL_PATTERN,
    VARIANTS,
    PortalServer,
    SamplePage,
    SamplePortal,
    serve_portal,
)
from feeds.sources.jsonl import parse_line, record_to_json

PAGES = Path(__file__).parent.parent / "data" / "pages"


@pytest.fixture(scope="module")
def served() -> Iterator[PortalServer]:
    # 45 articles: three list pages, every markup variant with every charset case.
    with serve_portal(SamplePortal(seed=7, articles=45)) as server:
        yield server


def _get(client: httpx.Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return decode_page(response.content, response.headers.get("content-type"))


def _extract(portal: SamplePortal, page: SamplePage) -> ArticleRecord:
    response = portal.respond("GET", page.path, {})
    html = decode_page(response.body, response.headers["Content-Type"])
    return extract_article(html, portal.url(page.path))


def test_every_field_of_every_sample_page_fetched_over_http_equals_the_truth(
    served: PortalServer,
) -> None:
    portal = served.portal
    truth = {record.url: record for record in portal.records()}
    seen: list[str] = []
    with httpx.Client() as client:
        url: str | None = portal.list_url(1)
        while url:
            html = _get(client, url)
            seen += [u for u in extract_links(html, url, DETAIL_PATTERN) if u not in seen]
            url = find_next_page(html, url, "下一页")
        assert sorted(seen) == sorted(truth)
        mismatches = []
        for link in seen:
            record = extract_article(_get(client, link), link)
            if record != truth[link]:
                page = portal.page(link)
                mismatches.append((page.variant, page.charset, record, truth[link]))
    assert mismatches == []
    pages = portal.pages()
    assert {p.variant for p in pages} == set(VARIANTS)
    assert {p.charset for p in pages} == set(CHARSETS)


@pytest.mark.parametrize("variant", VARIANTS)
def test_each_markup_variant_extracts_to_the_truth(variant: str) -> None:
    portal = SamplePortal(seed=3, articles=12)
    pages = [p for p in portal.pages() if p.variant == variant]
    assert pages
    for page in pages:
        record = _extract(portal, page)
        assert record == page.record(portal.base_url)
        assert record.content.count("<p>") == len(page.text.paragraphs)


@pytest.mark.parametrize("charset", CHARSETS)
def test_each_charset_case_extracts_to_the_truth(charset: str) -> None:
    portal = SamplePortal(seed=5, articles=14)
    page = next(p for p in portal.pages() if p.charset == charset)
    response = portal.respond("GET", page.path, {})
    if charset != "utf-8":
        with pytest.raises(UnicodeDecodeError):
            response.body.decode("utf-8")
    assert _extract(portal, page) == page.record(portal.base_url)
    if charset == "gb2312-meta":
        # 镕 is outside GB2312 and 𠮷 outside GBK: both survive.
        assert "朱镕𠮷" in _extract(portal, page).content


def test_body_leaves_out_footer_neighbours_hot_links_and_page_tools() -> None:
    portal = SamplePortal(seed=11, articles=30)
    pages = portal.pages()
    for i, page in enumerate(pages):
        content = _extract(portal, page).content
        for other in pages[max(0, i - 20) : i + 20]:
            if other is not page:
                assert other.text.title not in content
        for furniture in ("上一条", "下一条", "热点新闻", "与我们联系", "联系电话", "Copyright",
                          "版权所有", "打印本页", "关闭窗口", "分享到", "浏览次数", "发布时间"):
            assert furniture not in content, (page.variant, furniture)


def test_a_page_without_a_meta_line_is_reported_with_the_reason(served: PortalServer) -> None:
    with httpx.Client() as client:
        about = served.portal.url(ABOUT_PATH)
        with pytest.raises(ExtractError, match="not an article page: no meta line with 发布时间"):
            extract_article(_get(client, about), about)
        listing = served.portal.list_url(1)
        with pytest.raises(ExtractError, match="no meta line"):
            extract_article(_get(client, listing), listing)


@pytest.mark.parametrize(
    ("snippet", "reason"),
    [
        ("<div>发布时间:</div><p>正文第一段。</p>", "meta line has no 发布时间 value"),
        ("<div>发布时间:尚未确定 来源:某报</div><p>正文。</p>", "发布时间 is not a date"),
        ("<div>发布时间:2024-02-30 来源:某报</div><p>正文。</p>", "not a real date"),
        ("<div>发布时间:2024-02-03 来源:某报 发布开发区:某某园区</div>"
         "<div>上一条:没有了</div>", "no body text"),
    ],
)
def test_half_filled_pages_are_refused_with_the_reason(snippet: str, reason: str) -> None:
    html = (
        "<html><body><div>您现在的位置:首页 &gt; 开发区新闻 &gt; 嘉兴 &gt; 文字新闻</div>"
        f"<h1>标题</h1>{snippet}</body></html>"
    )
    with pytest.raises(ExtractError, match=reason):
        extract_article(html, "https://example.org/a.html")


def test_an_article_with_neither_zone_nor_region_is_refused() -> None:
    html = "<h1>标题</h1><div>发布时间:2024-02-03 来源:某报</div><p>正文。</p>"
    with pytest.raises(ExtractError, match="neither 发布开发区 .* nor a region"):
        extract_article(html, "https://example.org/a.html")


def test_zone_names_ending_in_a_label_word_and_labels_in_body_text_stay_put() -> None:
    html = (
        "<div>您现在的位置:首页 &gt; 开发区新闻 &gt; 苏州 &gt; 文字新闻</div><h1>标题</h1>"
        "<div>发布时间:2024-02-03 来源:苏州日报 发布开发区:吴淞江经济技术开发区</div>"
        "<p>项目资金来源:企业自筹。</p><p>时间安排：年底前投产。</p><div>下一条:没有了</div>"
    )
    record = extract_article(html, "https://example.org/a.html")
    assert record.zone == "吴淞江经济技术开发区"
    assert record.content == "<p>项目资金来源:企业自筹。</p><p>时间安排：年底前投产。</p>"


@pytest.mark.parametrize(
    "meta",
    [
        "发布时间:2024-02-03 09:05  来源:苏州日报  发布开发区:阳澄湖数字经济园区",
        "【发布时间：2024-02-03 09:05】【来源：苏州日报】【发布开发区：阳澄湖数字经济园区】",
        "发布日期：2024年2月3日 9时5分 | 来源：苏州日报 | 发布开发区：阳澄湖数字经济园区 | 点击：2",
        "<span>发布</span><span>时间</span>：<b>2024/02/03 09:05</b><i>来源</i>：苏州日报"
        "<i>发布开发区</i>：阳澄湖数字经济园区",
        "发布时间&nbsp;:&nbsp;２０２４－０２－０３&nbsp;09:05&#12288;来源：苏州日报&#12288;"
        "发布开发区：&#12288;阳澄湖数字经济园区",
    ],
)
def test_meta_line_spellings(meta: str) -> None:
    html = (
        "<div>您现在的位置：首页 › 开发区新闻 › 苏州 › 文字新闻</div><h1>标题</h1>"
        f"<div>{meta}</div><p>正文。</p><div>上一条：没有了</div>"
    )
    record = extract_article(html, "https://example.org/a.html")
    assert (record.source, record.zone, record.region, record.category) == (
        "苏州日报", "阳澄湖数字经济园区", "苏州", "文字新闻"
    )
    assert record.published.isoformat() == "2024-02-03T09:05:00+08:00"


@pytest.mark.parametrize("name", sorted(p.stem for p in PAGES.glob("*.html")))
def test_hand_written_pages_give_their_expected_record(name: str) -> None:
    expected = json.loads((PAGES / f"{name}.json").read_text(encoding="utf-8"))
    html = decode_page((PAGES / f"{name}.html").read_bytes(), None)
    url = expected.get("url", f"https://news.example.org/{name}.html")
    if "error" in expected:
        with pytest.raises(ExtractError, match=expected["error"]):
            extract_article(html, url)
        return
    record = extract_article(html, url)
    assert json.loads(record_to_json(record)) == expected
    # What extract prints, import reads back unchanged.
    assert parse_line(record_to_json(record), 1) == record


def test_links_are_absolute_in_page_order_without_duplicates(served: PortalServer) -> None:
    portal = served.portal
    newest = [r.url for r in portal.records()]
    html = portal.respond("GET", "/index.php/home/news/index/p/1.html", {}).body.decode()
    links = extract_links(html, portal.list_url(1), DETAIL_PATTERN)
    assert links[:20] == newest[:20]
    assert len(links) == len(set(links))
    prefix = served.base_url + "/index.php/home/news/detail/id/"
    assert all(link.startswith(prefix) for link in links)
    page2 = find_next_page(html, portal.list_url(1), "下一页")
    assert page2 == portal.list_url(2)
    last = portal.respond("GET", "/index.php/home/news/index/p/3.html", {}).body.decode()
    assert find_next_page(last, portal.list_url(3), "下一页") is None


def test_links_resolve_relative_hrefs_and_ignore_fragments_and_scripts() -> None:
    html = (
        '<a href="detail/id/2.html#top">a</a><a href="javascript:void(0)">b</a>'
        '<a href="/x/detail/id/2.html">c</a><a href="../detail/id/3.html">d</a>'
        '<a href="detail/id/2.html">again</a><a href="/about.html">e</a>'
    )
    assert extract_links(html, "https://example.org/x/list.html", r"/detail/id/\d+\.html") == [
        "https://example.org/x/detail/id/2.html",
        "https://example.org/detail/id/3.html",
    ]


@pytest.mark.parametrize(
    "anchor",
    [
        '<a href="p/2.html">下一页</a>',
        '<a href="p/2.html">下一页 &gt;</a>',
        '<a href="p/2.html">[&nbsp;下一页&nbsp;]</a>',
        '<a href="p/2.html" title="下一页">&raquo;</a>',
    ],
)
def test_next_page_link_is_found_by_its_text(anchor: str) -> None:
    html = f'<div><a href="p/0.html">上一页</a>{anchor}<a href="p/9.html">尾页</a></div>'
    assert find_next_page(html, "https://example.org/list/p/1.html", "下一页") == (
        "https://example.org/list/p/p/2.html"
    )


def test_next_page_pointing_back_to_the_page_itself_means_the_last_page() -> None:
    html = '<a href="/list/p/5.html">下一页</a>'
    assert find_next_page(html, "https://example.org/list/p/5.html", "下一页") is None


# -- the `zonewire extract` command ------------------------------------------------


def test_extract_command_prints_one_jsonl_record_for_a_file(
    cli_workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from notifier.cli import main

    expected = json.loads((PAGES / "city-table-gb2312.json").read_text(encoding="utf-8"))
    code = main(["extract", str(PAGES / "city-table-gb2312.html"), "--url", expected["url"]])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.count("\n") == 1
    assert json.loads(out) == expected


def test_extract_command_fetches_a_url(
    cli_workdir: Path, served: PortalServer, capsys: pytest.CaptureFixture[str]
) -> None:
    from notifier.cli import main

    page = next(p for p in served.portal.pages() if p.charset == "gbk-header")
    assert main(["extract", served.portal.url(page.path)]) == 0
    out, _ = capsys.readouterr()
    assert parse_line(out, 1) == page.record(served.base_url)


def test_extract_command_reports_a_non_article_with_exit_1(
    cli_workdir: Path, served: PortalServer, capsys: pytest.CaptureFixture[str]
) -> None:
    from notifier.cli import main

    assert main(["extract", str(PAGES / "no-meta.html")]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "not an article page: no meta line with 发布时间" in err
    assert "Traceback" not in err
    assert main(["extract", served.portal.url("/index.php/home/news/detail/id/1.html")]) == 1
    assert "HTTP 404" in capsys.readouterr().err
    assert main(["extract", "missing.html"]) == 1
    assert "missing.html: no such file" in capsys.readouterr().err
