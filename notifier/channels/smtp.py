"""SMTP through aiosmtplib: STARTTLS or implicit TLS, auth, reused connections.

``concurrency`` connections are opened lazily and kept in a pool; each message takes
one, sends, and puts it back, so a fan-out of thousands runs over a handful of
sessions. SMTP 4xx replies and network trouble are temporary; 5xx are permanent.
Anything that goes wrong while opening a session (a refused connection or login, a
TLS failure, a name that does not resolve) is the transport's fault, not the
recipient's: :class:`TransportError` (SPEC §8).
"""

from __future__ import annotations

import asyncio

import aiosmtplib

from notifier.channels.base import Envelope, PermanentError, TemporaryError, TransportError


class SmtpChannel:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        security: str = "none",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30,
        concurrency: int = 8,
        validate_certs: bool = True,
        ca_file: str | None = None,
    ) -> None:
        self._options = dict(
            hostname=host,
            port=port,
            username=username,
            password=password,
            timeout=timeout,
            use_tls=security == "tls",
            start_tls=security == "starttls",
            validate_certs=validate_certs,
            cert_bundle=ca_file,
        )
        self.where = f"SMTP {host}:{port}"
        self._idle: asyncio.Queue[aiosmtplib.SMTP | None] = asyncio.Queue()
        for _ in range(concurrency):
            self._idle.put_nowait(None)
        self._open: set[aiosmtplib.SMTP] = set()

    async def _connect(self) -> aiosmtplib.SMTP:
        client = aiosmtplib.SMTP(**self._options)  # type: ignore[arg-type]
        try:
            await client.connect()
        except aiosmtplib.SMTPAuthenticationError as exc:
            client.close()
            raise TransportError(
                f"{self.where} refused the login of {self._options['username']!r}: "
                f"{exc.code} {exc.message} (check email.smtp.username and password)"
            ) from exc
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            client.close()
            raise TransportError(f"{self.where}: cannot connect: {_describe(exc)}") from exc
        except BaseException:
            # A refused certificate or login leaves the socket open otherwise.
            client.close()
            raise
        self._open.add(client)
        return client

    async def _drop(self, client: aiosmtplib.SMTP | None) -> None:
        if client is None:
            return
        self._open.discard(client)
        try:
            client.close()
        except Exception:  # noqa: BLE001 - closing a broken session must not raise
            pass

    async def send(self, envelope: Envelope) -> None:
        client = await self._idle.get()
        try:
            if client is None or not client.is_connected:
                await self._drop(client)
                client = None
                client = await self._connect()  # raises TransportError
            await client.sendmail(envelope.sender, [envelope.to], envelope.body)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients[0] if exc.recipients else None
            code = refused.code if refused is not None else 550
            await self._reset(client)
            raise _by_code(code, f"{self.where} refused {envelope.to}: {refused}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            await self._reset(client)
            raise _by_code(exc.code, f"{self.where}: {exc.code} {exc.message}") from exc
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            await self._drop(client)
            client = None
            raise TemporaryError(f"{self.where}: {type(exc).__name__}: {exc}") from exc
        finally:
            self._idle.put_nowait(client)

    async def _reset(self, client: aiosmtplib.SMTP | None) -> None:
        """After a refused transaction the session stays usable once RSET."""
        if client is None or not client.is_connected:
            return
        try:
            await client.rset()
        except (aiosmtplib.SMTPException, OSError):
            client.close()

    async def aclose(self) -> None:
        for client in list(self._open):
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()
        self._open.clear()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"{exc.code} {exc.message}"
    return f"{type(exc).__name__}: {exc}"


def _by_code(code: int, message: str) -> TemporaryError | PermanentError:
    if 400 <= code < 500:
        return TemporaryError(message)
    return PermanentError(message)
