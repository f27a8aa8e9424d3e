"""The fast paths of a fan-out give what the slow ones gave (issue 12).

* Email bytes: one MIME skeleton per pass, the subject encoded by
  :func:`notifier.mime.subject_header`. Parsed by the email package, every header and
  both bodies equal those of a message the email package composes itself, and the
  subject reads back exactly, for any subject (CJK, emoji, quotes, long).
* Email HTML: the bundled template has its CSS inlined once; each rendering is the
  same document as rendering the template and inlining the page (same elements,
  attributes and text once parsed), and byte for byte the same for ordinary text.
* ``json`` webhooks: the bundled template's body is made without running it; it is
  the template's output byte for byte. A ``templates_dir`` override is still used.
"""

from __future__ import annotations

import base64
import email
import email.header
import email.policy
import json
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path

import css_inline
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.models import CHINA_TZ, Article
from feeds.regions import Gazetteer
from notifier.escaping import clean, one_line
from notifier.mime import MimeTemplate, b64_lines, subject_header
from notifier.models import Schedule, ScheduleKind, Subscriber, WebhookTarget
from notifier.payload import JSON_TEMPLATE, article_payload
from notifier.plan import Digest, build_digest
from notifier.render import Renderer
from notifier.templates_env import render_template, source_of

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=CHINA_TZ)
GAZ = Gazetteer.default()
SENDER = "招商快讯 <news@example.org>"

#: Text as hostile as a portal can make it: CJK, emoji, quotes, markup characters.
tricky = st.text(
    st.characters(blacklist_categories=("Cs",))
    | st.sampled_from(list("西城区嘉兴市：、“”\"'<>&;=?_ 😀🇨🇳\u3000\u200b")),
    max_size=120,
)


def reference(*, subject: str, to: str, name: str | None, digest_id: str,
              unsubscribe_url: str, text: str, html: str) -> bytes:
    """The message as the email package composes it (what the code before the
    skeleton did for every message)."""
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = SENDER
    msg["To"] = formataddr((name, to), charset="utf-8") if name else to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(NOW)
    msg["Message-ID"] = f"<{digest_id}@example.org>"
    msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text, cte="base64")
    msg.add_alternative(html, subtype="html", cte="base64")
    return msg.as_bytes()


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


@settings(max_examples=150, deadline=None)
@given(
    subject=tricky.map(one_line),  # the renderer makes every subject one line
    name=st.none() | tricky.map(one_line).filter(bool),
    local=st.from_regex(r"[a-z0-9._+-]{1,30}", fullmatch=True),
    text=tricky,
    html=tricky.map(lambda t: f"<p>{t}</p>"),
)
def test_skeleton_message_parses_as_the_email_package_message(
    subject: str, name: str | None, local: str, text: str, html: str
) -> None:
    to = f"{local}@example.com"
    parts = {"to": to, "name": name, "digest_id": "d-1",
             "unsubscribe_url": "https://z.example/unsubscribe/t.k", "text": text, "html": html}
    ours = MimeTemplate(sender=SENDER, date=NOW).build(subject=subject, mailto=None, **parts)
    got, want = parse(ours), parse(reference(subject=subject, **parts))
    assert list(got.keys()) == list(want.keys())
    assert str(got["Subject"]) == subject  # reads back exactly
    for header in got.keys():
        # (the email package's own folding of a long encoded name can add a space:
        # To is compared with what was meant)
        if header not in ("Subject", "Content-Type", "To"):
            assert str(got[header]) == str(want[header]), header
    (address,) = got["To"].addresses
    assert (address.display_name, address.addr_spec) == (name or "", to)
    assert got.get_content_type() == want.get_content_type() == "multipart/alternative"
    for mine, theirs, sent in zip(got.iter_parts(), want.iter_parts(), (text, html),
                                  strict=True):
        assert mine.get_content_type() == theirs.get_content_type()
        assert mine.get_content_charset() == theirs.get_content_charset() == "utf-8"
        assert mine["Content-Transfer-Encoding"] == theirs["Content-Transfer-Encoding"]
        # the body exactly as rendered (the email package would add a final newline)
        assert mine.get_payload(decode=True) == sent.encode("utf-8")


