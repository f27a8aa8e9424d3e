"""Digest emails as bytes: one skeleton per pass, filled in per recipient.

Composing a 50 KB ``EmailMessage`` (``set_content`` + ``add_alternative`` +
``as_bytes``) costs about 4 ms, more than sending it, and with a region set per
subscriber every subject is different. So :class:`MimeTemplate` lets
``EmailMessage`` compose the message once per sender and date, with placeholder
headers and bodies, splits the bytes at the placeholders, and
:meth:`MimeTemplate.build` fills in each recipient's ``To``, ``Subject``,
``Message-ID``, ``List-Unsubscribe`` and the two base64 bodies: one ``join`` per
recipient. The subject is encoded here (:func:`subject_header`): the email
package's header folding is the slow part of composing.

The result is a standard ``multipart/alternative`` (text, then HTML), UTF-8, RFC 2047
encoded headers, with RFC 8058 one-click unsubscribe headers.
"""

from __future__ import annotations

import base64
import re
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr

from notifier.errors import NotifierError

_SLOTS = {
    "to": b"zwslot-to@zwslot.invalid",
    "subject": b"Subject: zwslot-subject\r\n",
    "mid": b"<zwslot-mid@zwslot.invalid>",
    "lu": b"<zwslot-list-unsubscribe>",
    "text": b"ZWSLOTTEXT",
    "html": b"ZWSLOTHTML",
}
_SPLIT = re.compile(b"(" + b"|".join(re.escape(v) for v in _SLOTS.values()) + b")")
_NAMES = {v: k for k, v in _SLOTS.items()}


def b64_lines(data: bytes) -> bytes:
    """Base64 in 76-character CRLF lines (RFC 2045 §6.8)."""
    return base64.encodebytes(data).replace(b"\n", b"\r\n") or b"\r\n"


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def _one_line(text: str) -> str:
    """``text`` with line breaks and control characters made spaces (a header is one line)."""
    return _CONTROL.sub(" ", text).strip()


#: UTF-8 bytes per encoded word: ``=?utf-8?b?`` + 56 base64 characters + ``?=`` is 68
#: characters, so even the first line (``Subject: `` + a word) stays within the 78 of
#: RFC 5322 §2.1.1 and each word within the 75 of RFC 2047 §2.
_WORD_BYTES = 42
#: Subjects sent as they are: printable ASCII short enough for one line.
_PLAIN = re.compile(r"[ -~]{0,69}")


def encoded_words(text: str) -> list[str]:
    """``text`` as RFC 2047 ``=?utf-8?b?…?=`` words, split between characters (never
    inside one, RFC 2047 §5), each of at most :data:`_WORD_BYTES` bytes of UTF-8."""
    out: list[str] = []
    start = size = 0
    for at, char in enumerate(text):
        width = len(char.encode("utf-8", "replace"))
        if size + width > _WORD_BYTES and at > start:
            out.append(_word(text[start:at]))
            start, size = at, 0
        size += width
    if start < len(text):
        out.append(_word(text[start:]))
    return out


def _word(text: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(text.encode("utf-8", "replace")).decode() + "?="


def subject_header(subject: str) -> bytes:
    """The ``Subject:`` header line(s), CRLF-terminated.

    Short printable ASCII goes as it is; anything else as UTF-8 encoded words, one
    per folded line (a reader joins adjacent encoded words without the folding
    space, RFC 2047 §6.2, so the subject reads back exactly).
    """
    subject = _one_line(subject)
    if _PLAIN.fullmatch(subject) and "=?" not in subject and "  " not in subject:
        return b"Subject: " + subject.encode("ascii") + b"\r\n"
    return ("Subject: " + "\r\n ".join(encoded_words(subject)) + "\r\n").encode("ascii")


def mail_host(sender: str) -> str:
    """The domain for Message-IDs: the sender's, so ids are ours and unique."""
    address = parseaddr(sender)[1]
    return address.rpartition("@")[2] or "zonewire.localhost"


class MimeTemplate:
    """One composed message with slots for the personal parts (subject included)."""

    def __init__(self, *, sender: str, date: datetime) -> None:
        msg = EmailMessage(policy=policy.SMTP)
        msg["From"] = sender
        msg["To"] = _SLOTS["to"].decode()
        msg["Subject"] = "zwslot-subject"
        msg["Date"] = format_datetime(date)
        msg["Message-ID"] = _SLOTS["mid"].decode()
        # RFC 8058: an https URI plus List-Unsubscribe-Post makes it one-click.
        msg["List-Unsubscribe"] = _SLOTS["lu"].decode()
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
        msg.set_content(_SLOTS["text"].decode(), cte="7bit")
        msg.add_alternative(_SLOTS["html"].decode(), subtype="html", cte="7bit")
        raw = msg.as_bytes()
        raw = raw.replace(
            b"Content-Transfer-Encoding: 7bit\r\n", b"Content-Transfer-Encoding: base64\r\n"
        )
        for name in ("text", "html"):
            raw = raw.replace(_SLOTS[name] + b"\r\n", _SLOTS[name])
        parts = _SPLIT.split(raw)
        found = [_NAMES[p] for p in parts[1::2]]
        if sorted(found) != sorted(_SLOTS):
            raise NotifierError(f"email template lost a placeholder: {found}")
        self._parts: list[bytes | str] = [
            _NAMES[p] if i % 2 else p for i, p in enumerate(parts)
        ]
        self.host = mail_host(sender)

    def build(
        self,
        *,
        to: str,
        name: str | None,
        subject: str,
        digest_id: str,
        unsubscribe_url: str,
        mailto: str | None,
        text: str,
        html: str,
    ) -> bytes:
        """The complete message for one recipient, CRLF line endings."""
        # `check` refuses these already; a line break here would add header lines.
        name, to = (_one_line(name) or None) if name else None, _one_line(to)
        unsubscribe_url = _one_line(unsubscribe_url)
        to_header = formataddr((name, to), charset="utf-8") if name else to
        lu = f"<{unsubscribe_url}>" + (f", <mailto:{mailto}?subject=unsubscribe>" if mailto else "")
        values = {
            "to": to_header.encode("utf-8"),
            "subject": subject_header(subject),
            "mid": f"<{digest_id}@{self.host}>".encode("ascii"),
            "lu": lu.encode("ascii"),
            "text": b64_lines(text.encode("utf-8")),
            "html": b64_lines(html.encode("utf-8")),
        }
        return b"".join(values[p] if isinstance(p, str) else p for p in self._parts)


def message_id(digest_id: str, sender: str) -> str:
    return f"<{digest_id}@{mail_host(sender)}>"
