"""Service configuration (``config/zonewire.yaml``): the only module that reads YAML.

Every key has a working default, so an empty or missing file gives the embedded
setup: SQLite under ``var/``, a Maildir outbox, feeds under ``public/``.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from feeds.models import FeedSource, PortalSource, Source
from notifier.errors import ConfigError

DEFAULT_CONFIG = Path("config/zonewire.yaml")

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def parse_duration(value: Any) -> timedelta:
    """``30s``, ``10m``, ``6h``, ``7d`` (SPEC §3); a bare number is seconds."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])
    raise ValueError(f"not a duration: {value!r} (write it like 30s, 10m, 6h or 7d)")


def expand_env(value: str, environ: dict[str, str] | None = None) -> str:
    """Replace ``${VAR}`` with the environment's value; a missing one is an error."""
    env = os.environ if environ is None else environ

    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise ValueError(f"environment variable {name} is not set (export {name}=...)")
        return env[name]

    return _ENV.sub(sub, value)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeedsSettings(_Model):
    output_dir: Path = Path("public")
    entries: int = Field(50, ge=1, le=10_000)


class SmtpSettings(_Model):
    host: str = "127.0.0.1"
    port: int = Field(25, ge=1, le=65535)
    security: Literal["none", "starttls", "tls"] = "none"
    username: str | None = None
    password: str | None = None
    timeout: Duration = timedelta(seconds=30)


class EmailSettings(_Model):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    transport: Literal["maildir", "smtp"] = "maildir"
    from_: str = Field("zonewire <zonewire@localhost>", alias="from")
    outbox: Path = Path("var/outbox")
    smtp: SmtpSettings = SmtpSettings()


class ServeSettings(_Model):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)


class RetrySettings(_Model):
    max_attempts: int = Field(8, ge=1, le=100)
    initial: Duration = timedelta(seconds=30)
    max: Duration = timedelta(hours=6)


class DeliverySettings(_Model):
    concurrency: int = Field(8, ge=1, le=256)
    retry: RetrySettings = RetrySettings()
    timeout: Duration = timedelta(seconds=20)


class CrawlSettings(_Model):
    user_agent: str = "zonewire/0.1 (+https://github.com/zonewire/zonewire)"
    per_host_concurrency: int = Field(2, ge=1, le=64)
    per_host_delay: Duration = timedelta(milliseconds=250)
    timeout: Duration = timedelta(seconds=20)
    max_page_bytes: int = Field(5 * 1024 * 1024, ge=1024)
    retries: int = Field(3, ge=0, le=20)
    backoff: Duration = timedelta(seconds=1)
    obey_robots: bool = True


class PortalSourceSettings(_Model):
    name: str
    type: Literal["portal"]
    base_url: str
    list_urls: list[str] = Field(min_length=1)
    detail_pattern: str = r"/index\.php/home/news/detail/id/\d+\.html"
    next_page_text: str = "下一页"
    interval: Duration = timedelta(minutes=10)
    region: str | None = None
    max_pages: int = Field(50, ge=1)
    silent_after: Duration | None = None

    def to_source(self) -> PortalSource:
        return PortalSource(
            name=self.name,
            base_url=self.base_url,
            list_urls=tuple(self.list_urls),
            detail_pattern=self.detail_pattern,
            next_page_text=self.next_page_text,
            interval=self.interval,
            region=self.region,
            max_pages=self.max_pages,
            silent_after=self.silent_after,
        )


class FeedSourceSettings(_Model):
    name: str
    type: Literal["feed"]
    url: str
    region: str | None = None
    zone: str | None = None
    interval: Duration = timedelta(minutes=10)
    silent_after: Duration | None = None

    def to_source(self) -> FeedSource:
        return FeedSource(
            name=self.name,
            url=self.url,
            region=self.region,
            zone=self.zone,
            interval=self.interval,
            silent_after=self.silent_after,
        )


class Settings(_Model):
    """The whole of ``config/zonewire.yaml`` (SPEC §3), defaults filled in."""

    database: str = "sqlite:///var/zonewire.db"
    subscriptions: Path = Path("config/subscriptions.yaml")
    public_url: str = "http://127.0.0.1:8080/"
    secret_key: str | None = None
    templates_dir: Path | None = None
    feeds: FeedsSettings = FeedsSettings()
    notify_max_age: Duration = timedelta(days=7)
    email: EmailSettings = EmailSettings()
    serve: ServeSettings = ServeSettings()
    delivery: DeliverySettings = DeliverySettings()
    crawl: CrawlSettings = CrawlSettings()
    sources: list[
        Annotated[PortalSourceSettings | FeedSourceSettings, Field(discriminator="type")]
    ] = []

    def source_specs(self) -> list[Source]:
        return [s.to_source() for s in self.sources]


def _expand(node: Any) -> Any:
    if isinstance(node, str):
        return expand_env(node)
    if isinstance(node, list):
        return [_expand(item) for item in node]
    if isinstance(node, dict):
        return {key: _expand(value) for key, value in node.items()}
    return node


def config_path(explicit: str | os.PathLike[str] | None) -> Path:
    """``-c`` wins, then ``$ZONEWIRE_CONFIG``, then ``config/zonewire.yaml``."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("ZONEWIRE_CONFIG")
    return Path(env) if env else DEFAULT_CONFIG


def load_settings(path: Path) -> Settings:
    """Read and validate the service configuration; a missing file means defaults."""
    import yaml

    if not path.exists():
        if path == DEFAULT_CONFIG:
            return Settings()
        raise ConfigError(f"{path}: no such file (give -c PATH or set ZONEWIRE_CONFIG)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1:1: expected a mapping of settings")
    try:
        return Settings.model_validate(_expand(data))
    except ValueError as exc:
        if isinstance(exc, ValidationError):
            problems = [
                f"{path}: {'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
                for err in exc.errors()
            ]
            raise ConfigError("\n".join(problems)) from None
        raise ConfigError(f"{path}: {exc}") from None
