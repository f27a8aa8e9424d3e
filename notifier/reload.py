"""The configuration in force, and reloading it when an operator edits a file.

SPEC §7: the running worker picks up an edited ``zonewire.yaml`` or
``subscriptions.yaml``; an edit with any problem is logged, problem by problem,
and the last good configuration stays in force. Nothing half-valid ever replaces
it: both files are read and checked completely before anything is swapped.

Distributed mode (SPEC §11): a ``zonewire worker`` reads its subscriptions only
when a plan job first needs them (``lazy_subscriptions``); delivery jobs carry their
subscribers, and parsing a 50,000-subscriber file would cost every worker hundreds
of megabytes for nothing.

SPEC §9: a reload applies every key it can — the worker and the HTTP side read the
settings through the same holder — and a key that needs a restart (``database``,
``serve.*``) keeps its old value and is named in a warning, never silently ignored.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from feeds.regions import Gazetteer
from notifier.config import ServeSettings, Settings, load_settings
from notifier.errors import ConfigError
from notifier.match import MatchIndex
from notifier.models import Subscriptions
from notifier.subscriptions import load_subscriptions

log = logging.getLogger(__name__)

DEFAULT_SUBSCRIPTIONS = Path("config/subscriptions.yaml")

GazetteerSource = Gazetteer | Callable[[], Gazetteer]


@dataclass(frozen=True)
class Loaded:
    """One consistent configuration: settings and the subscriptions they name."""

    settings: Settings
    subscriptions: Subscriptions
    #: sha256 of each file as read (a missing file is "")
    digests: tuple[tuple[Path, str], ...] = ()


def _digest(path: Path) -> str:
    try:
        with path.open("rb") as handle:  # streamed: a huge file is refused, not held
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except FileNotFoundError:
        return ""


def subscriptions_file(settings: Settings) -> Path:
    return settings.subscriptions


def load_subscriptions_for(
    settings: Settings, gazetteer: Gazetteer, environ: Mapping[str, str] | None = None
) -> Subscriptions:
    """The subscriptions ``settings`` name; a missing default file means none yet."""
    path = subscriptions_file(settings)
    if not path.exists():
        if path == DEFAULT_SUBSCRIPTIONS:
            return Subscriptions(warnings=(f"{path}: no such file; nobody is subscribed yet",))
        raise ConfigError(
            f"{path}: no such file (fix 'subscriptions:' in the config, or create it)"
        )
    return load_subscriptions(path, gazetteer, environ, settings.templates_dir)


def load_all(
    config_file: Path | None,
    gazetteer: Gazetteer,
    environ: Mapping[str, str] | None = None,
    settings: Settings | None = None,
) -> Loaded:
    """Read both files; :class:`ConfigError` lists every problem of the first bad one.

    ``settings`` given and ``config_file`` None: only subscriptions are read.
    """
    loaded = load_settings_only(config_file, environ, settings)
    settings = loaded.settings
    path = subscriptions_file(settings)
    digests = (*loaded.digests, (path, _digest(path)))
    subscriptions = load_subscriptions_for(settings, gazetteer, environ)
    return Loaded(settings, subscriptions, digests)


def load_settings_only(
    config_file: Path | None,
    environ: Mapping[str, str] | None = None,
    settings: Settings | None = None,
) -> Loaded:
    """Like :func:`load_all` without reading the subscriptions (none in the result)."""
    files: list[Path] = []
    if config_file is not None:
        files.append(config_file)
        settings = load_settings(config_file, environ)
    elif settings is None:
        settings = Settings()
    return Loaded(settings, Subscriptions(), tuple((f, _digest(f)) for f in files))


def restart_needed(old: Settings, new: Settings) -> list[str]:
    """The keys that differ between ``old`` and ``new`` and only a restart applies:
    the open store (``database``) and the listening sockets (``serve.*``)."""
    changed = ["database"] if old.database != new.database else []
    changed += [
        f"serve.{name}"
        for name in ServeSettings.model_fields
        if getattr(old.serve, name) != getattr(new.serve, name)
    ]
    return changed


def _keep_restart_keys(old: Loaded, new: Loaded) -> Loaded:
    """``new`` with ``database`` and ``serve`` as they are in force, and a warning
    naming each one the edit changed."""
    changed = restart_needed(old.settings, new.settings)
    if not changed:
        return new
    log.warning(
        "configuration: %s changed; restart zonewire to apply %s (until then the "
        "old value%s stay%s in force; every other key is applied now)",
        ", ".join(changed), "it" if len(changed) == 1 else "them",
        "" if len(changed) == 1 else "s", "s" if len(changed) == 1 else "",
    )
    kept = new.settings.model_copy(
        update={"database": old.settings.database, "serve": old.settings.serve}
    )
    return Loaded(kept, new.subscriptions, new.digests)


class ConfigHolder:
    """Settings, subscriptions and their match index, swapped only when valid.

    The first load raises :class:`ConfigError` (there is nothing to fall back on);
    after that :meth:`reload` never raises for a bad file. ``version`` goes up by one
    each time a new configuration takes effect; readers take :attr:`current` once
    per cycle and keep using that object.

    With ``lazy_subscriptions`` only the settings are read at first; the
    subscriptions are read (and their problems raised) on the first use of
    :attr:`current`, :attr:`subscriptions` or :meth:`matching`, and from then on
    reloaded like the settings.
    """

    def __init__(
        self,
        config_file: Path | None,
        gazetteer: GazetteerSource,
        environ: Mapping[str, str] | None = None,
        *,
        settings: Settings | None = None,
        lazy_subscriptions: bool = False,
    ) -> None:
        self.config_file = config_file
        self._gazetteer = gazetteer
        self._environ = environ
        self._lock = threading.Lock()
        self._base_settings = settings
        self._lazy = lazy_subscriptions
        #: Serialises loading and reloading in lazy mode (a plan job and a delivery
        #: job's reload may meet); embedded mode never waits on it.
        self._loading = threading.RLock()
        self._subscriptions_loaded = not lazy_subscriptions
        if lazy_subscriptions:
            self._current = load_settings_only(config_file, environ, settings)
        else:
            self._current = load_all(config_file, self.gazetteer(), environ, settings)
        self._index: MatchIndex | None = None
        self._index_version = 0
        #: How many match indexes were built (one per subscriptions version in use).
        self.index_builds = 0
        self.version = 1
        self.last_problems: list[str] = []
        self._rejected: tuple[tuple[Path, str], ...] | None = None
        for warning in self._current.subscriptions.warnings:
            log.warning("%s", warning)

    def gazetteer(self) -> Gazetteer:
        source = self._gazetteer
        return source if isinstance(source, Gazetteer) else source()

    @property
    def subscriptions_loaded(self) -> bool:
        """False while a lazy holder has not read its subscriptions yet."""
        return self._subscriptions_loaded

    def _guard(self) -> AbstractContextManager[object]:
        return self._loading if self._lazy else nullcontext()

    def _ensure_subscriptions(self) -> None:
        """Read the subscriptions on first use (lazy mode); raises ConfigError."""
        if self._subscriptions_loaded:
            return
        with self._loading:
            if self._subscriptions_loaded:
                return
            old = self._current
            loaded = load_all(
                self.config_file, self.gazetteer(), self._environ, self._base_settings
            )
            loaded = _keep_restart_keys(old, loaded)
            with self._lock:
                self._current = loaded
                self._index = None
                if loaded.settings != old.settings:
                    self.version += 1
                self._subscriptions_loaded = True
            for warning in loaded.subscriptions.warnings:
                log.warning("%s", warning)
            log.info("subscriptions file read: %d subscribers",
                     len(loaded.subscriptions.subscribers))

    @property
    def current(self) -> Loaded:
        self._ensure_subscriptions()
        return self._current

    @property
    def settings(self) -> Settings:
        return self._current.settings

    @property
    def subscriptions(self) -> Subscriptions:
        return self.current.subscriptions

    def matching(self) -> tuple[Subscriptions, MatchIndex]:
        """The subscriptions in force and their match index, as one consistent pair.

        The index is built once per subscriptions version and reused by every
        delivery pass until a reload brings a new version (a 100,000-subscriber
        index takes about a second to build). Blocking: call it from a thread.
        """
        self._ensure_subscriptions()
        with self._lock:
            if self._index is None or self._index_version != self.version:
                self._index = MatchIndex(self._current.subscriptions.subscribers)
                self._index_version = self.version
                self.index_builds += 1
            return self._current.subscriptions, self._index

    def paths(self) -> list[Path]:
        """The files to watch for edits."""
        return [path for path, _ in self._current.digests]

    def unchanged_on_disk(self) -> bool:
        return all(_digest(path) == digest for path, digest in self._current.digests)

    def reload(self, *, force: bool = False) -> bool:
        """Re-read the files; True if a new, valid configuration took effect.

        Files identical to the ones in force are not re-checked unless ``force``
        (a changed environment variable, newly learned zones). A lazy holder that
        has not read its subscriptions yet re-reads only the settings.
        """
        with self._guard():
            return self._reload(force)

    def _reload(self, force: bool) -> bool:
        if not force and self.unchanged_on_disk():
            return False
        on_disk = tuple((path, _digest(path)) for path in self.paths())
        if not force and on_disk == self._rejected:
            return False  # the same broken edit: reported once, not at every poll
        try:
            if self._subscriptions_loaded:
                loaded = load_all(
                    self.config_file, self.gazetteer(), self._environ, self._base_settings
                )
            else:
                loaded = load_settings_only(
                    self.config_file, self._environ, self._base_settings
                )
        except ConfigError as exc:
            self._rejected = on_disk
            self.last_problems = list(exc.problems)
            log.error(
                "configuration not reloaded, the last good one stays in force "
                "(%d problem%s):\n%s",
                len(exc.problems), "" if len(exc.problems) == 1 else "s",
                "\n".join(exc.problems),
            )
            return False
        self.last_problems = []
        self._rejected = None
        old = self._current
        loaded = _keep_restart_keys(old, loaded)
        same = old.settings == loaded.settings and old.subscriptions == loaded.subscriptions
        with self._lock:
            self._current = loaded  # new digests even when the content is the same
            if same:
                return False
            self._index = None
            self.version += 1
        for warning in loaded.subscriptions.warnings:
            log.warning("%s", warning)
        if not self._subscriptions_loaded:
            log.info("configuration reloaded (version %d; subscriptions are read by the "
                     "next plan job)", self.version)
            return True
        log.info(
            "configuration reloaded: %d subscribers (version %d)",
            len(loaded.subscriptions.subscribers), self.version,
        )
        return True


def _file_version(path: Path) -> tuple[int, int, int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


class WatchedConfig:
    """The configuration in force for ``zonewire serve``, where no worker polls.

    Each read compares the files' versions (device, inode, size, mtime: a stat
    each, no parsing) with the ones last read, and reloads through the holder only
    when they changed — not, as before, the whole subscriptions file on every
    unsubscribe request (~2 s at 10,000 subscribers). Read it from a worker thread:
    a reload runs in the reader's thread, and readers arriving meanwhile get the
    configuration still in force instead of waiting.
    """

    def __init__(self, holder: ConfigHolder) -> None:
        self.holder = holder
        self._reloading = threading.Lock()
        self._versions = self._on_disk()

    def _on_disk(self) -> tuple[object, ...]:
        return tuple(_file_version(path) for path in self.holder.paths())

    def check(self) -> None:
        """Reload if a file changed (a lazy holder's unread subscriptions stay unread)."""
        if self._on_disk() != self._versions and self._reloading.acquire(blocking=False):
            try:
                versions = self._on_disk()
                self.holder.reload()
                self._versions = versions
            finally:
                self._reloading.release()

    def refresh(self) -> Loaded:
        """The configuration in force, reloaded first if a file changed."""
        self.check()
        return self.holder.current

    @property
    def settings(self) -> Settings:
        self.check()
        return self.holder.settings

    @property
    def subscriptions(self) -> Subscriptions:
        return self.refresh().subscriptions
