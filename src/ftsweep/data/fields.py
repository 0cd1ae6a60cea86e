"""A grader's templates against the data: every `{{ item.<path> }}` must exist in every row of
both files, and every `{{ sample.output_json.<path> }}` in the `response_format` schema.

A template that names a field the data lacks fails at training time, after the job has started
costing money (API_FACTS 4), so the sweep's grader is checked against each row here.

Paths are dotted names, `item.answer.text`, with list indexes as `item.choices[0]` or
`item.choices.0` (a digit segment indexes a list, and names a key of an object). Nothing else
(filters, expressions, quoted keys) is a path this check reads: such a template is reported as a
warning, not guessed at. A field whose value is null exists. A python grader reads `item` in
code, which is never run, so it names no paths here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

from ftsweep.data.findings import Finding, Loc
from ftsweep.data.schema import schema_has_path
from ftsweep.errors import Problem

if TYPE_CHECKING:
    from ftsweep.api.graders import AnyGrader
    from ftsweep.api.methods import ResponseFormat

__all__ = [
    "ItemPaths",
    "MissingFields",
    "Path",
    "Template",
    "check_templates",
    "grader_templates",
    "item_paths",
    "missing_paths",
    "parse_path",
]

Path: TypeAlias = tuple[str | int, ...]
"""A path below `item` or `sample.output_json`: names, and ints for bracketed indexes."""

#: The grader model fields whose strings may hold templates (as in ftsweep.api.graders).
_TEMPLATED = frozenset({"input", "reference", "content", "text", "image_url", "data"})
_TEMPLATE = re.compile(r"\{\{\s*(.*?)\s*\}\}")
_SEGMENT = re.compile(r"\.([\w$@-]+)|\[(\d+)\]")
_SHOWN_LINES = 5


@dataclass(frozen=True)
class Template:
    """One template: where it is in the sweep file, and what it reads as written in the braces."""

    loc: Loc
    reference: str


def grader_templates(grader: AnyGrader, loc: Loc = ("grader",)) -> list[Template]:
    """Every template in a grader's strings, with the field path of the string that holds it:
    every sub-grader of a multi, and the message content of score_model and label_model."""
    return [
        Template(at, ref) for at, text in _texts(grader, loc) for ref in _TEMPLATE.findall(text)
    ]


def _texts(node: object, loc: Loc, templated: bool = False) -> Iterator[tuple[Loc, str]]:
    from pydantic import BaseModel

    from ftsweep.api.graders import PythonGrader

    if isinstance(node, str):
        if templated:
            yield loc, node
    elif isinstance(node, BaseModel) and not isinstance(node, PythonGrader):
        for name in type(node).model_fields:
            yield from _texts(getattr(node, name), (*loc, name), name in _TEMPLATED)
    elif isinstance(node, tuple | list):
        for i, item in enumerate(node):
            yield from _texts(item, (*loc, i), templated)
    elif isinstance(node, Mapping):
        for key, item in node.items():
            yield from _texts(item, (*loc, str(key)), templated)


def parse_path(reference: str) -> tuple[str, Path] | None:
    """`item.a.b[0]` -> ('item', ('a', 'b', 0)); None when it is not a plain path."""
    namespace, dot, rest = reference.partition(".")
    if not dot or not namespace.isidentifier():
        return None
    parts: list[str | int] = []
    position = 0
    rest = "." + rest
    while position < len(rest):
        found = _SEGMENT.match(rest, position)
        if found is None:
            return None
        name, index = found.groups()
        parts.append(name if index is None else int(index))
        position = found.end()
    return namespace, tuple(parts)


@dataclass(frozen=True)
class ItemPaths:
    """The `item` paths a grader reads, each once, in the order they first appear."""

    paths: tuple[Path, ...] = ()

    def __iter__(self) -> Iterator[Path]:
        return iter(self.paths)

    def __len__(self) -> int:
        return len(self.paths)


def check_templates(
    templates: Iterable[Template], response_format: ResponseFormat | Mapping[str, Any] | None = None
) -> tuple[ItemPaths, list[Finding]]:
    """The item paths the templates read, and what is wrong with the templates themselves:
    a namespace other than item and sample, a sample field that does not exist, a path that
    cannot be read, an output_json path that the response_format schema (when given) lacks."""
    paths: dict[Path, None] = {}
    found: list[Finding] = []
    schema = _schema(response_format)
    for template in templates:
        path, finding = _check_template(template, schema)
        if finding is not None:
            found.append(finding)
        if path is not None:
            paths.setdefault(path)
    return ItemPaths(tuple(paths)), found


def item_paths(
    grader: AnyGrader, response_format: ResponseFormat | Mapping[str, Any] | None = None
) -> tuple[ItemPaths, list[Finding]]:
    """`check_templates` over every template of a sweep's grader."""
    return check_templates(grader_templates(grader), response_format)


