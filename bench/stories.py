"""Folding stories across sources (SPEC §6, issue 15): 100,000 articles, 20 % reposts.

The generator writes zone news from the sample portal's templates (feeds.sample.
content: few kinds of story, so same-kind news of one zone share most sentences and
differ in names and numbers) plus two to four sentences from a phrase pool, and:

- reposts (20 % of all articles): an earlier story with a label in front of the
  title (【园区动态】, 【转载】, ...), the closing sentence removed, another URL and
  source, sometimes full-width digits and stray spaces; about a fifth of them arrive
  *before* the original; a few stories are reposted twice;
- boilerplate decoys (10 % of the originals): a different story of the same zone on
  the same day that opens with the very same first paragraph as another one.

The truth is the story each article was generated from. Folding runs the
production path: ``feeds.intake.Ingestor`` (which makes each record's print) into
a real SQLite store (which folds each batch of 1,000 in the transaction that
inserts it, candidates found through the ``story_bands`` table). Baselines:

- exact match: one story per normalized title + body (the hash of
  ``normalize_title + normalize_body``), over all articles;
- pairwise similarity: every pair of a 5,000-article sample compared by MinHash
  similarity >= 0.8 (the plain threshold, no LSH), next to zonewire's rule on the same
  sample (in-memory :class:`feeds.stories.StoryIndex`, whose decisions the store's
  batch folding, :func:`feeds.stories.fold_batch`, reproduces).

Printed: pairwise precision and recall against the truth (a pair of articles is
"together" when they share a story), articles/s, and the peak memory of each
folding round (its own child process, RSS growth over the generated input); and,
to show where a round's time goes, the CPU time of making the sample's prints
alone, in batches of 1,000 as the intake makes them (part of every zonewire
round; the rest is the intake and the store).
Rounds alternate zonewire and the exact baseline; min and median are printed.
Targets: precision and recall >= 0.95, at least 2,000 articles/s on one core.

    .venv/bin/python bench/stories.py [--articles 100000] [--sample 5000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import random
import resource
import statistics
import sys
import tempfile
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import _root  # noqa: F401  (bench/feeds.py must not shadow the package)
import numpy as np

from feeds.intake import Ingestor
from feeds.models import CHINA_TZ, ArticleRecord
from feeds.regions import Gazetteer
from feeds.sample.content import make_text
from feeds.storage import Storage
from feeds.stories import (
    StoryIndex,
    normalize_body,
    normalize_title,
    story_print,
    story_prints,
)

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=CHINA_TZ)
BASE = NOW - timedelta(days=360)
LABELS = ("【园区动态】", "【转载】", "【要闻】", "[开发区新闻]", "【招商动态】")
_WHO = ("园区企业", "管委会", "招商服务中心", "经济发展局", "科创中心", "人社分局", "应急管理局",
        "市场监管所", "生态环境分局", "规划建设局", "财政金融局", "综合执法大队", "团工委",
        "总工会")
_DID = ("组织开展", "深入推进", "召开专题会议部署", "集中走访调研", "联合举办", "启动", "完成",
        "牵头推进", "专题研究", "现场督查", "全面梳理", "统筹安排", "跟踪落实")
_WHAT = ("安全生产大检查", "营商环境专项行动", "重点项目推进会", "人才招聘对接会",
         "亩均效益评价", "节能降碳改造", "政企恳谈会", "外贸企业培训", "数字化转型诊断",
         "知识产权保护宣传周", "消防应急演练", "标准厂房建设", "污水管网改造", "人才公寓分配",
         "企业上市辅导", "质量提升行动", "绿色工厂创建", "技能人才评价")
_HOW = ("进一步压实责任", "着力解决企业急难愁盼问题", "推动形成长效机制", "为高质量发展提供保障",
        "确保各项任务按期完成", "切实提升服务效能", "形成可复制可推广的经验", "营造良好氛围",
        "补齐短板弱项", "持续擦亮服务品牌", "筑牢安全防线", "激发市场主体活力")
_FIGURES = ("共有{n}家企业参加", "累计发放补贴{n}万元", "收集意见建议{n}条", "覆盖职工{n}人",
            "排查隐患{n}处", "签约项目{n}个", "完成投资{n}亿元", "新增用地{n}亩")


@dataclass(frozen=True, slots=True)
class Item:
    story: int  # the truth: which story this article tells
    record: ArticleRecord
    source_name: str


def _extra(rng: random.Random) -> str:
    figure = rng.choice(_FIGURES).format(n=rng.randrange(3, 3000))
    return (f"{rng.choice(_WHO)}{rng.choice(_DID)}{rng.choice(_WHAT)}，{figure}，"
            f"{rng.choice(_HOW)}，{rng.choice(_HOW)}。")


def _story(seed: int, n: int, rng: random.Random) -> tuple[str, list[str], tuple[str, str]]:
    """A sample portal text (few templates) with two to four sentences of its own."""
    text = make_text(seed, n, start=BASE)
    paras = list(text.paragraphs)
    for _ in range(rng.randrange(2, 5)):
        paras.insert(rng.randrange(1, len(paras) + 1), _extra(rng))
    return text.title, paras, (text.zone, text.region)


def _wide_digits(text: str) -> str:
    return text.translate({ord(c): 0xFF10 + int(c) for c in "0123456789"})


def generate(total: int, seed: int = 11) -> list[Item]:
    """``total`` articles: 80 % originals (a tenth of them boilerplate decoys), 20 %
    reposts; in arrival order."""
    rng = random.Random(seed)
    n_reposts = total // 5
    originals: list[tuple[int, str, list[str], tuple[str, str], datetime]] = []
    for s in range(total - n_reposts):
        published = BASE + timedelta(minutes=5 * s)
        title, paras, place = _story(seed, s, rng)
        if originals and rng.random() < 0.1:
            # A decoy: another story of the same zone, same day, same opening paragraph.
            _, other_paras, other_place, other_day = originals[-rng.randrange(1, min(
                50, len(originals)) + 1)][1:]
            title, paras, _ = _story(seed + 1, s, rng)
            paras[0] = other_paras[0]
            place, published = other_place, other_day
        originals.append((s, title, paras, place, published))
    items: list[tuple[float, Item]] = []
    for s, title, paras, (zone, region), published in originals:
        content = "".join(f"<p>{p}</p>" for p in paras)
        host = f"zone{zlib.crc32(zone.encode()) % 97}.example.cn"
        record = ArticleRecord(url=f"https://{host}/news/{s}.html",
                               title=title, published=published, source=f"{zone}管委会",
                               zone=zone, region=region, content=content)
        items.append((float(s), Item(s, record, "zone-sites")))
    for r in range(n_reposts):
        s, title, paras, (zone, region), published = originals[rng.randrange(len(originals))]
        kept = paras[:-1] if len(paras) > 1 else paras
        body = "".join(f"<p>{p}</p>" for p in kept)
        head = rng.choice(LABELS) + title
        if rng.random() < 0.3:
            head, body = _wide_digits(head), _wide_digits(body)
        if rng.random() < 0.3:
            body = body.replace("，", "， ").replace("。", "。 ")
        # Usually a few hours to days later; a fifth arrive before the original.
        at = s + (rng.uniform(-40, -1) if rng.random() < 0.2 else rng.uniform(1, 400))
        record = ArticleRecord(url=f"https://portal.example.cn/detail/{r}.html", title=head,
                               published=published + timedelta(hours=3), source="投资中国",
                               zone=zone, region=region, content=body)
        items.append((at, Item(s, record, "portal")))
    items.sort(key=lambda pair: pair[0])
    return [item for _, item in items]


# -- scoring -------------------------------------------------------------------------


def _pairs(sizes: Iterable[int]) -> int:
    return sum(n * (n - 1) // 2 for n in sizes)


def score(truth: list[int], predicted: list[int]) -> tuple[float, float]:
    """Pairwise precision and recall of ``predicted`` story labels against ``truth``."""
    together = _pairs(Counter(zip(predicted, truth, strict=True)).values())
    said = _pairs(Counter(predicted).values())
    real = _pairs(Counter(truth).values())
    precision = together / said if said else 1.0
    recall = together / real if real else 1.0
    return precision, recall


# -- the runs ------------------------------------------------------------------------


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def run_zonewire(items: list[Item], folder: str) -> dict[str, float | list[int]]:
    """The production path: Ingestor -> SQLite store, folding in each batch."""
    store = Storage.open(f"sqlite:///{folder}/bench.db")
    ingestor = Ingestor(store, Gazetteer.default())
    before = _rss_kib()
    start, cpu = time.perf_counter(), time.process_time()
    # Arrival order, 5,000 at a time split by source (as polls of two sources would
    # hand them over); the intake stores and folds batches of 1,000.
    for offset in range(0, len(items), 5000):
        chunk = items[offset : offset + 5000]
        by_source: dict[str, list[ArticleRecord]] = defaultdict(list)
        for item in chunk:
            by_source[item.source_name].append(item.record)
        for name, records in by_source.items():
            ingestor.add(records, now=NOW, source_name=name)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    stories = {a.url: a.story_seq or a.seq for a in store.iter_articles()}
    store.close()
    predicted = [stories[item.record.url] for item in items]
    return {"seconds": elapsed, "cpu": cpu, "peak_mib": (peak - before) / 1024,
            "predicted": predicted}


def run_exact(items: list[Item]) -> dict[str, float | list[int]]:
    start, cpu = time.perf_counter(), time.process_time()
    first: dict[bytes, int] = {}
    predicted = []
    for n, item in enumerate(items):
        text = normalize_title(item.record.title) + normalize_body(item.record.content)
        key = hashlib.sha1(text.encode()).digest()
        predicted.append(first.setdefault(key, n))
    return {"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu,
            "predicted": predicted}


def run_pairwise(items: list[Item]) -> dict[str, object]:
    """Every pair of the sample by MinHash similarity >= 0.8 (union-find), and
    zonewire's rule through the in-memory index on the same sample."""
    story_print(items[0].record.title, items[0].record.content)  # one-time tables
    cpu = time.process_time()
    prints = [p for at in range(0, len(items), 1000) for p in story_prints(
        [(i.record.title, i.record.content) for i in items[at : at + 1000]])]
    print_cpu = time.process_time() - cpu
    start = time.perf_counter()
    sigs = np.stack([p.signature for p in prints])
    parent = list(range(len(items)))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i in range(len(items) - 1):
        alike = (sigs[i + 1 :] == sigs[i]).mean(axis=1) >= 0.8
        for j in np.nonzero(alike)[0]:
            a, b = root(i), root(i + 1 + int(j))
            parent[max(a, b)] = min(a, b)
    pairwise = [root(i) for i in range(len(items))]
    pair_seconds = time.perf_counter() - start
    start = time.perf_counter()
    index = StoryIndex()
    ours = [index.fold(n, p) for n, p in enumerate(prints)]
    return {"pairwise": pairwise, "pair_seconds": pair_seconds, "ours": ours,
            "ours_seconds": time.perf_counter() - start, "print_cpu": print_cpu}


