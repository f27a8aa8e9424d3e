"""Benchmark: feed builds over a 100,000-article store in about 3,000 zones.

    .venv/bin/python bench/feeds.py [--articles 100000] [--zones 3000] [--rounds 3] [--db URL]

A build writes, per region, the Atom feed, the JSON Feed, the RFC 5005 archive pages
(every article of the region, 100 a page) and the region page. Full builds
(``--all`` into an empty folder) alternate with a bare loop over the same documents
(current Atom feed, JSON Feed, every archive page) rendered with nothing but feedgen
and json.dumps: articles as they come from the database, one fresh entry per
(document, article), no sanitising, no summary, no region page, no file comparison
and no database time counted. Prints min and median of each, their ratio, a
no-change rebuild, incremental builds after 10 new articles (target: under 2% of
the full build) and peak memory (target: under 400 MB).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import _root  # noqa: E402, F401  (bench/feeds.py must not shadow the package)
from feedgen.entry import FeedEntry
from feedgen.feed import FeedGenerator

from feeds import feedplan, publish
from feeds.archive import ArchivePage, all_pages
from feeds.intake import load_zones
from feeds.models import CHINA_TZ, ArticleRecord, Region, RegionLevel
from feeds.regions import Gazetteer
from feeds.rows import PlacedArticle
from feeds.storage import Storage

PARAGRAPHS = [
    "本季度园区新签约项目{n}个,总投资约{m}亿元,涵盖新能源汽车零部件、集成电路封装测试和生物医药等方向。",
    "管委会表示,将继续优化营商环境,推行“一窗受理、并联审批”,让企业从拿地到开工的时间缩短到{n}个工作日以内。",
    "签约仪式上,{n}家企业代表与园区签署了入驻协议,双方将在人才公寓、标准厂房和研发中心建设等方面开展合作。",
    "据统计,前{n}个月园区规模以上工业产值同比增长{m}%,高新技术企业数量达到历史新高。",
    "下一步,园区将围绕主导产业开展精准招商,重点引进链主企业和专精特新“小巨人”企业。",
]
CATEGORIES = ["文字新闻", "招商动态", "园区建设", "政策发布"]


def make_zones(gazetteer: Gazetteer, count: int, rng: random.Random) -> list[Region]:
    """``count`` zones under about a third of the districts, as portals file them."""
    districts = [r for r in gazetteer if r.level is RegionLevel.DISTRICT]
    rng.shuffle(districts)
    hosts = districts[: max(count // 3, 1)]
    zones = []
    for i in range(count):
        host = hosts[i % len(hosts)]
        name = f"{host.name}第{i + 1}号产业园"
        zones.append(gazetteer.add_zone(name, host.key, key=f"zone-bench-{i + 1}"))
    return zones


def records(zones: list[Region], start: int, count: int, rng: random.Random, base: datetime):
    for i in range(start, start + count):
        zone = rng.choice(zones)
        body = "".join(
            "<p>"
            + rng.choice(PARAGRAPHS).format(n=rng.randint(2, 40), m=rng.randint(3, 90))
            + "</p>"
            for _ in range(rng.randint(3, 6))
        )
        yield (
            zone,
            ArticleRecord(
                url=f"https://www.investchn.com/index.php/home/news/detail/id/{100000 + i}.html",
                title=f"{zone.name}第{i}期招商引资项目集中签约",
                published=base - timedelta(minutes=7 * (i - start) + rng.randint(0, 6)),
                source=f"{zone.name}管委会",
                zone=zone.name,
                category=rng.choice(CATEGORIES),
                content=body,
            ),
        )


def fill(store: Storage, gazetteer: Gazetteer, zones, start, count, rng, now) -> None:
    """Rows through the store's own bulk upsert, regions placed directly (the
    gazetteer's name resolution is the import benchmark's business, not this one's)."""
    batch: list[PlacedArticle] = []
    for zone, record in records(zones, start, count, rng, now):
        batch.append(PlacedArticle(record, gazetteer.ancestor_keys(zone.key), None, "bench"))
        if len(batch) == 5000:
            store.upsert(batch, now=now)
            batch = []
    if batch:
        store.upsert(batch, now=now)


