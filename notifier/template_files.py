"""Which templates exist on disk: the bundled ones and a user's ``templates_dir``.

An edge (it lists directories), kept out of the value checks in
:mod:`notifier.field_checks` so those stay pure; ``check`` and the subscriptions
loader ask it which webhook formats a subscriber may name.
"""

from __future__ import annotations

from pathlib import Path

#: Webhook formats that ship with zonewire (templates ``webhook/<format>.json.j2``).
BUILTIN_FORMATS = ("json", "dingtalk", "wecom", "feishu", "slack")
BUNDLED_TEMPLATES = Path(__file__).parent / "templates"


def webhook_formats(templates_dir: Path | None) -> list[str]:
    """Every webhook format a subscriber may name: built in, bundled or the user's."""
    found = set(BUILTIN_FORMATS)
    for base in (BUNDLED_TEMPLATES, templates_dir):
        if base is not None and (base / "webhook").is_dir():
            found.update(
                p.name.removesuffix(".json.j2") for p in (base / "webhook").glob("*.json.j2")
            )
    return sorted(found)
