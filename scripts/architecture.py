"""Draw the rooms of zonewire and the arrows between them from the real imports.

    python scripts/architecture.py           # print the Mermaid diagram
    python scripts/architecture.py --write   # refresh it in docs/architecture.md
    python scripts/architecture.py --check   # exit 1 if the document is out of date

Every module of ``feeds`` and ``notifier`` belongs to one room (``ROOMS`` below,
first matching prefix wins). An arrow A --> B means some module of room A imports
some module of room B, at module level or inside a function; imports that only
serve type checking (under ``if TYPE_CHECKING:``) are left out, as they do not run.
The picture sits in docs/architecture.md between two marker lines;
tests/test_layering.py fails while it differs from what this script draws.
"""

from __future__ import annotations

import ast
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
BEGIN = "<!-- architecture.py: begin (generated, do not edit) -->"
END = "<!-- architecture.py: end -->"

#: (room id, label, module prefixes). Order matters: the first prefix that matches wins.
ROOMS: list[tuple[str, str, tuple[str, ...]]] = [
    ("storage", "storage: every table, query, migration", ("feeds.storage",)),
    # What a source's state is (values) sits beside the core; polling it is a source's job.
    ("fcore", "", ("feeds.sources.state",)),
    ("sources", "sources: poll, crawl, feeds, JSONL", ("feeds.sources",)),
    ("sample", "sample portal", ("feeds.sample",)),
    ("intake", "intake: place + batch", ("feeds.intake",)),
    ("extract", "extraction: page -> record", (
        "feeds.extract", "feeds.lines", "feeds.links", "feeds.nesting", "feeds.charset",
        "feeds.siteextract", "feeds.sitegeneric", "feeds.siteinfo", "feeds.sitemeta",
    )),
    ("build", "feed build: plan, render, write", (
        "feeds.buildplan", "feeds.feedplan", "feeds.feedwriter", "feeds.feedstate",
        "feeds.publish", "feeds.archive", "feeds.atom", "feeds.jsonfeed", "feeds.pages",
        "feeds.site", "feeds.files", "feeds.websub",
    )),
    ("fweb", "feeds over HTTP", ("feeds.web", "feeds.httpguard")),
    ("fcore", "feeds core: models, regions, text, dates, urls", ("feeds",)),
    ("cli", "CLI: cli + commands", (
        "notifier.cli", "notifier.__main__", "notifier.commands", "notifier.logs",
    )),
    ("worker", "worker: app, composition root, scheduler", (
        "notifier.worker", "notifier.scheduler", "notifier.app", "notifier.metrics",
    )),
    ("distributed", "distributed mode: scheduler lead, queue tasks, delivery jobs", (
        "notifier.distributed",
    )),
    ("config", "configuration: YAML, subscriptions, reload", (
        "notifier.config", "notifier.subscriptions", "notifier.subscription_file",
        "notifier.yamlpos", "notifier.yaml_problems", "notifier.field_checks",
        "notifier.region_names", "notifier.template_files", "notifier.schema",
        "notifier.reload",
    )),
    ("planning", "planning (pure): match, schedules, plan", (
        "notifier.match", "notifier.plan", "notifier.schedules",
    )),
    ("rendering", "rendering: templates, payload, MIME", (
        "notifier.render", "notifier.payload", "notifier.digest_words",
        "notifier.templates_env", "notifier.escaping", "notifier.chatfit",
        "notifier.compose", "notifier.mime", "notifier.lru",
    )),
    ("delivery", "delivery: due work, fan-out, ledger, lock, preview", (
        "notifier.deliver", "notifier.due", "notifier.fanout", "notifier.ledger",
        "notifier.claimant", "notifier.lock", "notifier.outages", "notifier.delivery_status",
        "notifier.preview", "notifier.private_feed",
    )),
    ("channels", "channels: SMTP, Maildir, webhooks", ("notifier.channels",)),
    ("nweb", "web: unsubscribe, private feeds, /healthz, /metrics", (
        "notifier.web", "notifier.web_unsubscribe", "notifier.web_words",
        "notifier.web_private_feed",
    )),
    ("ncore", "notifier core: models, errors, tokens, redaction, progress", ("notifier",)),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def room_of(module: str) -> str:
    for room, _, prefixes in ROOMS:
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return room
    raise ValueError(f"{module} belongs to no room: add it to ROOMS in {__file__}")


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(tree: ast.AST, package: str) -> Iterator[str]:
    """Modules of feeds/notifier that ``tree`` imports when it runs."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _type_checking_only(node):
            yield from (n for child in node.orelse for n in imports(child, package))
            continue
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            yield base
            # ``from feeds import intake`` names a module, not only a package.
            yield from (f"{base}.{a.name}" for a in node.names)
        yield from imports(node, package)


def edges() -> Counter[tuple[str, str]]:
    """(room, room) -> how many module-to-module imports cross that way."""
    modules = {
        module_name(p): p
        for top in ("feeds", "notifier")
        for p in (ROOT / top).rglob("*.py")
        if "migrations" not in p.parts
    }
    found: Counter[tuple[str, str]] = Counter()
    for name, path in sorted(modules.items()):
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = {t for t in imports(ast.parse(path.read_text(encoding="utf-8")), package)
                   if t in modules and t != name}
        for target in targets:
            a, b = room_of(name), room_of(target)
            if a != b:
                found[(a, b)] += 1
    return found


def mermaid() -> str:
    labels = {room: label for room, label, _ in ROOMS if label}
    lines = ["```mermaid", "flowchart TB"]
    for package, rooms in (
        ("notifier", [r for r, label, p in ROOMS if label and p[0].startswith("notifier")]),
        ("feeds", [r for r, label, p in ROOMS if label and p[0].startswith("feeds")]),
    ):
        lines.append(f"  subgraph {package}")
        lines += [f'    {room}["{labels[room]}"]' for room in rooms]
        lines.append("  end")
    for (a, b), count in sorted(edges().items()):
        lines.append(f"  {a} -->|{count}| {b}")
    lines.append("```")
    return "\n".join(lines)


def _spliced(text: str, picture: str) -> str:
    head, found, rest = text.partition(BEGIN)
    if not found or END not in rest:
        raise SystemExit(f"{DOC}: the markers {BEGIN!r} and {END!r} are missing")
    return f"{head}{BEGIN}\n{picture}\n{END}{rest.partition(END)[2]}"


def main(argv: list[str]) -> int:
    picture = mermaid()
    if not argv:
        print(picture)
        return 0
    text = DOC.read_text(encoding="utf-8")
    updated = _spliced(text, picture)
    if argv == ["--write"]:
        DOC.write_text(updated, encoding="utf-8")
        return 0
    if argv == ["--check"]:
        if updated != text:
            print(f"{DOC.relative_to(ROOT)} is out of date: run python scripts/architecture.py "
                  "--write", file=sys.stderr)
            return 1
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
