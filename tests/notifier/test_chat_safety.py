"""Hostile article text in chat, email and JSON: inert markup, no control characters,
every chat message within its platform's limit (issue 11, items 5 and 6)."""

from __future__ import annotations

import html
import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feeds.models import CHINA_TZ, Article
from feeds.regions import Gazetteer
from notifier.chatfit import CHAT_LIMITS, ChatLimit
from notifier.cli import main
from notifier.escaping import clean, link_url, markdown_text, one_line, slack_text
from notifier.models import Schedule, ScheduleKind, Subscriber, WebhookTarget
from notifier.plan import Digest, build_digest
from notifier.render import Renderer

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=CHINA_TZ)
GAZ = Gazetteer.default()


def fresh() -> Renderer:
    """A renderer per case: its cache is keyed by article seq, and cases reuse seqs."""
    return Renderer(public_url="https://z.example/", region=GAZ.find)

FORBIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
MARKDOWN_CHARS = set("[]()*_`~#<>!|&\\")
INJECTIONS = [
    "<!channel> 全员注意",
    "<https://evil.example/|点此领取补贴>",
    "<@U0123ABCD> 请审批",
    "[点此领取补贴](https://evil.example/)",
    "![x](https://evil.example/pixel.png)",
    '<at id=all></at><font color="warning">紧急</font>',
    "**粗体** _斜体_ `代码` ~~删除~~ # 标题 > 引用 | 表格 |",
    "访问 https://evil.example/ 或 www.evil.example",
    "\x1b[2J\x1b]0;pwned\x07标题\u202etxt.exe\r\nBcc: x@evil.example",
]


def article(seq: int, title: str, *, source: str = "投促局", url: str | None = None,
            zone: str | None = None) -> Article:
    when = NOW - timedelta(hours=seq)
    return Article(
        id=f"tag:zonewire,2026-11-30:article/{seq}", seq=seq,
        url=url or f"https://n.example/{seq}", title=title, published=when, updated=when,
        ingested_at=NOW, source=source, zone=zone, region="西城区", category="文字新闻",
        content="<p>内容</p>", summary=None, content_hash="h",
        region_keys=GAZ.ancestor_keys("110102"),
    )


def make_digest(fmt: str, articles: list[Article], group_name: str | None = None,
                language: str = "zh-CN") -> Digest:
    sub = Subscriber(
        id="desk", schedule=Schedule(ScheduleKind.IMMEDIATE, "immediate"),
        regions=("110102",), language=language, max_articles=50,
        email="desk@example.com" if fmt == "email" else None,
        webhook=None if fmt == "email" else WebhookTarget("https://hook.example", fmt),
    )
    made = build_digest(sub, articles, after_seq=0, upto_seq=len(articles) + 1, now=NOW,
                        region_name=lambda k: group_name or GAZ.get(k).name)
    assert made is not None
    return made


def chat_text(fmt: str, body: str) -> str:
    data = json.loads(body)
    if fmt == "slack":
        return str(data["blocks"][0]["text"]["text"])
    if fmt == "feishu":
        return str(data["card"]["elements"][0]["content"])
    if fmt == "wecom":
        return str(data["markdown"]["content"])
    return str(data["markdown"]["text"])


def size(body: str, limit: ChatLimit, fmt: str) -> int:
    text = body if limit.scope == "body" else chat_text(fmt, body)
    return len(text.encode()) if limit.unit == "bytes" else len(text.encode("utf-16-le")) // 2


def links(fmt: str, text: str) -> list[str]:
    """Every link target the platform would render in ``text``."""
    if fmt == "slack":
        return [m.split("|")[0] for m in re.findall(r"<([^<>]*)>", text)]
    return re.findall(r"\]\(([^)]*)\)", text)


def assert_inert(fmt: str, body: str, articles: list[Article]) -> None:
    """Only our own links exist, nothing pings, nothing is a tag."""
    text = chat_text(fmt, body)
    ours = {link_url(a.url) for a in articles} | {"https://z.example/feeds/110102.atom"}
    assert set(links(fmt, text)) <= ours
    if fmt == "slack":
        assert "<!" not in text and "<@" not in text
        assert all(t.startswith("https://") for t in re.findall(r"<([^<>|]*)", text))
    else:
        assert "<" not in text and ">" not in text.replace("\n>", "")  # no tags at all
        shown = re.sub(r"\]\([^)]*\)", "]", text)  # the text around our link targets
        assert "://" not in shown and "www." not in shown  # no autolinks
    assert not FORBIDDEN.search(body)


