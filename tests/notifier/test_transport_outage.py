"""A wrong SMTP password is the transport's fault, not the readers' (SPEC §8): nothing
is marked failed, the log says so once per pass, the pass stops knocking, and after
the operator fixes the password (a config reload) every digest arrives exactly once.
Real aiosmtpd with authentication; the worker with its real config files."""

from __future__ import annotations

import asyncio
import logging
import textwrap
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from feeds.intake import Ingestor
from feeds.models import CHINA_TZ, ArticleRecord
from notifier.app import App
from notifier.config import load_settings
from notifier.delivery_status import status_lines
from notifier.ledger import FAILED, PENDING, SENT, Ledger
from notifier.reload import ConfigHolder
from notifier.worker import Worker
from tests.support.servers import SmtpSink, free_port

SUBSCRIBERS = 30
CONCURRENCY = 2


class AuthSink(SmtpSink):
    """Accepts mail only after a login with zw / right-password; counts the sessions
    that tried to log in (a client may try several mechanisms in one session)."""

    def __init__(self) -> None:
        super().__init__()
        self.sessions: list[Any] = []  # kept alive, so identities stay distinct
        self.login_lock = threading.Lock()

    @property
    def logins(self) -> int:
        with self.login_lock:
            return len(self.sessions)

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                     data: Any) -> AuthResult:
        with self.login_lock:
            if not any(seen is session for seen in self.sessions):
                self.sessions.append(session)
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            b"zw", b"right-password")
        return AuthResult(success=ok, handled=False)


@pytest.fixture
def sink() -> Iterator[AuthSink]:
    server = AuthSink()
    server.port = free_port()
    controller = Controller(server, hostname="127.0.0.1", port=server.port,
                            authenticator=server.authenticate, auth_required=True,
                            auth_require_tls=False)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


def write_config(root: Path, port: int, password: str) -> None:
    (root / "config").mkdir(exist_ok=True)
    (root / "config" / "zonewire.yaml").write_text(textwrap.dedent(f"""\
        database: sqlite:///var/zonewire.db
        notify_max_age: 36500d
        email:
          transport: smtp
          from: "zonewire <news@example.com>"
          smtp: {{host: 127.0.0.1, port: {port}, username: zw, password: {password},
                  timeout: 5s}}
        delivery: {{concurrency: {CONCURRENCY}, retry: {{initial: 1m, max: 1h}}}}
        """), encoding="utf-8")


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def transport_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.levelno >= logging.WARNING and "transport failing" in r.getMessage()]


def test_wrong_password_keeps_digests_due_until_the_config_is_fixed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sink: AuthSink,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.chdir(tmp_path)
    write_config(tmp_path, sink.port, "wrong-password")
    (tmp_path / "config" / "subscriptions.yaml").write_text("subscribers:\n" + "".join(
        f"  - {{id: s{i}, email: s{i}@example.com, schedule: immediate, regions: [西城区]}}\n"
        for i in range(SUBSCRIBERS)), encoding="utf-8")
    start = datetime(2026, 11, 30, 9, 0, tzinfo=CHINA_TZ)
    clock = Clock(start)
    app = App(load_settings(Path("config/zonewire.yaml")), Path("config/zonewire.yaml"))
    try:
        holder = ConfigHolder(app.config_file, lambda: app.gazetteer)
        worker = Worker(app, holder, clock=clock)
        asyncio.run(worker.deliver())  # every subscriber is seen
        Ingestor(app.store, app.gazetteer).add([ArticleRecord(
            url="https://news.example.cn/detail/id/1.html", title="西城区项目签约",
            published=start, region="西城区", content="<p>正文</p>")], now=start)

        # Pass 1: the login is refused. Nothing is failed, one line says why.
        clock.now = start + timedelta(minutes=1)
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            report = asyncio.run(worker.deliver())
        assert (report.sent, report.failed, report.retrying) == (0, 0, 0)
        assert report.held == SUBSCRIBERS
        (line,) = transport_warnings(caplog)
        assert "535" in line and "email.smtp.username and password" in line
        assert f"{SUBSCRIBERS} digests stay due" in line
        assert "wrong-password" not in line
        # The pass stopped knocking once it knew: one login per pooled connection at most.
        assert 1 <= sink.logins <= CONCURRENCY
        ledger = Ledger(app.store.ledger)
        assert ledger.counts() == {PENDING: SUBSCRIBERS}
        lines = status_lines(app)
        assert any(s.startswith("  email transport failing since") and "535" in s
                   for s in lines)
        assert f"  email: 0 sent, {SUBSCRIBERS} pending, 0 retrying, 0 failed" in lines

        # Pass 2, seconds later, same settings: still in backoff, no login at all.
        logins = sink.logins
        clock.now += timedelta(seconds=5)
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            report = asyncio.run(worker.deliver())
        assert sink.logins == logins and report.sent == 0
        assert len(transport_warnings(caplog)) == 1  # once per pass, not per digest

        # The operator fixes the password; the reload applies it, and the next pass
        # (still inside the backoff) tries at once because the settings changed.
        write_config(tmp_path, sink.port, "right-password")
        assert holder.reload()
        clock.now += timedelta(seconds=5)
        report = asyncio.run(worker.deliver())
        assert (report.sent, report.failed, report.held) == (SUBSCRIBERS, 0, 0)
        assert Counter(rcpt for rcpt, _ in sink.messages) == {
            f"s{i}@example.com": 1 for i in range(SUBSCRIBERS)}
        assert ledger.counts() == {SENT: SUBSCRIBERS}
        assert not any("transport failing" in s for s in status_lines(app))

        # And nothing twice later on.
        clock.now += timedelta(hours=2)
        assert asyncio.run(worker.deliver()).sent == 0
        assert len(sink.messages) == SUBSCRIBERS
        assert FAILED not in ledger.counts()
    finally:
        app.close()


def test_a_new_run_with_the_fixed_config_delivers_after_a_refused_login(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sink: AuthSink,
) -> None:
    from notifier.cli import main

    monkeypatch.chdir(tmp_path)
    write_config(tmp_path, sink.port, "wrong-password")
    (tmp_path / "config" / "subscriptions.yaml").write_text(
        "subscribers:\n  - {id: a, email: a@example.com, schedule: immediate, regions: [西城区]}\n",
        encoding="utf-8")
    assert main(["run", "--once"]) == 0  # seen
    (tmp_path / "news.jsonl").write_text(
        '{"url": "https://n.example/1", "title": "西城区新闻", "region": "西城区", '
        f'"published": "{datetime.now(CHINA_TZ).isoformat()}", "content": "x"}}\n',
        encoding="utf-8")
    assert main(["import", "news.jsonl"]) == 0
    assert main(["run", "--once"]) == 1  # the transport problem is an error of the run
    assert sink.messages == []
    write_config(tmp_path, sink.port, "right-password")
    assert main(["run", "--once"]) == 0
    assert [rcpt for rcpt, _ in sink.messages] == ["a@example.com"]
