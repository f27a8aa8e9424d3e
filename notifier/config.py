"""Service configuration (``config/zonewire.yaml``): the only module that reads YAML.

Every key has a working default, so an empty or missing file gives the embedded
setup: SQLite under ``var/``, a Maildir outbox, feeds under ``public/``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

from feeds.models import CrawlPolicy, FeedSource, PortalSource, SiteSource, Source
from feeds.sources.hosts import host_key
from notifier import yaml_problems, yamlpos
from notifier.errors import ConfigError
from notifier.field_checks import header_problem
from notifier.tokens import key_problem

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


def expand_env(value: str, environ: Mapping[str, str] | None = None) -> str:
    """Replace ``${VAR}`` with the environment's value; a missing one is an error."""
    env = os.environ if environ is None else environ

    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise ValueError(f"environment variable {name} is not set (export {name}=...)")
        return env[name]

    return _ENV.sub(sub, value)


#: In JSON Schema a duration is what the YAML says (``10m``), not ISO 8601.
DURATION_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*(ms|s|m|h|d|w)\s*$"},
        {"type": "number", "minimum": 0},
    ],
    "description": "a duration: 30s, 10m, 6h, 7d (a bare number is seconds)",
}

Duration = Annotated[
    timedelta, BeforeValidator(parse_duration), WithJsonSchema(DURATION_SCHEMA)
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WebSubSettings(_Model):
    #: WebSub hubs every feed names (<link rel="hub">) and pings after each build.
    hubs: tuple[Annotated[str, Field(pattern=r"^https?://\S+$")], ...] = ()


class FeedsSettings(_Model):
    output_dir: Path = Path("public")
    entries: int = Field(default=50, ge=1, le=10_000)
    websub: WebSubSettings = WebSubSettings()


class SmtpSettings(_Model):
    host: str = "127.0.0.1"
    port: int = Field(default=25, ge=1, le=65535)
    security: Literal["none", "starttls", "tls"] = "none"
    username: str | None = None
    password: str | None = None
    timeout: Duration = timedelta(seconds=30)
    #: A CA bundle to trust for starttls/tls, e.g. an internal mail server's own CA.
    ca_file: Path | None = None


class EmailSettings(_Model):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    transport: Literal["maildir", "smtp"] = "maildir"
    from_: str = Field(default="zonewire <zonewire@localhost>", alias="from")
    outbox: Path = Path("var/outbox")
    smtp: SmtpSettings = SmtpSettings()


class ServeSettings(_Model):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    #: Prometheus ``/metrics`` listens here, never on the public port; null turns it off.
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = Field(default=9108, ge=0, le=65535)


class RetrySettings(_Model):
    max_attempts: int = Field(default=8, ge=1, le=100)
    initial: Duration = timedelta(seconds=30)
    max: Duration = timedelta(hours=6)


class DeliverySettings(_Model):
    concurrency: int = Field(default=8, ge=1, le=256)
    #: Distributed mode: subscribers per delivery job (SPEC §11).
    batch: int = Field(default=100, ge=1, le=10_000)
    retry: RetrySettings = RetrySettings()
    timeout: Duration = timedelta(seconds=20)


class DistributedSettings(_Model):
    """``mode: distributed`` (SPEC §11): schedulers and workers on PostgreSQL."""

    #: A scheduler whose lock connection fails stops leading within this time.
    lead_timeout: Duration = timedelta(seconds=30)
    #: Jobs one ``zonewire worker`` runs at once (``--concurrency`` overrides it).
    worker_concurrency: int = Field(default=4, ge=1, le=256)


class CrawlSettings(_Model):
    user_agent: str = "zonewire/0.1 (+https://github.com/zonewire/zonewire)"
    per_host_concurrency: int = Field(default=2, ge=1, le=64)
    per_host_delay: Duration = timedelta(milliseconds=250)
    timeout: Duration = timedelta(seconds=20)
    max_page_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    retries: int = Field(default=3, ge=0, le=20)
    backoff: Duration = timedelta(seconds=1)
    obey_robots: bool = True

    def policy(self) -> CrawlPolicy:
        """This section as the value the feeds package takes."""
        return CrawlPolicy(
            user_agent=self.user_agent,
            per_host_concurrency=self.per_host_concurrency,
            per_host_delay=self.per_host_delay,
            timeout=self.timeout,
            max_page_bytes=self.max_page_bytes,
            retries=self.retries,
            backoff=self.backoff,
            obey_robots=self.obey_robots,
        )


def _host_name(value: str) -> str:
    """An ``allowed_hosts`` entry: ``host`` or ``host:port`` (a URL is read for its host)."""
    text = value.strip()
    if host_key(text if "://" in text else f"http://{text}") is None:
        raise ValueError(f"{value!r} is not a host name (write it as host or host:port)")
    return text


class PortalSourceSettings(_Model):
    name: str
    type: Literal["portal"]
    base_url: str
    list_urls: list[str] = Field(min_length=1)
    detail_pattern: str = r"/index\.php/home/news/detail/id/\d+\.html"
    next_page_text: str = "下一页"
    interval: Duration = timedelta(minutes=10)
    region: str | None = None
    max_pages: int = Field(default=50, ge=1)
    silent_after: Duration | None = None
    # Hosts besides base_url's that detail links, 下一页 and redirects may lead to.
    allowed_hosts: list[Annotated[str, AfterValidator(_host_name)]] = []

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
            allowed_hosts=tuple(self.allowed_hosts),
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


class SiteSourceSettings(_Model):
    """A zone's own website (SPEC §1): a portal's keys plus ``zone:`` or ``region:``."""

    name: str
    type: Literal["site"]
    base_url: str
    list_urls: list[str] = Field(min_length=1)
    detail_pattern: str
    next_page_text: str = "下一页"
    #: The zone every article belongs to; ``嘉兴市/乍浦湾临港开发区`` names its division too.
    zone: str | None = None
    #: Or the district or city every article belongs to.
    region: str | None = None
    interval: Duration = timedelta(minutes=30)
    max_pages: int = Field(default=50, ge=1)
    silent_after: Duration | None = None
    allowed_hosts: list[Annotated[str, AfterValidator(_host_name)]] = []

    @model_validator(mode="after")
    def _one_place(self) -> SiteSourceSettings:
        zone, region = (self.zone or "").strip(), (self.region or "").strip()
        if not zone and not region:
            raise ValueError(
                f"site source '{self.name}' needs the place its articles belong to: add "
                "zone: (e.g. zone: 嘉兴市/乍浦湾临港开发区) or region: (e.g. region: 嘉兴市)"
            )
        if zone and region:
            raise ValueError(
                f"site source '{self.name}': give zone: or region:, not both (write a "
                "zone's division as zone: 嘉兴市/乍浦湾临港开发区)"
            )
        return self

    def to_source(self) -> SiteSource:
        return SiteSource(
            name=self.name,
            base_url=self.base_url,
            list_urls=tuple(self.list_urls),
            detail_pattern=self.detail_pattern,
            zone=(self.zone or "").strip() or None,
            region=(self.region or "").strip() or None,
            next_page_text=self.next_page_text,
            interval=self.interval,
            max_pages=self.max_pages,
            silent_after=self.silent_after,
            allowed_hosts=tuple(self.allowed_hosts),
        )


class Settings(_Model):
    """The whole of ``config/zonewire.yaml`` (SPEC §3), defaults filled in."""

    database: str = "sqlite:///var/zonewire.db"
    #: ``embedded``: ``zonewire run``, one process; ``distributed``: SPEC §11.
    mode: Literal["embedded", "distributed"] = "embedded"
    distributed: DistributedSettings = DistributedSettings()
    subscriptions: Path = Path("config/subscriptions.yaml")
    #: Names the portals write -> the region they mean (a name, adcode or path such
    #: as 北京市/朝阳区): the fix for names `zonewire status` lists as unresolved.
    region_aliases: dict[str, str] = {}
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
        Annotated[
            PortalSourceSettings | FeedSourceSettings | SiteSourceSettings,
            Field(discriminator="type"),
        ]
    ] = []

    def source_specs(self) -> list[Source]:
        return [s.to_source() for s in self.sources]


