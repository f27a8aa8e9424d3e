"""`zonewire digest preview SUBSCRIBER` and `zonewire digest send`.

``preview`` renders what the subscriber would get now (:mod:`notifier.preview`)
and sends nothing, records nothing. ``send`` sends every due digest now (and
pending or due retries), the same call the worker makes each cycle.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

from notifier.app import App
from notifier.deliver import DeliveryDeps, send_due
from notifier.escaping import clean, one_line
from notifier.lock import WorkerBusy, WorkerLock
from notifier.models import Subscriptions
from notifier.preview import find_subscriber, preview_digest
from notifier.private_feed import private_feed_url
from notifier.render import Renderer
from notifier.tokens import FEED, Signer, load_secret


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    preview = sub.add_parser(
        "preview", help="render what SUBSCRIBER would get now; send nothing",
        description="Render what SUBSCRIBER would get now, without sending or recording it.",
    )
    preview.add_argument("subscriber", metavar="SUBSCRIBER", help="a subscriber id")
    preview.add_argument("--format", choices=["html", "text", "json"], default="text",
                         help="html or text email, or the webhook body (default: text)")
    send = sub.add_parser("send", help="send due digests now",
                          description="Send due digests now, and pending or due retries.")
    send.add_argument("--subscriber", metavar="ID", help="only this subscriber")
    send.add_argument("--dry-run", action="store_true",
                      help="show what would be sent; send and record nothing")


def _subscriptions(app: App) -> Subscriptions:
    from notifier.subscriptions import load_subscriptions

    settings = app.settings
    return load_subscriptions(settings.subscriptions, app.gazetteer,
                              templates_dir=settings.templates_dir)


def _preview(args: argparse.Namespace, app: App) -> int:
    subscriber = find_subscriber(_subscriptions(app), args.subscriber)
    digest, first = preview_digest(app.store, app.gazetteer.find, app.settings.notify_max_age,
                                   subscriber, datetime.now(UTC))
    if first:
        print(f"({subscriber.id} has had no digest yet: showing what the last "
              f"{app.settings.notify_max_age} would give)", file=sys.stderr)
    settings = app.settings
    signer = Signer(load_secret(settings.secret_key))
    token = signer.token(subscriber.id)
    feed_token = signer.for_purpose(FEED).token(subscriber.id)
    print(f"private feed: {private_feed_url(settings.public_url, feed_token)} (and .json)",
          file=sys.stderr)
    if digest is None:
        print(f"nothing new for {args.subscriber}", file=sys.stderr)
        return 0
    renderer = Renderer(public_url=settings.public_url, region=app.gazetteer.find,
                        templates_dir=settings.templates_dir)
    if args.format == "json":
        if digest.subscriber.webhook is None:
            from dataclasses import replace

            from notifier.models import WebhookTarget

            digest = replace(digest, subscriber=replace(
                digest.subscriber, email=None, webhook=WebhookTarget("-", "json")))
        body = renderer.personal_webhook(renderer.webhook(digest), digest.id,
                                         digest.subscriber.id, token)
        print(clean(json.dumps(json.loads(body), ensure_ascii=False, indent=2)))
        return 0
    rendered = renderer.email(digest)
    text, html = renderer.personal_email(rendered, token, feed_token)
    # Article text goes to a terminal: no escape sequence or bidi override may reach
    # it, whatever a user's template does (issue 11).
    if args.format == "html":
        sys.stdout.write(clean(html))
    else:
        sys.stdout.write(clean(f"Subject: {one_line(rendered.subject)}\n\n{text}"))
    return 0


def _send(args: argparse.Namespace, app: App) -> int:
    subscriptions = _subscriptions(app)
    # A running worker sends due digests itself; sending beside it could send a
    # pending digest twice, so this takes the same one-worker lock (SPEC §9).
    lock = WorkerLock(app.store.worker_lock())
    if not args.dry_run:
        try:
            lock.acquire(wait=False)
        except WorkerBusy:
            raise WorkerBusy(
                f"a zonewire worker is running on {lock.where}{lock.held_by()} and sends due "
                "digests itself; use --dry-run to see what is due, or stop the worker first"
            ) from None
    try:
        report = send_due(DeliveryDeps.from_app(app), subscriptions, datetime.now(UTC),
                          only=args.subscriber, dry_run=args.dry_run)
    finally:
        lock.release()
    if args.dry_run:
        for sid, digest_id, count in report.digests:
            print(f"would send {sid}: {count} articles (digest {digest_id})")
        print(f"dry run: {len(report.digests)} digests, nothing sent or recorded")
        return 0
    print(f"digests: {report.sent} sent, {report.retrying} to retry, {report.failed} failed "
          f"({report.planned} new, {report.resent} resent; "
          f"{report.new_subscribers} new subscribers start from now)")
    if report.held:
        print(f"  {report.held} digests stay due: a transport is broken (see below and "
              "zonewire status); they go out once it works", file=sys.stderr)
    for error in report.errors:
        print(f"  {error}", file=sys.stderr)
    return 0 if report.ok else 1


def run(args: argparse.Namespace, app: App) -> int:
    if args.action == "preview":
        return _preview(args, app)
    return _send(args, app)
