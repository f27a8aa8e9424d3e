"""Header injection and malformed signing secrets (issue 11.8).

A CR/LF in a subscriber's ``name`` used to add header lines (``Bcc:``) to the email;
a malformed ``whsec_`` secret passed ``check`` and then failed every send. Now
``check`` refuses both at file:line:col, and the email builder makes any header
value one line whatever reaches it.
"""

from __future__ import annotations

import base64
import email
import email.policy
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import standardwebhooks
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feeds.regions import Gazetteer
from notifier.channels.webhook import standard_webhook_headers
from notifier.cli import main
from notifier.errors import ConfigError
from notifier.mime import MimeTemplate
from notifier.subscriptions import load_subscriptions

HEADERS = [
    "From", "To", "Subject", "Date", "Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post",
    "Auto-Submitted", "MIME-Version", "Content-Type",
]
BREAKS = "\r\n\x0b\x0c\x85\u2028\u2029"


def yaml_quoted(text: str) -> str:
    """``text`` as a YAML double-quoted scalar, every character YAML forbids escaped."""
    out = []
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD:
            out.append(char if code != 0xFEFF else "\\ufeff")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


def build(name: str | None, to: str = "alice@example.com") -> email.message.EmailMessage:
    template = MimeTemplate(sender="zonewire <news@example.org>",
                            date=datetime(2025, 1, 2, tzinfo=UTC))
    raw = template.build(to=to, name=name, subject="招商快讯", digest_id="d1",
                         unsubscribe_url="https://z.example/unsubscribe/t", mailto=None,
                         text="正文", html="<p>正文</p>")
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    return message


names = st.lists(
    st.characters(codec="utf-8") | st.sampled_from([*BREAKS, "\t", "\r\nBcc: x@evil.example"]),
    max_size=30,
).map("".join)


@settings(max_examples=300)
@given(names)
def test_no_name_adds_a_header_line(name: str):
    message = build(name)
    assert list(message.keys()) == HEADERS
    assert message["To"].addresses[0].addr_spec == "alice@example.com"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]


def test_the_reported_injection_is_inert():
    message = build("Desk\r\nBcc: everyone@evil.example")
    assert "Bcc" not in message and list(message.keys()) == HEADERS


def write_subs(tmp_path: Path, name_yaml: str) -> Path:
    path = tmp_path / "subscriptions.yaml"
    path.write_text(
        "subscribers:\n  - id: alice\n"
        f"    name: {name_yaml}\n"
        "    email: alice@example.com\n    regions: [嘉兴]\n",
        encoding="utf-8",
    )
    return path


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names)
def test_check_refuses_every_name_with_a_break_or_control_character(
    tmp_path: Path, gazetteer: Gazetteer, name: str
):
    path = write_subs(tmp_path, yaml_quoted(name))
    control = any(
        c in BREAKS or ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in name
    )
    if not control:
        subs = load_subscriptions(path, gazetteer, {})
        assert subs.subscribers[0].name == name
        return
    with pytest.raises(ConfigError) as caught:
        load_subscriptions(path, gazetteer, {})
    assert len(caught.value.problems) == 1
    problem = caught.value.problems[0]
    assert problem.startswith(f"{path}:3:11: 'name' contains a ")
    assert "must be one line of text — remove it" in problem
    if "\r" in name or "\n" in name:
        assert "contains a line break" in problem


def test_check_names_each_header_field_at_its_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ZONEWIRE_CONFIG", raising=False)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "zonewire.yaml").write_text(
        'email:\n  from: "zonewire <news@example.org>\\r\\nBcc: all@evil.example"\n',
        encoding="utf-8")
    (tmp_path / "config" / "subscriptions.yaml").write_text(
        "subscribers:\n"
        '  - id: alice\n    name: "Desk\\nBcc: x@evil.example"\n'
        '    email: "alice@example.com\\r\\nBcc: y@evil.example"\n    regions: [嘉兴]\n',
        encoding="utf-8")
    assert main(["check"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == (
        "config/zonewire.yaml:2:9: 'from' contains a line break (CR, LF); it goes into an "
        "email header, which must be one line of text — remove it"
    )
    # the config is broken, so check still reads the subscriptions file: both reported
    assert err[1].startswith("config/subscriptions.yaml:3:11: 'name' contains a line break (LF)")
    assert err[2].startswith(
        "config/subscriptions.yaml:4:12: the address contains a line break (CR, LF)")
    assert err[-1] == "zonewire: 3 problems found"


GOOD_SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()


@pytest.mark.parametrize("secret, why", [
    ("whsec_abc", "is not base64"),
    ("whsec_", "holds 0 bytes"),
    ("whsec_" + base64.b64encode(b"short").decode(), "holds 5 bytes, a signing secret has 24"),
    ("whsec_" + base64.b64encode(bytes(32)).decode().rstrip("="), "is not base64"),
    ("whsec_" + base64.b64encode(bytes(100)).decode(), "holds 100 bytes"),
    ("whsec_ AAAA" + base64.b64encode(bytes(30)).decode(), "is not base64"),
])
def test_check_refuses_a_malformed_whsec_secret_at_its_place(
    tmp_path: Path, gazetteer: Gazetteer, secret: str, why: str
):
    path = tmp_path / "s.yaml"
    path.write_text(
        "subscribers:\n  - id: hook\n    regions: [嘉兴]\n    webhook:\n"
        f"      url: https://example.org/hook\n      secret: {json.dumps(secret)}\n",
        encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_subscriptions(path, gazetteer, {})
    assert caught.value.problems[0].startswith(f"{path}:6:15: malformed whsec_ secret: ")
    assert why in caught.value.problems[0]
    assert secret.removeprefix("whsec_") not in caught.value.problems[0] or secret == "whsec_"


def test_a_good_whsec_secret_and_a_plain_secret_pass(tmp_path: Path, gazetteer: Gazetteer):
    path = tmp_path / "s.yaml"
    path.write_text(
        "subscribers:\n"
        f"  - {{id: a, regions: [嘉兴],\n"
        f"     webhook: {{url: 'https://e.org/h', secret: {GOOD_SECRET}}}}}\n"
        "  - {id: b, regions: [嘉兴], webhook: {url: 'https://e.org/d', format: dingtalk, "
        "secret: SEC0123abc}}\n",
        encoding="utf-8")
    subs = load_subscriptions(path, gazetteer, {})
    assert [s.webhook.secret for s in subs.subscribers if s.webhook] == [GOOD_SECRET, "SEC0123abc"]


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(
    st.text(max_size=100),
    st.binary(min_size=0, max_size=80).map(lambda b: base64.b64encode(b).decode()),
).map(lambda body: "whsec_" + body))
def test_every_whsec_secret_check_accepts_signs_and_verifies(
    tmp_path: Path, gazetteer: Gazetteer, secret: str
):
    """What check accepts, our channel can sign with and a Standard Webhooks receiver
    verifies; everything else is a check error, never a send-time traceback."""
    path = tmp_path / "s.yaml"
    path.write_text(
        "subscribers:\n  - id: hook\n    regions: [嘉兴]\n    webhook:\n"
        f"      url: https://example.org/hook\n      secret: {yaml_quoted(secret)}\n",
        encoding="utf-8")
    try:
        load_subscriptions(path, gazetteer, {})
    except ConfigError as exc:
        assert exc.problems[0].startswith(f"{path}:6:15: malformed whsec_ secret")
        return
    body = b'{"digest": 1}'
    headers = standard_webhook_headers(secret, "msg_1", int(time.time()), body)
    assert standardwebhooks.Webhook(secret).verify(body, headers) == {"digest": 1}
