"""config/subscriptions.yaml: a broken file for each kind of problem, exact positions."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from feeds.regions import Gazetteer, zone_key
from notifier.errors import ConfigError
from notifier.models import ScheduleKind
from notifier.subscriptions import load_subscriptions

ROOT = Path(__file__).resolve().parents[2]
WHSEC = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # 24 bytes, base64

HEAD = "subscribers:\n"
ALICE = "  - id: alice\n    email: alice@example.com\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "subscriptions.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(
    path: Path, gazetteer: Gazetteer, environ: dict[str, str] | None = None, **kw: object
) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_subscriptions(path, gazetteer, environ or {}, **kw)  # type: ignore[arg-type]
    return caught.value.problems


def one_problem(tmp_path: Path, gazetteer: Gazetteer, text: str) -> str:
    path = write(tmp_path, text)
    found = problems_of(path, gazetteer)
    assert len(found) == 1, found
    return found[0].replace(str(path), "F")


def test_the_spec_example_loads(tmp_path: Path, gazetteer: Gazetteer):
    path = write(tmp_path, """\
defaults: {timezone: Asia/Shanghai, language: zh-CN, max_articles: 30}
subscribers:
  - id: alice
    email: alice@example.com
    schedule: daily 08:00          # immediate | hourly | daily HH:MM | weekly mon HH:MM | cron
    regions: [西城区, 嘉兴港区]
    keywords: {include: [新能源, 半导体], exclude: [招聘]}
  - id: zj-desk
    webhook: {url: "https://example.org/hook", format: json, secret: "${ZJ_HOOK_SECRET}"}
    schedule: immediate
    regions: [浙江省]
""")
    subs = load_subscriptions(path, gazetteer, {"ZJ_HOOK_SECRET": WHSEC})
    alice, desk = subs.subscribers
    assert alice.regions == ("110102", zone_key("嘉兴港区"))
    assert alice.schedule.kind is ScheduleKind.DAILY and alice.schedule.at == time(8, 0)
    assert alice.keywords.include == ("新能源", "半导体")
    assert alice.keywords.exclude == ("招聘",)
    assert alice.email == "alice@example.com"
    assert desk.webhook is not None and desk.webhook.secret == WHSEC
    assert desk.webhook.url == "https://example.org/hook"
    assert desk.regions == ("330000",)
    assert desk.schedule.kind is ScheduleKind.IMMEDIATE
    # the zone nobody has published under yet: accepted, with a warning at its position
    assert subs.warnings == (
        f"{path}:6:20: warning: region '嘉兴港区' is not known yet; following it as a zone "
        f"(key {zone_key('嘉兴港区')}) that matches once articles name it",
    )


def test_repository_example_passes(gazetteer: Gazetteer):
    subs = load_subscriptions(ROOT / "config" / "subscriptions.yaml", gazetteer, {})
    assert {"alice", "bob", "zj-analyst"} <= {s.id for s in subs.subscribers}
    assert subs.by_id("zj-analyst").regions == ("330000",)  # type: ignore[union-attr]


def test_defaults_apply_and_subscribers_override(tmp_path: Path, gazetteer: Gazetteer):
    path = write(tmp_path, """\
defaults: {timezone: Europe/Berlin, language: en, max_articles: 5, schedule: hourly}
subscribers:
  - {id: a, email: a@example.com, regions: [北京市]}
  - {id: b, email: b@example.com, regions: ["110000"], timezone: Asia/Shanghai,
     language: zh-CN, max_articles: 9, schedule: weekly fri 17:30}
