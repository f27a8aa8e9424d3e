"""Publishing feeds from a real store (SQLite and PostgreSQL): files, incrementality,
index and OPML."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import feedparser
import pytest
from lxml import etree

from feeds.intake import Ingestor
from feeds.models import ArticleRecord
from feeds.publish import build_feeds, last_build
from feeds.regions import Gazetteer
from feeds.storage import Storage
from tests.feeds.test_atom import ATOM, HOSTILE, assert_valid

BASE = "http://127.0.0.1:8080/"
DESHENG = "中关村科技园区德胜园"
JIAXING = "嘉兴经济技术开发区"


def record(n: int, zone: str = DESHENG, region: str = "西城区", **changes: object) -> ArticleRecord:
    values: dict[str, object] = {
        "url": f"https://www.investchn.com/index.php/home/news/detail/id/{180700 + n}.html",
        "title": f"{zone}第{n}期重点项目签约活动举行",
        "published": datetime.fromisoformat("2026-11-20T10:00:00+08:00") - timedelta(hours=n),
        "source": f"{region}人民政府",
        "zone": zone,
        "region": region,
        "category": "文字新闻",
        "content": f"<p>{zone}近日举行第{n}期重点项目签约活动,涉及智能制造与数字经济。</p>"
        "<p>管委会表示,将做好项目落地的跟踪服务。</p>",
    }
    values.update(changes)
    return ArticleRecord(**values)  # type: ignore[arg-type]


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def fill(store: Storage, gazetteer: Gazetteer, now: datetime) -> None:
    """The articles most feed tests start from: three in 德胜园 (西城区, 北京市), then
    two in 嘉兴经济技术开发区 (嘉兴市, 浙江省)."""
    ingestor = Ingestor(store, gazetteer)
    ingestor.add([record(n) for n in range(1, 4)], now=now)
    ingestor.add([record(n, JIAXING, "嘉兴") for n in range(4, 6)], now=now)


def entry_ids(path: Path) -> list[str]:
    root = etree.parse(str(path)).getroot()
    return [e.findtext(f"{ATOM}id") or "" for e in root.findall(f"{ATOM}entry")]


def test_every_region_level_gets_a_valid_feed(
    filled: Storage, gazetteer: Gazetteer, tmp_path: Path
) -> None:
    out = tmp_path / "public"
    report = build_feeds(filled, gazetteer, out, BASE, 50)
    zone = gazetteer.zone_named(DESHENG)
    assert zone is not None
    expected = {"all", zone.key, "110102", "110000", "330000", "330400"}
    names = {p.stem for p in (out / "feeds").glob("*.atom")}
    assert expected <= names and report.feeds == len(names)
    for path in (out / "feeds").glob("*.atom"):
        assert_valid(path.read_bytes())
    desheng = filled.get(record(1).url)
    assert desheng is not None
    # The article sits in its zone's feed and every feed above it, not in others.
    for key in (zone.key, "110102", "110000", "all"):
        assert desheng.id in entry_ids(out / "feeds" / f"{key}.atom")
    assert desheng.id not in entry_ids(out / "feeds" / "330000.atom")
    # Newest first, by published.
    assert entry_ids(out / "feeds" / "110102.atom")[0] == desheng.id
    parsed = feedparser.parse((out / "feeds" / "all.atom").read_bytes())
    assert parsed.bozo == 0 and len(parsed.entries) == 5
    assert parsed.feed.links[0].href == BASE + "feeds/all.atom"


def test_entries_setting_limits_each_feed(
    filled: Storage, gazetteer: Gazetteer, tmp_path: Path
) -> None:
    build_feeds(filled, gazetteer, tmp_path / "public", BASE, 2)
    assert len(entry_ids(tmp_path / "public" / "feeds" / "all.atom")) == 2
    assert len(entry_ids(tmp_path / "public" / "feeds" / "110102.atom")) == 2


def test_second_build_changes_no_byte_and_no_mtime(
    filled: Storage, gazetteer: Gazetteer, tmp_path: Path
) -> None:
    build_feeds(filled, gazetteer, tmp_path / "public", BASE, 50)
    before = snapshot(tmp_path / "public")
    assert "index.html" in before and "feeds.opml" in before
    again = build_feeds(filled, gazetteer, tmp_path / "public", BASE, 50)
    assert again.written == [] and not again.full
    assert snapshot(tmp_path / "public") == before
    forced = build_feeds(filled, gazetteer, tmp_path / "public", BASE, 50, all=True)
    assert forced.full and forced.written == []
    assert snapshot(tmp_path / "public") == before


def test_reimported_article_moves_updated_keeps_id_and_touches_only_its_feeds(
    filled: Storage, gazetteer: Gazetteer, tmp_path: Path, now: datetime
) -> None:
    build_feeds(filled, gazetteer, tmp_path / "public", BASE, 50)
    before = snapshot(tmp_path / "public")
    old = filled.get(record(2).url)
    assert old is not None
    later = now + timedelta(hours=3)
    changed = record(2, content="<p>更正:签约项目总投资额更新为十二亿元。</p>")
    counts = Ingestor(filled, gazetteer).add([changed], now=later)
    assert counts.updated == 1
    report = build_feeds(filled, gazetteer, tmp_path / "public", BASE, 50)
    zone = gazetteer.zone_named(DESHENG)
    assert zone is not None
    assert sorted(report.written) == sorted(
        f"feeds/{k}.atom" for k in ("all", zone.key, "110102", "110000")
    ) + ["index.html"] or set(report.written) >= {f"feeds/{zone.key}.atom"}
    after = snapshot(tmp_path / "public")
    # Feeds of the other zone are untouched, byte for byte and mtime.
    for key in ("330000", "330400"):
        assert after[f"feeds/{key}.atom"] == before[f"feeds/{key}.atom"]
    root = etree.parse(str(tmp_path / "public" / "feeds" / f"{zone.key}.atom")).getroot()
    entry = next(e for e in root.findall(f"{ATOM}entry") if e.findtext(f"{ATOM}id") == old.id)
    stamp = (later.replace(microsecond=0) + timedelta(microseconds=old.seq)).isoformat()
    assert entry.findtext(f"{ATOM}updated") == stamp
    assert "十二亿元" in (entry.findtext(f"{ATOM}content") or "")
    assert root.findtext(f"{ATOM}updated") == stamp
    assert_valid((tmp_path / "public" / "feeds" / f"{zone.key}.atom").read_bytes())
    forced = build_feeds(filled, gazetteer, tmp_path / "public", BASE, 50, all=True)
    assert forced.written == []


def test_new_article_reaches_new_and_parent_feeds(
    filled: Storage, gazetteer: Gazetteer, tmp_path: Path, now: datetime
) -> None:
    build_feeds(filled, gazetteer, tmp_path / "public", BASE, 50)
    Ingestor(filled, gazetteer).add(
        [
            record(
                9,
                "苏州工业园区",
                "苏州",
                published=datetime.fromisoformat("2026-11-29T08:00:00+08:00"),
            )
        ],
        now=now,
    )
    report = build_feeds(filled, gazetteer, tmp_path / "public", BASE, 50)
    zone = gazetteer.zone_named("苏州工业园区")
    assert zone is not None
    assert {
        f"feeds/{zone.key}.atom",
        "feeds/320500.atom",
        "feeds/320000.atom",
        "feeds/all.atom",
        "index.html",
        "feeds.opml",
    } <= set(report.written)
    assert "feeds/110102.atom" not in report.written
    new = filled.get(record(9, "苏州工业园区", "苏州").url)
    assert new is not None and entry_ids(tmp_path / "public" / "feeds" / "all.atom")[0] == new.id
    assert last_build(filled) is not None
    # Incremental output (entries reused from disk) equals a from-scratch render.
    forced = build_feeds(filled, gazetteer, tmp_path / "public", BASE, 50, all=True)
    assert forced.written == []


def test_hostile_articles_through_the_store_give_valid_safe_feeds(
    store: Storage, gazetteer: Gazetteer, tmp_path: Path, now: datetime
) -> None:
    evil = record(
        1,
        title="\x02" + "超长标题" * 500 + "\U0001f3ed",
        # No lone surrogate (JSON import cannot carry one) and no NUL: PostgreSQL
        # text refuses it (the store should strip it; reported). test_atom covers both.
        content=HOSTILE.replace("\ud800", "").replace("\x00", ""),
        source="恶意\x01来源",
    )
    Ingestor(store, gazetteer).add([evil], now=now)
    build_feeds(store, gazetteer, tmp_path / "public", BASE, 50)
    for path in (tmp_path / "public" / "feeds").glob("*.atom"):
        data = path.read_bytes()
        assert_valid(data)
        lowered = data.lower()
        for bad in (b"&lt;script", b"onerror", b"javascript:", b"&lt;iframe", b"\x00", b"\x02"):
            assert bad not in lowered
    index = (tmp_path / "public" / "index.html").read_text("utf-8")
    assert "<script" not in index


def test_index_and_opml(filled: Storage, gazetteer: Gazetteer, tmp_path: Path) -> None:
    build_feeds(filled, gazetteer, tmp_path / "public", BASE, 50)
    html = (tmp_path / "public" / "index.html").read_text("utf-8")
    assert '<meta charset="utf-8">' in html and 'lang="zh-CN"' in html
    assert 'name="viewport"' in html
    assert (
        '<link rel="alternate" type="application/atom+xml" title="全部开发区新闻" '
        'href="feeds/all.atom">' in html
    )
    assert 'href="feeds/110000.atom"' in html and DESHENG in html
    assert "3 篇" in html and "2026-11-20" in html  # counts and last update
    opml = etree.parse(str(tmp_path / "public" / "feeds.opml")).getroot()
    folders = [o for o in opml.iter("outline") if o.get("xmlUrl") is None]
    assert [o.get("text") for o in folders] == ["北京市", "浙江省"]
    # Folders carry only text; every feed outline says it is a feed (W3C validator).
    assert all(list(o.attrib) == ["text"] for o in folders)
    assert all(o.get("type") == "rss" for o in opml.iter("outline") if o.get("xmlUrl"))
    beijing = opml.find("body/outline[@text='北京市']")
    assert beijing is not None
    titles = [o.get("title") for o in beijing.iter("outline") if o.get("xmlUrl")]
    assert titles == ["北京市", "西城区", DESHENG]
    urls = [o.get("xmlUrl") for o in opml.iter("outline") if o.get("xmlUrl")]
    assert BASE + "feeds/all.atom" in urls
    assert all((tmp_path / "public" / u.removeprefix(BASE)).is_file() for u in urls)


def test_cli_feeds_build_and_status(
    filled: Storage, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from notifier.cli import main

    url = filled.url
    config = tmp_path / "zonewire.yaml"
    config.write_text(
        f"database: '{url}'\npublic_url: http://feeds.example.org/\n"
        f"feeds: {{output_dir: '{tmp_path / 'site'}', entries: 10}}\n",
        encoding="utf-8",
    )
    assert main(["feeds", "build", "-c", str(config)]) == 0
    out = capsys.readouterr().out
    assert "full build:" in out and "feeds written" in out and str(tmp_path / "site") in out
    assert "archive pages: 7 written" in out and "region pages: 6 written" in out
    assert (tmp_path / "site" / "feeds" / "all.atom").is_file()
    assert main(["-c", str(config), "feeds", "build"]) == 0
    assert "0 feeds written" in capsys.readouterr().out
    assert main(["status", "-c", str(config)]) == 0
    assert "feeds: 7 in" in capsys.readouterr().out