def expand_tree(
    node: Any,
    doc: yamlpos.Document,
    problems: list[str],
    environ: Mapping[str, str] | None = None,
    path: tuple[str | int, ...] = (),
    *,
    failed: set[tuple[str | int, ...]] | None = None,
) -> Any:
    """Expand ``${VAR}`` in every string of ``node``; a missing one is a problem.

    A string with a missing variable is kept as written, so later checks of the
    same value do not pile a second, misleading message on top; its path is added
    to ``failed``.
    """
    if isinstance(node, str):
        if "${" not in node:
            return node
        try:
            return expand_env(node, environ)
        except ValueError as exc:
            problems.append(doc.problem(path, str(exc)))
            if failed is not None:
                failed.add(path)
            return node
    if isinstance(node, list):
        return [
            expand_tree(item, doc, problems, environ, (*path, i), failed=failed)
            for i, item in enumerate(node)
        ]
    if isinstance(node, dict):
        return {
            key: expand_tree(value, doc, problems, environ, (*path, key), failed=failed)
            for key, value in node.items()
        }
    return node


def config_path(explicit: str | os.PathLike[str] | None) -> Path:
    """``-c`` wins, then ``$ZONEWIRE_CONFIG``, then ``config/zonewire.yaml``."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("ZONEWIRE_CONFIG")
    return Path(env) if env else DEFAULT_CONFIG


def problems_error(problems: list[str], file: str) -> ConfigError:
    """One :class:`ConfigError` for every problem of one file, one per line."""
    problems = yaml_problems.sort_problems(problems)
    if len(problems) == 1:
        return ConfigError(problems[0], problems)
    header = f"{file}: {len(problems)} problems"
    return ConfigError("\n".join([header, *problems]), problems)


def load_settings(path: Path, environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the service configuration; a missing file means defaults.

    Every problem is reported at once, each as ``file:line:col: message``.
    """
    if not path.exists():
        if path == DEFAULT_CONFIG:
            return Settings()
        raise ConfigError(f"{path}: no such file (give -c PATH or set ZONEWIRE_CONFIG)")
    try:
        doc = yamlpos.load(path)
    except yamlpos.YamlSyntaxError as exc:
        raise ConfigError(str(exc)) from None
    return settings_from_document(doc, environ)


