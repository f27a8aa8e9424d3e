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
import socket
import subprocess
import sys
from pathlib import Path

import feedparser
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.mark.slow
def test_quickstart_runs_the_main_job_from_a_fresh_clone(tmp_path: Path) -> None:
    if not (_port_free(8400) and _port_free(8080)):
        pytest.skip("ports 8400/8080 are taken (is a quickstart already running?)")
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout")
    clone = tmp_path / "zonewire"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    (clone / ".venv").symlink_to(Path(sys.prefix))
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

    feed = feedparser.parse((clone / "public" / "feeds" / "all.atom").read_bytes())
    assert not feed.bozo and len(feed.entries) >= 50
    assert (clone / "public" / "index.html").exists()
    # The portal published articles after the backfill; news-desk got them at once.
    outbox = list((clone / "var" / "outbox" / "new").iterdir())
    assert outbox, done.stdout + done.stderr
    message = email.message_from_bytes(outbox[0].read_bytes(), policy=email.policy.default)
    assert message["To"].addresses[0].addr_spec == "desk@example.com"
    assert "deliveries: " in done.stdout and "unresolved regions: none" in done.stdout
