"""`zonewire status` on deliveries: counts per channel and the unsubscribed (issue 11:
a choice counts while the subscriber's entry is unchanged)."""

from __future__ import annotations

import textwrap
from datetime import datetime
from pathlib import Path

import pytest

from feeds.models import CHINA_TZ
from notifier.app import App
from notifier.cli import main
from notifier.ledger import Ledger
from notifier.subscriptions import load_subscriptions

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=CHINA_TZ)


def test_status_counts_the_unsubscribed_and_each_channel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "zonewire.yaml").write_text(
        "database: sqlite:///var/zonewire.db\n", encoding="utf-8")
    (tmp_path / "config" / "subscriptions.yaml").write_text(textwrap.dedent("""\
        subscribers:
          - {id: all-out, email: a@example.com, schedule: immediate, regions: [西城区]}
          - {id: some-out, email: b@example.com, schedule: immediate, regions: [西城区, 嘉兴]}
          - {id: edited, email: c@example.com, schedule: immediate, regions: [西城区]}
          - {id: stays, email: d@example.com, schedule: immediate, regions: [西城区]}
        """), encoding="utf-8")
    assert main(["status"]) == 0
    assert "unsubscribed: none" in capsys.readouterr().out

    app = App.from_config("config/zonewire.yaml")
    try:
        subs = {s.id: s for s in load_subscriptions(
            app.settings.subscriptions, app.gazetteer).subscribers}
        ledger = Ledger(app.store.ledger)
        ledger.set_choice("all-out", subs["all-out"].fingerprint, unsubscribed_all=True, now=NOW)
        ledger.set_choice("some-out", subs["some-out"].fingerprint, unsubscribed_all=False,
                          regions=["330400"], now=NOW)
        # A choice made for an entry the operator has since edited no longer applies.
        ledger.set_choice("edited", "an-older-fingerprint", unsubscribed_all=True, now=NOW)
    finally:
        app.close()

    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "unsubscribed: 1 from everything, 1 from some of their regions" in out
    assert "deliveries: 0 sent, 0 pending, 0 retrying, 0 failed" in out
