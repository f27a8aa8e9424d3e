# ruff: noqa: E501  (page templates: one line of HTML each, as sites serve them)
"""Zone and government CMS page layouts, written for zonewire's tests (issue 15).

Each layout renders one :class:`SitePage` (title, date, source, paragraphs; all made
up) into the bytes a site would serve, with the chrome such sites carry: header and
navigation, breadcrumb, info line, page tools, share bars, neighbour links, side
lists and footer. The tests and ``bench/site_extract.py`` check that extraction gives
back exactly the page's fields. No text here is taken from a real site.
"""

from __future__ import annotations

import html
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from feeds.models import CHINA_TZ

SITE = "青岚湾经济开发区管理委员会"
NAV = ["首页", "园区概况", "园区动态", "政务公开", "投资服务", "互动交流"]


@dataclass(frozen=True)
class SitePage:
    """What a page says: the truth extraction must give back."""

    title: str
    published: datetime
    source: str
    paragraphs: tuple[str, ...]
    number: int = 1

    @property
    def expected_source(self) -> str:
        return self.source


@dataclass(frozen=True)
class Rendered:
    body: bytes
    url: str
    content_type: str | None
    #: the source the extractor should find (the labelled one, or the site's name)
    source: str
    #: the published value the page states, to the precision it states it
    published: datetime


def e(text: str) -> str:
    return html.escape(text, quote=True)


def _nav() -> str:
    items = "".join(f'<li><a href="/{i}/">{e(n)}</a></li>' for i, n in enumerate(NAV))
    return f'<div class="header"><div class="logo"><h1><a href="/"><img src="/logo.png" alt=""></a></h1></div><ul class="nav">{items}</ul></div>'


def _footer() -> str:
    return (
        '<div class="footer"><p>主办单位：' + SITE + '&nbsp;&nbsp;承办单位：园区信息中心</p>'
        '<p>版权所有 © 2026 青岚湾经济开发区 &nbsp; 苏ICP备00000000号-1</p>'
        '<p>网站标识码：0000000000</p></div>'
    )


def _side() -> str:
    items = "".join(
        f'<li><a href="/yqdt/{n}.html">园区新闻标题第{n}条</a><span>2026-10-{n:02d}</span></li>'
        for n in range(1, 7)
    )
    return f'<div class="side"><div class="side-title">图片新闻</div><ul>{items}</ul></div>'


