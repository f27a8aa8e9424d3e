"""Templates: wording per language, escaping, inlined CSS, overrides, and the CLI."""

from __future__ import annotations

import json
import mailbox
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from feeds.models import CHINA_TZ, Article
from feeds.regions import Gazetteer
from notifier.cli import main
from notifier.models import Schedule, ScheduleKind, Subscriber, WebhookTarget
from notifier.plan import build_digest
from notifier.render import SLOT_TOKEN, Renderer

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=CHINA_TZ)
GAZ = Gazetteer.default()


def article(seq: int, title: str, key: str = "110102") -> Article:
    when = NOW - timedelta(hours=seq)
    return Article(
        id=f"tag:zonewire,2026-11-30:article/{seq}", seq=seq, url=f"https://n.example/{seq}",
        title=title, published=when, updated=when, ingested_at=NOW, source="投促局",
        zone=None, region="西城区", category="文字新闻", content="<p>内容 &amp; 细节</p>",
        summary=None, content_hash="h", region_keys=GAZ.ancestor_keys(key),
    )


def digest(language: str = "zh-CN", fmt: str | None = None, max_articles: int = 30):  # type: ignore[no-untyped-def]
    sub = Subscriber(
        id="alice", schedule=Schedule(ScheduleKind.IMMEDIATE, "immediate"),
        regions=("110102", "330400"), language=language, max_articles=max_articles,
        email=None if fmt else "a@example.com",
        webhook=WebhookTarget("https://hook.example", fmt) if fmt else None,
    )
    arts = [article(1, "标题 <b>不是标签</b>"), article(2, "嘉兴新闻", "330402"),
            article(3, "第三篇")]
    made = build_digest(sub, arts, after_seq=0, upto_seq=3, now=NOW,
                        region_name=lambda k: GAZ.get(k).name)
    assert made is not None
    return made


def renderer(templates_dir: Path | None = None) -> Renderer:
    return Renderer(public_url="https://z.example/", region=GAZ.find, templates_dir=templates_dir)


def test_zh_email_is_escaped_inlined_dark_mode_ready_and_links_feeds() -> None:
    rendered = renderer().email(digest())
    assert rendered.subject == "西城区、嘉兴市：3 篇新文章"
    html = rendered.html
    assert "标题 &lt;b&gt;不是标签&lt;/b&gt;" in html  # autoescaped
    assert '<meta name="color-scheme" content="light dark">' in html
    assert "prefers-color-scheme: dark" in html  # kept as an at-rule
    assert 'class="card" style="' in html  # CSS inlined onto the elements
    assert "在阅读器中订阅" in html and "https://z.example/feeds/330400.atom" in html
    assert f"https://z.example/unsubscribe/{SLOT_TOKEN}" in html
    text, personal = Renderer.personal_email(rendered, "tok.en", "fe.ed")
    assert "https://z.example/unsubscribe/tok.en" in personal and SLOT_TOKEN not in text
    assert text.index("西城区") < text.index("嘉兴新闻")


def test_english_wording_and_and_n_more() -> None:
    rendered = renderer().email(digest("en", max_articles=2))
    assert rendered.subject == "西城区, 嘉兴市: 3 new articles"
    assert "and 1 more" in rendered.text and "Subscribe in your reader" in rendered.text


@pytest.mark.parametrize("fmt", ["json", "dingtalk", "wecom", "feishu", "slack"])
def test_every_webhook_format_is_valid_json_with_the_articles(fmt: str) -> None:
    made = digest(fmt=fmt)
    body = Renderer.personal_webhook(renderer().webhook(made), made.id, "alice", "t")
    data = json.loads(body)
    assert "第三篇" in body
    if fmt == "json":
        assert data["id"] == made.id and data["subscriber"] == "alice"
        assert [a["id"] for a in data["articles"]] == [a.id for a in made.articles]


def test_rendering_is_shared_between_subscribers_with_the_same_content() -> None:
    r = renderer()
    assert r.email(digest()) is r.email(digest())