def _bare_atom(key: str, path: str, arts: list, archive: bool) -> int:
    """One Atom document with nothing but feedgen: one fresh entry per article."""
    fg = FeedGenerator()
    fg.id(f"tag:bench,2026:{key}")
    fg.title(key)
    fg.language("zh-CN")
    fg.author(name="zonewire")
    fg.link(href=f"http://127.0.0.1:8080/{path}", rel="self")
    if archive:
        fg.link(href=f"http://127.0.0.1:8080/feeds/{key}.atom", rel="current")
    newest: datetime | None = None
    for a in arts:
        fe = FeedEntry()
        fe.id(a.id)
        fe.title(a.title)
        fe.updated(a.updated)
        fe.published(a.published)
        fe.link(href=a.url)
        if a.source:
            fe.author(name=a.source)
        for key_ in a.region_keys:
            fe.category(term=key_)
        if a.category:
            fe.category(term=a.category)
        fe.content(a.content, type="html")
        fg.add_entry(fe, order="append")
        newest = a.updated if newest is None or a.updated > newest else newest
    fg.updated(newest or datetime(2026, 1, 1, tzinfo=UTC))
    fg.atom_str(pretty=True)
    return len(arts)


def _bare_json(key: str, arts: list) -> None:
    """One JSON Feed with nothing but json.dumps over the raw fields."""
    json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": key,
            "items": [
                {
                    "id": a.id,
                    "url": a.url,
                    "title": a.title,
                    "content_html": a.content,
                    "date_published": a.published.isoformat(),
                    "date_modified": a.updated.isoformat(),
                    "tags": [*a.region_keys, a.category],
                }
                for a in arts
            ],
        },
        ensure_ascii=False,
    )


def bare_feedgen(store: Storage, gazetteer: Gazetteer, limit: int) -> tuple[float, int, int]:
    """The same documents the build writes (current Atom feed, JSON Feed, every
    archive page) rendered with nothing but feedgen and json.dumps, without
    sanitising, summaries, region pages, file comparison or database time; returns
    the time spent rendering, the documents and the entries."""
    plans = feedplan.plan_all(store.feed_plan, limit)
    live = [p for p in plans if p.count or p.key == "all"]
    pages = list(all_pages(store.archive, {p.key for p in live}))
    load = feedplan.loader(store.feed_plan, gazetteer)
    spent = 0.0
    documents = entries = 0
    for batch in publish._batches([*live, *pages], gazetteer):
        by_seq = load({s for p in batch for s in p.seqs})
        started = time.perf_counter()
        for unit in batch:
            arts = [by_seq[s] for s in unit.seqs]
            if isinstance(unit, ArchivePage):
                entries += _bare_atom(unit.key, unit.path, arts, True)
                documents += 1
                continue
            entries += _bare_atom(unit.key, f"feeds/{unit.key}.atom", arts, False)
            _bare_json(unit.key, arts)
            entries += len(arts)
            documents += 2
        spent += time.perf_counter() - started
    return spent, documents, entries


