"""Hostile YAML (issue 10.6): nested aliases, huge files and deep nesting are refused
quickly, with bounded memory and a file:line:col message, by `check` and by a reload."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.regions import Gazetteer
from notifier import yamlpos
from notifier.reload import ConfigHolder

ROOT = Path(__file__).resolve().parents[2]


def laughs(levels: int = 9, fan: int = 9, key: str = "lol") -> str:
    """The "billion laughs" document: each anchor lists ``fan`` aliases of the one before."""
    lines = [f"{key}0: &a0 [" + ", ".join(['"lol"'] * fan) + "]"]
    for i in range(1, levels):
        lines.append(f"{key}{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * fan) + "]")
    return "\n".join(lines) + "\n"


# Runs one command in a fresh interpreter and reports its own time and peak RSS growth.
_MEASURE = """
import json, resource, sys, time
from notifier.cli import main
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
code = main(sys.argv[1:])
elapsed = time.perf_counter() - start
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"code": code, "seconds": elapsed, "rss_kb": after - before}))
"""


def measure(cwd: Path, *argv: str) -> tuple[dict[str, float], str]:
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, *argv], cwd=cwd, capture_output=True, text=True,
        timeout=120, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return figures, done.stderr


@pytest.mark.parametrize("which", ["zonewire.yaml", "subscriptions.yaml"])
def test_billion_laughs_is_refused_by_check_fast_and_small(tmp_path: Path, which: str):
    config = tmp_path / "zonewire.yaml"
    subs = tmp_path / "subscriptions.yaml"
    if which == "zonewire.yaml":
        config.write_text(laughs(), encoding="utf-8")
    else:
        config.write_text("subscriptions: subscriptions.yaml\n", encoding="utf-8")
        subs.write_text("subscribers: []\n" + laughs(), encoding="utf-8")
    figures, err = measure(tmp_path, "-c", "zonewire.yaml", "check")
    print(f"\n{which}: check refused billion laughs in {figures['seconds']:.3f} s, "
          f"peak RSS +{figures['rss_kb'] / 1024:.1f} MB")
    assert figures["code"] == 1
    assert "Traceback" not in err
    line = 5 if which == "zonewire.yaml" else 6  # the first list that passes the bound
    assert f"{which}:{line}:" in err
    assert "aliases expand to more than" in err and "write the values out" in err
    # The bound: under a second (it took over a minute and 7 GB before).
    assert figures["seconds"] < 1.0
    assert figures["rss_kb"] < 64 * 1024


def test_billion_laughs_edit_is_refused_by_a_reload(
    tmp_path: Path, gazetteer: Gazetteer, caplog: pytest.LogCaptureFixture
):
    subs = tmp_path / "subscriptions.yaml"
    subs.write_text(
        "subscribers:\n  - {id: alice, email: alice@example.com, regions: [嘉兴]}\n",
        encoding="utf-8",
    )
    config = tmp_path / "zonewire.yaml"
    config.write_text(f"subscriptions: {subs}\n", encoding="utf-8")
    holder = ConfigHolder(config, gazetteer, {})
    subs.write_text(subs.read_text(encoding="utf-8") + laughs(levels=12), encoding="utf-8")
    tracemalloc.start()
    start = time.perf_counter()
    with caplog.at_level(logging.ERROR, logger="notifier.reload"):
        assert holder.reload() is False
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"\nreload refused billion laughs in {elapsed:.3f} s, peak {peak / 2**20:.1f} MB")
    assert [s.id for s in holder.subscriptions.subscribers] == ["alice"]  # still in force
    assert len(holder.last_problems) == 1
    assert holder.last_problems[0].startswith(f"{subs}:7:")
    assert "aliases expand" in caplog.text
    assert elapsed < 1.0
    assert peak < 64 * 2**20


def test_ordinary_aliases_and_merges_still_work(tmp_path: Path):
    """Anchors used the way people use them: shared lists and ``<<:`` defaults."""
    subs = ["subscribers:"]
    subs.append("  - &base {id: s0, email: s0@example.com, regions: &zj [浙江省, 嘉兴, 湖州]}")
    for i in range(1, 3000):
        subs.append(f"  - {{<<: *base, id: s{i}, email: s{i}@example.com, regions: *zj}}")
    doc = yamlpos.parse("\n".join(subs) + "\n", "s.yaml")
    assert not doc.problems
    assert len(doc.data["subscribers"]) == 3000
    assert doc.data["subscribers"][2999] == {
        "id": "s2999", "email": "s2999@example.com", "regions": ["浙江省", "嘉兴", "湖州"],
    }


def test_a_file_over_10_mb_is_refused_before_parsing(tmp_path: Path):
    big = tmp_path / "big.yaml"
    with big.open("w", encoding="utf-8") as out:
        out.write("subscribers: []\n")
        out.write("# padding\n" * (11 * 1024 * 1024 // 10))
    with pytest.raises(yamlpos.YamlSyntaxError) as caught:
        yamlpos.load(big)
    assert str(caught.value).startswith(f"{big}:1:1: larger than 10 MB")


def test_deep_nesting_is_a_problem_not_a_crash():
    doc = yamlpos.parse("a: " + "[" * 500 + "]" * 500 + "\n", "d.yaml")
    assert doc.problems == ["d.yaml:1:104: nested more than 100 levels deep; flatten it"]


@st.composite
def alias_documents(draw: st.DrawFn) -> str:
    """Chains of anchors, each referring to earlier ones any number of times."""
    count = draw(st.integers(1, 8))
    lines = []
    for i in range(count):
        refs = draw(st.lists(st.integers(0, max(i - 1, 0)), max_size=12)) if i else []
        items = [f"*a{r}" for r in refs] + ['"x"'] * draw(st.integers(0, 3))
        style = draw(st.sampled_from(["flow", "merge"]))
        if style == "merge" and refs:
            lines.append(f"k{i}: &a{i} {{<<: *a{refs[0]}, v{i}: [{', '.join(items)}]}}")
        else:
            lines.append(f"k{i}: &a{i} {{v{i}: [{', '.join(items)}]}}")
    return "\n".join(lines) + "\n"


def _size(data: object) -> int:
    if isinstance(data, dict):
        return 1 + sum(_size(v) for v in data.values())
    if isinstance(data, list):
        return 1 + sum(_size(v) for v in data)
    return 1


@settings(max_examples=150, deadline=None)
@given(alias_documents())
def test_any_alias_structure_is_built_within_the_bound_or_refused(text: str):
    try:
        doc = yamlpos.parse(text, "h.yaml")
    except yamlpos.YamlSyntaxError as exc:
        assert str(exc).startswith("h.yaml:")
        assert "aliases expand to more than" in str(exc)
        return
    # Every node the file writes takes at least one character of it.
    assert _size(doc.data) <= yamlpos.MAX_ALIAS_VALUES + 2 * len(text)