""")
    a, b = load_subscriptions(path, gazetteer, {}).subscribers
    assert (a.timezone, a.language, a.max_articles, a.schedule.kind) == (
        "Europe/Berlin", "en", 5, ScheduleKind.HOURLY)
    assert (b.timezone, b.language, b.max_articles) == ("Asia/Shanghai", "zh-CN", 9)
    assert (b.schedule.kind, b.schedule.weekday, b.schedule.at) == (
        ScheduleKind.WEEKLY, 4, time(17, 30))


@pytest.mark.parametrize("written, key", [
    ("嘉兴", "330400"), ("嘉兴市", "330400"), ("330400", "330400"), ("3304", "330400"),
    ("北京市/朝阳区", "110105"), ("长春/朝阳区", "220104"), ("浙江", "330000"),
])
def test_region_forms(tmp_path: Path, gazetteer: Gazetteer, written: str, key: str):
    path = write(tmp_path, HEAD + ALICE + f"    regions: [{written}]\n")
    assert load_subscriptions(path, gazetteer, {}).subscribers[0].regions == (key,)


def test_a_learned_zone_resolves_without_warning(tmp_path: Path, gazetteer: Gazetteer):
    zone = gazetteer.add_zone("中关村科技园区德胜园", "110102")
    path = write(tmp_path, HEAD + ALICE + "    regions: [中关村科技园区德胜园]\n")
    subs = load_subscriptions(path, gazetteer, {})
    assert subs.subscribers[0].regions == (zone.key,)
    assert subs.warnings == ()


# -- one broken file per kind of problem ------------------------------------------------


@pytest.mark.parametrize("body, expected", [
    # unknown region: the closest names, with their parents; column counts characters
    ("    regions: [海淀区, 西城]\n",
     "F:4:20: unknown region '西城' — did you mean 西城区 (北京市)?"),
    # a zone-like name with a close match is a typo, not a new zone
    ("    regions: [海定区]\n",
     "F:4:15: unknown region '海定区' — did you mean 海淀区 (北京市)"),
    ("    regions: [xyzzy]\n",
     "F:4:15: unknown region 'xyzzy' — not a known province, city, district or zone; write its"
     " full name (西城区), a path (北京市/西城区) or an adcode (110102)"),
    ("    regions: [999999]\n", "F:4:15: unknown adcode '999999'"),
    # ambiguous: every candidate and how to write it
    ("    regions:\n      - 朝阳区\n",
     "F:5:9: ambiguous region '朝阳区' — it could be 北京市/朝阳区 (110105) or "
     "吉林省/长春市/朝阳区 (220104); write the path (e.g. 北京市/朝阳区) or the adcode"),
    # unknown key with the close valid one
    ("    regions: [嘉兴]\n    keywrods: {include: [芯片]}\n",
     "F:5:5: unknown key 'keywrods' — did you mean keywords? (valid keys: categories, email, "
     "id, keywords, language, max_articles, name, regions, schedule, timezone, webhook)"),
    ("    regions: [嘉兴]\n    keywords: {includes: [芯片]}\n",
     "F:5:16: unknown key 'includes' — did you mean include? (valid keys: exclude, include)"),
    # schedules
    ("    regions: [嘉兴]\n    schedule: daily 8am\n",
     "F:5:15: bad schedule 'daily 8am': '8am' is not a time HH:MM (00:00 to 23:59)"),
    ("    regions: [嘉兴]\n    schedule: sometimes\n",
     "F:5:15: bad schedule 'sometimes' — write immediate, hourly, daily HH:MM, "
     'weekly mon HH:MM or cron "m h dom mon dow"'),
    ("    regions: [嘉兴]\n    schedule: weekly someday 08:00\n",
     "F:5:15: bad schedule 'weekly someday 08:00': 'someday' is not a weekday"),
    ("    regions: [嘉兴]\n    schedule: cron \"61 8 * * *\"\n",
     "F:5:15: bad cron expression '61 8 * * *': "),
    ("    regions: [嘉兴]\n    schedule: cron \"0 8 * *\"\n",
     "F:5:15: bad cron expression '0 8 * *': a cron expression has 5 fields"),
    ("    regions: [嘉兴]\n    schedule: cron \"0 0 31 2 *\"\n",
     "F:5:15: cron expression '0 0 31 2 *' never fires"),
    # time zone
    ("    regions: [嘉兴]\n    timezone: Asia/Shangai\n",
     "F:5:15: unknown time zone 'Asia/Shangai' (write an IANA name such as Asia/Shanghai)"),
    # empty regions, empty keyword
    ("    regions: []\n", "F:4:14: 'regions': empty — write at least one item"),
    ("    regions: [嘉兴]\n    keywords: {include: ['  ']}\n",
     "F:5:26: empty keyword (remove it)"),
])
def test_problem_in_alice(tmp_path: Path, gazetteer: Gazetteer, body: str, expected: str):
    assert one_problem(tmp_path, gazetteer, HEAD + ALICE + body).startswith(expected)


@pytest.mark.parametrize("text, expected", [
    (HEAD + "  - id: a\n    email: not-an-email\n    regions: [嘉兴]\n",
     "F:3:12: bad email address 'not-an-email': An email address must have an @-sign."),
    (HEAD + "  - id: a\n    email: a@exa mple.com\n    regions: [嘉兴]\n",
     "F:3:12: bad email address 'a@exa mple.com'"),
    (HEAD + "  - id: a\n    webhook: {url: 'ftp://example.org/x'}\n    regions: [嘉兴]\n",
     "F:3:20: bad webhook URL 'ftp://example.org/x': it must start with https:// (or http://)"),
    (HEAD + "  - id: a\n    webhook: {url: 'https:///x'}\n    regions: [嘉兴]\n",
     "F:3:20: bad webhook URL 'https:///x': no host name"),
    (HEAD + "  - id: a\n    webhook: {url: 'https://h/x', format: dingtalkk}\n"
            "    regions: [嘉兴]\n",
     "F:3:43: unknown webhook format 'dingtalkk' — did you mean dingtalk? write one of "
     "dingtalk, feishu, json, slack, wecom, or add the template "
     "templates_dir/webhook/<format>.json.j2"),
    (HEAD + "  - id: a\n    webhook: {format: json}\n    regions: [嘉兴]\n",
     "F:3:14: missing key 'url'"),
    # no channel at all: the whole entry is pointed at
    (HEAD + "  - id: a\n    regions: [嘉兴]\n",
     "F:2:5: subscriber 'a' has no channel — add email: ADDRESS or "
     "webhook: {url: https://..., format: json}"),
    # duplicate id: the second one, naming the line of the first
    (HEAD + ALICE + "    regions: [嘉兴]\n" + ALICE + "    regions: [湖州]\n",
     "F:5:9: duplicate subscriber id 'alice' (first used at line 2); ids must be unique"),
    (HEAD + "  - id: has space\n    email: a@example.com\n    regions: [嘉兴]\n",
     "F:2:9: 'id': use letters, digits and . @ + - only (no spaces)"),
    (HEAD + "  - email: a@example.com\n    regions: [嘉兴]\n", "F:2:5: missing key 'id'"),
    # missing environment variable, named
    (HEAD + "  - id: a\n    webhook: {url: 'https://h/${HOOK_PATH}'}\n    regions: [嘉兴]\n",
     "F:3:20: environment variable HOOK_PATH is not set (export HOOK_PATH=...)"),
    ("subscriber:\n  - id: a\n",
     "F:1:1: unknown key 'subscriber' — did you mean subscribers? (valid keys: defaults, "
     "subscribers)"),
    ("defaults: {timezone: Asia/Shanghai, max_article: 3}\nsubscribers: []\n",
     "F:1:37: unknown key 'max_article' — did you mean max_articles?"),
    ("subscribers:\n  - id: a\n    email: [a\n", "F:4:1: not valid YAML: "),
    ("subscribers:\n  - just a string\n",
     "F:2:5: expected a subscriber: a mapping with id:, email: or webhook:, and regions:"),
    ("subscribers: {id: a}\n", "F:1:14: expected a list of subscribers"),
])
def test_problem(tmp_path: Path, gazetteer: Gazetteer, text: str, expected: str):
    assert one_problem(tmp_path, gazetteer, text).startswith(expected)


def test_every_problem_is_reported_in_one_run(tmp_path: Path, gazetteer: Gazetteer):
    path = write(tmp_path, """\
