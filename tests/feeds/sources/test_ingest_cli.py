"""`zonewire ingest` and the sources section of `zonewire status`, as a user runs them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from feeds.sample import DETAIL_PATTERN, LIST_PATH, SamplePortal, serve_portal
from notifier.cli import main
from tests.support.workdir import enter_workdir


@pytest.fixture
def sample() -> Iterator[SamplePortal]:
    portal = SamplePortal(seed=5, articles=25)
    with serve_portal(portal):
        yield portal


@pytest.fixture
def workdir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str, sample: SamplePortal
) -> Path:
    return enter_workdir(tmp_path, monkeypatch, f"""database: {database_url}
crawl: {{per_host_delay: 0s, per_host_concurrency: 4, timeout: 2s, retries: 0, backoff: 0s}}
sources:
  - name: sample
    type: portal
    base_url: {sample.base_url}
    list_urls: ["{LIST_PATH.format(n=1)}"]
    detail_pattern: '{DETAIL_PATTERN}'
  - name: other
    type: feed
    url: {sample.base_url}/no-such-feed.xml
    region: 嘉兴
""")


def test_ingest_one_source_prints_a_summary_then_status_shows_it(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ingest", "--source", "sample"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        "sample: ok, 27 pages fetched, 25 new, 0 updated, 0 failed "
        "(first poll: stored as backfill, nobody is notified)"
    ]
    assert main(["status"]) == 0
    out, _ = capsys.readouterr()
    assert "articles: 25" in out
    lines = out.splitlines()
    row = next(line for line in lines if line.startswith("  sample (portal): last poll "))
    assert row.endswith("ok, 27 pages, 25 articles, 0 errors in 1 polls")
    assert "  other (feed): never polled" in lines


def test_ingest_with_a_failing_source_keeps_the_rest_and_exits_1(
    workdir: Path, sample: SamplePortal, capsys: pytest.CaptureFixture[str]
) -> None:
    sample.fail(sample.pages()[0].path, status=404)
    assert main(["ingest"]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines()[0].startswith("sample: partial, 26 pages fetched, 24 new, 0 updated, "
                                          "1 failed")
    assert out.splitlines()[1] == "other: failed, 0 pages fetched, 0 new, 0 updated, 1 failed"
    assert "HTTP 404" in err and "no-such-feed.xml: HTTP 404" in err
    assert main(["status"]) == 0
    out, _ = capsys.readouterr()
    assert "  other (feed): last poll" in out and "failed" in out
    assert "    problem: last 1 poll failed (never succeeded)" in out


def test_unknown_source_name_lists_the_configured_ones(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ingest", "--source", "nope"]) == 1
    _, err = capsys.readouterr()
    assert err.strip() == "zonewire: unknown source nope; configured sources: sample, other"
