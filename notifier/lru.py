"""A dictionary that forgets its least recently used entries past a size.

Rendering caches are keyed by a digest's content. When many subscribers share a
content (the same regions and articles) the cache saves the rendering; when every
subscriber has a content of its own, an unbounded cache would hold one rendered
email per subscriber for the whole pass (2 GB at 50,000). Bounded, it keeps the
contents in use and memory stays flat whatever the number of subscribers.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")

#: Contents kept by the rendering caches of one delivery pass.
RENDER_CACHE = 256


class BoundedCache(OrderedDict[K, V]):
    """``dict`` semantics; a read or write makes an entry the newest, and the oldest
    entries go once there are more than ``size``."""

    def __init__(self, size: int = RENDER_CACHE) -> None:
        super().__init__()
        self.size = max(size, 1)

    def __getitem__(self, key: K) -> V:
        value = super().__getitem__(key)
        self.move_to_end(key)
        return value

    def get(self, key: K, default: V | None = None) -> V | None:  # type: ignore[override]
        if key in self:
            return self[key]
        return default

    def __setitem__(self, key: K, value: V) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)
