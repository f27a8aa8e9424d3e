"""The Jinja2 environment digests and pages are rendered in, and its error wording.

Templates live in ``notifier/templates``; a ``templates_dir`` given in the config is
searched first, so a user can override any single file or add a webhook format. A
template that is missing or broken is one line naming the file and line, never a
Jinja traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from notifier.errors import NotifierError
from notifier.escaping import link_url, markdown_text, slack_text, slack_url


def make_environment(templates_dir: Path | None = None) -> jinja2.Environment:
    """The user's ``templates_dir`` (if any) over the bundled templates, with the chat
    filters (``slack``, ``slack_url``, ``markdown``, ``link_url``) registered."""
    loaders: list[jinja2.BaseLoader] = []
    if templates_dir is not None:
        loaders.append(jinja2.FileSystemLoader(str(templates_dir)))
    loaders.append(jinja2.PackageLoader("notifier", "templates"))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=lambda name: bool(name) and ".html" in str(name),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    # Chinese stays readable (and 3x smaller) in webhook bodies; <>&' are still escaped.
    env.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "sort_keys": False}
    # One filter per chat markup, for every field that comes from an article.
    env.filters.update(
        slack=slack_text, slack_url=slack_url, markdown=markdown_text, link_url=link_url,
    )
    return env


def render_template(env: jinja2.Environment, name: str, context: dict[str, Any]) -> str:
    """``name`` rendered with ``context``; a missing or broken template is a
    :class:`NotifierError` that says which file and line."""
    try:
        return env.get_template(name).render(context)
    except jinja2.TemplateNotFound as exc:
        raise NotifierError(
            f"template {exc.name} not found (in templates_dir or the bundled templates)"
        ) from None
    except jinja2.TemplateError as exc:
        where = getattr(exc, "filename", None) or name
        line = getattr(exc, "lineno", None)
        raise NotifierError(f"{where}:{line or 1}: template error: {exc}") from None
