"""Pydantic validation errors back to ``file:line:col`` with the fix.

A pydantic error names its place as a ``loc`` tuple; :func:`resolve_loc` turns it
into a path into the YAML data, and :class:`~notifier.yamlpos.Document` knows
where each path was written. Unknown keys get the close valid key as a hint.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:
    from notifier.yamlpos import Document

Path_ = tuple[str | int, ...]


def _unwrap(annotation: Any) -> list[Any]:
    """The concrete types an annotation may hold (Optional, Annotated, unions)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for arg in typing.get_args(annotation) for t in _unwrap(arg)]
    return [annotation]


def _items(annotations: list[Any]) -> list[Any]:
    """The item types of the list (or dict) types among ``annotations``."""
    result: list[Any] = []
    for candidate in annotations:
        origin = typing.get_origin(candidate)
        args = typing.get_args(candidate)
        if origin in (list, tuple, set, frozenset) and args:
            result += _unwrap(args[0])
        elif origin is dict and len(args) == 2:
            result += _unwrap(args[1])
    return result


def _models(annotations: list[Any]) -> list[type[BaseModel]]:
    return [t for t in annotations if isinstance(t, type) and issubclass(t, BaseModel)]


def field_names(model: type[BaseModel]) -> list[str]:
    """The keys a YAML mapping for ``model`` may hold (aliases as written)."""
    return [info.alias or name for name, info in model.model_fields.items()]


def _field(model: type[BaseModel], key: str) -> Any:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return info.annotation
    return None


def _tagged(model: type[BaseModel], tag: str) -> bool:
    return tag in typing.get_args(_field(model, "type"))


def resolve_loc(
    loc: Sequence[str | int], data: Any, model: type[BaseModel]
) -> tuple[Path_, list[type[BaseModel]]]:
    """Turn a pydantic ``loc`` into a path into ``data``.

    Pydantic adds segments to ``loc`` for unions (the tag of a discriminated union,
    ``function-after[...]``, a member type's name); those are skipped by following
    the data itself. Also returns the models that apply where the last segment is
    a key, so an unknown key can be compared with the valid ones.
    """
    path: list[str | int] = []
    current = data
    kinds: list[Any] = [model]
    parents: list[type[BaseModel]] = [model]
    for segment in loc:
        models = _models(kinds)
        if isinstance(current, dict) and segment in current:
            parents = models
            kinds = [t for m in models if (a := _field(m, str(segment))) for t in _unwrap(a)]
            path.append(segment)
            current = current[segment]
        elif isinstance(current, list) and isinstance(segment, int) and segment < len(current):
            kinds = _items(kinds)
            path.append(segment)
            current = current[segment]
        elif isinstance(current, dict) and isinstance(segment, str):
            tagged = [m for m in models if _tagged(m, segment)]
            if tagged and current.get("type") == segment:
                kinds = list(tagged)
            elif any(segment in field_names(m) for m in models) or not models:
                parents = models
                path.append(segment)  # a key the data lacks (missing): the last segment
                current = None
            # anything else names a union member or validator, not a place in the data
    return tuple(path), parents


def close_keys(key: str, valid: Sequence[str]) -> list[str]:
    return difflib.get_close_matches(key, list(valid), n=1, cutoff=0.5)


def unknown_key_message(key: str, valid: Sequence[str]) -> str:
    close = close_keys(key, valid)
    hint = f" — did you mean {' or '.join(close)}?" if close else ""
    return f"unknown key '{key}'{hint} (valid keys: {', '.join(valid)})"


def pydantic_problems(
    doc: Document,
    errors: Sequence[Any],
    model: type[BaseModel],
    prefix: Sequence[str | int] = (),
    data: Any = None,
) -> list[str]:
    """One ``file:line:col: message`` per pydantic error, with the fix where known.

    ``data`` is what was validated (the document's data at ``prefix`` by default).
    """
    target = data if data is not None else _at(doc.data, prefix)
    problems: list[str] = []
    for err in errors:
        loc = tuple(err.get("loc", ()))
        path, models = resolve_loc(loc, target, model)
        full = (*prefix, *path)
        kind = err.get("type", "")
        if kind in ("union_tag_invalid", "union_tag_not_found"):
            problems.append(_tag_problem(doc, full, err))
        elif kind == "extra_forbidden" and path:
            valid = sorted({k for m in models for k in field_names(m)})
            problems.append(doc.problem(full, unknown_key_message(str(path[-1]), valid), key=True))
        elif kind == "missing" and path:
            problems.append(doc.problem(full[:-1], f"missing key '{path[-1]}'"))
        else:
            problems.append(doc.problem(full, _message(err, path)))
    return problems


def _tag_problem(doc: Document, path: Path_, err: Any) -> str:
    ctx = err.get("ctx") or {}
    key = str(ctx.get("discriminator", "type")).strip("'")
    expected = str(ctx.get("expected_tags", "")).replace("'", "")
    if err.get("type") == "union_tag_not_found":
        return doc.problem(path, f"missing key '{key}' (one of: {expected})")
    return doc.problem((*path, key), f"unknown {key} '{ctx.get('tag')}' (write one of: {expected})")


def sort_problems(problems: Sequence[str]) -> list[str]:
    """Problems in file order: by file, then line, then column."""

    def order(problem: str) -> tuple[str, int, int]:
        parts = problem.split(":", 3)
        try:
            return parts[0], int(parts[1]), int(parts[2])
        except (IndexError, ValueError):
            return parts[0], 0, 0

    return sorted(problems, key=order)


def _at(data: Any, path: Sequence[str | int]) -> Any:
    for segment in path:
        if isinstance(data, dict):
            data = data.get(segment)
        elif isinstance(data, list) and isinstance(segment, int) and segment < len(data):
            data = data[segment]
        else:
            return None
    return data


def _message(err: Any, path: Path_) -> str:
    msg = str(err.get("msg", "invalid value"))
    msg = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    name = f"'{path[-1]}'" if path and isinstance(path[-1], str) else "value"
    kind = err.get("type", "")
    if kind == "value_error" and name == "value" and msg:
        return msg  # a whole entry's check (a model validator) says what it is about
    if kind == "literal_error":
        return f"{name}: {msg[0].lower()}{msg[1:]}" if msg else f"{name}: not allowed"
    if kind == "too_short":
        return f"{name}: empty — write at least one item"
    if kind == "string_pattern_mismatch" and path and path[-1] == "id":
        return f"{name}: use letters, digits and . @ + - only (no spaces)"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"{name}: expected a mapping of keys (key: value)"
    return f"{name}: {msg[0].lower()}{msg[1:]}" if msg else name
