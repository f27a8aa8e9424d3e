"""What a command needs, opened lazily: settings, store, gazetteer.

The CLI builds one :class:`App`; the worker and tests may build their own.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from feeds.intake import load_zones
from feeds.regions import Gazetteer, apply_aliases
from feeds.storage import Storage
from notifier.config import Settings, config_path, load_settings
from notifier.errors import ConfigError

if TYPE_CHECKING:
    from notifier.tokens import Signer


@dataclass
class App:
    settings: Settings
    config_file: Path | None = None
    _closers: list[Storage] = field(default_factory=list)
    _signers: dict[tuple[str | None, str], Signer] = field(default_factory=dict)
    _signers_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_config(cls, path: str | None) -> App:
        resolved = config_path(path)
        return cls(load_settings(resolved), resolved)

    @cached_property
    def store(self) -> Storage:
        where = str(self.config_file) if self.config_file else None
        store = Storage.open(self.settings.database, where=where)
        self._closers.append(store)
        return store

    @cached_property
    def gazetteer(self) -> Gazetteer:
        """Divisions plus every zone the store has learned, and the configured aliases."""
        gazetteer = load_zones(Gazetteer.default(), self.store)
        problems = apply_aliases(gazetteer, self.settings.region_aliases)
        if problems:
            where = self.config_file or "config/zonewire.yaml"
            raise ConfigError(
                "\n".join(f"{where}: region_aliases: {p}" for p in problems)
                + "\n(zonewire check shows where)"
            )
        return gazetteer

    def signer(self, settings: Settings | None = None, purpose: str = "unsubscribe") -> Signer:
        """The token signer for ``settings`` (default: this app's), one per key and
        purpose (``unsubscribe`` or ``feed``, :mod:`notifier.tokens`).

        The worker and the HTTP side both ask here with the settings in force, so
        a reloaded ``secret_key`` signs new links and checks them alike.
        """
        from notifier.tokens import Signer, load_secret

        configured = (settings or self.settings).secret_key
        with self._signers_lock:
            if (configured, purpose) not in self._signers:
                self._signers[(configured, purpose)] = Signer(load_secret(configured), purpose)
            return self._signers[(configured, purpose)]

    def place_unresolved(self) -> int:
        """Place stored articles that had no region, now that more is known; say so."""
        from datetime import UTC, datetime

        from feeds.intake import place_unresolved

        placed = place_unresolved(self.store, self.gazetteer, datetime.now(UTC))
        if placed:
            print(f"placed {placed} previously unresolved article{'s' if placed != 1 else ''}")
        return placed

    def close(self) -> None:
        for store in self._closers:
            store.close()
        self._closers.clear()
