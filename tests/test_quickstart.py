"""The README's first quickstart command, run from a fresh clone as a new user would.

(The second, `bash scripts/test.sh`, is what CI runs from a fresh clone.) The clone
borrows this suite's virtualenv, so what is tested is the script, the example
configuration and the main job, not pip.
"""

from __future__ import annotations

import email
import email.policy
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import feedparser
import pytest

from tests.support.servers import wait_for_http

ROOT = Path(__file__).resolve().parents[1]


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _fresh_clone(tmp_path: Path) -> Path:
    if not (_port_free(8400) and _port_free(8401) and _port_free(8080)):
        pytest.skip("ports 8400/8401/8080 are taken (is a quickstart already running?)")
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout")
    clone = tmp_path / "zonewire"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    (clone / ".venv").symlink_to(Path(sys.prefix))
    return clone


def _in_session(sid: int) -> list[str]:
    """Command lines of the processes still alive in session ``sid``."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == sid and fields[0] != "Z":  # fields[3]: the session id
            alive.append(cmdline)
    return alive


def test_the_example_subscriber_follows_everything_the_sample_publishes() -> None:
    """The README: every article published after the backfill is emailed to news-desk."""
    from feeds.regions import Gazetteer
    from feeds.sample.content import PLACES
    from notifier.subscriptions import load_subscriptions

    gazetteer = Gazetteer.default()
    subs = load_subscriptions(ROOT / "config" / "subscriptions.yaml", gazetteer, {})
    assert subs.warnings == ()  # a first start prints no warning about the examples
    desk = subs.by_id("news-desk")
    assert desk is not None and desk.schedule.text == "immediate"
    assert not desk.keywords.include and not desk.keywords.exclude and not desk.categories
    published = {gazetteer.resolve(province).key for _, _, province, _ in PLACES}  # type: ignore[union-attr]
    assert published <= set(desk.regions)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["SIGTERM to the script", "Ctrl-C"])
def test_stopping_the_quickstart_leaves_no_process_behind(tmp_path: Path, how: str) -> None:
    clone = _fresh_clone(tmp_path)
    env = {**os.environ, "ZONEWIRE_SETUP": "skip"}
    env.pop("ZONEWIRE_CONFIG", None)
    env.pop("ZONEWIRE_QUICKSTART_SECONDS", None)
    script = subprocess.Popen(
        ["bash", "scripts/quickstart.sh"], cwd=clone, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    try:
        try:
            wait_for_http("http://127.0.0.1:8080/healthz", timeout=60)
        except AssertionError:
            os.killpg(script.pid, signal.SIGKILL)
            raise AssertionError(script.communicate()[0]) from None
        assert len(_in_session(script.pid)) >= 3  # the script, the portal, the worker
        if how == "Ctrl-C":  # the terminal sends SIGINT to the whole foreground group
            os.killpg(script.pid, signal.SIGINT)
        else:
            script.send_signal(signal.SIGTERM)
        output, _ = script.communicate(timeout=90)
    finally:
        if script.poll() is None:
            os.killpg(script.pid, signal.SIGKILL)
            script.wait()
    assert script.returncode == (130 if how == "Ctrl-C" else 143), output
    assert "Traceback" not in output
    assert _in_session(script.pid) == []
    assert _port_free(8400) and _port_free(8401) and _port_free(8080)


@pytest.mark.slow
def test_quickstart_runs_the_main_job_from_a_fresh_clone(tmp_path: Path) -> None:
    clone = _fresh_clone(tmp_path)
    # 75 s: the portal publishes every 15 s and the example polls it every 20 s, so two
    # or three polls find new articles even if the first (backfill) poll runs slow.
    env = {**os.environ, "ZONEWIRE_SETUP": "skip", "ZONEWIRE_QUICKSTART_SECONDS": "75"}
    env.pop("ZONEWIRE_CONFIG", None)
    done = subprocess.run(
        ["bash", "scripts/quickstart.sh"], cwd=clone, env=env, capture_output=True, text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "serving feeds at http://127.0.0.1:8080/" in done.stdout
    assert "Traceback" not in done.stderr
    assert "warning" not in done.stderr.lower(), done.stderr  # clean examples, clean start

    feed = feedparser.parse((clone / "public" / "feeds" / "all.atom").read_bytes())
    assert not feed.bozo and len(feed.entries) >= 50
    # Both sample sources were crawled: the zone website's articles are in the feeds.
    assert any(e.link.startswith("http://127.0.0.1:8401/zwgk/") for e in feed.entries)
    assert "sample-site (site): last poll" in done.stdout, done.stdout
    assert (clone / "public" / "index.html").exists()
    # The portal published articles after the backfill; news-desk got them at once.
    outbox = list((clone / "var" / "outbox" / "new").iterdir())
    assert outbox, done.stdout + done.stderr
    message = email.message_from_bytes(outbox[0].read_bytes(), policy=email.policy.default)
    assert message["To"].addresses[0].addr_spec == "desk@example.com"
    assert "deliveries: " in done.stdout and "unresolved regions: none" in done.stdout