@given(st.binary(max_size=2000))
def test_base64_bodies_are_76_character_crlf_lines(data: bytes) -> None:
    encoded = base64.b64encode(data)
    lines = [encoded[i : i + 76] for i in range(0, len(encoded), 76)]
    assert b64_lines(data) == b"\r\n".join(lines) + b"\r\n"


@settings(max_examples=200, deadline=None)
@given(tricky.map(one_line))
def test_subject_lines_are_short_and_words_well_formed(subject: str) -> None:
    header = subject_header(subject)
    assert header.endswith(b"\r\n")
    lines = header[:-2].split(b"\r\n")
    assert all(len(line) <= 78 for line in lines)  # RFC 5322 §2.1.1
    for line in lines:
        for word in line.removeprefix(b"Subject: ").split():
            if word.startswith(b"=?"):
                assert len(word) <= 75 and word.endswith(b"?=")  # RFC 2047 §2
                # each word is whole characters (RFC 2047 §5)
                email.header.decode_header(word.decode())[0][0].decode("utf-8")
    assert str(parse(header + b"\r\n")["Subject"]) == subject


def test_plain_ascii_subjects_stay_readable() -> None:
    assert subject_header("Xicheng: 3 new articles") == b"Subject: Xicheng: 3 new articles\r\n"
    assert subject_header("西城区：3 篇新文章").startswith(b"Subject: =?utf-8?b?")


# -- rendering ------------------------------------------------------------------------

def article(seq: int, title: str, summary: str, source: str, url: str) -> Article:
    when = NOW - timedelta(hours=seq)
    return Article(
        id=f"tag:zonewire,2026-11-30:article/{seq}", seq=seq, url=url, title=title,
        published=when, updated=when, ingested_at=NOW, source=source or None, zone=None,
        region="西城区", category="文字新闻", content=f"<p>{summary}</p>", summary=summary or None,
        content_hash="h", region_keys=GAZ.ancestor_keys("110102" if seq % 2 else "330402"),
    )


def make_digest(arts: list[Article], *, fmt: str | None = None, language: str = "zh-CN",
                name: str | None = None) -> Digest:
    sub = Subscriber(
        id="alice", schedule=Schedule(ScheduleKind.IMMEDIATE, "immediate"),
        regions=("110102", "330400"), language=language, name=name,
        email=None if fmt else "a@example.com",
        webhook=WebhookTarget("https://hook.example", fmt) if fmt else None,
    )
    made = build_digest(sub, arts, after_seq=0, upto_seq=len(arts) + 1, now=NOW,
                        region_name=lambda k: GAZ.get(k).name,
                        channel="webhook" if fmt else "email")
    assert made is not None
    return made


articles = st.lists(
    st.tuples(tricky.filter(lambda t: t.strip()), tricky, tricky,
              st.sampled_from(["https://n.example/1?a=1&b=\"2\"", "https://n.example/路径",
                               "javascript:alert(1)", "https://n.example/<x>"])),
    min_size=1, max_size=6,
).map(lambda rows: [article(i, *row) for i, row in enumerate(rows, 1)])

#: Parses and serialises HTML without inlining: two documents are the same when
#: their serialisations are.
_DOM = css_inline.CSSInliner(inline_style_tags=False, keep_style_tags=True,
                             load_remote_stylesheets=False)
_INLINE = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)


def inlined_after_rendering(renderer: Renderer, digest: Digest) -> str:
    """The HTML as rendered before: the template run, then the page inlined."""
    page = clean(render_template(renderer.env, "email/digest.html.j2", renderer.context(digest)))
    return _INLINE.inline(page)


