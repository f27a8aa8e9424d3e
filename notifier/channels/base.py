"""The channel protocol and the two kinds of delivery failure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from notifier.errors import NotifierError


@dataclass(frozen=True, slots=True)
class Envelope:
    """One message for one recipient, ready to go.

    For email ``to`` is the address, ``sender`` the envelope sender and ``body`` the
    complete RFC 5322 message; for webhooks ``to`` is the URL, ``body`` the JSON body,
    ``format`` and ``secret`` pick the signing.
    """

    digest_id: str
    subscriber_id: str
    to: str
    body: bytes
    sender: str = ""
    format: str = "json"
    secret: str | None = None


class DeliveryError(NotifierError):
    """A delivery that did not happen; ``str()`` says why, for ``zonewire status``."""

    permanent = False

    def __init__(self, message: str, *, retry_after: float | None = None,
                 disable: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.disable = disable


class TemporaryError(DeliveryError):
    """Timeout, connection error, SMTP 4xx, HTTP 5xx or 429: try again later."""


class TransportError(TemporaryError):
    """The channel's transport itself is broken (SPEC §8): SMTP login refused, a
    connection refused or a TLS failure at connect, a name that does not resolve, an
    outbox that cannot be written. Not the recipient's fault: the digest stays due,
    and the rest of the pass sends nothing more on that channel."""


class PermanentError(DeliveryError):
    """SMTP 5xx, HTTP 4xx: retrying will not help; 410 also disables the webhook."""

    permanent = True


class Channel(Protocol):
    """Sends envelopes; bounded concurrency and connection reuse are its own business."""

    async def send(self, envelope: Envelope) -> None: ...

    async def aclose(self) -> None: ...
