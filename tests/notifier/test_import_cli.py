"""`zonewire import` and `zonewire status` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from notifier.cli import main
from tests.support.workdir import enter_workdir


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> Path:
    return enter_workdir(tmp_path, monkeypatch, f"database: {database_url}\n")


def article(n: int, **extra: str) -> str:
    data = {
        "url": f"https://www.investchn.com/index.php/home/news/detail/id/{n}.html",
        "title": f"港区第{n}批重点项目集中开工",
        "published": "2021-05-26",
        "zone": "嘉兴港区",
        "region": "嘉兴",
        "source": "嘉兴日报",
        **extra,
    }
    return json.dumps(data, ensure_ascii=False)


def test_import_reports_bad_lines_keeps_good_ones_and_summarises(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "news.jsonl").write_text(
        "\n".join([article(1), "{oops", article(2), article(3, weather="晴")]) + "\n",
        encoding="utf-8",
    )
    assert main(["import", "news.jsonl"]) == 1
    out, err = capsys.readouterr()
    assert "news.jsonl:2: not valid JSON" in err
    assert "news.jsonl:4: unknown key 'weather'" in err
    assert "Traceback" not in err
    assert out.strip() == "imported news.jsonl: 2 inserted, 0 updated, 0 unchanged, 2 rejected"


def test_reimport_updates_changed_and_leaves_identical(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "a.jsonl").write_text(article(1) + "\n" + article(2) + "\n", encoding="utf-8")
    assert main(["import", "a.jsonl"]) == 0
    (workdir / "a.jsonl").write_text(
        article(1) + "\n" + article(2, content="补充了正文") + "\n" + article(3) + "\n",
        encoding="utf-8",
    )
    assert main(["-c", "config/zonewire.yaml", "import", "a.jsonl"]) == 0
    out = capsys.readouterr().out.splitlines()[-1]
    assert out == "imported a.jsonl: 1 inserted, 1 updated, 1 unchanged, 0 rejected"


def test_import_reads_stdin_and_a_non_utf8_line_is_rejected_alone(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io
    import sys

    payload = (
        (article(1) + "\n").encode()
        + '{"title": "坏"}\n'.encode("gbk")
        + (article(2) + "\n").encode()
    )
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(payload)))
    assert main(["import", "-"]) == 1
    out, err = capsys.readouterr()
    assert "stdin:2: not UTF-8" in err
    assert "2 inserted" in out


def test_status_lists_unresolved_names_with_counts(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [article(1), article(2, region="火星区", zone=""), article(3, region="朝阳区", zone="")]
    (workdir / "a.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["import", "a.jsonl", "--backfill"]) == 0
    capsys.readouterr()
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "articles: 3" in out
    assert "火星区: 1" in out
    assert "朝阳区 (ambiguous): 1" in out
    assert "1 province, 1 city, 0 districts, 1 zone" in out


def test_missing_file_and_bad_config_are_one_line_errors(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", "nope.jsonl"]) == 1
    assert capsys.readouterr().err.strip() == "zonewire: nope.jsonl: no such file"
    (workdir / "bad.yaml").write_text("database: [unclosed\n", encoding="utf-8")
    assert main(["status", "-c", "bad.yaml"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("zonewire: bad.yaml:") and "Traceback" not in err


def test_help_lists_every_spec_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in (
        "run",
        "check",
        "ingest",
        "import",
        "extract",
        "feeds",
        "digest",
        "serve",
        "status",
    ):
        assert f"    {command} " in out


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["import"])
    assert exit_info.value.code == 2


def test_an_alias_in_the_config_places_articles_stored_unresolved(
    workdir: Path, capsys: pytest.CaptureFixture[str], database_url: str
) -> None:
    (workdir / "a.jsonl").write_text(
        article(1, region="朝阳区", zone="") + "\n" + article(2, region="朝阳区", zone="") + "\n",
        encoding="utf-8",
    )
    assert main(["import", "a.jsonl"]) == 0
    capsys.readouterr()
    assert main(["status"]) == 0
    assert "朝阳区 (ambiguous): 2" in capsys.readouterr().out

    (workdir / "config" / "zonewire.yaml").write_text(
        f"database: {database_url}\nregion_aliases:\n  朝阳区: 北京市/朝阳区\n", encoding="utf-8"
    )
    (workdir / "b.jsonl").write_text(article(3) + "\n", encoding="utf-8")
    assert main(["import", "b.jsonl"]) == 0
    assert "placed 2 previously unresolved articles" in capsys.readouterr().out
    assert main(["status"]) == 0
    assert "unresolved regions: none" in capsys.readouterr().out
    assert main(["feeds", "build"]) == 0
    chaoyang = (workdir / "public" / "feeds" / "110105.atom").read_text(encoding="utf-8")
    assert chaoyang.count("<entry>") == 2


def test_check_points_at_a_bad_alias(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "config" / "zonewire.yaml").write_text(
        "database: sqlite:///var/zonewire.db\nregion_aliases:\n  金融街: 西城\n",
        encoding="utf-8",
    )
    assert main(["check"]) == 1
    err = capsys.readouterr().err
    assert "config/zonewire.yaml:3:" in err
    assert "'西城' is not a known region — did you mean 西城区 (北京市)?" in err
