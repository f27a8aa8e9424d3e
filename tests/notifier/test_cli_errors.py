"""SPEC §4 (issue 10.8): the machine's failures are one line naming the path, a closed
pipe ends a command quietly, and messages name the config file actually used."""

from __future__ import annotations

import errno
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from notifier.cli import main
from notifier.errors import os_error_message
from tests.support.workdir import enter_workdir

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
ARTICLE = ('{"url": "https://p.example.org/1.html", "title": "金融街论坛开幕", '
           '"published": "2025-06-01", "region": "西城区"}\n')


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    enter_workdir(tmp_path, monkeypatch)
    (tmp_path / "config" / "subscriptions.yaml").write_text("subscribers: []\n", "utf-8")
    (tmp_path / "a.jsonl").write_text(ARTICLE, encoding="utf-8")
    return tmp_path


def zonewire(cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "notifier", *argv], cwd=cwd, env=ENV,
                          capture_output=True, text=True, timeout=120)


def test_output_dir_under_a_file_is_one_line_naming_the_path(workdir: Path):
    (workdir / "notes").write_text("a file, not a folder\n", encoding="utf-8")
    (workdir / "config" / "zonewire.yaml").write_text(
        "feeds: {output_dir: notes/public}\n", encoding="utf-8")
    assert zonewire(workdir, "import", "a.jsonl").returncode == 0
    expected = (
        "notes/public/feeds: Not a directory (a part of this path is a file; check the path "
        "in the config)"
    )
    build = zonewire(workdir, "feeds", "build")
    assert build.returncode == 1
    assert build.stderr.splitlines() == [f"zonewire: {expected}"]
    # the worker reports the same in one line per stage, and carries on with the others
    run = zonewire(workdir, "run", "--once")
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert f"feed build failed: {expected}" in run.stderr
    assert f"error: feeds: {expected}" in run.stdout + run.stderr


@pytest.mark.parametrize("code, path, expected", [
    (errno.ENOSPC, "var/zonewire.db-wal",
     "var/zonewire.db-wal: No space left on device (free some space on that disk)"),
    (errno.EACCES, "public/index.html",
     "public/index.html: Permission denied (check the owner and mode of the path, or run as "
     "its owner)"),
    (errno.ENOSPC, None, "No space left on device (free some space on that disk)"),
])
def test_os_error_messages(code: int, path: str | None, expected: str):
    assert os_error_message(OSError(code, os.strerror(code), path)) == expected


def test_a_full_disk_is_one_line(workdir: Path):
    """/dev/full answers every write with ENOSPC, as a full disk does."""
    if not Path("/dev/full").exists():
        pytest.skip("needs /dev/full")
    assert zonewire(workdir, "import", "a.jsonl").returncode == 0
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "notifier", "status"], cwd=workdir,
                              env=ENV, stdout=full, stderr=subprocess.PIPE, text=True,
                              timeout=60)
    assert done.returncode == 1
    # (named "standard output" when the final flush fails; a write that fails inside
    # the command has no path to name)
    assert re.fullmatch(
        r"zonewire: (standard output: )?No space left on device \(free some space on that "
        r"disk\)\n", done.stderr), done.stderr


def test_a_closed_pipe_ends_status_quietly(workdir: Path):
    assert zonewire(workdir, "import", "a.jsonl").returncode == 0
    # The reader has gone before status writes a byte: every write meets EPIPE.
    proc = subprocess.Popen([sys.executable, "-m", "notifier", "status"], cwd=workdir,
                            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert err == b""
    assert proc.returncode == 1
    # ... and as a user types it
    piped = subprocess.run(
        ["bash", "-c", f"{sys.executable} -m notifier status | head -1; "
         "echo status=${PIPESTATUS[0]} >&2"],
        cwd=workdir, env=ENV, capture_output=True, text=True, timeout=60,
    )
    assert piped.stdout.startswith("articles: 1 ")
    assert piped.stdout.count("\n") == 1
    assert "Traceback" not in piped.stderr and "Exception ignored" not in piped.stderr


def test_database_messages_name_the_config_file_given_with_c(
    workdir: Path, capsys: pytest.CaptureFixture[str]
):
    (workdir / "db-is-a-folder").mkdir()
    other = workdir / "elsewhere.yaml"
    other.write_text("database: sqlite:///db-is-a-folder\n", encoding="utf-8")
    assert main(["-c", str(other), "status"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("zonewire: database sqlite:///db-is-a-folder: cannot migrate: ")
    assert err.endswith(f"Check the 'database' setting in {other}.\n")
    assert "config/zonewire.yaml" not in err
    other.write_text("database: 'postgresql://x@[::1'\n", encoding="utf-8")
    assert main(["-c", str(other), "import", "a.jsonl"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("zonewire: database: cannot read the URL")
    assert err.endswith(f"check the 'database' setting in {other}\n")