# -- the filters -----------------------------------------------------------------------

@given(st.text())
def test_clean_leaves_no_control_escape_or_bidi_character(text: str) -> None:
    out = clean(text)
    assert not FORBIDDEN.search(out)
    assert "\x1b" not in out
    # everything else (CJK, emoji, markup, spaces) is kept as it was
    kept = [c for c in text if not FORBIDDEN.match(c) and c not in "\n\t"]
    if "\x1b" not in text and "\x9b" not in text and "\x9d" not in text:
        assert [c for c in out if c not in "\n\t"] == kept


@given(st.text())
def test_slack_filter_escapes_exactly_amp_lt_gt(text: str) -> None:
    out = slack_text(text)
    assert "<" not in out and ">" not in out and "\n" not in out
    assert html.unescape(out) == one_line(text)
    assert re.sub(r"&(amp|lt|gt);", "", out).count("&") == 0


@given(st.text())
def test_markdown_filter_leaves_no_markup_or_autolink(text: str) -> None:
    out = markdown_text(text)
    assert not MARKDOWN_CHARS & set(out)
    assert "\n" not in out and "://" not in out and "www." not in out.lower()
    assert len(out) == len(one_line(text))  # one character for one: nothing dropped


@given(st.text())
def test_link_url_gives_an_http_link_that_cannot_end_early_or_nothing(text: str) -> None:
    out = link_url(text)
    assert out == "" or out.lower().startswith(("http://", "https://"))
    assert not set(out) & set(" \"'<>()[]|`\\\n")


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,x", "ftp://x/y", ""])
def test_only_http_urls_become_links(url: str) -> None:
    assert link_url(url) == ""


# -- rendered messages -------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["slack", "dingtalk", "wecom", "feishu"])
@pytest.mark.parametrize("attack", INJECTIONS)
def test_injections_in_title_source_and_zone_render_as_inert_text(fmt: str, attack: str) -> None:
    arts = [article(1, attack, source=attack, zone=attack)]
    body = fresh().webhook(make_digest(fmt, arts, group_name=attack)).body
    assert_inert(fmt, body, arts)
    text = chat_text(fmt, body)
    if fmt == "slack":  # shown, escaped: Slack displays the original characters
        assert html.unescape(text).count(one_line(attack)) >= 2  # title and source
    else:
        assert text.count(markdown_text(attack)) >= 2


def test_slack_escapes_a_learned_zone_name_and_source() -> None:
    arts = [article(1, "标题", source="<!channel>")]
    text = chat_text("slack", fresh().webhook(make_digest("slack", arts, "<!here>开发区")).body)
    assert "*&lt;!here&gt;开发区*" in text and "· &lt;!channel&gt;" in text


def test_markdown_title_link_goes_to_the_article_only() -> None:
    arts = [article(1, "[赢取大奖](https://evil.example/)")]
    text = chat_text("wecom", fresh().webhook(make_digest("wecom", arts)).body)
    assert "- [［赢取大奖］（https：//evil.example/）](https://n.example/1)" in text


def test_an_article_url_that_would_break_the_link_is_encoded() -> None:
    arts = [article(1, "t", url="https://n.example/a) [x](https://evil.example")]
    for fmt in ("wecom", "slack"):
        body = fresh().webhook(make_digest(fmt, arts)).body
        assert_inert(fmt, body, arts)


@pytest.mark.parametrize("fmt", ["email", "json", "slack", "dingtalk", "wecom", "feishu"])
def test_control_characters_never_reach_any_output(fmt: str) -> None:
    evil = "\x1b[31m红色\x1b[0m\x07\u202e反向\u2066\x85\x9b2J标题\r\nBcc: x@evil.example"
    arts = [article(1, evil, source=evil, zone=evil)]
    digest = make_digest("email" if fmt == "email" else fmt, arts, group_name=evil)
    if fmt == "email":
        rendered = fresh().email(digest)
        outputs = [rendered.subject, rendered.text, rendered.html]
        assert "\n" not in rendered.subject
        assert "红色反向" in rendered.text and "\nBcc:" not in rendered.text
    else:
        body = fresh().webhook(digest).body
        outputs = [body, *json.dumps(json.loads(body), ensure_ascii=True).split("\\u")]
        if fmt == "json":
            item = json.loads(body)["articles"][0]
            assert item["title"] == item["source"] == "红色反向标题 Bcc: x@evil.example"
    for out in outputs:
        assert not FORBIDDEN.search(out) and "[31m" not in out


