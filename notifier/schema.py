"""JSON Schema for ``zonewire.yaml`` and ``subscriptions.yaml``, from the models.

Editors with a YAML language server complete keys and flag mistakes as you type
when a file starts with ``# yaml-language-server: $schema=./zonewire.schema.json``.
The schemas are generated, never edited: run ``python -m notifier.schema`` after
changing a model; a test fails while ``config/*.schema.json`` is out of date.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from notifier.config import Settings
from notifier.subscription_file import SubscriptionsFile

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"

SCHEMAS: dict[str, tuple[type[BaseModel], str]] = {
    "zonewire.schema.json": (Settings, "zonewire service configuration (config/zonewire.yaml)"),
    "subscriptions.schema.json": (
        SubscriptionsFile, "zonewire subscriptions (config/subscriptions.yaml)"
    ),
}


def schema(model: type[BaseModel], title: str) -> dict[str, Any]:
    # mode="validation": what a file may contain (durations as text, aliases as keys)
    result = model.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        **{k: v for k, v in result.items() if k != "title"},
    }


def render(name: str) -> str:
    model, title = SCHEMAS[name]
    return json.dumps(schema(model, title), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def write(directory: Path = CONFIG_DIR) -> list[Path]:
    """(Re)write every schema file in ``directory``; returns the paths written."""
    written = []
    for name in SCHEMAS:
        path = directory / name
        path.write_text(render(name), encoding="utf-8")
        written.append(path)
    return written


def main() -> int:
    directory = Path(sys.argv[1]) if len(sys.argv) > 1 else CONFIG_DIR
    for path in write(directory):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
