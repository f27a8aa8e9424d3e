"""A lazy holder (``zonewire worker``): settings at start, subscriptions only when a
plan first needs them; until then a broken or missing subscriptions file costs
nothing and changes nothing."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from feeds.regions import Gazetteer
from notifier.errors import ConfigError
from notifier.reload import ConfigHolder, WatchedConfig

SUBS = """\
subscribers:
  - id: alice
    email: alice@example.com
    regions: [嘉兴]
"""


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    subs = tmp_path / "subscriptions.yaml"
    subs.write_text(SUBS, encoding="utf-8")
    config = tmp_path / "zonewire.yaml"
    config.write_text(f"subscriptions: {subs}\nnotify_max_age: 7d\n", encoding="utf-8")
    return config, subs


def test_subscriptions_are_read_on_first_use_only(
    files: tuple[Path, Path], gazetteer: Gazetteer, caplog: pytest.LogCaptureFixture
) -> None:
    config, subs = files
    subs.write_text("subscribers: [{id: a, regions: [嘉兴]}]\n", "utf-8")  # no channel
    holder = ConfigHolder(config, gazetteer, {}, lazy_subscriptions=True)
    assert not holder.subscriptions_loaded
    assert holder.settings.notify_max_age.days == 7
    # An edit of the settings applies; the broken subscriptions are not looked at.
    config.write_text(f"subscriptions: {subs}\nnotify_max_age: 3d\n", encoding="utf-8")
    WatchedConfig(holder).check()
    assert holder.reload() is True
    assert holder.settings.notify_max_age.days == 3
    assert not holder.subscriptions_loaded
    # The first plan reads them: a broken file is an error there (nothing to fall back on).
    with pytest.raises(ConfigError, match="has no channel"):
        holder.matching()
    assert not holder.subscriptions_loaded
    subs.write_text(SUBS, encoding="utf-8")
    caplog.set_level("INFO", logger="notifier.reload")
    subscriptions, index = holder.matching()
    assert holder.subscriptions_loaded
    assert [s.id for s in subscriptions.subscribers] == ["alice"] and len(index) == 1
    assert "subscriptions file read: 1 subscribers" in caplog.text
    assert holder.settings.notify_max_age.days == 3
    # From then on it reloads like an eager holder.
    subs.write_text(SUBS + "  - id: bob\n    email: bob@example.com\n    regions: [湖州]\n",
                    encoding="utf-8")
    assert holder.reload() is True
    assert [s.id for s in holder.subscriptions.subscribers] == ["alice", "bob"]


def test_a_missing_subscriptions_file_does_not_stop_a_lazy_holder(
    files: tuple[Path, Path], gazetteer: Gazetteer
) -> None:
    config, subs = files
    holder = ConfigHolder(config, gazetteer, {}, lazy_subscriptions=True)
    subs.unlink()
    watched = WatchedConfig(holder)
    assert watched.settings.notify_max_age.days == 7
    assert holder.reload(force=True) is False
    assert not holder.subscriptions_loaded
    with pytest.raises(ConfigError, match="no such file"):
        _ = holder.current


def test_a_lazy_holder_parses_nothing_of_the_subscriptions(
    files: tuple[Path, Path], gazetteer: Gazetteer
) -> None:
    """Observable in memory too: no Subscriber object exists after the settings load."""
    from notifier.models import Subscriber

    config, subs = files
    subs.write_text("subscribers:\n" + "".join(
        f"  - {{id: s{i}, email: s{i}@example.com, regions: [嘉兴]}}\n" for i in range(300)
    ), encoding="utf-8")
    gc.collect()
    before = sum(isinstance(o, Subscriber) for o in gc.get_objects())
    holder = ConfigHolder(config, gazetteer, {}, lazy_subscriptions=True)
    assert sum(isinstance(o, Subscriber) for o in gc.get_objects()) == before
    assert len(holder.subscriptions.subscribers) == 300
