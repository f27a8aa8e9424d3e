"""The key that signs unsubscribe links (issue 11.2): never empty, never short, and
written so that a crash cannot leave an empty one behind."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifier.cli import main
from notifier.tokens import MIN_KEY_BYTES, SecretKeyError, Signer, load_secret
from tests.support.workdir import enter_workdir

ROOT = Path(__file__).resolve().parents[2]
SUBS = "subscribers:\n  - id: alice\n    email: alice@example.com\n    regions: [西城区]\n"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    enter_workdir(tmp_path, monkeypatch, "database: sqlite:///var/zonewire.db\n")
    (tmp_path / "config" / "subscriptions.yaml").write_text(SUBS, encoding="utf-8")
    return tmp_path


def test_a_generated_key_is_long_random_private_and_kept(tmp_path: Path):
    var = tmp_path / "var"
    first = load_secret(None, var)
    kept = var / "secret_key"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert kept.read_bytes().strip() == first
    # 32 random bytes, stored as URL-safe text
    assert len(base64.urlsafe_b64decode(first + b"=")) == MIN_KEY_BYTES
    assert load_secret(None, var) == first  # generated once
    assert os.listdir(var) == ["secret_key"]  # no temporary file left
    assert load_secret(None, tmp_path / "other") != first


def test_an_empty_kept_key_is_refused_not_used(tmp_path: Path):
    var = tmp_path / "var"
    var.mkdir()
    (var / "secret_key").write_bytes(b"")  # what a crash after create, before write, left
    with pytest.raises(SecretKeyError) as caught:
        load_secret(None, var)
    message = str(caught.value)
    assert message.startswith(f"{var / 'secret_key'}: empty: a signing key needs at least 32")
    assert f"delete {var / 'secret_key'} and a new key is made" in message
    assert (var / "secret_key").read_bytes() == b""  # refused, not silently replaced


@given(st.text(max_size=MIN_KEY_BYTES - 1) | st.text(" \t\n", max_size=80))
def test_no_short_key_can_sign(key: str):
    """Whatever short (or blank) key is configured, zonewire never signs with it."""
    if len(key.encode("utf-8").strip()) >= MIN_KEY_BYTES:
        return  # a short text of long characters: not short in bytes
    with pytest.raises(SecretKeyError):
        load_secret(key)
    if not key.encode("utf-8").strip():
        with pytest.raises(SecretKeyError):
            Signer(key.encode("utf-8"))


def test_a_forged_token_with_an_empty_key_unsubscribes_nobody(workdir: Path):
    """Before: an empty var/secret_key made Signer(b"") the server's signer, so anyone
    could mint a token. Now every command that signs refuses to start with it."""
    (workdir / "var").mkdir()
    (workdir / "var" / "secret_key").write_text("\n", encoding="ascii")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for command in (["serve", "--port", "0"], ["digest", "send"], ["run", "--once"]):
        done = subprocess.run([sys.executable, "-m", "notifier", *command], cwd=workdir,
                              env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 1, (command, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
        assert done.stderr.startswith("zonewire: var/secret_key: empty"), done.stderr
        assert "delete var/secret_key" in done.stderr


def test_check_refuses_a_short_configured_key_at_its_line(
    workdir: Path, capsys: pytest.CaptureFixture[str]
):
    (workdir / "config" / "zonewire.yaml").write_text(
        'database: sqlite:///var/zonewire.db\nsecret_key: "a"\n', encoding="utf-8")
    assert main(["check"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(
        "config/zonewire.yaml:2:13: 'secret_key': too short (1 bytes): a signing key needs "
        'at least 32 bytes, or anyone can forge unsubscribe links; make one with python -c '
        '"import secrets; print(secrets.token_urlsafe(32))"\n'
    )
    # ... and the same key from the environment, at the line that reads it
    (workdir / "config" / "zonewire.yaml").write_text(
        'secret_key: "${ZW_KEY}"\n', encoding="utf-8")
    os.environ["ZW_KEY"] = ""
    try:
        assert main(["check"]) == 1
    finally:
        del os.environ["ZW_KEY"]
    assert capsys.readouterr().err.startswith("config/zonewire.yaml:1:13: 'secret_key': empty")


def test_check_refuses_an_empty_kept_key(workdir: Path, capsys: pytest.CaptureFixture[str]):
    (workdir / "var").mkdir()
    (workdir / "var" / "secret_key").write_bytes(b"")
    assert main(["check"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("var/secret_key: empty: a signing key needs at least 32 bytes")
    (workdir / "var" / "secret_key").unlink()
    assert main(["check"]) == 0
