"""Progress as a person sees it (SPEC §4, issue 14): ``import``, ``ingest`` and
``feeds build --all`` draw a bar with percent, rate and time left on a terminal, and
print nothing of it into a pipe. The CLI runs in a subprocess whose stderr is a real
pseudo-terminal (``os.openpty``), or a pipe."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from feeds.models import CHINA_TZ
from feeds.sample import SamplePortal, serve_portal
from notifier.commands.sample_portal import sources_snippet

BAR = r"\[[#-]{24}\]\s+\d{1,3}%\s+\S.*?(left|done)"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "ZONEWIRE_CONFIG"}
    return {**env, "PYTHONUNBUFFERED": "1", "TERM": "xterm"}


def on_terminal(cwd: Path, *args: str) -> tuple[int, str, str]:
    """Run ``zonewire ARGS`` with stderr on a pseudo-terminal: (exit code, stdout, what
    the terminal received)."""
    master, slave = os.openpty()
    try:
        child = subprocess.Popen([sys.executable, "-m", "notifier", *args], cwd=cwd,
                                 env=_env(), stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=slave)
    finally:
        os.close(slave)
    received = bytearray()
    try:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed its end of the terminal
                break
            if not chunk:
                break
            received += chunk
    finally:
        os.close(master)
    assert child.stdout is not None
    out = child.stdout.read().decode("utf-8")
    child.stdout.close()
    return child.wait(60), out, received.decode("utf-8", "replace")


def in_pipe(cwd: Path, *args: str) -> tuple[int, str, str]:
    done = subprocess.run([sys.executable, "-m", "notifier", *args], cwd=cwd, env=_env(),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=120)
    return done.returncode, done.stdout, done.stderr


def assert_quiet(err: str) -> None:
    assert "%" not in err and "\r" not in err and "\x1b" not in err, err


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "zonewire.yaml").write_text(
        "secret_key: " + "k" * 40 + "\n", encoding="utf-8")
    return tmp_path


def _jsonl(path: Path, count: int, start: int = 0) -> None:
    day = datetime.now(CHINA_TZ) - timedelta(days=2)
    path.write_text("".join(
        json.dumps({"url": f"https://n.example/{n}.html", "title": f"第{n}条新闻",
                    "published": (day - timedelta(minutes=n)).isoformat(timespec="seconds"),
                    "region": "西城区" if n % 2 else "南湖区",
                    "content": "<p>" + "开发区新闻。" * 20 + "</p>"}, ensure_ascii=False) + "\n"
        for n in range(start, start + count)
    ), encoding="utf-8")


@pytest.mark.slow
def test_import_draws_a_bar_of_bytes_on_a_terminal_and_nothing_in_a_pipe(workdir: Path) -> None:
    _jsonl(workdir / "a.jsonl", 3000)
    code, out, terminal = on_terminal(workdir, "import", "a.jsonl")
    assert code == 0, terminal
    assert "imported a.jsonl: 3000 inserted" in out
    assert re.search(r"importing a\.jsonl: " + BAR, terminal), terminal
    assert re.search(r"100%\s+[\d.,]+ [kMG]?B/s\s+done\s+3000 articles", terminal), terminal
    assert terminal.endswith("\r\x1b[K") or "\r\x1b[K" in terminal  # the line is cleared

    _jsonl(workdir / "b.jsonl", 500, start=3000)
    code, out, err = in_pipe(workdir, "import", "b.jsonl")
    assert code == 0 and "500 inserted" in out
    assert_quiet(err)


@pytest.mark.slow
def test_import_from_a_pipe_of_unknown_length_counts_without_a_bar(workdir: Path) -> None:
    _jsonl(workdir / "a.jsonl", 200)
    master, slave = os.openpty()
    with (workdir / "a.jsonl").open("rb") as source:
        feeder = subprocess.Popen(["cat"], stdin=source, stdout=subprocess.PIPE)
        child = subprocess.Popen([sys.executable, "-m", "notifier", "import", "-"],
                                 cwd=workdir, env=_env(), stdin=feeder.stdout,
                                 stdout=subprocess.DEVNULL, stderr=slave)
    assert feeder.stdout is not None
    feeder.stdout.close()
    os.close(slave)
    received = bytearray()
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        received += chunk
    os.close(master)
    assert child.wait(60) == 0 and feeder.wait(10) == 0
    terminal = received.decode("utf-8", "replace")
    assert "importing stdin: 200 articles, 0 rejected" in terminal, terminal
    assert "%" not in terminal  # no total, so no percent pretending to know one


@pytest.fixture
def portal() -> Iterator[SamplePortal]:
    sample = SamplePortal(seed=5, articles=45)
    with serve_portal(sample):
        yield sample


@pytest.mark.slow
def test_ingest_draws_a_bar_of_detail_pages_and_nothing_in_a_pipe(
    workdir: Path, portal: SamplePortal
) -> None:
    config = (workdir / "config" / "zonewire.yaml")
    config.write_text(
        config.read_text("utf-8")
        + "crawl: {per_host_delay: 10ms, per_host_concurrency: 2, timeout: 5s, retries: 0}\n"
        + sources_snippet(portal.base_url), encoding="utf-8")
    code, out, terminal = on_terminal(workdir, "ingest")
    assert code == 0, terminal
    assert out.startswith("sample: ok, 48 pages fetched, 45 new")
    assert re.search(r"ingest: " + BAR + r"\s+sample: \d+ pages", terminal), terminal

    (workdir / "var" / "zonewire.db").unlink()  # crawl it all again, into a pipe
    code, out, err = in_pipe(workdir, "ingest")
    assert code == 0 and out.startswith("sample: ok, 48 pages fetched, 45 new"), err
    assert_quiet(err)


@pytest.mark.slow
def test_feeds_build_all_draws_a_bar_of_documents_and_nothing_in_a_pipe(workdir: Path) -> None:
    _jsonl(workdir / "a.jsonl", 400)
    assert in_pipe(workdir, "import", "a.jsonl")[0] == 0
    code, out, terminal = on_terminal(workdir, "feeds", "build", "--all")
    assert code == 0, terminal
    assert out.startswith("full build: ")
    found = re.findall(r"building feeds: " + BAR + r"\s+(\d+)/(\d+) documents", terminal)
    assert found, terminal
    *_, (_, done, total) = found
    assert done == total and int(total) >= 5  # all, 北京市, 西城区, 浙江省, 嘉兴市, 南湖区...

    code, out, err = in_pipe(workdir, "feeds", "build", "--all")
    assert code == 0 and out.startswith("full build: ")
    assert_quiet(err)
