"""`zonewire check` as a user runs it: exit codes, the summary, every problem."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from feeds.models import CHINA_TZ, Region, RegionLevel
from feeds.storage import Storage
from notifier.cli import main
from tests.support.workdir import enter_workdir

ROOT = Path(__file__).resolve().parents[2]

GOOD = """\
subscribers:
  - id: alice
    email: alice@example.com
    regions: [西城区, 嘉兴港区]
  - id: desk
    webhook: {url: "https://example.org/hook", format: json}
    regions: [浙江省, 嘉兴]
    schedule: immediate
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory laid out like an install: config/ under the working directory."""
    return enter_workdir(tmp_path, monkeypatch, "database: sqlite:///var/zonewire.db\n")


def test_valid_files_exit_0_with_a_summary(workdir: Path, capsys: pytest.CaptureFixture[str]):
    (workdir / "config" / "subscriptions.yaml").write_text(GOOD, encoding="utf-8")
    assert main(["check"]) == 0
    out, err = capsys.readouterr()
    assert out == ("config/subscriptions.yaml: ok — 2 subscribers, 1 email / 1 webhook "
                   "channels, 4 regions followed\n")
    # the new zone is accepted with a warning, on stderr, at its position
    assert err == (
        "config/subscriptions.yaml:4:20: warning: region '嘉兴港区' is not known yet; "
        "following it as a zone (key zone-jiaxinggangqu) that matches once articles name it\n"
    )
    # a check creates no database
    assert not (workdir / "var").exists()


def test_problems_exit_1_one_per_line(workdir: Path, capsys: pytest.CaptureFixture[str]):
    (workdir / "config" / "subscriptions.yaml").write_text(
        GOOD.replace("[西城区, 嘉兴港区]", "[西城, 嘉兴港区]")
        .replace("format: json", "format: jsn")
        + "  - id: alice\n    email: a@@example.com\n    regions: [朝阳区]\n",
        encoding="utf-8",
    )
    assert main(["check"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "config/subscriptions.yaml:4:15: unknown region '西城' — did you mean 西城区 (北京市)?",
        "config/subscriptions.yaml:6:56: unknown webhook format 'jsn' — did you mean json? "
        "write one of dingtalk, feishu, json, slack, wecom, or add the template "
        "templates_dir/webhook/<format>.json.j2",
        "config/subscriptions.yaml:9:9: duplicate subscriber id 'alice' (first used at line 2);"
        " ids must be unique",
        "config/subscriptions.yaml:10:12: bad email address 'a@@example.com': The part after the"
        " @-sign contains invalid characters: '@'.",
        "config/subscriptions.yaml:11:15: ambiguous region '朝阳区' — it could be 北京市/朝阳区 "
        "(110105) or 吉林省/长春市/朝阳区 (220104); write the path (e.g. 北京市/朝阳区) or the "
        "adcode",
        "zonewire: 5 problems found",
    ]


def test_problems_in_zonewire_yaml(workdir: Path, capsys: pytest.CaptureFixture[str]):
    config = workdir / "config" / "zonewire.yaml"
    config.write_text("database: sqlite:///var/zonewire.db\nserve: {prot: 8080}\n"
                      "feeds: {entries: many}\n", encoding="utf-8")
    assert main(["check", "-c", str(config)]) == 1
    err = capsys.readouterr().err.splitlines()
    # (the list of valid keys grows with new settings; its start is what matters here)
    assert err[0].startswith(f"{config}:2:9: unknown key 'prot' — did you mean port? (valid ")
    err[0] = "-"
    assert err == [
        "-",
        f"{config}:3:18: 'entries': input should be a valid integer, unable to parse string "
        "as an integer",
        "zonewire: 2 problems found",
    ]


def test_missing_subscriptions_file_named_in_config(
    workdir: Path, capsys: pytest.CaptureFixture[str]
):
    (workdir / "config" / "zonewire.yaml").write_text(
        "subscriptions: config/subs.yaml\n", encoding="utf-8")
    assert main(["check"]) == 1
    assert "config/subs.yaml: no such file" in capsys.readouterr().err


def test_learned_zones_come_from_the_store(workdir: Path, capsys: pytest.CaptureFixture[str]):
    store = Storage.open(f"sqlite:///{workdir / 'var' / 'zonewire.db'}")
    try:
        zone = Region("zone-jiaxinggangqu", "嘉兴港区", RegionLevel.ZONE, "330400",
                      "jiaxinggangqu")
        store.save_zones([zone], now=datetime(2026, 11, 30, tzinfo=CHINA_TZ))
    finally:
        store.close()
    (workdir / "config" / "subscriptions.yaml").write_text(GOOD, encoding="utf-8")
    assert main(["check"]) == 0
    out, err = capsys.readouterr()
    assert "2 subscribers" in out
    assert err == ""  # 嘉兴港区 is known now: no warning


def test_the_repository_examples_pass(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]):
    monkeypatch.chdir(ROOT)
    # keep the example's relative paths, but never touch a database in the repository
    config = tmp_path / "zonewire.yaml"
    text = (ROOT / "config" / "zonewire.yaml").read_text(encoding="utf-8")
    config.write_text(text.replace("sqlite:///var/zonewire.db",
                                   f"sqlite:///{tmp_path / 'none.db'}"), encoding="utf-8")
    assert main(["-c", str(config), "check"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("config/subscriptions.yaml: ok — ")
    assert " subscribers, " in out and " regions followed" in out


def test_quiet(workdir: Path, capsys: pytest.CaptureFixture[str]):
    (workdir / "config" / "subscriptions.yaml").write_text(
        GOOD.replace("嘉兴港区", "湖州"), encoding="utf-8")
    assert main(["check", "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")


def test_status_shows_subscriptions(workdir: Path, capsys: pytest.CaptureFixture[str]):
    subs = workdir / "config" / "subscriptions.yaml"
    subs.write_text(GOOD, encoding="utf-8")
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert ("subscriptions: 2 subscribers, 1 email / 1 webhook channels, 4 regions followed "
            "(config/subscriptions.yaml)") in out
    subs.write_text(GOOD.replace("西城区", "西城"), encoding="utf-8")
    main(["status"])
    out = capsys.readouterr().out
    assert "subscriptions: config/subscriptions.yaml has 1 problem (run zonewire check)" in out


def test_source_region_hints_are_checked(workdir: Path, capsys: pytest.CaptureFixture[str]):
    (workdir / "config" / "subscriptions.yaml").write_text(
        GOOD.replace("嘉兴港区", "湖州"), encoding="utf-8")
    config = workdir / "config" / "zonewire.yaml"
    config.write_text(
        "sources:\n"
        "  - {name: ok, type: feed, url: 'https://example.org/a.xml', region: 嘉兴}\n"
        "  - name: typo\n"
        "    type: feed\n"
        "    url: https://example.org/b.xml\n"
        "    region: 西城\n",
        encoding="utf-8",
    )
    assert main(["check"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "config/zonewire.yaml:6:13: unknown region '西城' — did you mean 西城区 (北京市)?",
        "zonewire: 1 problem found",
    ]


def test_problems_in_both_files_are_reported_in_one_run(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "config" / "zonewire.yaml").write_text(
        "database: sqlite:///var/zonewire.db\nnotify_max_age: a week\n", encoding="utf-8"
    )
    (workdir / "config" / "subscriptions.yaml").write_text(
        GOOD.replace("西城区", "西城"), encoding="utf-8"
    )
    assert main(["check"]) == 1
    err = capsys.readouterr().err
    assert "config/zonewire.yaml:2:17:" in err
    assert "config/subscriptions.yaml:4:15: unknown region '西城'" in err
    assert err.strip().endswith("zonewire: 2 problems found")