def settings_from_document(
    doc: yamlpos.Document, environ: Mapping[str, str] | None = None
) -> Settings:
    problems = list(doc.problems)
    data = doc.data if doc.data is not None else {}
    if not isinstance(data, dict):
        raise ConfigError(f"{doc.where(())}: expected a mapping of settings (key: value)")
    env = os.environ if environ is None else environ
    secret = data.get("secret_key")
    if isinstance(secret, str) and (whole := _ENV.fullmatch(secret.strip())):
        if whole.group(1) not in env:
            # SPEC §3: with ZONEWIRE_SECRET unset, a key is generated once and kept in var/.
            data = {**data, "secret_key": None}
    expanded = expand_tree(data, doc, problems, environ)
    settings: Settings | None = None
    try:
        settings = Settings.model_validate(expanded)
    except ValidationError as exc:
        problems += yaml_problems.pydantic_problems(doc, exc.errors(), Settings, data=expanded)
    if settings is not None and (why := header_problem(settings.email.from_, "'from'")):
        problems.append(doc.problem(("email", "from"), why))
    if settings is not None and settings.secret_key is not None:
        if why := key_problem(settings.secret_key):
            problems.append(doc.problem(("secret_key",), f"'secret_key': {why}"))
    if settings is not None and settings.mode == "distributed":
        if not settings.database.startswith(("postgresql://", "postgresql+", "postgres://")):
            problems.append(doc.problem(
                ("database",) if "database" in data else ("mode",),
                "mode: distributed needs a PostgreSQL database (its job queue lives there): "
                "set 'database: postgresql://user@host/dbname', or use mode: embedded",
            ))
    if problems or settings is None:
        raise problems_error(problems, doc.file)
    return settings