def _child(target: str, items: list[Item], queue: multiprocessing.Queue) -> None:
    if target == "zonewire":
        with tempfile.TemporaryDirectory() as folder:
            queue.put(run_zonewire(items, folder))
    else:
        before = _rss_kib()
        result = run_exact(items)
        result["peak_mib"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
        queue.put(result)


def in_child(target: str, items: list[Item]) -> dict[str, object]:
    """One round in a forked child: its peak memory is its own."""
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    process = ctx.Process(target=_child, args=(target, items, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    items = generate(args.articles, args.seed)
    truth = [i.story for i in items]
    reposts = sum(1 for i in items if i.source_name == "portal")
    print(f"generated {len(items):,} articles ({reposts:,} reposts, "
          f"{len(set(truth)):,} stories) in {time.perf_counter() - t0:.1f} s")

    results: dict[str, list[dict[str, object]]] = {"zonewire": [], "exact": []}
    for round_ in range(args.rounds):
        for target in ("zonewire", "exact") if round_ % 2 == 0 else ("exact", "zonewire"):
            result = in_child(target, items)
            results[target].append(result)
            p, r = score(truth, result["predicted"])  # type: ignore[arg-type]
            rate = len(items) / float(result["seconds"])  # type: ignore[arg-type]
            cpu_rate = len(items) / float(result["cpu"])  # type: ignore[arg-type]
            print(f"round {round_ + 1} {target:8}: precision {p:.4f} recall {r:.4f} "
                  f"{rate:,.0f} articles/s wall, {cpu_rate:,.0f} articles/s of CPU time, "
                  f"peak +{result['peak_mib']:.0f} MiB")
    print()
    for target, rounds in results.items():
        rates = [len(items) / float(x["seconds"]) for x in rounds]  # type: ignore[arg-type]
        cpus = [len(items) / float(x["cpu"]) for x in rounds]  # type: ignore[arg-type]
        peaks = [float(x["peak_mib"]) for x in rounds]  # type: ignore[arg-type]
        p, r = score(truth, rounds[0]["predicted"])  # type: ignore[arg-type]
        label = ("zonewire (Ingestor -> SQLite, LSH in story_bands)" if target == "zonewire"
                 else "exact match (normalized text hash)")
        print(f"{label}: precision {p:.4f}, recall {r:.4f}; articles/s wall min "
              f"{min(rates):,.0f} median {statistics.median(rates):,.0f}, of CPU time min "
              f"{min(cpus):,.0f} median {statistics.median(cpus):,.0f}; peak memory "
              f"min +{min(peaks):.0f} MiB median +{statistics.median(peaks):.0f} MiB")

    sample = random.Random(args.seed).sample(range(len(items)), min(args.sample, len(items)))
    sample.sort()
    part = [items[i] for i in sample]
    part_truth = [truth[i] for i in sample]
    pair = run_pairwise(part)
    p, r = score(part_truth, pair["pairwise"])  # type: ignore[arg-type]
    n = len(part)
    print(f"\npairwise MinHash >= 0.8 on a {n:,}-article sample: precision {p:.4f}, "
          f"recall {r:.4f}; {n * (n - 1) // 2:,} pairs in {pair['pair_seconds']:.1f} s "
          f"(~{pair['pair_seconds'] * (len(items) / n) ** 2 / 3600:.1f} h at "
          f"{len(items):,} articles)")
    p, r = score(part_truth, pair["ours"])  # type: ignore[arg-type]
    print(f"zonewire's rule (in-memory StoryIndex) on the same sample: precision {p:.4f}, "
          f"recall {r:.4f} in {pair['ours_seconds']:.2f} s")
    print_cpu = float(pair["print_cpu"])  # type: ignore[arg-type]
    print(f"prints alone (feeds.stories.story_prints, batches of 1,000 as the intake makes "
          f"them) on the same sample: {n / print_cpu:,.0f} articles/s of CPU time "
          f"({print_cpu / n * 1e6:.0f} us each)")
    zw = results["zonewire"][0]
    p, r = score(truth, zw["predicted"])  # type: ignore[arg-type]
    rate = statistics.median(
        len(items) / float(x["cpu"]) for x in results["zonewire"]  # type: ignore[arg-type]
    )
    ok = p >= 0.95 and r >= 0.95 and rate >= 2000
    print(f"\ntargets (precision, recall >= 0.95; >= 2,000 articles/s of one core's "
          f"CPU time, median): {'met' if ok else 'NOT met'}; machine load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores "
          "(wall figures suffer from other work)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
