"""Delivery fan-out: 10,000 email and 10,000 webhook subscribers, against bare clients.

Runs a local aiosmtpd sink and a minimal keep-alive HTTP receiver in their own
processes, then in this process:

* zonewire: ``send_due`` for 10,000 email subscribers (4 region sets, so 4 shared
  renderings) and for 10,000 ``json`` webhook subscribers — planning, ledger writes
  before and after, rendering, per-recipient bytes, sending;
* bare: aiosmtplib / httpx sending the same prebuilt message bytes, the same number
  of times, over the same number of connections.

Prints messages/s, the ratio zonewire/bare (target >= 0.5) and peak memory (< 300 MB).
Usage: .venv/bin/python bench/deliver.py [--subscribers 10000] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import _root  # noqa: E402, F401  (bench/feeds.py must not shadow the package)
import aiosmtplib  # noqa: E402
import httpx  # noqa: E402

from feeds.intake import Ingestor  # noqa: E402
from feeds.models import CHINA_TZ, ArticleRecord  # noqa: E402
from feeds.regions import Gazetteer  # noqa: E402
from feeds.store import SqlArticleStore  # noqa: E402
from notifier.config import Settings  # noqa: E402
from notifier.deliver import DeliveryDeps, _Composer, asend_due  # noqa: E402
from notifier.ledger import Ledger  # noqa: E402
from notifier.models import Schedule, ScheduleKind, Subscriber, Subscriptions, WebhookTarget  # noqa: E402
from notifier.plan import Plan, build_digest  # noqa: E402
from notifier.tokens import Signer  # noqa: E402

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=CHINA_TZ)
REGION_SETS = [("110102",), ("330400",), ("110102", "330400"), ("330000",)]

SMTP_SINK = r"""
import asyncio, sys, time
from aiosmtpd.controller import Controller
class Sink:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"
c = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]))
c.start()
print("ready", flush=True)
sys.stdin.read()
c.stop()
"""

HTTP_SINK = r"""
import asyncio, sys
async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]), backlog=512)
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
asyncio.run(main())
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(code: str, port: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", code, str(port)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def articles(n: int) -> list[ArticleRecord]:
    regions = ["西城区", "南湖区", "嘉兴", "海宁市"]
    body = "本区围绕新能源、集成电路和数字经济开展招商推介，" * 40
    return [
        ArticleRecord(url=f"https://n.example/detail/id/{i}.html",
                      title=f"第{i}条：开发区重点项目签约仪式举行",
                      published=NOW - timedelta(hours=i), source="投资促进局",
                      region=regions[i % len(regions)], category="文字新闻",
                      content=f"<p>{body}</p>", summary=body[:200])
        for i in range(n)
    ]


async def bare_smtp(port: int, messages: list[bytes], count: int, concurrency: int) -> float:
    queue = list(range(count))

    async def worker() -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
        await client.connect()
        while queue:
            i = queue.pop()
            await client.sendmail("news@example.org", [f"u{i}@example.com"],
                                  messages[i % len(messages)])
        await client.quit()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


async def bare_http(url: str, bodies: list[bytes], count: int, concurrency: int) -> float:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    queue = list(range(count))
    async with httpx.AsyncClient(limits=limits, timeout=20) as client:

        async def worker() -> None:
            while queue:
                i = queue.pop()
                response = await client.post(url, content=bodies[i % len(bodies)],
                                             headers={"content-type": "application/json"})
                response.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started


async def run(count: int, concurrency: int) -> None:
    smtp_port, http_port = free_port(), free_port()
    smtp_proc, http_proc = start(SMTP_SINK, smtp_port), start(HTTP_SINK, http_port)
    tmp = Path(tempfile.mkdtemp(prefix="zw-bench-"))
    try:
        settings = Settings.model_validate({
            "database": f"sqlite:///{tmp / 'zw.db'}",
            "public_url": "https://zonewire.example.org/",
            "secret_key": "bench",
            "email": {"transport": "smtp", "from": "招商快讯 <news@example.org>",
                      "smtp": {"host": "127.0.0.1", "port": smtp_port}},
            "delivery": {"concurrency": concurrency},
        })
        store = SqlArticleStore.open(settings.database)
        gazetteer = Gazetteer.default()
        deps = DeliveryDeps(settings=settings, store=store, gazetteer=gazetteer,
                            ledger=Ledger(store.engine), signer=Signer(b"bench"),
                            rng=random.Random(0))
        schedule = Schedule(ScheduleKind.IMMEDIATE, "immediate")
        emails = tuple(
            Subscriber(id=f"mail{i:05d}", schedule=schedule, regions=REGION_SETS[i % 4],
                       email=f"mail{i:05d}@example.com", fingerprint="f")
            for i in range(count))
        hooks = tuple(
            Subscriber(id=f"hook{i:05d}", schedule=schedule, regions=REGION_SETS[i % 4],
                       webhook=WebhookTarget(f"http://127.0.0.1:{http_port}/hook/{i}", "json",
                                             "whsec_YmVuY2htYXJrLXNlY3JldC1rZXktMzItYnl0ZXM="),
                       fingerprint="f")
            for i in range(count))
        deps.ledger.record_plan(
            Plan(new_subscribers={s.id: 0 for s in emails + hooks}), NOW - timedelta(hours=1))
        Ingestor(store, gazetteer).add(articles(24), now=NOW)

        # The same messages, prebuilt, for the bare clients.
        composer = _Composer(deps, NOW)
        all_articles = list(store.iter_articles())
        samples: dict[str, list[bytes]] = {"mail": [], "hook": []}
        for sub in (emails[:4] + hooks[:4]):
            wanted = [a for a in all_articles if set(sub.regions) & set(a.region_keys)]
            digest = build_digest(sub, wanted, after_seq=0, upto_seq=24, now=NOW,
                                  region_name=lambda k: gazetteer.get(k).name)
            assert digest is not None
            samples[sub.id[:4]].append(composer.envelope(digest).body)
        size = sum(len(b) for b in samples["mail"]) // 4

        bare_mail = await bare_smtp(smtp_port, samples["mail"], count, concurrency)
        started = time.perf_counter()
        report = await asend_due(deps, Subscriptions(emails), NOW)
        ours_mail = time.perf_counter() - started
        assert report.sent == count, report
        bare_hook = await bare_http(f"http://127.0.0.1:{http_port}/hook/0",
                                    samples["hook"], count, concurrency)
        started = time.perf_counter()
        report = await asend_due(deps, Subscriptions(hooks), NOW)
        ours_hook = time.perf_counter() - started
        assert report.sent == count, report
        store.close()
    finally:
        for proc in (smtp_proc, http_proc):
            proc.communicate("", timeout=10)

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"email   ({count} subscribers, {concurrency} connections, ~{size // 1024} KB each): "
          f"zonewire {count / ours_mail:7.0f} msg/s, bare aiosmtplib {count / bare_mail:7.0f} "
          f"msg/s, ratio {bare_mail / ours_mail:.2f} (target >= 0.5)")
    print(f"webhook ({count} subscribers, {concurrency} connections): "
          f"zonewire {count / ours_hook:7.0f} msg/s, bare httpx {count / bare_hook:7.0f} msg/s, "
          f"ratio {bare_hook / ours_hook:.2f} (target >= 0.5)")
    print(f"peak memory (RSS): {peak:.0f} MB (target < 300 MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    asyncio.run(run(args.subscribers, args.concurrency))


if __name__ == "__main__":
    main()
