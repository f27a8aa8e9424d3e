"""``config/subscriptions.yaml`` (SPEC §7) to :class:`~notifier.models.Subscriptions`.

A typo here must never silently drop a subscriber or email the wrong people, so
the whole file is checked and every problem is reported at once, each as
``file:line:col: message`` with the fix. The pydantic models below describe the
file's shape (and give the JSON Schema); what needs outside knowledge — regions
from the gazetteer, schedules, email syntax, webhook formats, ``${VAR}`` — is
checked here with the positions the YAML loader kept.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ValidationError

from feeds.regions import Gazetteer
from notifier import yaml_problems, yamlpos
from notifier.config import expand_tree, problems_error
from notifier.errors import ConfigError
from notifier.field_checks import check_webhook_url, header_problem, whsec_problem
from notifier.models import Keywords, Schedule, Subscriber, Subscriptions, WebhookTarget
from notifier.region_names import resolve_region
from notifier.schedules import parse_schedule
from notifier.subscription_file import (
    DefaultsModel,
    KeywordsModel,
    SubscriberModel,
    SubscriptionsFile,
    WebhookModel,
)
from notifier.template_files import webhook_formats

Path_ = tuple[str | int, ...]


def _fingerprint(entry: Any) -> str:
    data = json.dumps(entry, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()[:16]


def _part(key: str, value: Any) -> Any:
    """One field of a subscriber that failed validation elsewhere, validated alone."""
    kinds: dict[str, type[BaseModel]] = {"webhook": WebhookModel, "keywords": KeywordsModel}
    if key in kinds and value is not None:
        return kinds[key].model_validate(value)
    if key == "regions" and isinstance(value, list):
        return [str(v) for v in value]
    return value


@dataclass
class _Checker:
    doc: yamlpos.Document
    gazetteer: Gazetteer
    environ: Mapping[str, str] | None
    templates_dir: Path | None
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    _formats: list[str] | None = None
    _zones: dict[str, bool] = field(default_factory=dict)
    _schedules: dict[str, Schedule | str] = field(default_factory=dict)

    def problem(self, path: Path_, message: str, *, key: bool = False) -> None:
        self.problems.append(self.doc.problem(path, message, key=key))

    # -- parts of one subscriber ---------------------------------------------------

    def schedule(self, text: str, path: Path_) -> Schedule | None:
        cached = self._schedules.get(text)
        if cached is None:
            try:
                cached = parse_schedule(text)
            except ValueError as exc:
                cached = str(exc)
            self._schedules[text] = cached
        if isinstance(cached, str):
            self.problem(path, cached)
            return None
        return cached

    def timezone(self, name: str, path: Path_) -> bool:
        if name not in self._zones:
            try:
                ZoneInfo(name)
                self._zones[name] = True
            except (ZoneInfoNotFoundError, ValueError):
                self._zones[name] = False
        if not self._zones[name]:
            self.problem(
                path, f"unknown time zone '{name}' (write an IANA name such as Asia/Shanghai)"
            )
        return self._zones[name]

    def email(self, address: str, path: Path_) -> str | None:
        if why := header_problem(address, "the address"):
            self.problem(path, why)
            return None
        try:
            return validate_email(address, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            self.problem(path, f"bad email address '{address}': {exc}")
            return None

    def webhook(self, hook: WebhookModel, path: Path_, failed: set[Path_]) -> bool:
        good = True
        if (*path, "url") not in failed and (why := check_webhook_url(hook.url)):
            self.problem((*path, "url"), why)
            good = False
        if hook.secret and (*path, "secret") not in failed:
            if why := whsec_problem(hook.secret):
                self.problem((*path, "secret"), why)
                good = False
        if self._formats is None:
            self._formats = webhook_formats(self.templates_dir)
        if hook.format not in self._formats:
            close = difflib.get_close_matches(hook.format, self._formats, n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            where = (
                f"{self.templates_dir}/webhook/{hook.format}.json.j2"
                if self.templates_dir
                else "templates_dir/webhook/<format>.json.j2"
            )
            self.problem(
                (*path, "format"),
                f"unknown webhook format '{hook.format}' — {hint}"
                f"write one of {', '.join(self._formats)}, or add the template {where}",
            )
            good = False
        return good

    def regions(self, names: list[str], path: Path_) -> tuple[str, ...] | None:
        keys: list[str] = []
        good = True
        for i, name in enumerate(names):
            outcome = resolve_region(name, self.gazetteer)
            if outcome.problem:
                self.problem((*path, i), outcome.problem)
                good = False
            if outcome.warning:
                self.warnings.append(self.doc.problem((*path, i), outcome.warning))
            if outcome.key and outcome.key not in keys:
                keys.append(outcome.key)
        return tuple(keys) if good else None

    def words(self, words: list[str], path: Path_) -> tuple[str, ...]:
        for i, word in enumerate(words):
            if not word.strip():
                self.problem((*path, i), "empty keyword (remove it)")
        return tuple(w.strip() for w in words if w.strip())

    # -- the file --------------------------------------------------------------------

    def defaults(self, data: dict[str, Any], raw: dict[str, Any]) -> DefaultsModel:
        value = data.get("defaults")
        if value is None:
            return DefaultsModel()
        try:
            defaults = DefaultsModel.model_validate(value)
        except ValidationError as exc:
            self.problems += yaml_problems.pydantic_problems(
                self.doc, exc.errors(), DefaultsModel, ("defaults",), value
            )
            return DefaultsModel()
        self.timezone(defaults.timezone, ("defaults", "timezone"))
        if "schedule" in value:
            self.schedule(defaults.schedule, ("defaults", "schedule"))
        return defaults

    def subscriber(
        self,
        entry: Any,
        raw: Any,
        path: Path_,
        defaults: DefaultsModel,
        seen: dict[str, Path_],
        failed: set[Path_],
    ) -> Subscriber | None:
        if not isinstance(entry, dict):
            self.problem(
                path, "expected a subscriber: a mapping with id:, email: or webhook:, and regions:"
            )
            return None
        before = len(self.problems)
        model: SubscriberModel | None = None
        try:
            model = SubscriberModel.model_validate(entry)
        except ValidationError as exc:
            errors = [
                e
                for e in exc.errors()
                if (*path, *yaml_problems.resolve_loc(e["loc"], entry, SubscriberModel)[0])
                not in failed
            ]
            self.problems += yaml_problems.pydantic_problems(
                self.doc, errors, SubscriberModel, path, entry
            )
            # Check what can still be checked, so one run reports everything.
            bad = {e["loc"][0] for e in exc.errors() if e["loc"]}
            model = SubscriberModel.model_construct(
                **{
                    k: _part(k, v)
                    for k, v in entry.items()
                    if k in SubscriberModel.model_fields and k not in bad
                }
            )
        sub_id = entry.get("id") if isinstance(entry.get("id"), (str, int)) else None
        if sub_id is not None:
            sub_id = str(sub_id)
            if sub_id in seen:
                first = self.doc.pos(seen[sub_id])
                self.problem(
                    (*path, "id"),
                    f"duplicate subscriber id '{sub_id}' (first used "
                    f"at line {first.line}); ids must be unique",
                )
            else:
                seen[sub_id] = (*path, "id")
        name = getattr(model, "name", None)
        if isinstance(name, str) and (why := header_problem(name, "'name'")):
            self.problem((*path, "name"), why)
        email = getattr(model, "email", None)
        webhook = getattr(model, "webhook", None)
        if isinstance(email, str) and (*path, "email") not in failed:
            email = self.email(email, (*path, "email"))
        if isinstance(webhook, WebhookModel):
            self.webhook(webhook, (*path, "webhook"), failed)
        if entry.get("email") is None and entry.get("webhook") is None:
            who = f"subscriber '{sub_id}'" if sub_id else "this subscriber"
            self.problem(
                path,
                f"{who} has no channel — add email: ADDRESS or "
                "webhook: {url: https://..., format: json}",
            )
        schedule_text = getattr(model, "schedule", None) or defaults.schedule
        schedule_path = (*path, "schedule") if "schedule" in entry else ("defaults", "schedule")
        schedule = (
            self.schedule(str(schedule_text), schedule_path)
            if isinstance(schedule_text, str)
            else None
        )
        zone = getattr(model, "timezone", None)
        if isinstance(zone, str):
            self.timezone(zone, (*path, "timezone"))
        names = getattr(model, "regions", None)
        regions = (
            self.regions([str(n) for n in names], (*path, "regions"))
            if isinstance(names, list)
            else None
        )
        keywords = getattr(model, "keywords", None)
        include: tuple[str, ...] = ()
        exclude: tuple[str, ...] = ()
        if isinstance(keywords, KeywordsModel):
            include = self.words(keywords.include, (*path, "keywords", "include"))
            exclude = self.words(keywords.exclude, (*path, "keywords", "exclude"))
        if len(self.problems) > before or model is None or schedule is None or regions is None:
            return None
        return Subscriber(
            id=model.id,
            name=model.name,
            schedule=schedule,
            regions=regions,
            email=email,
            webhook=(
                WebhookTarget(webhook.url, webhook.format, webhook.secret)
                if webhook is not None
                else None
            ),
            keywords=Keywords(include, exclude),
            categories=tuple(c.strip() for c in model.categories if c.strip()),
            timezone=model.timezone or defaults.timezone,
            language=model.language or defaults.language,
            max_articles=model.max_articles or defaults.max_articles,
            fingerprint=_fingerprint(raw),
        )

    def run(self) -> Subscriptions:
        raw = self.doc.data
        self.problems += self.doc.problems
        if raw is None:
            return Subscriptions()
        if not isinstance(raw, dict):
            self.problem((), "expected a mapping with defaults: and subscribers:")
            return Subscriptions()
        failed: set[Path_] = set()
        data = expand_tree(raw, self.doc, self.problems, self.environ, failed=failed)
        valid = yaml_problems.field_names(SubscriptionsFile)
        for key in data:
            if key not in valid:
                self.problem((key,), yaml_problems.unknown_key_message(str(key), valid), key=True)
        defaults = self.defaults(data, raw)
        entries = data.get("subscribers")
        if entries is None:
            entries = []
        if not isinstance(entries, list):
            self.problem(
                ("subscribers",),
                "expected a list of subscribers (each item starts with '- id: ...')",
            )
            entries = []
        seen: dict[str, Path_] = {}
        subscribers: list[Subscriber] = []
        raw_entries = raw.get("subscribers") or []
        for i, entry in enumerate(entries):
            made = self.subscriber(
                entry, raw_entries[i], ("subscribers", i), defaults, seen, failed
            )
            if made is not None:
                subscribers.append(made)
        return Subscriptions(tuple(subscribers), tuple(yaml_problems.sort_problems(self.warnings)))


def subscriptions_from_document(
    doc: yamlpos.Document,
    gazetteer: Gazetteer,
    environ: Mapping[str, str] | None = None,
    templates_dir: Path | None = None,
) -> Subscriptions:
    checker = _Checker(doc, gazetteer, environ, templates_dir)
    result = checker.run()
    if checker.problems:
        raise problems_error(checker.problems, doc.file)
    return result


def load_subscriptions(
    path: Path,
    gazetteer: Gazetteer,
    environ: Mapping[str, str] | None = None,
    templates_dir: Path | None = None,
) -> Subscriptions:
    """Read and check ``path``; raise :class:`ConfigError` listing every problem.

    ``warnings`` of the result hold what was accepted but deserves a look (a zone
    no article has named yet), each as ``file:line:col: warning: ...``.
    """
    try:
        doc = yamlpos.load(path)
    except yamlpos.YamlSyntaxError as exc:
        raise ConfigError(str(exc)) from None
    return subscriptions_from_document(doc, gazetteer, environ, templates_dir)
