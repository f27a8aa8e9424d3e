"""Reload: a valid edit takes effect, an invalid one is logged and changes nothing."""

from __future__ import annotations

import logging
import threading
import time
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


def test_first_load_must_be_valid(tmp_path: Path, gazetteer: Gazetteer):
    (tmp_path / "s.yaml").write_text("subscribers: [{id: a, regions: [嘉兴]}]\n", "utf-8")
    config = tmp_path / "z.yaml"
    config.write_text(f"subscriptions: {tmp_path / 's.yaml'}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="has no channel"):
        ConfigHolder(config, gazetteer, {})


def test_unchanged_files_are_not_a_change(files: tuple[Path, Path], gazetteer: Gazetteer):
    holder = ConfigHolder(files[0], gazetteer, {})
    assert holder.reload() is False
    assert holder.reload(force=True) is False
    assert holder.version == 1
    assert holder.paths() == list(files)


def test_valid_edit_takes_effect(files: tuple[Path, Path], gazetteer: Gazetteer):
    holder = ConfigHolder(files[0], gazetteer, {})
    first_index = holder.matching()[1]
    assert first_index.subscribers_for  # built once, reused until a change
    assert holder.matching()[1] is first_index
    files[1].write_text(SUBS + "  - id: bob\n    email: bob@example.com\n    regions: [湖州]\n",
                        encoding="utf-8")
    assert holder.reload() is True
    assert [s.id for s in holder.subscriptions.subscribers] == ["alice", "bob"]
    assert holder.version == 2
    subscriptions, index = holder.matching()
    assert index is not first_index and len(index) == 2
    assert subscriptions is holder.subscriptions


def test_comment_only_edit_is_read_but_changes_nothing(
    files: tuple[Path, Path], gazetteer: Gazetteer
):
    holder = ConfigHolder(files[0], gazetteer, {})
    files[1].write_text("# reviewed\n" + SUBS, encoding="utf-8")
    assert holder.reload() is False
    assert holder.version == 1


def test_invalid_edit_keeps_the_last_good_configuration(
    files: tuple[Path, Path], gazetteer: Gazetteer, caplog: pytest.LogCaptureFixture
):
    holder = ConfigHolder(files[0], gazetteer, {})
    good = holder.current
    # bob is fine, but carol has a typo: nothing of this edit may take effect
    files[1].write_text(
        SUBS + "  - id: bob\n    email: bob@example.com\n    regions: [湖州]\n"
        "  - id: carol\n    email: carol@example.com\n    regions: [西城]\n",
        encoding="utf-8",
    )
    with caplog.at_level(logging.ERROR, logger="notifier.reload"):
        assert holder.reload() is False
    assert holder.current is good
    assert [s.id for s in holder.subscriptions.subscribers] == ["alice"]
    assert holder.version == 1
    assert holder.last_problems == [
        f"{files[1]}:10:15: unknown region '西城' — did you mean 西城区 (北京市)?"
    ]
    logged = caplog.text
    assert "the last good one stays in force" in logged
    assert f"{files[1]}:10:15: unknown region '西城'" in logged
    # fixing the file later takes effect
    files[1].write_text(files[1].read_text("utf-8").replace("[西城]", "[西城区]"), "utf-8")
    assert holder.reload() is True
    assert [s.id for s in holder.subscriptions.subscribers] == ["alice", "bob", "carol"]
    assert holder.last_problems == []


def test_invalid_service_config_keeps_everything(
    files: tuple[Path, Path], gazetteer: Gazetteer, caplog: pytest.LogCaptureFixture
):
    holder = ConfigHolder(files[0], gazetteer, {})
    files[0].write_text(f"subscriptions: {files[1]}\nnotify_max_age: a week\n", "utf-8")
    with caplog.at_level(logging.ERROR, logger="notifier.reload"):
        assert holder.reload() is False
    assert holder.settings.notify_max_age.days == 7
    assert f"{files[0]}:2:17: 'notify_max_age': not a duration" in caplog.text


def test_broken_yaml_keeps_everything(files: tuple[Path, Path], gazetteer: Gazetteer):
    holder = ConfigHolder(files[0], gazetteer, {})
    files[1].write_text(SUBS + "  - id: [\n", encoding="utf-8")
    assert holder.reload() is False
    assert [s.id for s in holder.subscriptions.subscribers] == ["alice"]
    assert holder.last_problems[0].startswith(f"{files[1]}:")
    assert "not valid YAML" in holder.last_problems[0]


def test_settings_may_point_at_another_subscriptions_file(
    files: tuple[Path, Path], gazetteer: Gazetteer, tmp_path: Path
):
    holder = ConfigHolder(files[0], gazetteer, {})
    other = tmp_path / "other.yaml"
    other.write_text("subscribers:\n  - {id: zed, email: z@example.com, regions: [浙江]}\n",
                     encoding="utf-8")
    files[0].write_text(f"subscriptions: {other}\n", encoding="utf-8")
    assert holder.reload() is True
    assert [s.id for s in holder.subscriptions.subscribers] == ["zed"]
    assert holder.paths() == [files[0], other]


def test_environment_change_needs_force(files: tuple[Path, Path], gazetteer: Gazetteer):
    environ = {"HOOK": "https://example.org/a"}
    files[1].write_text(SUBS + "  - {id: h, webhook: {url: '${HOOK}'}, regions: [嘉兴]}\n",
                        encoding="utf-8")
    holder = ConfigHolder(files[0], gazetteer, environ)
    environ["HOOK"] = "https://example.org/b"
    assert holder.reload() is False
    assert holder.reload(force=True) is True
    hook = holder.subscriptions.by_id("h")
    assert hook is not None and hook.webhook is not None
    assert hook.webhook.url == "https://example.org/b"


def test_a_broken_edit_is_reported_once_not_at_every_poll(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from feeds.regions import Gazetteer
    from notifier.config import Settings
    from notifier.reload import ConfigHolder

    subs = tmp_path / "subscriptions.yaml"
    subs.write_text(
        "subscribers:\n  - id: a\n    email: a@example.com\n    regions: [西城区]\n",
        encoding="utf-8",
    )
    holder = ConfigHolder(None, Gazetteer.default(), settings=Settings(subscriptions=subs))
    subs.write_text("subscribers: [\n", encoding="utf-8")
    caplog.set_level("ERROR", logger="notifier.reload")
    assert [holder.reload() for _ in range(3)] == [False, False, False]
    assert caplog.text.count("configuration not reloaded") == 1
    subs.write_text("subscribers: {\n", encoding="utf-8")  # another broken edit: reported
    assert holder.reload() is False
    assert caplog.text.count("configuration not reloaded") == 2


def test_a_key_that_needs_a_restart_is_named_and_the_rest_applies(
    files: tuple[Path, Path], gazetteer: Gazetteer, caplog: pytest.LogCaptureFixture
):
    holder = ConfigHolder(files[0], gazetteer, {})
    before = holder.settings
    files[0].write_text(
        f"subscriptions: {files[1]}\nnotify_max_age: 3d\n"
        "database: sqlite:///elsewhere.db\nserve: {port: 9999}\n"
        "public_url: https://news.example.org/\n",
        encoding="utf-8",
    )
    with caplog.at_level(logging.WARNING, logger="notifier.reload"):
        assert holder.reload() is True
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "database, serve.port changed; restart zonewire to apply them" in warnings[0]
    # What can apply does; what cannot keeps its value in force (not half-applied).
    assert holder.settings.notify_max_age.days == 3
    assert holder.settings.public_url == "https://news.example.org/"
    assert holder.settings.database == before.database
    assert holder.settings.serve == before.serve
    # Nothing new on disk: no reload, no second warning.
    caplog.clear()
    assert holder.reload() is False
    assert not caplog.records


class CountingHolder(ConfigHolder):
    """A real holder that counts how often the files are re-read."""

    reloads = 0

    def reload(self, *, force: bool = False) -> bool:
        self.reloads += 1
        return super().reload(force=force)


def test_watched_config_rereads_only_a_changed_file(
    files: tuple[Path, Path], gazetteer: Gazetteer
):
    holder = CountingHolder(files[0], gazetteer, {})
    watched = WatchedConfig(holder)
    for _ in range(100):  # every unsubscribe request of `zonewire serve` asks
        assert [s.id for s in watched.subscriptions.subscribers] == ["alice"]
    assert holder.reloads == 0
    files[1].write_text(SUBS + "  - id: bob\n    email: bob@example.com\n    regions: [湖州]\n",
                        encoding="utf-8")
    assert [s.id for s in watched.subscriptions.subscribers] == ["alice", "bob"]
    assert watched.settings.notify_max_age.days == 7
    assert holder.reloads == 1


def test_the_http_side_follows_a_reload(tmp_path: Path, gazetteer: Gazetteer) -> None:
    """`zonewire run` serves with the worker's holder: after a reload, output_dir,
    templates_dir and secret_key are the new ones on the HTTP side too."""
    import httpx
    import uvicorn

    from notifier.app import App
    from notifier.web import build_web_app

    subs = tmp_path / "subscriptions.yaml"
    subs.write_text(SUBS, encoding="utf-8")
    old_key, new_key = "k" * 40, "n" * 40
    first, second = tmp_path / "public-a", tmp_path / "public-b"
    for root in (first, second):
        root.mkdir()
        (root / "index.html").write_text(f"<!DOCTYPE html><p>{root.name}</p>", "utf-8")
    config = tmp_path / "zonewire.yaml"

    def write(key: str, output: Path, extra: str = "") -> None:
        config.write_text(
            f"database: sqlite:///{tmp_path / 'zw.db'}\nsubscriptions: {subs}\n"
            f"secret_key: {key}\nfeeds: {{output_dir: {output}}}\n{extra}", encoding="utf-8")

    write(old_key, first)
    app = App.from_config(str(config))
    holder = ConfigHolder(config, lambda: app.gazetteer, {})
    app.settings = holder.settings
    server = uvicorn.Server(uvicorn.Config(build_web_app(app, holder), host="127.0.0.1",
                                           port=0, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    base = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    try:
        old_token = app.signer(holder.settings).token("alice")
        assert "public-a" in httpx.get(f"{base}/").text
        assert httpx.get(f"{base}/unsubscribe/{old_token}").status_code == 200

        templates = tmp_path / "mine" / "web"
        templates.mkdir(parents=True)
        (templates / "unsubscribe.html.j2").write_text("<p>MINE {{ title }}</p>", "utf-8")
        write(new_key, second, f"templates_dir: {tmp_path / 'mine'}\n")
        assert holder.reload() is True

        assert "public-b" in httpx.get(f"{base}/").text
        new_token = app.signer(holder.settings).token("alice")
        assert new_token != old_token
        page = httpx.get(f"{base}/unsubscribe/{new_token}")
        assert page.status_code == 200 and "MINE" in page.text
        assert httpx.get(f"{base}/unsubscribe/{old_token}").status_code == 400
    finally:
        server.should_exit = True
        thread.join(5)
        app.close()
