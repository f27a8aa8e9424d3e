"""Channels: the edges where digests meet the network (or the Maildir outbox).

Every channel takes an :class:`Envelope` and either returns (delivered) or raises
:class:`TemporaryError` (retry later) or :class:`PermanentError` (record and stop).
Other libraries' exceptions are translated here, once.
"""

from __future__ import annotations

from notifier.channels.base import Channel, DeliveryError, Envelope, PermanentError, TemporaryError

__all__ = ["Channel", "DeliveryError", "Envelope", "PermanentError", "TemporaryError"]