subscribers:
  - id: alice
    emial: alice@example.com
    schedule: daily 25:00
    regions: [西城, 朝阳区]
  - id: alice
    email: bob@@example.com
    webhook: {url: "https://h/x", secret: "${MISSING_SECRET}"}
    regions: [浙江省]
  - id: carol
    email: carol@example.com
    regions: [嘉兴港区]
""")
    found = [p.replace(str(path), "F") for p in problems_of(path, gazetteer)]
    assert [p.split(": ")[0] for p in found] == [
        "F:2:5",    # alice has no channel (email is misspelt)
        "F:3:5",    # unknown key emial
        "F:4:15",   # bad time
        "F:5:15",   # 西城
        "F:5:19",   # 朝阳区 ambiguous
        "F:6:9",    # duplicate id
        "F:7:12",   # bad email
        "F:8:43",   # missing variable
    ], found
    assert "did you mean email?" in found[1]
    assert "did you mean 西城区 (北京市)?" in found[3]
    assert "MISSING_SECRET" in found[7]
    # one ConfigError, its message a header plus one line per problem
    with pytest.raises(ConfigError) as caught:
        load_subscriptions(path, gazetteer, {})
    assert str(caught.value).splitlines() == [f"{path}: 8 problems", *caught.value.problems]


def test_environment_variables_are_expanded(tmp_path: Path, gazetteer: Gazetteer):
    path = write(tmp_path, HEAD + "  - id: a\n    webhook: {url: 'https://h/${P}', "
                 "secret: '${S}'}\n    regions: [嘉兴]\n")
    sub = load_subscriptions(path, gazetteer, {"P": "hook/1", "S": "sec"}).subscribers[0]
    assert sub.webhook is not None
    assert (sub.webhook.url, sub.webhook.secret) == ("https://h/hook/1", "sec")


def test_webhook_format_from_templates_dir(tmp_path: Path, gazetteer: Gazetteer):
    path = write(tmp_path, HEAD + "  - id: a\n    webhook: {url: 'https://h/x', format: "
                 "teams}\n    regions: [嘉兴]\n")
    templates = tmp_path / "templates"
    found = problems_of(path, gazetteer, templates_dir=templates)
    assert f"add the template {templates}/webhook/teams.json.j2" in found[0]
    (templates / "webhook").mkdir(parents=True)
    (templates / "webhook" / "teams.json.j2").write_text("{}", encoding="utf-8")
    sub = load_subscriptions(path, gazetteer, {}, templates).subscribers[0]
    assert sub.webhook is not None and sub.webhook.format == "teams"


def test_zone_like_name_named_after_its_city_is_a_new_zone(tmp_path: Path, gazetteer: Gazetteer):
    # 嘉兴港区 contains 嘉兴 (its city), so 嘉兴市 is not a "close match" to correct it to.
    regions = "    regions: [嘉兴港区, 苏州工业园区, 嘉兴市/乍浦开发区]\n"
    path = write(tmp_path, HEAD + ALICE + regions)
    subs = load_subscriptions(path, gazetteer, {})
    assert subs.subscribers[0].regions == (
        zone_key("嘉兴港区"), zone_key("苏州工业园区"), zone_key("乍浦开发区"))
    assert len(subs.warnings) == 3 and all(": warning: " in w for w in subs.warnings)


def test_fingerprint_follows_the_entry(tmp_path: Path, gazetteer: Gazetteer):
    text = HEAD + ALICE + "    regions: [嘉兴]\n  - id: bob\n    email: b@example.com\n" \
        "    regions: [湖州]\n"
    before = load_subscriptions(write(tmp_path, text), gazetteer, {}).subscribers
    # a comment and bob's edit: alice's fingerprint stays, bob's moves
    edited = "# a comment\n" + text.replace("[湖州]", "[湖州, 嘉兴]")
    after = load_subscriptions(write(tmp_path, edited), gazetteer, {}).subscribers
    assert before[0].fingerprint == after[0].fingerprint
    assert before[1].fingerprint != after[1].fingerprint
    assert len(before[0].fingerprint) == 16


def test_keywords_categories_and_duplicate_regions(tmp_path: Path, gazetteer: Gazetteer):
    path = write(tmp_path, HEAD + ALICE + (
        "    regions: [嘉兴, 嘉兴市, 330400]\n"
        "    keywords: {include: [' 芯片 ', AI]}\n"
        "    categories: [文字新闻]\n"
    ))
    sub = load_subscriptions(path, gazetteer, {}).subscribers[0]
    assert sub.regions == ("330400",)
    assert sub.keywords.include == ("芯片", "AI")
    assert sub.categories == ("文字新闻",)


def test_empty_file_has_no_subscribers(tmp_path: Path, gazetteer: Gazetteer):
    subs = load_subscriptions(write(tmp_path, "# nobody yet\n"), gazetteer, {})
    assert subs.subscribers == ()


def test_anchors_and_merge_keys(tmp_path: Path, gazetteer: Gazetteer):
    path = write(tmp_path, """\
subscribers:
  - &base {id: a, email: a@example.com, regions: [嘉兴], schedule: hourly}
  - <<: *base
    id: b
    regions: [湖州]
  - <<: *base
    id: c
    schedule: daily 7:00am
""")
    found = problems_of(path, gazetteer)
    assert [p.replace(str(path), "F") for p in found] == [
        "F:8:15: bad schedule 'daily 7:00am': '7:00am' is not a time HH:MM (00:00 to 23:59)"]
    path.write_text(path.read_text("utf-8").replace("7:00am", "07:00"), encoding="utf-8")
    a, b, c = load_subscriptions(path, gazetteer, {}).subscribers
    assert (b.email, b.regions, b.schedule.kind) == ("a@example.com", ("330500",),
                                                     ScheduleKind.HOURLY)
    assert (c.regions, c.schedule.kind) == (("330400",), ScheduleKind.DAILY)