def _schema(response_format: ResponseFormat | Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The JSON schema inside a response format, given as the model or as the raw mapping."""
    if response_format is None:
        return None
    if isinstance(response_format, Mapping):
        inner = response_format.get("json_schema")
        schema = inner.get("schema") if isinstance(inner, Mapping) else None
        return schema if isinstance(schema, Mapping) else None
    return response_format.json_schema.schema_


def _check_template(
    template: Template, schema: Mapping[str, Any] | None
) -> tuple[Path | None, Finding | None]:
    from ftsweep.api.templates import check_templates as check_namespace

    written = "{{ " + template.reference + " }}"
    try:
        check_namespace(written)
    except ValueError as exc:
        return None, Finding(Problem(template.loc, str(exc)))
    parsed = parse_path(template.reference)
    if parsed is None:
        rule = f"cannot check '{written}' against the data: it is not a plain field path"
        return None, Finding(Problem(template.loc, rule), "warning")
    namespace, path = parsed
    if namespace == "item":
        return path, None
    if path[0] == "output_json" and schema is not None and not schema_has_path(schema, path[1:]):
        rule = f"'{written}' reads a field that the response_format schema does not define"
        return None, Finding(Problem(template.loc, rule))
    return None, None


# --- rows ------------------------------------------------------------------------------------


def missing_paths(row: Mapping[str, object], paths: Iterable[Path]) -> list[Path]:
    """The paths `row` does not have (this runs on every row: a plain loop, no allocation when
    nothing is missing)."""
    return [path for path in paths if not _has(row, path)]


def _has(node: object, path: Path) -> bool:
    for part in path:
        if isinstance(node, dict):
            if part not in node:
                return False
            node = node[part]
        elif isinstance(node, list):
            index = part if isinstance(part, int) else int(part) if part.isdecimal() else -1
            if not 0 <= index < len(node):
                return False
            node = node[index]
        else:
            return False
    return True


@dataclass
class MissingFields:
    """For each item path some rows lack: how many rows, and the first lines that lack it.

    One per file; chunks of a file fill their own and `merge` joins them in any order (it keeps
    the smallest line numbers). Plain dicts and lists, so it pickles."""

    counts: dict[Path, int] = field(default_factory=dict)
    lines: dict[Path, list[int]] = field(default_factory=dict)

    def add(self, line: int, missing: Sequence[Path]) -> None:
        for path in missing:
            self.counts[path] = self.counts.get(path, 0) + 1
            shown = self.lines.setdefault(path, [])
            if len(shown) < _SHOWN_LINES:
                shown.append(line)

    def merge(self, other: MissingFields) -> MissingFields:
        """Add `other`'s counts and lines to this one (in place) and return it."""
        for path, count in other.counts.items():
            self.counts[path] = self.counts.get(path, 0) + count
            lines = sorted({*self.lines.get(path, ()), *other.lines.get(path, ())})
            self.lines[path] = lines[:_SHOWN_LINES]
        return self

    def __bool__(self) -> bool:
        return bool(self.counts)

    def problems(self) -> list[Problem]:
        """One problem per missing path, in order of its first line."""
        order = sorted(self.counts, key=lambda path: self.lines[path][:1])
        return [Problem(("item", *path), self._rule(path)) for path in order]

    def render(self, file: str) -> list[str]:
        """`training.jsonl: item.answer.text: missing in 37 rows (lines 4, 9, 12, 15, 20, ...)`."""
        return [problem.render(file) for problem in self.problems()]

    def _rule(self, path: Path) -> str:
        count, lines = self.counts[path], self.lines[path]
        shown = ", ".join(map(str, lines)) + (", ..." if count > len(lines) else "")
        if count == 1:
            return f"missing in 1 row (line {shown})"
        return f"missing in {count:,} rows (lines {shown})"
