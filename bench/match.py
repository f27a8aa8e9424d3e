"""Matching as a delivery pass runs it: 100,000 subscribers x 1,000 new articles.

Part 1 times the production path: the index is built once per subscriptions version
(:meth:`notifier.reload.ConfigHolder.matching`) and each delivery pass calls
:func:`notifier.match.match_articles` (the very function :mod:`notifier.due` calls)
over the new articles, keeping the due subscribers. Subscribers have distinct
region sets at every level, about half with keyword filters, a few with
categories. The baseline is the plain rule (:func:`notifier.match.match_naive`,
each subscriber against each article, texts and words folded once), MEASURED, not
scaled: at the full size when ``--naive-subscribers`` allows it, otherwise on a
smaller size where zonewire is run too, both printed. Rounds alternate zonewire
and baseline; min and median of each are printed. Targets: build + one pass under
2 s; the pass at least 20x faster than the baseline at the same size.

Part 2 writes a 10,000-subscriber subscriptions.yaml and times loading and checking
it (YAML with positions, pydantic, regions, schedules, email syntax); baselines are
a bare ``yaml.load`` of the same file with the C and with the pure-Python loader.
Target: under 5 s.

    .venv/bin/python bench/match.py [--subscribers 100000] [--articles 1000]
        [--naive-subscribers 5000] [--load 10000] [--seed 7] [--rounds 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import _root  # noqa: E402, F401  (bench/feeds.py must not shadow the package)
import yaml  # noqa: E402

from feeds.models import CHINA_TZ, Article, Region, RegionLevel  # noqa: E402
from feeds.regions import Gazetteer  # noqa: E402
from notifier.match import MatchIndex, match_articles, match_naive  # noqa: E402
from notifier.models import Keywords, Schedule, ScheduleKind, Subscriber  # noqa: E402
from notifier.subscriptions import load_subscriptions  # noqa: E402

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=CHINA_TZ)

WORDS = (
    "新能源 储能 光伏 半导体 集成电路 芯片 生物医药 医疗器械 人工智能 AI 机器人 新材料 碳纤维 航空 "
    "海洋装备 冷链 预制菜 跨境电商 数据中心 算力 5G 氢能 锂电 汽车零部件 智能制造 工业互联网 招聘 "
    "培训 签约 开工 投产 招商 产业园 孵化器 专精特新 独角兽 上市 融资 外资 出口"
).split()
FILLER = "近日园区举行重点项目集中签约仪式多家企业负责人出席活动并就产业合作进行交流。"
HOT = ("330000", "320000", "440000", "110000", "370000")  # provinces most news comes from


def world(gazetteer: Gazetteer, rng: random.Random) -> dict[RegionLevel, list[Region]]:
    """Regions by level, weighted toward a few provinces, with invented zones."""
    by_level: dict[RegionLevel, list[Region]] = {level: [] for level in RegionLevel}
    for region in gazetteer:
        by_level[region.level].append(region)
    for district in rng.sample(by_level[RegionLevel.DISTRICT], 600):
        for n in range(2):
            name = f"{district.name}{n}号产业园区"
            by_level[RegionLevel.ZONE].append(gazetteer.add_zone(name, district.key))
    return by_level


def pick(regions: list[Region], gazetteer: Gazetteer, rng: random.Random) -> Region:
    """Four times in five a region inside one of the HOT provinces."""
    hot = rng.random() < 0.8
    for _ in range(50):
        region = rng.choice(regions)
        inside = gazetteer.lineage(region.key)[-1].key in HOT
        if inside == hot:
            return region
    return region


def make_subscribers(n: int, gazetteer: Gazetteer, by_level: dict[RegionLevel, list[Region]],
                     rng: random.Random) -> list[Subscriber]:
    levels = [RegionLevel.PROVINCE] * 5 + [RegionLevel.CITY] * 30 + \
        [RegionLevel.DISTRICT] * 45 + [RegionLevel.ZONE] * 20
    result = []
    for i in range(n):
        keys = tuple(dict.fromkeys(
            pick(by_level[rng.choice(levels)], gazetteer, rng).key
            for _ in range(rng.choice((1, 1, 1, 2, 3)))
        ))
        roll = rng.random()
        include = tuple(rng.sample(WORDS, rng.randint(1, 3))) if roll < 0.5 else ()
        exclude = tuple(rng.sample(WORDS, 1)) if rng.random() < 0.2 else ()
        categories = ("招商动态",) if rng.random() < 0.05 else ()
        result.append(Subscriber(
            id=f"s{i}", schedule=Schedule(ScheduleKind.DAILY, "daily 08:00"), regions=keys,
            email=f"s{i}@example.com", keywords=Keywords(include, exclude),
            categories=categories,
        ))
    return result


def make_articles(n: int, gazetteer: Gazetteer, by_level: dict[RegionLevel, list[Region]],
                  rng: random.Random) -> list[Article]:
    places = by_level[RegionLevel.DISTRICT] + by_level[RegionLevel.ZONE]
    result = []
    for i in range(n):
        region = pick(places, gazetteer, rng)
        words = rng.sample(WORDS, 3)
        body = "".join(f"<p>{FILLER}{w}{FILLER}</p>" for w in words) + f"<p>{FILLER * 4}</p>"
        result.append(Article(
            id=f"tag:bench,2026:{i}", seq=i + 1, url=f"https://example.org/{i}",
            title=f"{region.name}{words[0]}项目{rng.choice(('签约', '开工', '投产'))}",
            published=T0, updated=T0, ingested_at=T0, source="bench", zone=None,
            region=region.name, category=rng.choice(("文字新闻", "招商动态", "项目建设")),
            content=body, summary=None, content_hash=str(i),
            region_keys=gazetteer.ancestor_keys(region.key),
        ))
    return result


def timed(rounds: int, *runs: object) -> list[list[float]]:
    """Each callable of ``runs`` once per round, alternating; seconds of each."""
    times: list[list[float]] = [[] for _ in runs]
    for _ in range(rounds):
        for slot, run in zip(times, runs, strict=True):
            started = time.perf_counter()
            run()  # type: ignore[operator]
            slot.append(time.perf_counter() - started)
    return times


def fmt(times: list[float]) -> str:
    return f"min {min(times):.3f} s, median {statistics.median(times):.3f} s"


def bench_match(args: argparse.Namespace) -> bool:
    rng = random.Random(args.seed)
    gazetteer = Gazetteer.default()
    by_level = world(gazetteer, rng)
    subscribers = make_subscribers(args.subscribers, gazetteer, by_level, rng)
    articles = make_articles(args.articles, gazetteer, by_level, rng)
    due = {s.id for s in subscribers}  # every subscriber due: the heaviest pass
    distinct = len({s.regions for s in subscribers})
    index: list[MatchIndex] = []
    result: list[dict[str, list[Article]]] = []

    def build() -> None:
        index[:] = [MatchIndex(subscribers)]

    def one_pass() -> None:
        result[:] = [match_articles(index[0], iter(articles), due)]

    builds, passes = [], []
    for _ in range(args.rounds):
        b, p = timed(1, build, one_pass)
        builds += b
        passes += p
    pairs = sum(len(v) for v in result[0].values())
    print(f"match: {len(subscribers):,} subscribers ({distinct:,} distinct region sets) x "
          f"{len(articles):,} articles, {args.rounds} rounds")
    print(f"  index build (once per subscriptions version): {fmt(builds)}")
    print(f"  delivery pass (match_articles, as production runs it): {fmt(passes)} -> "
          f"{pairs:,} (subscriber, article) pairs for {len(result[0]):,} subscribers")
    first = [b + p for b, p in zip(builds, passes, strict=True)]
    print(f"  build + first pass: {fmt(first)} (target < 2 s)")

    size = min(args.naive_subscribers, len(subscribers))
    sample = subscribers[:size]
    small_due = {s.id for s in sample}
    small = MatchIndex(sample)
    ours: list[dict[str, list[Article]]] = []
    naive: list[dict[str, list[Article]]] = []
    ours_t, naive_t = timed(
        args.rounds,
        lambda: ours.__setitem__(slice(None), [match_articles(small, iter(articles), small_due)]),
        lambda: naive.__setitem__(slice(None), [match_naive(sample, articles)]),
    )
    agree = ours[0] == naive[0]
    label = "the full size" if size == len(subscribers) else f"{size:,} subscribers"
    print(f"  at {label} x {len(articles):,} articles, alternating:")
    print(f"    zonewire pass: {fmt(ours_t)}")
    print(f"    naive (measured, not scaled): {fmt(naive_t)}")
    ratio = min(naive_t) / min(ours_t)
    print(f"    ratio (min naive / min zonewire): {ratio:.0f}x (target >= 20x)")
    print(f"    zonewire and naive agree: {agree}")
    return agree and min(first) < 2 and ratio >= 20


def write_yaml(path: Path, n: int, rng: random.Random, gazetteer: Gazetteer) -> None:
    names = [r.name for r in gazetteer if r.level is not RegionLevel.ZONE
             and len(gazetteer.named(r.name)) == 1]
    schedules = ["daily 08:00", "hourly", "immediate", "weekly mon 09:00",
                 'cron "30 17 * * 1-5"']
    lines = ["defaults: {timezone: Asia/Shanghai, language: zh-CN, max_articles: 30}",
             "subscribers:"]
    for i in range(n):
        regions = ", ".join(rng.sample(names, rng.choice((1, 2, 3))))
        lines.append(f"  - id: user{i}")
        if i % 10 == 0:
            lines.append(f'    webhook: {{url: "https://hooks.example.org/{i}", format: json}}')
        else:
            lines.append(f"    email: user{i}@example.com")
        lines.append(f"    schedule: {rng.choice(schedules)}")
        lines.append(f"    regions: [{regions}]")
        if i % 3 == 0:
            words = ", ".join(rng.sample(WORDS, 2))
            lines.append(f"    keywords: {{include: [{words}], exclude: [招聘]}}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def bench_load(args: argparse.Namespace) -> bool:
    rng = random.Random(args.seed)
    gazetteer = Gazetteer.default()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "subscriptions.yaml"
        write_yaml(path, args.load, rng, gazetteer)
        text = path.read_text(encoding="utf-8")
        started = time.perf_counter()
        yaml.load(text, Loader=yaml.CSafeLoader)
        c_only = time.perf_counter() - started
        started = time.perf_counter()
        yaml.load(text, Loader=yaml.SafeLoader)
        py_only = time.perf_counter() - started
        started = time.perf_counter()
        subs = load_subscriptions(path, gazetteer, {})
        loaded = time.perf_counter() - started
    print(f"load: {args.load:,} subscribers ({len(text.encode()) / 1e6:.1f} MB of YAML)")
    print(f"  load + check (positions, pydantic, regions, schedules, email): {loaded:.2f} s "
          f"for {len(subs.subscribers):,} subscribers (target < 5 s)")
    print(f"  baselines: bare yaml.load {c_only:.2f} s with the C loader "
          f"(ratio {loaded / c_only:.1f}x), {py_only:.2f} s with the pure-Python loader "
          f"(ratio {loaded / py_only:.1f}x)")
    return loaded < 5 and len(subs.subscribers) == args.load


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--articles", type=int, default=1_000)
    parser.add_argument("--naive-subscribers", type=int, default=100_000)
    parser.add_argument("--load", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    ok = bench_match(args)
    ok = bench_load(args) and ok
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
