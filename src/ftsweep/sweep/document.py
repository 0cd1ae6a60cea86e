"""Read a sweep file (YAML, TOML or JSON) into plain data, keeping where each value was written.

`read_document` returns the data and a `Positions` map from field paths to (line, column), so
errors found later can point at the line a person wrote. Syntax errors become a SweepFileError
naming the line and column.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from ftsweep.errors import Problem, SweepFileError

__all__ = ["Positions", "parse_document", "read_document"]

Loc = tuple[str | int, ...]


class Positions:
    """Line and column (1-based) of each field path that a YAML document spelled out."""

    def __init__(self, marks: dict[Loc, tuple[int, int]] | None = None) -> None:
        self._marks = marks or {}

    def locate(self, problem: Problem) -> Problem:
        """The problem with the line and column of its path, or of its nearest written parent."""
        loc = problem.loc
        while loc:
            if loc in self._marks:
                line, column = self._marks[loc]
                return Problem(problem.loc, problem.message, problem.value, line, column)
            loc = loc[:-1]
        return problem


class _Loader(yaml.SafeLoader):
    """YAML 1.1 reads `1e-5` as a string; sweep files mean a number, as YAML 1.2 does."""


_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)
_Loader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:float"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))


def _marks(node: yaml.Node, loc: Loc, out: dict[Loc, tuple[int, int]]) -> None:
    out[loc] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                _marks(value, (*loc, key.value), out)
                out[(*loc, key.value)] = (key.start_mark.line + 1, key.start_mark.column + 1)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _marks(item, (*loc, index), out)


def _parse_yaml(text: str, file: str) -> tuple[Any, Positions]:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, Positions()
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        reason = f"{exc.context + ', ' if exc.context else ''}{exc.problem or 'invalid YAML'}"
        raise SweepFileError(
            file, [Problem((), f"YAML syntax: {reason}", line=line, column=column)]
        ) from None
    except yaml.YAMLError as exc:
        raise SweepFileError(file, [Problem((), f"YAML syntax: {exc}")]) from None
    finally:
        loader.dispose()
    marks: dict[Loc, tuple[int, int]] = {}
    _marks(node, (), marks)
    return data, Positions(marks)


def _parse_toml(text: str, file: str) -> Any:
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line, column = (int(found[1]), int(found[2])) if found else (None, None)
        message = re.sub(r"\s*\(at line .*\)$", "", str(exc))
        raise SweepFileError(
            file, [Problem((), f"TOML syntax: {message}", line=line, column=column)]
        ) from None


def _parse_json(text: str, file: str) -> Any:
    import json

    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        problem = Problem((), f"JSON syntax: {exc.msg}", line=exc.lineno, column=exc.colno)
        raise SweepFileError(file, [problem]) from None


def parse_document(text: str, file: str, suffix: str) -> tuple[Any, Positions]:
    """Parse `text` as the format its file `suffix` names (`.yaml`/`.yml`, `.toml`, `.json`)."""
    if suffix in (".yaml", ".yml"):
        return _parse_yaml(text, file)
    if suffix == ".toml":
        return _parse_toml(text, file), Positions()
    if suffix == ".json":
        return _parse_json(text, file), Positions()
    rule = "a sweep file must end in .yaml, .yml, .toml or .json"
    raise SweepFileError(file, [Problem((), rule, value=suffix)])


def read_document(path: str | Path) -> tuple[Any, Positions]:
    """Read and parse a sweep file; a missing or unreadable file is a SweepFileError too."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SweepFileError(str(path), [Problem((), "no such file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SweepFileError(str(path), [Problem((), f"cannot be read: {exc}")]) from None
    return parse_document(text, str(path), path.suffix.lower())