@settings(max_examples=60, deadline=None)
@given(articles, st.sampled_from(["zh-CN", "en"]))
def test_pre_inlined_template_gives_the_same_document(arts: list[Article], lang: str) -> None:
    renderer = Renderer(public_url="https://z.example/", region=GAZ.find)
    made = make_digest(arts, language=lang)
    html = renderer.email(made).html
    before = inlined_after_rendering(renderer, made)
    assert _DOM.inline(html) == _DOM.inline(before)
    if not any(c in repr([(a.title, a.summary, a.source) for a in arts]) for c in "\"'&<>"):
        assert html == before  # ordinary text: the very same bytes


def test_pre_inlined_template_has_the_styles_and_keeps_the_media_queries() -> None:
    arts = [article(1, "标题", "摘要", "投促局", "https://n.example/1")]
    html = Renderer(public_url="https://z.example/", region=GAZ.find).email(
        make_digest(arts)).html
    assert html == inlined_after_rendering(
        Renderer(public_url="https://z.example/", region=GAZ.find), make_digest(arts))
    assert 'class="card" style="max-width: 640px;' in html
    assert "@media (prefers-color-scheme: dark)" in html and "@media (max-width: 480px)" in html
    assert ".card {" not in html.split("@media")[0]  # plain rules went onto the elements


def test_a_users_html_template_is_still_inlined(tmp_path: Path) -> None:
    (tmp_path / "email").mkdir()
    (tmp_path / "email" / "digest.html.j2").write_text(
        "<html><head><style>.x { color: #123456; }</style></head>"
        "<body>{% for g in groups %}<p class=\"x\">{{ g.name }}</p>{% endfor %}</body></html>",
        encoding="utf-8")
    renderer = Renderer(public_url="https://z.example/", region=GAZ.find,
                        templates_dir=tmp_path)
    html = renderer.email(make_digest([article(1, "标题", "", "", "https://n.example/1")])).html
    assert '<p class="x" style="color: #123456;">西城区</p>' in html


# -- webhooks --------------------------------------------------------------------------

def test_the_bundled_json_template_is_the_one_the_fast_path_reproduces() -> None:
    """If this fails, webhook/json.json.j2 changed: update payload.JSON_TEMPLATE and
    payload.json_body together (until then the template is rendered, slower)."""
    env = Renderer(public_url="https://z.example/", region=GAZ.find).env
    assert source_of(env, "webhook/json.json.j2") == (JSON_TEMPLATE, True)


@settings(max_examples=60, deadline=None)
@given(articles)
def test_json_body_is_the_templates_output_byte_for_byte(arts: list[Article]) -> None:
    renderer = Renderer(public_url="https://z.example/", region=GAZ.find)
    made = make_digest(arts, fmt="json")
    fast = renderer.webhook(made).body
    ctx = renderer.context(made)
    payloads = [article_payload(a, GAZ.find) for a in made.articles]
    ctx["articles"] = payloads
    ctx["articles_json"] = json.dumps(payloads, ensure_ascii=False)
    assert fast == render_template(renderer.env, "webhook/json.json.j2", ctx)
    body = json.loads(Renderer.personal_webhook(renderer.webhook(made), made.id, "a\"b", "t"))
    assert body["subscriber"] == "a\"b" and body["id"] == made.id
    assert [a["title"] for a in body["articles"]] == [one_line(a.title) for a in made.articles]


def test_a_json_template_in_templates_dir_is_used(tmp_path: Path) -> None:
    (tmp_path / "webhook").mkdir()
    (tmp_path / "webhook" / "json.json.j2").write_text(
        '{"mine": true, "count": {{ count }}, "articles": {{ articles_json }}}',
        encoding="utf-8")
    renderer = Renderer(public_url="https://z.example/", region=GAZ.find,
                        templates_dir=tmp_path)
    body = json.loads(renderer.webhook(make_digest(
        [article(1, "标题", "", "", "https://n.example/1")], fmt="json")).body)
    assert body["mine"] is True and body["count"] == 1 and len(body["articles"]) == 1
