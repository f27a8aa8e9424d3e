"""``type: site`` sources as a user meets them: `zonewire check` on their configuration,
`zonewire ingest` and `status` with both bundled sample sources (portal and zone site)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from feeds.sample import REPOST_PREFIX, SamplePortal
from feeds.storage import Storage
from notifier.cli import main
from notifier.commands.sample_portal import sources_snippet
from tests.feeds.sources.conftest import serving_portal_and_site
from tests.support.workdir import enter_workdir

SITE = """\
  - name: zone-site
    type: site
    base_url: http://127.0.0.1:8401
    list_urls: ["/zwgk/yqdt/index.html"]
    detail_pattern: '/zwgk/yqdt/\\d{6}/t\\d{8}_\\d+\\.html'
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return enter_workdir(tmp_path, monkeypatch)


def check(workdir: Path, sources: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    (workdir / "config" / "zonewire.yaml").write_text(
        "database: sqlite:///var/zonewire.db\nsources:\n" + sources, encoding="utf-8"
    )
    code = main(["check"])
    return code, capsys.readouterr().err


def test_check_reports_a_site_source_without_zone_or_region(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = check(workdir, SITE, capsys)
    assert code == 1
    assert err.splitlines() == [
        "config/zonewire.yaml:3:5: site source 'zone-site' needs the place its articles "
        "belong to: add zone: (e.g. zone: 嘉兴市/乍浦湾临港开发区) or region: "
        "(e.g. region: 嘉兴市)",
        "zonewire: 1 problem found",
    ]


def test_check_reports_a_site_source_with_both(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = check(workdir, SITE + "    zone: 乍浦湾临港开发区\n    region: 嘉兴市\n", capsys)
    assert code == 1
    assert err.startswith("config/zonewire.yaml:3:5: site source 'zone-site': give zone: or "
                          "region:, not both")


def test_check_reports_an_unknown_region_of_a_site_source_at_its_place(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = check(workdir, SITE + "    region: 嘉兴县城\n", capsys)
    assert code == 1
    first = err.splitlines()[0]
    assert first.startswith("config/zonewire.yaml:8:13: ") and "嘉兴县城" in first
    code, err = check(workdir, SITE + "    zone: 不存在省/乍浦湾临港开发区\n", capsys)
    assert code == 1
    assert err.splitlines()[0].startswith("config/zonewire.yaml:8:11: ")


def test_check_accepts_a_site_source_with_a_zone_under_its_division(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = check(workdir, SITE + "    zone: 嘉兴市/乍浦湾临港开发区\n", capsys)
    assert code == 0
    assert err == "config/subscriptions.yaml: no such file; nobody is subscribed yet\n"


@pytest.fixture
def sample() -> Iterator[SamplePortal]:
    with serving_portal_and_site(seed=5, articles=45) as portal:
        yield portal


def test_ingest_with_both_sample_sources_then_status(
    workdir: Path, sample: SamplePortal, database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert sample.site is not None
    (workdir / "config" / "zonewire.yaml").write_text(
        f"database: {database_url}\n"
        "crawl: {per_host_delay: 0s, per_host_concurrency: 4, timeout: 2s, retries: 0}\n"
        + sources_snippet(sample.base_url, site_url=sample.site.base_url),
        encoding="utf-8",
    )
    assert main(["ingest", "--source", "sample-site"]) == 0
    out, _ = capsys.readouterr()
    assert out.splitlines() == [
        "sample-site: ok, 16 pages fetched, 15 new, 0 updated, 0 failed "
        "(first poll: stored as backfill, nobody is notified)"
    ]
    assert main(["ingest"]) == 0
    out, _ = capsys.readouterr()
    assert out.splitlines() == [
        "sample: ok, 48 pages fetched, 45 new, 0 updated, 0 failed "
        "(first poll: stored as backfill, nobody is notified)",
        "sample-site: unchanged, 0 pages fetched, 0 new, 0 updated, 0 failed",
    ]
    assert main(["status"]) == 0
    out, _ = capsys.readouterr()
    assert "articles: 60" in out and "unresolved regions: none" in out
    lines = out.splitlines()
    assert any(line.startswith("  sample (portal): last poll ") for line in lines)
    row = next(line for line in lines if line.startswith("  sample-site (site): last poll "))
    assert "unchanged, 0 pages, 0 articles, 0 errors in 2 polls" in row

    store = Storage.open(database_url)
    try:
        site_rows = [a for a in store.iter_articles() if a.source_name == "sample-site"]
        reposts = [a for a in store.iter_articles() if a.title.startswith(REPOST_PREFIX)]
    finally:
        store.close()
    assert {a.url for a in site_rows} == {r.url for r in sample.site.records()}
    # the portal's reposts and the site's originals are both stored (folding is later work)
    originals = {a.title for a in site_rows}
    assert reposts and all(a.title.removeprefix(REPOST_PREFIX) in originals for a in reposts)
    assert all(a.zone == "乍浦湾临港开发区" for a in site_rows + reposts)
