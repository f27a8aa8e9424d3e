"""Private subscriber feeds (SPEC §6, issue 14): ``/s/TOKEN.atom`` and ``.json`` hold
exactly what the subscriber's filters match (the digest's articles), are served by
``zonewire serve`` with ETag/304 and gzip, and answer 404 to a bad token, an
unsubscribe token and a removed subscriber. Real SQLite/PostgreSQL, real uvicorn."""

from __future__ import annotations

import json
import mailbox
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import feedparser
import httpx
import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from feeds.intake import Ingestor
from feeds.models import CHINA_TZ
from feeds.regions import Gazetteer
from feeds.storage import Storage
from notifier.match import match_naive
from notifier.models import Keywords, Schedule, ScheduleKind, Subscriber
from notifier.private_feed import select_articles
from notifier.tokens import FEED, Signer, TokenError
from tests.feeds.test_publish import record
from tests.support.servers import free_port, wait_for_http

DATA = Path(__file__).resolve().parent.parent / "data"
ATOM = "{http://www.w3.org/2005/Atom}"
KEY = "k" * 40
SUBSCRIPTIONS = """subscribers:
  - id: alice
    email: alice@example.com
    schedule: immediate
    regions: [西城区, 嘉兴市]
    keywords: {include: [新政, 半导体], exclude: [广告]}
    categories: [文字新闻]
  - id: bob
    email: bob@example.com
    schedule: immediate
    regions: [西城区]
"""
#: (title, region, category, content): what alice's filters make of each is in the name.
ARTICLES = [
    ("西城区新政发布", "西城区", "文字新闻", "<p>一项新政。</p>"),
    ("西城区新政广告", "西城区", "文字新闻", "<p>新政与广告。</p>"),  # exclude word
    ("西城区新闻一则", "西城区", "文字新闻", "<p>没有关键词。</p>"),  # no include word
    ("南湖区半导体项目", "南湖区", "文字新闻", "<p>半导体产业园。</p>"),  # 嘉兴市 below
    ("南湖区半导体图集", "南湖区", "图片新闻", "<p>半导体。</p>"),  # other category
    ("东城区新政", "东城区", "文字新闻", "<p>新政。</p>"),  # other region
    ("西城区要闻", "西城区", "文字新闻", "<p>关于新<b>政</b>的解读。</p>"),  # word in markup
    ("秀洲区半导体大会", "秀洲区", "文字新闻", "<p>半导体大会召开。</p>"),
]


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "notifier", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@dataclass
class Served:
    root: Path
    base: str
    preview_ids: list[str]
    preview_text: str
    feed_url: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("private")
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    (root / "config").mkdir()
    (root / "config" / "zonewire.yaml").write_text(
        f"public_url: {base}\nsecret_key: {KEY}\n"
        f"serve: {{port: {port}, metrics_port: null}}\n", encoding="utf-8")
    (root / "config" / "subscriptions.yaml").write_text(SUBSCRIPTIONS, encoding="utf-8")
    day = datetime.now(CHINA_TZ) - timedelta(days=1)
    lines = [
        json.dumps({"url": f"https://n.example/{i}.html", "title": title,
                    "published": (day - timedelta(minutes=i)).isoformat(timespec="seconds"),
                    "region": region, "category": category, "content": content},
                   ensure_ascii=False)
        for i, (title, region, category, content) in enumerate(ARTICLES)
    ]
    (root / "a.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    # alice and bob subscribe first (a new subscriber starts from now), then news comes.
    for args in (["digest", "send"], ["import", "a.jsonl"], ["feeds", "build"]):
        done = _cli(root, *args)
        assert done.returncode == 0, done.stderr
    preview = _cli(root, "digest", "preview", "alice", "--format", "json")
    assert preview.returncode == 0, preview.stderr
    found = re.search(r"private feed: (\S+)", preview.stderr)
    assert found, preview.stderr
    text = _cli(root, "digest", "preview", "alice")
    assert text.returncode == 0, text.stderr
    sent = _cli(root, "digest", "send")  # into the embedded Maildir outbox
    assert sent.returncode == 0 and "2 sent" in sent.stdout, sent.stdout + sent.stderr
    server = subprocess.Popen([sys.executable, "-m", "notifier", "serve"], cwd=root,
                              env={**os.environ, "PYTHONUNBUFFERED": "1"}, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for_http(base + "healthz")
        yield Served(root, base, [a["id"] for a in json.loads(preview.stdout)["articles"]],
                     text.stdout, found.group(1))
    finally:
        server.terminate()
        server.communicate(timeout=10)  # waits, and closes the pipes


def _token(subscriber: str, purpose: str = FEED) -> str:
    return Signer(KEY.encode(), purpose).token(subscriber)


def assert_valid_atom(data: bytes) -> etree._Element:
    schema = etree.RelaxNG(etree.parse(str(DATA / "atom.rng")))
    root = etree.fromstring(data)
    assert schema.validate(root), schema.error_log
    parsed = feedparser.parse(data)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return root


@pytest.mark.slow
def test_private_feed_holds_exactly_the_digests_articles(served: Served) -> None:
    # The digest: regions (西城区 and everything in 嘉兴市), include/exclude words, category.
    titles = {ARTICLES[i][0] for i in (0, 3, 6, 7)}
    assert len(served.preview_ids) == 4
    # Every email links the feed; preview shows the same URL it names on stderr.
    assert served.feed_url == f"{served.base}s/{_token('alice')}.atom"
    assert served.feed_url in served.preview_text
    assert _token("alice", "unsubscribe") in served.preview_text  # the unsubscribe link

    # The email alice was sent links her feed, and lists the feed's articles.
    outbox = mailbox.Maildir(served.root / "var" / "outbox", create=False)
    mail = next(m for m in outbox if "alice@example.com" in m["To"])
    body = next(p for p in mail.walk() if p.get_content_type() == "text/plain")
    text = body.get_payload(decode=True).decode(body.get_content_charset())
    assert served.feed_url in text
    emailed = set(re.findall(r"https://n\.example/\d+\.html", text))

    answer = httpx.get(served.feed_url)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/atom+xml; charset=utf-8"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["cache-control"].startswith("private")
    assert answer.headers["referrer-policy"] == "no-referrer"
    root = assert_valid_atom(answer.content)
    entries = root.findall(f"{ATOM}entry")
    ids = [e.findtext(f"{ATOM}id") for e in entries]
    assert sorted(ids) == sorted(served.preview_ids)
    assert {e.findtext(f"{ATOM}title") for e in entries} == titles
    assert {e.find(f"{ATOM}link").get("href") for e in entries} == emailed
    published = [e.findtext(f"{ATOM}published") for e in entries]
    assert published == sorted(published, reverse=True)  # newest first
    assert root.find(f"{ATOM}link[@rel='self']").get("href") == served.feed_url

    # The same entries, byte for byte, as in the public feeds (same ids, same renderer).
    public = etree.fromstring((served.root / "public" / "feeds" / "all.atom").read_bytes())
    public_entries = {e.findtext(f"{ATOM}id"): e for e in public.findall(f"{ATOM}entry")}
    for entry in entries:
        same = public_entries[entry.findtext(f"{ATOM}id")]
        assert etree.tostring(entry, method="c14n") == etree.tostring(same, method="c14n")

    as_json = httpx.get(served.feed_url.removesuffix(".atom") + ".json")
    assert as_json.status_code == 200
    assert as_json.headers["content-type"] == "application/feed+json; charset=utf-8"
    feed = as_json.json()
    schema = json.loads((DATA / "jsonfeed-1.1.schema.json").read_text("utf-8"))
    jsonschema.Draft202012Validator(schema).validate(feed)
    assert [item["id"] for item in feed["items"]] == ids
    assert feed["feed_url"] == served.feed_url.removesuffix(".atom") + ".json"


@pytest.mark.slow
def test_etag_304_gzip_and_head(served: Served) -> None:
    first = httpx.get(served.feed_url, headers={"accept-encoding": "gzip"})
    assert first.status_code == 200 and first.headers["content-encoding"] == "gzip"
    etag = first.headers["etag"]
    again = httpx.get(served.feed_url, headers={"if-none-match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    assert_valid_atom(first.content)  # decoded from gzip by the client
    head = httpx.head(served.feed_url)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == etag


@pytest.mark.slow
def test_wrong_tokens_and_tokens_of_the_other_kind_are_refused(served: Served) -> None:
    feed_token, unsubscribe_token = _token("alice"), _token("alice", "unsubscribe")
    bad = [
        "not-a-token",
        feed_token[:-2] + ("AA" if not feed_token.endswith("AA") else "BB"),  # tampered MAC
        Signer(b"another-installation-key-0123456789ab", FEED).token("alice"),
        unsubscribe_token,  # an unsubscribe link is no feed
        _token("nobody"),  # signed, but no such subscriber
    ]
    for token in bad:
        for kind in ("atom", "json"):
            answer = httpx.get(f"{served.base}s/{token}.{kind}")
            assert answer.status_code == 404, (token, kind)
            assert "alice" not in answer.text
    assert httpx.get(f"{served.base}s/{feed_token}.xml").status_code == 404
    # ...and a feed link is no unsubscribe link: it cannot unsubscribe alice.
    posted = httpx.post(f"{served.base}unsubscribe/{feed_token}",
                        data={"List-Unsubscribe": "One-Click"})
    assert posted.status_code == 400
    assert httpx.get(served.feed_url).status_code == 200


@pytest.mark.slow
def test_a_removed_subscribers_feed_is_gone(served: Served) -> None:
    bob = f"{served.base}s/{_token('bob')}.atom"
    answer = httpx.get(bob)
    assert answer.status_code == 200
    # bob follows 西城区 without filters: every 西城区 article, newest first.
    titles = [e.title for e in feedparser.parse(answer.content).entries]
    assert titles == [t for t, region, _, _ in ARTICLES if region == "西城区"]
    (served.root / "config" / "subscriptions.yaml").write_text(
        SUBSCRIPTIONS.split("  - id: bob")[0], encoding="utf-8")
    deadline = time.monotonic() + 10
    while httpx.get(bob).status_code != 404:  # the edit is read on a request
        assert time.monotonic() < deadline, "removed subscriber's feed still served"
        time.sleep(0.1)
    assert httpx.get(served.feed_url).status_code == 200  # alice stays


def test_each_purpose_verifies_only_its_own_tokens() -> None:
    unsubscribe, feed = Signer(KEY.encode()), Signer(KEY.encode(), FEED)
    assert unsubscribe.verify(unsubscribe.token("alice")) == "alice"
    assert feed.verify(feed.token("alice")) == "alice"
    assert feed.token("alice") != unsubscribe.token("alice")
    with pytest.raises(TokenError, match="private feed link was not issued"):
        feed.verify(unsubscribe.token("alice"))
    with pytest.raises(TokenError, match="unsubscribe link was not issued"):
        unsubscribe.verify(feed.token("alice"))
    assert unsubscribe.for_purpose(FEED).token("bob") == feed.token("bob")


@given(subscriber_id=st.text(min_size=1, max_size=40), token=st.text(max_size=80))
def test_no_string_passes_for_both_kinds(subscriber_id: str, token: str) -> None:
    """Hostile tokens: each kind refuses the other's, and any string is either refused
    with a TokenError or verifies as one kind at most."""
    unsubscribe, feed = Signer(KEY.encode()), Signer(KEY.encode(), FEED)
    with pytest.raises(TokenError):
        unsubscribe.verify(feed.token(subscriber_id))
    with pytest.raises(TokenError):
        feed.verify(unsubscribe.token(subscriber_id))
    passed = 0
    for signer in (unsubscribe, feed):
        try:
            signer.verify(token)
        except TokenError:
            continue
        passed += 1
    assert passed <= 1


# -- selection against the rule, on SQLite and PostgreSQL ---------------------------------

WORDS = ["新政", "半导体", "广告", "招聘"]
REGIONS = [("西城区", "中关村科技园区德胜园"), ("嘉兴", "嘉兴经济技术开发区"),
           ("东城区", "")]


def _subscriber(regions: tuple[str, ...], include: tuple[str, ...] = (),
                exclude: tuple[str, ...] = (), categories: tuple[str, ...] = ()) -> Subscriber:
    return Subscriber(id="s", schedule=Schedule(ScheduleKind.IMMEDIATE, "immediate"),
                      regions=regions, keywords=Keywords(include, exclude),
                      categories=categories)


@pytest.fixture
def many(store: Storage, gazetteer: Gazetteer, now: datetime) -> Storage:
    """60 articles over three regions, some sharing a published time (ties go by seq)."""
    records = []
    for n in range(60):
        region, zone = REGIONS[n % 3]
        words = "".join(WORDS[i] for i in range(4) if (n >> i) & 1)
        records.append(record(
            n, zone or None, region,  # type: ignore[arg-type]
            title=f"第{n}篇{words[:2]}",
            content=f"<p>{words}</p>",
            category="文字新闻" if n % 4 else "图片新闻",
            published=datetime(2026, 11, 20, 10, tzinfo=CHINA_TZ) - timedelta(hours=n // 2),
        ))
    Ingestor(store, gazetteer).add(records, now=now)
    return store


@pytest.mark.parametrize("subscriber", [
    _subscriber(("110102",)),
    _subscriber(("110102", "330400"), ("新政", "半导体"), ("广告",), ("文字新闻",)),
    _subscriber(("330400",), ("招聘",)),
    _subscriber(("110000",), (), ("新政",)),
    _subscriber(("110101", "110102"), (), (), ("图片新闻",)),
], ids=["plain", "words-and-category", "one-word", "exclude-only", "category-only"])
@pytest.mark.parametrize("limit", [1, 5, 50])
def test_selection_is_the_rule_newest_first(many: Storage, subscriber: Subscriber,
                                            limit: int) -> None:
    everything = list(many.iter_articles())
    wanted = match_naive([subscriber], everything).get("s", [])
    wanted.sort(key=lambda a: (a.published, a.seq), reverse=True)
    got = select_articles(many, subscriber, limit, page=7)  # small pages: keyset paging
    assert [a.seq for a in got] == [a.seq for a in wanted[:limit]]


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(include=st.lists(st.sampled_from(WORDS), max_size=2, unique=True),
       exclude=st.lists(st.sampled_from(WORDS), max_size=2, unique=True),
       regions=st.lists(st.sampled_from(["110102", "330400", "110101", "110000"]),
                        min_size=1, max_size=3, unique=True),
       limit=st.integers(1, 70), page=st.integers(1, 30))
def test_any_filter_gives_the_rules_newest(
    many: Storage, include: list[str], exclude: list[str], regions: list[str],
    limit: int, page: int,
) -> None:
    subscriber = _subscriber(tuple(regions), tuple(include), tuple(exclude))
    wanted = match_naive([subscriber], list(many.iter_articles())).get("s", [])
    wanted.sort(key=lambda a: (a.published, a.seq), reverse=True)
    got = select_articles(many, subscriber, limit, page=page)
    assert [a.seq for a in got] == [a.seq for a in wanted[:limit]]


def test_a_story_is_one_entry_by_its_first_article(
    store: Storage, gazetteer: Gazetteer, now: datetime
) -> None:
    """A repost (another URL, a prefix, a sentence trimmed) joins the story of the
    article first stored; the feed, like a digest, holds the story once."""
    news = ("<p>中关村科技园区德胜园今天举行集成电路产业项目集中签约仪式，共有十二个重点项目落地，"
            "总投资超过八十亿元，涉及芯片设计、封装测试和关键材料等多个环节。</p>")
    closing = "<p>管委会表示，将为项目提供全流程服务，推动尽快开工建设。</p>"
    first = record(1, title="德胜园集成电路项目集中签约", content=news + closing)
    repost = record(2, title="【园区动态】德胜园集成电路项目集中签约", content=news,
                    url="https://other.example/repost.html", source="InvestCHN")
    Ingestor(store, gazetteer).add([first], now=now)
    Ingestor(store, gazetteer).add([repost], now=now + timedelta(minutes=5))
    stored = {a.url: a for a in store.iter_articles()}
    assert not stored[repost.url].leads_story  # folded by the store, not by this test
    got = select_articles(store, _subscriber(("110102",), ("集成电路",)), 10)
    assert [a.url for a in got] == [first.url]
    assert [o.url for o in got[0].also] == [repost.url]
