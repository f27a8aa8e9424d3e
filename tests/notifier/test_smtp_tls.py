"""The SMTP channel against a real aiosmtpd server speaking STARTTLS or implicit TLS
with authentication, as a production mail server would; certificates from a test CA
(trustme) that the channel is told to trust through ``email.smtp.ca_file``."""

from __future__ import annotations

import asyncio
import gc
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from notifier.channels.base import Envelope, TransportError
from notifier.channels.smtp import SmtpChannel
from tests.support.servers import SmtpSink, free_port

# aiosmtplib 5 on Python 3.11 leaves the plain transport under a TLS session to the
# garbage collector after STARTTLS or a refused handshake (the channel closes every
# client it opens). The fixture above collects it within this module, so this
# filter does not hide leaks elsewhere.
pytestmark = [
    pytest.mark.filterwarnings("ignore:unclosed:ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

MESSAGE = (
    b"From: zonewire <news@example.com>\r\nTo: a@example.com\r\n"
    b"Subject: =?utf-8?b?5Zut5Yy65paw6Ze7?=\r\nMessage-ID: <d1@example.com>\r\n\r\nbody\r\n"
)


def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"zw", b"s3cret")
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd replies 535


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@pytest.fixture(params=["starttls", "tls"])
def secure_server(
    request: pytest.FixtureRequest, ca: trustme.CA
) -> Iterator[tuple[str, int, SmtpSink]]:
    sink = SmtpSink()
    port = free_port()
    options: dict[str, Any] = {"authenticator": authenticate, "auth_required": True}
    if request.param == "starttls":
        # No AUTH before STARTTLS: a password never crosses the wire in clear.
        options |= {
            "tls_context": server_context(ca),
            "require_starttls": True,
            "auth_require_tls": True,
        }
    else:
        # Implicit TLS: the whole session is encrypted (aiosmtpd only counts STARTTLS
        # as TLS for auth_require_tls, so it is off here).
        options |= {"ssl_context": server_context(ca), "auth_require_tls": False}
    controller = Controller(sink, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield request.param, port, sink
    finally:
        controller.stop()


def send(channel: SmtpChannel, to: str = "a@example.com") -> None:
    async def go() -> None:
        try:
            await channel.send(
                Envelope(
                    digest_id="d1",
                    subscriber_id="a",
                    to=to,
                    body=MESSAGE,
                    sender="news@example.com",
                )
            )
        finally:
            await channel.aclose()

    asyncio.run(go())


def channel(security: str, port: int, password: str, ca_file: str | None) -> SmtpChannel:
    return SmtpChannel(
        host="127.0.0.1",
        port=port,
        security=security,
        username="zw",
        password=password,
        ca_file=ca_file,
        timeout=10,
    )


def test_sends_over_tls_with_auth(secure_server: tuple[str, int, SmtpSink], ca_file: str) -> None:
    security, port, sink = secure_server
    send(channel(security, port, "s3cret", ca_file))
    (message,) = sink.to("a@example.com")
    assert message["Message-ID"] == "<d1@example.com>"
    assert message["Subject"] == "园区新闻"


def test_wrong_password_is_the_transports_fault_not_the_recipients(
    secure_server: tuple[str, int, SmtpSink], ca_file: str
) -> None:
    # SPEC §8: a refused login is a transport failure: the digest stays due.
    security, port, sink = secure_server
    with pytest.raises(TransportError, match="535"):
        send(channel(security, port, "wrong", ca_file))
    assert sink.messages == []


def test_an_untrusted_certificate_is_refused(secure_server: tuple[str, int, SmtpSink]) -> None:
    security, port, sink = secure_server
    with pytest.raises(TransportError, match="certificate"):
        send(channel(security, port, "s3cret", None))  # no ca_file: the system CAs only
    assert sink.messages == []


@pytest.fixture(autouse=True)
def _collect() -> Iterator[None]:
    """Collect garbage here, so what these tests leave behind surfaces here."""
    yield
    gc.collect()
