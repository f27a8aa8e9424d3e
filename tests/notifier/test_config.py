"""config/zonewire.yaml: defaults, every problem with its file:line:col, JSON Schema."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest
import yaml

from notifier import schema
from notifier.config import DEFAULT_CONFIG, Settings, load_settings, parse_duration
from notifier.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str, name: str = "zonewire.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ or {})
    return caught.value.problems


def test_missing_default_file_means_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(DEFAULT_CONFIG)
    assert settings == Settings()
    assert settings.database == "sqlite:///var/zonewire.db"
    assert settings.email.transport == "maildir"


def test_missing_explicit_file_is_an_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="no such file .*ZONEWIRE_CONFIG"):
        load_settings(tmp_path / "nope.yaml")


def test_values_durations_and_env(tmp_path: Path):
    path = write(tmp_path, (
        "database: postgresql://zw@db/zw\n"
        "notify_max_age: 3d\n"
        'secret_key: "${ZW_SECRET}"\n'
        "email: {from: 'news <n@example.org>', smtp: {password: 'p-${PW}'}}\n"
        "delivery: {retry: {initial: 45s, max: 2h}}\n"
    ))
    settings = load_settings(path, {"ZW_SECRET": "s3" * 16, "PW": "xyz"})
    assert settings.notify_max_age == timedelta(days=3)
    assert settings.secret_key == "s3" * 16
    assert settings.email.from_ == "news <n@example.org>"
    assert settings.email.smtp.password == "p-xyz"
    assert settings.delivery.retry.initial == timedelta(seconds=45)
    assert settings.delivery.retry.max == timedelta(hours=2)


@pytest.mark.parametrize("text, expected", [
    ("30s", timedelta(seconds=30)), ("10m", timedelta(minutes=10)), ("6h", timedelta(hours=6)),
    ("7d", timedelta(days=7)), ("250ms", timedelta(milliseconds=250)), (90, timedelta(seconds=90)),
])
def test_durations(text: object, expected: timedelta):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text, expected", [
    # an unknown key names the close valid one and lists them all
    ("feeds:\n  entires: 50\n",
     "{f}:2:3: unknown key 'entires' — did you mean entries? (valid keys: entries, output_dir"),
    ("databse: sqlite:///x.db\n", "{f}:1:1: unknown key 'databse' — did you mean database?"),
    ("notify_max_age: 7 days\n",
     "{f}:1:17: 'notify_max_age': not a duration: '7 days' (write it like 30s, 10m, 6h or 7d)"),
    ("email:\n  transport: smpt\n",
     "{f}:2:14: 'transport': input should be 'maildir' or 'smtp'"),
    ("serve: {port: 99999}\n", "{f}:1:15: 'port': input should be less than or equal to 65535"),
    ("email: {smtp: {password: '${ZW_NOT_SET}'}}\n",
     "{f}:1:26: environment variable ZW_NOT_SET is not set (export ZW_NOT_SET=...)"),
    ("serve:\n  port: 1\n  port: 2\n",
     "{f}:3:3: duplicate key 'port' (first written at line 2); remove one of them"),
    ("sources:\n  - name: a\n    type: feed\n", "{f}:2:5: missing key 'url'"),
    ("sources:\n  - {name: a, type: blog}\n",
     "{f}:2:21: unknown type 'blog' (write one of: portal, feed, site)"),
    ("sources:\n  - name: a\n    type: portal\n    base_url: https://x\n"
     "    list_urls: [/a]\n    intervall: 5m\n",
     "{f}:6:5: unknown key 'intervall' — did you mean interval?"),
    # columns count characters, not bytes: 嘉兴 is two columns wide here
    ("sources:\n  - {name: 嘉兴, type: feed, url: u, regoin: 嘉兴}\n",
     "{f}:2:36: unknown key 'regoin' — did you mean region?"),
    ("feeds: [a, b\n", "{f}:2:1: not valid YAML: "),
    ("- just\n- a list\n", "{f}:1:1: expected a mapping of settings (key: value)"),
])
def test_each_problem_has_its_position_and_fix(tmp_path: Path, text: str, expected: str):
    path = write(tmp_path, text)
    found = problems(path)
    assert len(found) == 1, found
    assert found[0].startswith(expected.format(f=path)), found[0]


def test_every_problem_in_one_run_in_file_order(tmp_path: Path):
    path = write(tmp_path, (
        "feeds: {entrie: 5}\n"            # 1
        "email: {transport: x}\n"          # 2
        "notify_max_age: soon\n"           # 3
        "public_url: '${NOPE}/'\n"         # 4
        "serve: {prot: 1}\n"               # 5
    ))
    found = problems(path)
    assert [p.split(":")[1] for p in found] == ["1", "2", "3", "4", "5"]
    with pytest.raises(ConfigError) as caught:
        load_settings(path, {})
    # The message a CLI prints: a header, then one problem per line.
    assert str(caught.value).splitlines()[0] == f"{path}: 5 problems"


def test_secret_key_from_an_unset_variable_means_generated(tmp_path: Path):
    # SPEC §3: secret_key: "${ZONEWIRE_SECRET}" -- unset: generated once, kept in var/
    path = write(tmp_path, 'secret_key: "${ZONEWIRE_SECRET}"\n')
    assert load_settings(path, {}).secret_key is None
    assert load_settings(path, {"ZONEWIRE_SECRET": "k" * 32}).secret_key == "k" * 32


def test_the_repository_example_is_valid():
    settings = load_settings(ROOT / "config" / "zonewire.yaml", {})
    assert settings.sources and settings.sources[0].name == "sample"


# -- JSON Schema -------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(schema.SCHEMAS))
def test_schema_files_are_in_sync_with_the_models(name: str):
    on_disk = (ROOT / "config" / name).read_text(encoding="utf-8")
    assert on_disk == schema.render(name), (
        f"config/{name} is out of date: run `python -m notifier.schema`"
    )


@pytest.mark.parametrize("example, name", [
    ("zonewire.yaml", "zonewire.schema.json"),
    ("subscriptions.yaml", "subscriptions.schema.json"),
])
def test_examples_validate_against_their_schema(example: str, name: str):
    document = yaml.safe_load((ROOT / "config" / example).read_text(encoding="utf-8"))
    jsonschema.validate(document, json.loads(schema.render(name)))


def test_schema_flags_what_the_loader_rejects():
    rules = json.loads(schema.render("zonewire.schema.json"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"feeds": {"entires": 5}}, rules)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"notify_max_age": "7 days"}, rules)
    jsonschema.validate({"notify_max_age": "7d", "email": {"from": "a <a@b.c>"}}, rules)


def test_schema_write_writes_both_files(tmp_path: Path):
    written = schema.write(tmp_path)
    assert sorted(p.name for p in written) == sorted(schema.SCHEMAS)
    for path in written:
        assert json.loads(path.read_text(encoding="utf-8"))["type"] == "object"


def test_yaml_oddities_are_problems_not_crashes(tmp_path: Path):
    found = problems(write(tmp_path, "feeds: &x {output_dir: *x}\n"))
    assert found[0] == f"{tmp_path / 'zonewire.yaml'}:1:8: recursive alias"
    found = problems(write(tmp_path, "database: a\n---\ndatabase: b\n"))
    assert found == [f"{tmp_path / 'zonewire.yaml'}:2:1: not valid YAML: but found another "
                     "document"]
    path = tmp_path / "zonewire.yaml"
    path.write_bytes("database: 数据库\n".encode("gbk"))
    assert problems(path) == [f"{path}:1:1: not UTF-8 (save the file as UTF-8)"]