def test_templates_dir_overrides_one_template_and_adds_a_format(tmp_path: Path) -> None:
    (tmp_path / "email").mkdir()
    (tmp_path / "email" / "subject.txt.j2").write_text("【招商】{{ count }} 条", encoding="utf-8")
    (tmp_path / "webhook").mkdir()
    (tmp_path / "webhook" / "teams.json.j2").write_text(
        '{"text": {{ subject|tojson }}}', encoding="utf-8")
    r = renderer(tmp_path)
    assert r.email(digest()).subject == "【招商】3 条"
    assert "<html" in r.email(digest()).html  # other templates still the bundled ones
    assert json.loads(r.webhook(digest(fmt="teams")).body) == {"text": "西城区、嘉兴市：3 篇新文章"}


def test_cli_send_then_preview_and_status(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "zonewire.yaml").write_text(
        "public_url: https://z.example/\n"
        "secret_key: s3cret-s3cret-s3cret-s3cret-s3cret-s3\n",
        encoding="utf-8",
    )
    (tmp_path / "config" / "subscriptions.yaml").write_text(
        "subscribers:\n  - id: alice\n    email: alice@example.com\n    schedule: immediate\n"
        "    regions: [西城区]\n", encoding="utf-8")
    assert main(["digest", "send"]) == 0  # alice is new: starts from now
    line = {"url": "https://n.example/9", "title": "西城区发布营商环境新政",
            "published": (datetime.now(CHINA_TZ) - timedelta(days=1)).date().isoformat(),
            "region": "西城区", "content": "新政内容"}
    (tmp_path / "a.jsonl").write_text(json.dumps(line, ensure_ascii=False) + "\n", "utf-8")
    assert main(["import", "a.jsonl"]) == 0
    capsys.readouterr()
    assert main(["digest", "preview", "alice"]) == 0
    assert "西城区发布营商环境新政" in capsys.readouterr().out
    assert main(["digest", "send", "--dry-run"]) == 0
    assert "would send alice: 1 articles" in capsys.readouterr().out
    assert main(["digest", "send"]) == 0
    assert "1 sent" in capsys.readouterr().out
    (message,) = mailbox.Maildir(tmp_path / "var" / "outbox", create=False)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert main(["digest", "preview", "nobody"]) == 1
    assert main(["status"]) == 0
    assert "deliveries: 1 sent, 0 pending, 0 retrying, 0 failed" in capsys.readouterr().out


@pytest.mark.parametrize(("fmt", "limit", "unit"), [
    ("wecom", 4096, "bytes"), ("dingtalk", 20000, "bytes"), ("feishu", 18000, "bytes"),
    ("slack", 3000, "chars"),
])
def test_chat_messages_fit_the_platform_limit_with_and_n_more(
    fmt: str, limit: int, unit: str
) -> None:
    sub = Subscriber(
        id="desk", schedule=Schedule(ScheduleKind.IMMEDIATE, "immediate"),
        regions=("110000",), max_articles=200,
        webhook=WebhookTarget("https://hook.example", fmt),
    )
    long_title = "西城区重点产业项目集中签约暨营商环境优化专项行动推进会在金融街召开" * 3
    arts = [article(n, f"{n}:{long_title}") for n in range(1, 151)]
    made = build_digest(sub, arts, after_seq=0, upto_seq=150, now=NOW,
                        region_name=lambda k: GAZ.get(k).name)
    assert made is not None
    body = json.loads(renderer().webhook(made).body)
    strings: list[str] = []
    stack: list[object] = [body]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            strings.append(node)
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    text = max(strings, key=len)
    assert (len(text.encode()) if unit == "bytes" else len(text)) <= limit
    shown = text.count(long_title)
    assert 1 <= shown < 150
    assert f"另有 {150 - shown} 篇" in text  # the rest are counted, not lost


def test_json_webhooks_are_never_shortened() -> None:
    sub = Subscriber(
        id="desk", schedule=Schedule(ScheduleKind.IMMEDIATE, "immediate"),
        regions=("110000",), max_articles=200,
        webhook=WebhookTarget("https://hook.example", "json"),
    )
    arts = [article(n, "长标题" * 100) for n in range(1, 101)]
    made = build_digest(sub, arts, after_seq=0, upto_seq=100, now=NOW,
                        region_name=lambda k: GAZ.get(k).name)
    assert made is not None
    assert len(json.loads(renderer().webhook(made).body)["articles"]) == 100
