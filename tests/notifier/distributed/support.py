"""A distributed setup in a temporary folder: config, subscribers, articles, workers."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from feeds.intake import Ingestor
from feeds.models import ArticleRecord
from notifier.app import App
from notifier.distributed.app import make_app, transaction_deferrer
from notifier.distributed.planning import plan_and_defer
from notifier.reload import ConfigHolder
from tests.support.servers import SmtpSink

ROOT = Path(__file__).resolve().parents[3]


def write_config(root: Path, database: str, smtp_port: int, subscribers: int,
                 batch: int = 100) -> Path:
    config = root / "config"
    config.mkdir(exist_ok=True)
    path = config / "zonewire.yaml"
    path.write_text(textwrap.dedent(f"""\
        mode: distributed
        database: {database}
        subscriptions: {config / 'subscriptions.yaml'}
        public_url: http://feeds.example.test/
        secret_key: "{'k' * 43}"
        feeds: {{output_dir: {root / 'public'}}}
        email:
          transport: smtp
          from: "zonewire <news@example.com>"
          smtp: {{host: 127.0.0.1, port: {smtp_port}}}
        delivery: {{batch: {batch}, concurrency: 4}}
        distributed: {{lead_timeout: 3s, worker_concurrency: 2}}
        """), encoding="utf-8")
    lines = ["subscribers:"]
    for i in range(subscribers):
        lines += [f"  - id: s{i:05d}", f"    email: s{i:05d}@example.com",
                  "    schedule: immediate", "    regions: [西城区]"]
    (config / "subscriptions.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def planned_setup(config: Path) -> tuple[App, int]:
    """Subscribers known, three new articles, one planning pass: the delivery jobs
    wait in the queue. Returns the app and the number of jobs deferred."""
    app = App.from_config(str(config))
    holder = ConfigHolder(app.config_file, lambda: app.gazetteer, settings=None)
    queue = make_app(app.store.url)
    deferrer = transaction_deferrer(queue)
    now = datetime.now(UTC)
    plan_and_defer(app, holder, deferrer, now - timedelta(minutes=1))  # they start here
    Ingestor(app.store, app.gazetteer).add([ArticleRecord(
        url=f"https://n.example/{n}", title=f"西城区新闻{n}", region="西城区",
        published=now - timedelta(hours=n), content="正文") for n in range(1, 4)], now=now)
    _, jobs = plan_and_defer(app, holder, deferrer, now)
    return app, jobs


def start(config: Path, *command: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    logs = config.parent.parent / "logs"
    logs.mkdir(exist_ok=True)
    with (logs / f"{command[0]}-{time.monotonic_ns()}.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "notifier", "-c", str(config), *command],
            cwd=config.parent.parent, env=env, stdout=log, stderr=subprocess.STDOUT,
        )


def wait_until(check: Callable[[], bool], timeout: float, step: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return check()


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class SlowSink(SmtpSink):
    """A moment per message (``delay``), so a batch is still going when a worker
    is killed."""

    delay = 0.0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)