def _stats(values: list[float]) -> str:
    return f"min {min(values):.2f} s, median {statistics.median(values):.2f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--zones", type=int, default=3000)
    parser.add_argument("--entries", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of each")
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    args = parser.parse_args(argv)
    rng = random.Random(4287)
    now = datetime(2026, 11, 30, 9, 0, tzinfo=CHINA_TZ)
    base = "http://127.0.0.1:8080/"

    with tempfile.TemporaryDirectory(prefix="zonewire-bench-") as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        store = Storage.open(url)
        gazetteer = Gazetteer.default()
        zones = make_zones(gazetteer, args.zones, rng)
        store.save_zones(zones, now=now)
        gazetteer = load_zones(Gazetteer.default(), store)
        zones = [gazetteer.get(z.key) for z in zones]
        started = time.perf_counter()
        fill(store, gazetteer, zones, 0, args.articles, rng, now)
        print(
            f"store: {args.articles} articles in {args.zones} zones, "
            f"loaded in {time.perf_counter() - started:.1f} s ({url.split(':')[0]})"
        )

        # Full builds (--all into an empty folder: every article rendered, every file
        # written) alternating with the bare loop over the same documents.
        fulls: list[float] = []
        bares: list[float] = []
        for n in range(args.rounds):
            out = Path(tmp) / f"public-{n}"
            started = time.perf_counter()
            report = publish.build_feeds(store, gazetteer, out, base, args.entries, all=True)
            fulls.append(time.perf_counter() - started)
            bare, bare_docs, bare_entries = bare_feedgen(store, gazetteer, args.entries)
            bares.append(bare)
            if n < args.rounds - 1:
                shutil.rmtree(out)
        entries = sum(len(p.seqs) for p in _plans(store, args.entries))
        full = min(fulls)
        print(
            f"full build: {report.feeds} feeds, {entries} current entries, "
            f"{len(report.written)} files written; {_stats(fulls)} "
            f"({report.feeds / full:.0f} feeds/s)"
        )
        print(f"  files: {_kinds(report.written)}")
        print(
            f"bare feedgen + json loop: {bare_docs} documents, {bare_entries} entries; "
            f"{_stats(bares)} ({bare_entries / min(bares):.0f} entries/s)"
        )
        print(
            f"ratio full build / bare: min {full / min(bares):.2f}x, median "
            f"{statistics.median(fulls) / statistics.median(bares):.2f}x"
        )

        started = time.perf_counter()
        again = publish.build_feeds(store, gazetteer, out, base, args.entries)
        print(
            f"no-change rebuild: {len(again.written)} files written in "
            f"{time.perf_counter() - started:.3f} s"
        )

        # Ten new articles a round, newer than everything stored: each enters five feeds.
        incs: list[float] = []
        for n in range(args.rounds):
            fill(
                store, gazetteer, zones, args.articles + 10 * n, 10, random.Random(7 + n),
                now + timedelta(days=1 + n),
            )
            started = time.perf_counter()
            inc = publish.build_feeds(store, gazetteer, out, base, args.entries)
            incs.append(time.perf_counter() - started)
        print(
            f"incremental build after 10 new articles: {inc.looked_at} feeds looked at, "
            f"{len(inc.written)} files written; min {min(incs) * 1000:.0f} ms, median "
            f"{statistics.median(incs) * 1000:.0f} ms = {min(incs) / full:.2%} "
            f"(median {statistics.median(incs) / statistics.median(fulls):.2%}) "
            f"of the full build (target < 2%)"
        )
        print(f"  files: {_kinds(inc.written)}")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory (ru_maxrss): {peak:.0f} MB (target < 400 MB)")
        store.close()
    return 0


def _kinds(written: list[str]) -> str:
    """Written files by kind: Atom feeds, JSON Feeds, archive pages, region pages."""
    kinds = {"Atom": 0, "JSON": 0, "archive": 0, "region pages": 0, "other": 0}
    for path in written:
        if path.startswith("feeds/archive/"):
            kinds["archive"] += 1
        elif path.startswith("r/"):
            kinds["region pages"] += 1
        elif path.endswith(".atom"):
            kinds["Atom"] += 1
        elif path.endswith(".json"):
            kinds["JSON"] += 1
        else:
            kinds["other"] += 1
    return ", ".join(f"{n} {k}" for k, n in kinds.items() if n)


def _plans(store: Storage, limit: int):
    return feedplan.plan_all(store.feed_plan, limit)


if __name__ == "__main__":
    sys.exit(main())
