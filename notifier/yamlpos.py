"""YAML with positions: every value and key keeps its 1-based line and column.

``yaml.safe_load`` forgets where things were, so a message could only say
``subscribers.3.email``. Here the document is composed into nodes (libyaml's C
parser when available) and built into plain Python data while a table records
where each value and each mapping key started. A pydantic error ``loc`` or any
path into the data then maps back to ``file:line:col`` (SPEC §3: 1-based lines
and columns, columns counted in characters, as PyYAML's marks count them).

Positions only: turning a pydantic error into words at a position is
:mod:`notifier.yaml_problems`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Path_ = tuple[str | int, ...]

_Loader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class Pos:
    line: int
    col: int


@dataclass
class Document:
    """Plain data of one YAML file plus the position of every value and key.

    ``values`` and ``keys`` hold PyYAML marks (0-based); :meth:`pos` turns one into
    a 1-based :class:`Pos` when a message needs it.
    """

    file: str
    data: Any
    values: dict[Path_, Any] = field(default_factory=dict)
    keys: dict[Path_, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def pos(self, path: Sequence[str | int], *, key: bool = False) -> Pos:
        """Where ``path`` is written; the nearest enclosing value if it is not."""
        current = tuple(path)
        if key and current in self.keys:
            return _pos(self.keys[current])
        while current:
            if current in self.values:
                return _pos(self.values[current])
            current = current[:-1]
        mark = self.values.get(())
        return _pos(mark) if mark is not None else Pos(1, 1)

    def where(self, path: Sequence[str | int], *, key: bool = False) -> str:
        pos = self.pos(path, key=key)
        return f"{self.file}:{pos.line}:{pos.col}"

    def problem(self, path: Sequence[str | int], message: str, *, key: bool = False) -> str:
        return f"{self.where(path, key=key)}: {message}"


def _pos(mark: Any) -> Pos:
    return Pos(mark.line + 1, mark.column + 1)


_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"


#: Larger files are refused before parsing: a configuration is a few hundred KB
#: even with tens of thousands of subscribers.
MAX_FILE_BYTES = 10 * 1024 * 1024
#: Values an alias may produce beyond what the file itself writes. Aliases may at
#: most double the document (plus this much), so nested aliases ("billion laughs":
#: 9 aliases of 9 aliases of ...) cannot blow up memory and time.
MAX_ALIAS_VALUES = 10_000
#: Deeper nesting than this is no configuration (libyaml itself stops at 1,000).
MAX_DEPTH = 100


class TooLargeError(Exception):
    """Building stopped: the aliases expand too far (message ready)."""


def _distinct_nodes(root: yaml.Node) -> int:
    """How many nodes the file writes (each anchored node once), without recursion."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.append(key)
                stack.append(value)
    return len(seen)


class _Builder:
    def __init__(self, loader: Any, doc: Document, distinct: int = 0) -> None:
        self.loader = loader
        self.doc = doc
        self.active: set[int] = set()
        self.built: set[int] = set()
        #: values built from a node that was built before, i.e. reached through an alias
        self.aliased = 0
        self.alias_limit = MAX_ALIAS_VALUES + distinct
        self.expanding = 0  # > 0 while building what an alias refers to
        self.site: Any = None  # where the outermost alias being expanded is used

    def at(self, node: yaml.Node) -> str:
        pos = _pos(node.start_mark)
        return f"{self.doc.file}:{pos.line}:{pos.col}"

    def build(self, node: yaml.Node, path: Path_) -> Any:
        if id(node) not in self.built:
            self.built.add(id(node))
            return self._build(node, path)
        # Reached again, so through an alias: count what it produces.
        if not self.expanding:
            self.site = self.doc.values.get(path[:-1], node.start_mark)
        self.aliased += 1
        if self.aliased > self.alias_limit:
            pos = _pos(self.site)
            raise TooLargeError(
                f"{self.doc.file}:{pos.line}:{pos.col}: aliases expand to more than "
                f"{self.alias_limit:,} values (nested '*' references multiply); "
                "write the values out, or refer to each anchor without nesting"
            )
        self.expanding += 1
        try:
            return self._build(node, path)
        finally:
            self.expanding -= 1

    def _build(self, node: yaml.Node, path: Path_) -> Any:
        if len(path) > MAX_DEPTH:
            self.doc.problems.append(
                f"{self.at(node)}: nested more than {MAX_DEPTH} levels deep; flatten it"
            )
            return None
        self.doc.values[path] = node.start_mark
        if isinstance(node, yaml.ScalarNode):
            if node.tag == _STR:  # most values: skip the constructor's dispatch
                return node.value
            return self.loader.construct_object(node, deep=True)
        if id(node) in self.active:  # a recursive alias: nothing sensible to build
            self.doc.problems.append(f"{self.at(node)}: recursive alias")
            return None
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.build(child, (*path, i)) for i, child in enumerate(node.value)]
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path)
            return None
        finally:
            self.active.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, path: Path_) -> dict[Any, Any]:
        merged = 0
        if any(k.tag == _MERGE for k, _ in node.value):
            own = sum(1 for k, _ in node.value if k.tag != _MERGE)
            self.loader.flatten_mapping(node)  # ``<<: *anchor``: merged pairs come first
            merged = len(node.value) - own
        result: dict[Any, Any] = {}
        from_merge: set[Any] = set()
        keys = self.doc.keys
        for n, (key_node, value_node) in enumerate(node.value):
            if key_node.tag == _STR:
                key = key_node.value
            else:
                key = self.loader.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                self.doc.problems.append(f"{self.at(key_node)}: a key must be a plain word")
                continue
            sub = (*path, key if isinstance(key, (str, int)) else str(key))
            if key in result and key not in from_merge:
                first = _pos(keys[sub])
                self.doc.problems.append(
                    f"{self.at(key_node)}: duplicate key '{key}' (first written at line "
                    f"{first.line}); remove one of them"
                )
                continue
            # A key written in the mapping itself overrides one merged in (YAML 1.1 merge).
            if n < merged:
                from_merge.add(key)
            else:
                from_merge.discard(key)
            keys[sub] = key_node.start_mark
            result[key] = self.build(value_node, sub)
        return result


def parse(text: str, file: str) -> Document:
    """Parse one YAML document; a syntax error raises with its position.

    Duplicate keys and other structural slips are collected in ``problems``
    instead of being silently resolved (YAML keeps the last, which would hide a
    typo).
    """
    doc = Document(file=file, data=None)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            doc.data = _Builder(loader, doc, _distinct_nodes(node)).build(node, ())
    except TooLargeError as exc:
        raise YamlSyntaxError(str(exc)) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{file}:{mark.line + 1}:{mark.column + 1}" if mark else f"{file}:1:1"
        what = exc.problem or exc.context or "syntax error"
        raise YamlSyntaxError(f"{where}: not valid YAML: {what}") from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(f"{file}:1:1: not valid YAML: {exc}") from None
    finally:
        loader.dispose()
    return doc


def load(path: Path, display: str | None = None) -> Document:
    """Read and parse ``path``; ``display`` is the file name messages show."""
    name = display if display is not None else str(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise YamlSyntaxError(f"{name}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise YamlSyntaxError(
            f"{name}:1:1: larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; "
            "is this the right file? (a configuration is a few hundred KB at most)"
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YamlSyntaxError(f"{name}:{line}:1: not UTF-8 (save the file as UTF-8)") from None
    return parse(text, name)


class YamlSyntaxError(ValueError):
    """Raised by :func:`parse` with a ready ``file:line:col: message``."""