def _day(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d")


def h1_info(page: SitePage) -> Rendered:
    """``<h1>`` then an info line: 发布日期：2026-11-20 来源：… 浏览次数：123."""
    day = page.published.replace(hour=0, minute=0)
    body = "".join(f"<p>{e(p)}</p>" for p in page.paragraphs)
    text = f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<title>{e(page.title)}_园区动态_{SITE}</title></head><body>{_nav()}
<div class="crumb">当前位置：<a href="/">首页</a> &gt; <a href="/yqdt/">园区动态</a></div>
<div class="main"><div class="article">
<h1 class="art-title">{e(page.title)}</h1>
<div class="art-info">发布日期：{_day(day)}&nbsp;&nbsp;来源：{e(page.source)}&nbsp;&nbsp;浏览次数：<span id="hits">123</span></div>
<div class="fontsize">【字体：<a href="#">大</a> <a href="#">中</a> <a href="#">小</a>】</div>
<div class="art-content">{body}</div>
<div class="tools">【<a href="javascript:window.print()">打印此页</a>】【<a href="javascript:window.close()">关闭窗口</a>】</div>
<div class="prenext"><p>上一篇：<a href="/yqdt/{page.number - 1}.html">园区上一条新闻</a></p><p>下一篇：<a href="/yqdt/{page.number + 1}.html">园区下一条新闻</a></p></div>
</div></div>{_footer()}</body></html>"""
    return Rendered(
        text.encode("utf-8"), f"https://www.qinglanwan.example/yqdt/{page.number}.html",
        "text/html; charset=utf-8", page.source, day,
    )


def table(page: SitePage) -> Rendered:
    """Title and info in table cells; paragraphs split by ``<br>``; 点击数 by script."""
    day = page.published.replace(hour=0, minute=0)
    body = "<br>".join("&nbsp;&nbsp;&nbsp;&nbsp;" + e(p) for p in page.paragraphs)
    text = f"""<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<title>{SITE} - {e(page.title)}</title></head><body>
<table width="1000" align="center"><tr><td><img src="/images/banner.jpg"></td></tr>
<tr><td>{" | ".join(f'<a href="/{i}/">{e(n)}</a>' for i, n in enumerate(NAV))}</td></tr></table>
<table width="1000" align="center"><tr><td width="220" valign="top">
<table><tr><td class="lm">园区动态</td></tr><tr><td><a href="/a/">通知公告</a></td></tr><tr><td><a href="/b/">招商引资</a></td></tr></table>
</td><td valign="top">
<table width="100%"><tr><td>您现在的位置：<a href="/">首页</a> &gt;&gt; 园区动态</td></tr>
<tr><td align="center" class="title"><font size="4"><b>{e(page.title)}</b></font></td></tr>
<tr><td align="center" class="info">日期：{day.strftime("%Y/%m/%d")}&nbsp;&nbsp;&nbsp;&nbsp;信息来源：{e(page.source)}&nbsp;&nbsp;&nbsp;&nbsp;点击数：<script>document.write(88)</script></td></tr>
<tr><td class="content">{body}</td></tr>
<tr><td align="right">[<a href="javascript:print()">打印本页</a>] [<a href="javascript:close()">关闭窗口</a>]</td></tr>
</table></td></tr></table>
<table width="1000" align="center"><tr><td>版权所有：{SITE} 地址：青岚湾大道1号</td></tr></table>
</body></html>"""
    return Rendered(
        text.encode("utf-8"), f"https://www.qinglanwan.example/art/{page.number}.html",
        None, page.source, day,
    )


def trs(page: SitePage) -> Rendered:
    """TRS/WCM: ``t20261120_123456.html``, ``<meta name="publishdate">`` with the time,
    a title without a heading tag, 文章来源, TRS_Editor, 【打印此页】【关闭窗口】."""
    stamp = page.published
    body = "".join(
        f'<p style="text-indent:2em;">　　{e(p)}</p>' for p in page.paragraphs
    )
    text = f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<meta name="SiteName" content="{SITE}"><meta name="ColumnName" content="园区动态">
<meta name="ArticleTitle" content="{e(page.title)}">
<meta name="publishdate" content="{stamp.strftime("%Y-%m-%d %H:%M:%S")}">
<title>{e(page.title)}_{SITE}</title></head><body>{_nav()}
<div class="position">当前位置：<a href="../../">首页</a> &gt; <a href="../">园区动态</a></div>
<div class="detail"><div class="tit">{e(page.title)}</div>
<div class="property"><span>时间：{stamp.strftime("%Y年%m月%d日")}</span>&nbsp;<span>文章来源：{e(page.source)}</span>&nbsp;<span>【字体：<a>大</a> <a>中</a> <a>小</a>】</span></div>
<div class="TRS_Editor">{body}</div>
<div class="share">分享到：<a>微信</a> <a>微博</a></div>
<div class="print">【<a href="javascript:window.print()">打印此页</a>】【<a href="javascript:window.close()">关闭窗口</a>】</div>
</div>{_footer()}</body></html>"""
    n = 100000 + page.number
    return Rendered(
        text.encode("utf-8"),
        f"https://www.qinglanwan.example/qlw/yqdt/{stamp:%Y%m}/t{stamp:%Y%m%d}_{n}.html",
        "text/html", page.source, stamp,
    )


def gb2312(page: SitePage) -> Rendered:
    """GB2312 declared, GB18030 bytes; 发布日期 and 信息来源 in separate spans with
    full-width colons, ``&nbsp;`` and ideographic spaces; ``2026年11月20日 16:40``."""
    stamp = page.published
    body = "".join(f"<p>{e(p)}</p>" for p in page.paragraphs)
    text = f"""<html><head><meta charset="gb2312"><title>{e(page.title)}</title></head>
<body>{_nav()}<div class="wrap"><div class="detail">
<h2>{e(page.title)}</h2>
<div class="xx"><span>发布日期：</span><span>{stamp.year}年{stamp.month}月{stamp.day}日　{stamp:%H:%M}</span>&nbsp;&nbsp;<span>信息来源：</span><span>{e(page.source)}</span>　<span>阅读次数：</span><span>45</span></div>
<div id="zoom">{body}</div>
<div class="bar"><a>【打印此页】</a><a>【关闭窗口】</a></div>
</div>{_side()}</div>{_footer()}</body></html>"""
    return Rendered(
        text.encode("gb18030"), f"https://www.qinglanwan.example/gb/{page.number}.htm",
        None, page.source, stamp,
    )


def split_info(page: SitePage) -> Rendered:
    """Labels and values in block elements of their own; ``2026/11/20 09:05``."""
    stamp = page.published
    body = "".join(f"<div class='para'>{e(p)}</div>" for p in page.paragraphs)
    text = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{e(page.title)} - {SITE}</title></head>
<body>{_nav()}<div class="content-box"><h3 class="t">{e(page.title)}</h3>
<div class="meta"><div>发布时间：</div><div>{stamp:%Y/%m/%d %H:%M}</div><div>文章来源：</div><div>{e(page.source)}</div></div>
<div class="txt">{body}</div>
<div class="pn"><div>上一条：<a href="/p.html">无</a></div><div>下一条：<a href="/n.html">园区另一条新闻</a></div></div>
</div>{_footer()}</body></html>"""
    return Rendered(
        text.encode("utf-8"), f"https://www.qinglanwan.example/c/{page.number}.html",
        "text/html; charset=UTF-8", page.source, stamp,
    )


def no_labels(page: SitePage) -> Rendered:
    """A modern page: no info labels; date in ``article:published_time`` and JSON-LD,
    the site's name in ``og:site_name``; side lists around the article."""
    stamp = page.published
    body = "".join(f"<p>{e(p)}</p>" for p in page.paragraphs)
    text = f"""<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">
<meta property="og:site_name" content="{SITE}">
<meta property="article:published_time" content="{stamp.isoformat()}">
<script type="application/ld+json">{{"@type": "NewsArticle", "headline": "{e(page.title)}", "datePublished": "{stamp.isoformat()}"}}</script>
<title>{e(page.title)} | {SITE}</title></head><body>{_nav()}
<main><nav class="crumbs"><a href="/">首页</a> / <a href="/news/">新闻</a></nav>
<article><h1>{e(page.title)}</h1><div class="byline"><time datetime="{stamp.isoformat()}">{stamp:%m-%d %H:%M}</time></div>
{body}</article>
<aside>{_side()}</aside></main>{_footer()}</body></html>"""
    return Rendered(
        text.encode("utf-8"), f"https://news.qinglanwan.example/a/{page.number}",
        "text/html; charset=utf-8", SITE, stamp,
    )


def sidebar(page: SitePage) -> Rendered:
    """``<h1>`` and info line, but no page tools or neighbour links: the body runs
    straight into a side list of links, then the footer."""
    day = page.published.replace(hour=0, minute=0)
    body = "".join(f"<p>{e(p)}</p>" for p in page.paragraphs)
    text = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{e(page.title)}_{SITE}</title></head>
<body>{_nav()}<div class="container"><div class="left"><h1>{e(page.title)}</h1>
<p class="info">发布时间：{_day(day)} 来源：{e(page.source)}</p>
<div class="article-body">{body}</div></div>
<div class="right">{_side()}<div class="side"><div class="side-title">专题专栏</div><ul><li><a href="/zt/1/">优化营商环境专题</a></li><li><a href="/zt/2/">园区招商政策汇编</a></li></ul></div></div></div>
{_footer()}</body></html>"""
    return Rendered(
        text.encode("utf-8"), f"https://www.qinglanwan.example/s/{page.number}.html",
        "text/html", page.source, day,
    )


LAYOUTS: dict[str, Callable[[SitePage], Rendered]] = {
    "h1-info": h1_info,
    "table": table,
    "trs": trs,
    "gb2312": gb2312,
    "split-info": split_info,
    "no-labels": no_labels,
    "sidebar": sidebar,
}

_SUBJECTS = ["园区", "管委会", "企业服务中心", "招商局", "科创中心", "产业园", "综合保税区"]
_VERBS = ["召开", "举办", "启动", "签约", "推进", "发布", "验收"]
_OBJECTS = [
    "重点项目推进会", "人才政策宣讲会", "新能源产业对接会", "营商环境座谈会", "智能制造项目",
    "跨境电商服务平台", "年度招商计划", "科技企业孵化器", "安全生产检查", "数字经济论坛",
]
_FILLERS = [
    "与会人员围绕{o}的进展和下一步安排进行了深入交流",
    "据了解，该项目总投资约{n}亿元，预计明年建成投产",
    "{s}相关负责人表示，将持续优化服务，推动项目早落地、早见效",
    "会上，{n}家企业代表作了发言，介绍了各自的发展情况和需求",
    "下一步，{s}将加强统筹协调，确保各项任务按期完成",
    "活动现场还设置了政策咨询台，为企业提供一对一的解答服务",
    "今年以来，园区累计引进项目{n}个，同比增长明显",
]


def make_page(rng: random.Random, number: int) -> SitePage:
    """A made-up zone news item: a title, a date in 2026, a source, 2-6 paragraphs."""
    s, v, o = rng.choice(_SUBJECTS), rng.choice(_VERBS), rng.choice(_OBJECTS)
    count = rng.randint(2, 6)
    paragraphs = [f"{number}月{rng.randint(1, 28)}日，青岚湾{s}{v}{o}。"]
    for _ in range(count - 1):
        paragraphs.append(
            "，".join(
                rng.choice(_FILLERS).format(o=o, s=s, n=rng.randint(2, 90))
                for _ in range(rng.randint(1, 3))
            ) + "。"
        )
    published = datetime(
        2026, rng.randint(1, 11), rng.randint(1, 28), rng.randint(8, 18), rng.randint(0, 59),
        tzinfo=CHINA_TZ,
    )
    return SitePage(
        title=f"青岚湾{s}{v}{o}（第{number}期）",
        published=published,
        source=rng.choice(["青岚湾经济发展局", "园区党政办公室", "青岚湾日报", "园区融媒体中心"]),
        paragraphs=tuple(paragraphs),
        number=number,
    )