@pytest.mark.parametrize(("fmt", "limit"), sorted(CHAT_LIMITS.items()))
def test_one_article_with_a_10000_character_title_fits(fmt: str, limit: ChatLimit) -> None:
    title = ("开发区重点项目集中签约🎉<&>[]" * 700)[:10_000]
    arts = [article(1, title, source="来源" * 2000, url="https://n.example/" + "a" * 5000)]
    body = fresh().webhook(make_digest(fmt, arts, group_name="园区" * 3000)).body
    figure = size(body, limit, fmt)
    print(f"{fmt}: {figure} {limit.unit} of {limit.size}")
    assert figure <= limit.size
    text = chat_text(fmt, body)
    assert "开发区重点项目集中签约" in text and "…" in text  # shown, shortened
    assert_inert(fmt, body, arts)


PIECES = [*"<>&[]()*_`~#!|\\", "<!channel>", "](", "://", "www.", "开发区", "🎉", "\u202e"]
titles = st.builds(
    lambda parts, repeat: ("".join(parts) * repeat)[:10_000],
    st.lists(st.one_of(st.text(st.characters(codec="utf-8"), max_size=20),
                       st.sampled_from(PIECES)), max_size=40),
    st.sampled_from([1, 1, 2, 50, 1000]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fmt=st.sampled_from(sorted(CHAT_LIMITS)),
    heads=st.lists(titles, min_size=1, max_size=6),
    source=titles,
    group=titles,
    language=st.sampled_from(["zh-CN", "en"]),
)
def test_any_articles_give_valid_json_within_the_limit_and_inert(
    fmt: str, heads: list[str], source: str, group: str, language: str
) -> None:
    arts = [article(n, t, source=source[:2000]) for n, t in enumerate(heads, 1)]
    renderer = fresh()
    digest = make_digest(fmt, arts, group_name=group[:3000] or None, language=language)
    body = Renderer.personal_webhook(renderer.webhook(digest), digest.id, "desk", "t" * 120)
    json.loads(body)  # valid JSON
    assert size(body, CHAT_LIMITS[fmt], fmt) <= CHAT_LIMITS[fmt].size
    assert_inert(fmt, body, arts)
    text = chat_text(fmt, body)
    shown = len(links(fmt, text)) - (1 if digest.more or "另有" in text or "more" in text else 0)
    assert shown >= 1  # never an empty message: at least one article is linked


@pytest.mark.parametrize("fmt", ["text", "html", "json"])
def test_digest_preview_prints_no_terminal_control_or_bidi_character(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    fmt: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "zonewire.yaml").write_text(
        "public_url: https://z.example/\nsecret_key: " + "k" * 40 + "\n", encoding="utf-8")
    (tmp_path / "config" / "subscriptions.yaml").write_text(
        "subscribers:\n  - id: alice\n    email: alice@example.com\n    schedule: immediate\n"
        "    regions: [西城区]\n", encoding="utf-8")
    evil = "营商\u202e环境\x9b2J新政\x85\u2066 \x1b]0;pwned\x07"
    line = {"url": "https://n.example/9", "title": evil, "source": evil,
            "published": (datetime.now(CHINA_TZ) - timedelta(days=1)).date().isoformat(),
            "region": "西城区", "content": "新政内容"}
    (tmp_path / "a.jsonl").write_text(json.dumps(line, ensure_ascii=False) + "\n", "utf-8")
    assert main(["import", "a.jsonl"]) == 0
    capsys.readouterr()
    assert main(["digest", "preview", "alice", "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert "营商环境新政" in out  # the title is shown...
    assert not FORBIDDEN.search(out)  # ...without a character that acts on the terminal


def test_an_email_links_only_http_article_urls() -> None:
    arts = [article(1, "标题", url="javascript:alert(document.cookie)"), article(2, "第二篇")]
    page = fresh().email(make_digest("email", arts)).html
    assert "javascript:" not in page and 'href="https://n.example/2"' in page
