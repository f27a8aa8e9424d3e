"""The Jinja2 environment digests and pages are rendered in, and its error wording.

Templates live in ``notifier/templates``; a ``templates_dir`` given in the config is
searched first, so a user can override any single file or add a webhook format. A
template that is missing or broken is one line naming the file and line, never a
Jinja traceback.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import css_inline
import jinja2

from notifier.errors import NotifierError
from notifier.escaping import link_url, markdown_text, slack_text, slack_url

#: Where the bundled templates are.
_BUNDLED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")


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
    return render_loaded(load_template(env, name), name, context)


def _error(exc: Exception, name: str) -> NotifierError:
    if isinstance(exc, jinja2.TemplateNotFound):
        return NotifierError(
            f"template {exc.name} not found (in templates_dir or the bundled templates)"
        )
    where = getattr(exc, "filename", None) or name
    line = getattr(exc, "lineno", None)
    return NotifierError(f"{where}:{line or 1}: template error: {exc}")


def load_template(env: jinja2.Environment, name: str) -> jinja2.Template:
    """The compiled template ``name`` (a renderer keeps it for its pass: looking it
    up again checks the file on disk each time)."""
    try:
        return env.get_template(name)
    except jinja2.TemplateError as exc:
        raise _error(exc, name) from None


def render_loaded(template: jinja2.Template, name: str, context: dict[str, Any]) -> str:
    """``template`` (loaded as ``name``) rendered, errors worded as :func:`render_template`'s."""
    try:
        return template.render(context)
    except jinja2.TemplateError as exc:
        raise _error(exc, name) from None


def source_of(env: jinja2.Environment, name: str) -> tuple[str, bool]:
    """The source of template ``name`` and whether it is the bundled file (no
    ``templates_dir`` override)."""
    if env.loader is None:
        raise NotifierError(f"template {name} not found (no template loader)")
    try:
        source, filename, _ = env.loader.get_source(env, name)
    except jinja2.TemplateError as exc:
        raise _error(exc, name) from None
    where = os.path.abspath(filename or "")
    return source, where.startswith(_BUNDLED + os.sep)


@functools.lru_cache(maxsize=4)
def _inlined(source: str) -> str:
    inliner = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)
    return inliner.inline(source)


def inlined_template(env: jinja2.Environment, name: str) -> jinja2.Template:
    """The bundled HTML template ``name`` with its ``<style>`` rules inlined into the
    template itself, once: rendering it gives what inlining each rendered page gave
    (the same elements, the same styles; media queries stay in a ``<style>``), without
    running the inliner per digest. Only for the bundled templates, whose markup is
    known to keep its structure between ``{% %}`` tags (tests compare both ways); a
    user's template is inlined after rendering."""
    source, _ = source_of(env, name)
    filename = os.path.join(_BUNDLED, *name.split("/"))
    try:
        code = env.compile(_inlined(source), name, filename)
    except jinja2.TemplateError as exc:
        raise _error(exc, name) from None
    return env.template_class.from_code(env, code, env.make_globals(None))
