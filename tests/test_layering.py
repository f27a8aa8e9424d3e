"""The architecture rules of STYLE.md, checked."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE = [
    "feeds.models",
    "feeds.regions",
    "feeds.urls",
    "feeds.dates",
    "feeds.text",
    "feeds.sources.jsonl",
    "feeds.extract",
    "feeds.siteextract",
    "feeds.siteinfo",
    "feeds.sitemeta",
    "feeds.sitegeneric",
    "feeds.atom",
    "feeds.buildplan",
    "feeds.stories",
    "notifier.models",
    "notifier.match",
    "notifier.plan",
    "notifier.render",
    "notifier.payload",
    "notifier.digest_words",
    "notifier.templates_env",
    "notifier.escaping",
    "notifier.chatfit",
    "notifier.redact",
    "notifier.schedules",
]
EDGE_LIBRARIES = ["httpx", "sqlalchemy", "yaml", "apscheduler", "aiosmtplib", "starlette"]


def test_feeds_never_imports_notifier() -> None:
    offenders = []
    for path in (ROOT / "feeds").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path}: {n}" for n in names if n.split(".")[0] == "notifier"]
    assert offenders == []


def test_core_modules_import_no_edge_library() -> None:
    present = [m for m in CORE if (ROOT / (m.replace(".", "/") + ".py")).exists()]
    code = (
        "import sys, importlib\n"
        f"for m in {present!r}: importlib.import_module(m)\n"
        f"print([m for m in {EDGE_LIBRARIES!r} if m in sys.modules])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip() == "[]", result.stdout


def test_no_two_modules_of_a_package_differ_only_by_a_plural() -> None:
    """``schedule.py`` beside ``schedules.py`` misled readers (issue 12): a module's
    name says what it holds, and two rooms of one package never look alike."""
    offenders = []
    for package in ("feeds", "notifier"):
        for folder in [ROOT / package, *(p for p in (ROOT / package).rglob("*") if p.is_dir())]:
            stems = {p.stem for p in folder.glob("*.py")}
            offenders += [f"{folder.relative_to(ROOT)}/{s}.py" for s in stems if s + "s" in stems]
    assert offenders == []


def test_architecture_picture_is_drawn_from_the_imports() -> None:
    """docs/architecture.md shows the rooms and arrows the code has, not a wish."""
    result = subprocess.run(
        [sys.executable, "scripts/architecture.py", "--check"],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
