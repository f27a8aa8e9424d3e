"""Benchmark: feed builds over a 100,000-article store in about 3,000 zones.

    .venv/bin/python bench/feeds.py [--articles 100000] [--zones 3000] [--db URL]

A build writes, per region, the Atom feed, the JSON Feed, the RFC 5005 archive pages
(every article of the region, 100 a page) and the region page. Prints the full build
(feeds/s, entries/s, files by kind), the ratio to a bare feedgen loop that renders the
current feeds' entries in the same run (target: at most 2.4x, twice the 1.19x of the
Atom-only build), an incremental build after 10 new articles (target: under 2% of the
full build) and peak memory (target: under 400 MB). The bare loop uses the articles as
they come from the database and builds one fresh feedgen entry per (feed, article),
with no sanitising, no summary, no file comparison and no database time counted: the
floor of "render with feedgen".
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import _root  # noqa: E402, F401  (bench/feeds.py must not shadow the package)
from feedgen.entry import FeedEntry
from feedgen.feed import FeedGenerator

from feeds import feedplan, publish
from feeds.intake import load_zones
from feeds.models import CHINA_TZ, ArticleRecord, Region, RegionLevel
from feeds.regions import Gazetteer
from feeds.store import PlacedArticle, SqlArticleStore

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


def fill(store: SqlArticleStore, gazetteer: Gazetteer, zones, start, count, rng, now) -> None:
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


def bare_feedgen(
    store: SqlArticleStore, gazetteer: Gazetteer, limit: int
) -> tuple[float, int, int]:
    """Render the same feeds and entries with nothing but feedgen; returns the time
    spent inside feedgen only."""
    with store.engine.connect() as conn:
        plans = feedplan.plan_all(conn, limit)
    spent = 0.0
    feeds = entries = 0
    for batch in publish._batches(plans, gazetteer):
        with store.engine.connect() as conn:
            by_seq = feedplan.load(conn, {s for p in batch for s in p.seqs}, gazetteer)
        started = time.perf_counter()
        for plan in batch:
            fg = FeedGenerator()
            fg.id(f"tag:bench,2026:{plan.key}")
            fg.title(plan.key)
            fg.language("zh-CN")
            fg.author(name="zonewire")
            fg.link(href=f"http://127.0.0.1:8080/feeds/{plan.key}.atom", rel="self")
            newest: datetime | None = None
            for seq in plan.seqs:
                a = by_seq[seq]
                fe = FeedEntry()
                fe.id(a.id)
                fe.title(a.title)
                fe.updated(a.updated)
                fe.published(a.published)
                fe.link(href=a.url)
                if a.source:
                    fe.author(name=a.source)
                for key in a.region_keys:
                    fe.category(term=key)
                if a.category:
                    fe.category(term=a.category)
                fe.content(a.content, type="html")
                fg.add_entry(fe, order="append")
                newest = a.updated if newest is None or a.updated > newest else newest
                entries += 1
            fg.updated(newest or datetime(2026, 1, 1, tzinfo=UTC))
            fg.atom_str(pretty=True)
            feeds += 1
        spent += time.perf_counter() - started
    return spent, feeds, entries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--zones", type=int, default=3000)
    parser.add_argument("--entries", type=int, default=50)
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    args = parser.parse_args(argv)
    rng = random.Random(4287)
    now = datetime(2026, 11, 30, 9, 0, tzinfo=CHINA_TZ)

    with tempfile.TemporaryDirectory(prefix="zonewire-bench-") as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        store = SqlArticleStore.open(url)
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

        out = Path(tmp) / "public"
        started = time.perf_counter()
        report = publish.build_feeds(
            store, gazetteer, out, "http://127.0.0.1:8080/", args.entries, all=True
        )
        full = time.perf_counter() - started
        entries = sum(len(p.seqs) for p in _plans(store, args.entries))
        print(
            f"full build: {report.feeds} feeds, {entries} entries in {full:.2f} s "
            f"({report.feeds / full:.0f} feeds/s, {entries / full:.0f} entries/s), "
            f"{len(report.written)} files written"
        )
        print(f"  files: {_kinds(report.written)}")

        bare, bare_feeds, bare_entries = bare_feedgen(store, gazetteer, args.entries)
        print(
            f"bare feedgen loop: {bare_feeds} feeds, {bare_entries} entries in {bare:.2f} s "
            f"({bare_entries / bare:.0f} entries/s)"
        )
        print(f"ratio full build / bare feedgen: {full / bare:.2f}x (target <= 2.4x)")

        started = time.perf_counter()
        again = publish.build_feeds(store, gazetteer, out, "http://127.0.0.1:8080/", args.entries)
        print(
            f"no-change rebuild: {len(again.written)} files written in "
            f"{time.perf_counter() - started:.3f} s"
        )

        # Ten new articles, newer than everything stored: each enters five feeds.
        fill(store, gazetteer, zones, args.articles, 10, random.Random(7), now + timedelta(days=1))
        started = time.perf_counter()
        inc = publish.build_feeds(store, gazetteer, out, "http://127.0.0.1:8080/", args.entries)
        incremental = time.perf_counter() - started
        print(
            f"incremental build after 10 new articles: {inc.looked_at} feeds looked at, "
            f"{len(inc.written)} files written in {incremental * 1000:.0f} ms "
            f"= {incremental / full:.2%} of the full build (target < 2%)"
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


def _plans(store: SqlArticleStore, limit: int):
    with store.engine.connect() as conn:
        return feedplan.plan_all(conn, limit)


if __name__ == "__main__":
    sys.exit(main())
