"""Issue 10 / SPEC §9: the HTTP side of `zonewire run` stays responsive while the
worker crawls and fans out thousands of digests — blocking work stays off the event
loop. Measured from outside, as a monitoring probe would see it: a real `run`
subprocess on SQLite, the sample portal publishing every second, 5,000 immediate
subscribers with a Maildir outbox, and /healthz polled throughout.

Every answer must come within 250 ms (the issue's bound); the median, p99 and max
are printed (``pytest -s``)."""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from feeds.sample import DETAIL_PATTERN, LIST_PATH
from tests.support.servers import free_port, wait_for_http

SUBSCRIBERS = 5_000
#: The issue's bound for every single /healthz answer.
BOUND = 0.250
PROVINCES = "[北京市, 四川省, 安徽省, 山东省, 广东省, 江苏省, 浙江省, 湖北省]"


def _outbox(root: Path) -> int:
    try:
        return sum(1 for _ in os.scandir(root / "var" / "outbox" / "new"))
    except FileNotFoundError:
        return 0


def _start(root: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("ZONEWIRE_CONFIG", None)
    return subprocess.Popen([sys.executable, "-m", "notifier", *args], cwd=root, env=env,
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.slow
def test_healthz_answers_fast_while_run_crawls_and_fans_out(tmp_path: Path) -> None:
    portal_port, port, metrics_port = free_port(), free_port(), free_port()
    portal = _start(tmp_path, "sample-portal", "--port", str(portal_port), "--no-site",
                    "--articles", "150", "--add-every", "1")
    worker = None
    latencies: list[float] = []
    try:
        wait_for_http(f"http://127.0.0.1:{portal_port}/")
        (tmp_path / "config").mkdir()
        (tmp_path / "config" / "zonewire.yaml").write_text(
            "database: sqlite:///var/zonewire.db\n"
            f"serve: {{port: {port}, metrics_port: {metrics_port}}}\n"
            "crawl: {per_host_delay: 0s, per_host_concurrency: 4, timeout: 5s, retries: 1}\n"
            "sources:\n"
            "  - name: sample\n    type: portal\n"
            f"    base_url: http://127.0.0.1:{portal_port}\n"
            f'    list_urls: ["{LIST_PATH.format(n=1)}"]\n'
            f"    detail_pattern: '{DETAIL_PATTERN}'\n"
            "    interval: 5s\n",
            encoding="utf-8",
        )
        (tmp_path / "config" / "subscriptions.yaml").write_text(
            "subscribers:\n" + "".join(
                f"  - {{id: s{i}, email: s{i}@example.com, schedule: immediate, "
                f"regions: {PROVINCES}}}\n"
                for i in range(SUBSCRIBERS)
            ),
            encoding="utf-8",
        )
        worker = _start(tmp_path, "run")
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/healthz", timeout=120)
        started = time.monotonic()
        deadline = started + 240
        with httpx.Client(timeout=10) as client:
            # Until two fan-outs (each to every subscriber) have gone out, and the
            # crawler has polled again since.
            while _outbox(tmp_path) < 2 * SUBSCRIBERS and time.monotonic() < deadline:
                assert worker.poll() is None, "zonewire run stopped"
                began = time.perf_counter()
                answer = client.get(f"{base}/healthz")
                latencies.append(time.perf_counter() - began)
                if latencies[-1] >= BOUND:  # when, to match against the worker's log
                    print(f"{time.strftime('%H:%M:%S')} /healthz took "
                          f"{latencies[-1] * 1000:.0f} ms")
                assert answer.status_code in (200, 503)
                time.sleep(0.02)
        sent = _outbox(tmp_path)
    finally:
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            _, err = worker.communicate(timeout=120)
        portal.send_signal(signal.SIGTERM)
        portal.communicate(timeout=30)
    ordered = sorted(latencies)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    print(
        f"\n/healthz over {time.monotonic() - started:.0f} s while {sent} digests went out: "
        f"{len(ordered)} requests, median {statistics.median(ordered) * 1000:.1f} ms, "
        f"p99 {p99 * 1000:.1f} ms, max {ordered[-1] * 1000:.1f} ms"
    )
    assert sent >= 2 * SUBSCRIBERS, f"only {sent} digests in the outbox\n{err[-3000:]}"
    slow = [round(t * 1000) for t in ordered if t >= BOUND]
    # With PYTHONASYNCIODEBUG=1 in the environment, asyncio logs each callback that
    # held the loop over 100 ms: the failure then names them (and the worker's log
    # says what ran at the time of each slow answer printed above).
    hints = "\n".join(line[:300] for line in err.splitlines() if " took " in line
                      or " INFO " in line)
    assert not slow, f"{len(slow)} answers over {BOUND * 1000:.0f} ms: {slow[-10:]} ms\n{hints}"
