"""Read a sweep file (YAML, TOML or JSON) into plain data, keeping where each value was written.

`read_document` returns the data and a `Positions` map from field paths to (line, column), so
errors found later can point at the line a person wrote. Syntax errors become a SweepFileError
naming the line and column, and so do the limits that keep a hostile file cheap to refuse: at
most MAX_FILE_BYTES of text, YAML aliases that expand to at most MAX_ALIAS_VALUES values (an
"alias bomb" of a few hundred bytes would otherwise expand to billions), no recursive alias, and
no key twice in one mapping (YAML and JSON would silently keep the last; TOML refuses it itself).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from ftsweep.errors import Problem, SweepFileError

__all__ = ["MAX_ALIAS_VALUES", "MAX_FILE_BYTES", "Positions", "parse_document", "read_document"]

Loc = tuple[str | int, ...]
MAX_FILE_BYTES = 1024 * 1024
MAX_ALIAS_VALUES = 10_000


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


class _Resolver(yaml.SafeLoader):
    """YAML 1.1 reads `1e-5` as a string; sweep files mean a number, as YAML 1.2 does."""


_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)
_Resolver.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:float"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Resolver.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))


def _at(mark: yaml.Mark) -> tuple[int, int]:
    return mark.line + 1, mark.column + 1


def _refuse(file: str, message: str, mark: yaml.Mark | None = None) -> SweepFileError:
    line, column = _at(mark) if mark is not None else (None, None)
    return SweepFileError(file, [Problem((), message, line=line, column=column)])


class _Loader(_Resolver):
    """Records where each alias was written, so that their expansion can be counted."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.aliases: list[tuple[yaml.Node, yaml.Mark]] = []
        self.list_aliases: dict[tuple[int, int], yaml.Mark] = {}  # (list, index): alias mark

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        alias = self.check_event(yaml.AliasEvent)
        mark = self.peek_event().start_mark if alias else None  # type: ignore[no-untyped-call]
        node = super().compose_node(parent, index)
        if mark is not None and node is not None:
            self.aliases.append((node, mark))
            if isinstance(parent, yaml.SequenceNode):
                self.list_aliases[id(parent), index] = mark
        return node


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [child for pair in node.value for child in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


class _Recursive(Exception):
    def __init__(self, node: yaml.Node) -> None:
        self.node = node


def _sizes(root: yaml.Node) -> dict[int, int]:
    """How many values each node expands to, aliases followed, each node counted once."""
    sizes: dict[int, int] = {}
    open_: set[int] = set()

    def size(node: yaml.Node) -> int:
        if id(node) in sizes:
            return sizes[id(node)]
        if id(node) in open_:
            raise _Recursive(node)
        open_.add(id(node))
        sizes[id(node)] = 1 + sum(size(child) for child in _children(node))
        open_.discard(id(node))
        return sizes[id(node)]

    size(root)
    return sizes


def _check_aliases(root: yaml.Node, loader: _Loader, file: str) -> None:
    """Refuse an alias inside its own anchor, and aliases that expand past MAX_ALIAS_VALUES."""
    if not loader.aliases:
        return
    try:
        sizes = _sizes(root)
    except _Recursive as exc:
        mark = next(m for n, m in loader.aliases if n is exc.node)
        rule = "an alias cannot refer to its own anchor (a recursive alias)"
        raise _refuse(file, rule, mark) from None
    expanded = 0
    for node, mark in loader.aliases:
        expanded += sizes[id(node)]
        if expanded > MAX_ALIAS_VALUES:
            rule = f"aliases expand to more than {MAX_ALIAS_VALUES} values; write them out instead"
            raise _refuse(file, rule, mark)


class _Walk:
    """One pass over the node graph, each node once: positions of paths and duplicate keys."""

    def __init__(self, list_aliases: dict[tuple[int, int], yaml.Mark]) -> None:
        self.marks: dict[Loc, tuple[int, int]] = {}
        self._list_aliases = list_aliases
        self.duplicates: list[Problem] = []
        self._seen: set[int] = set()

    def node(self, node: yaml.Node, loc: Loc) -> None:
        self.marks[loc] = _at(node.start_mark)
        if id(node) in self._seen:
            return  # an alias: its values were walked where its anchor is
        self._seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            self._mapping(node, loc)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self.node(item, (*loc, index))
                if mark := self._list_aliases.get((id(node), index)):
                    self.marks[(*loc, index)] = _at(mark)

    def _mapping(self, node: yaml.MappingNode, loc: Loc) -> None:
        first: dict[tuple[str, str], yaml.Mark] = {}
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                continue
            where = (*loc, key.value)
            self.node(value, where)
            self.marks[where] = _at(key.start_mark)
            ident = (key.tag, key.value)
            if ident in first and key.tag != "tag:yaml.org,2002:merge":
                line, column = _at(key.start_mark)
                rule = f"duplicate key {key.value!r} (first at line {first[ident].line + 1})"
                self.duplicates.append(Problem(where, rule, line=line, column=column))
            first.setdefault(ident, key.start_mark)


def _parse_yaml(text: str, file: str) -> tuple[Any, Positions]:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, Positions()
        _check_aliases(node, loader, file)
        walk = _Walk(loader.list_aliases)
        walk.node(node, ())  # before construction, which merges `<<` keys into the mappings
        if walk.duplicates:
            raise SweepFileError(file, walk.duplicates)
        return loader.construct_document(node), Positions(walk.marks)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = f"{exc.context + ', ' if exc.context else ''}{exc.problem or 'invalid YAML'}"
        raise _refuse(file, f"YAML syntax: {reason}", mark) from None
    except yaml.YAMLError as exc:
        raise SweepFileError(file, [Problem((), f"YAML syntax: {exc}")]) from None
    finally:
        loader.dispose()


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


class _Duplicated(Exception):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len({key for key, _ in pairs}) != len(pairs):
        raise _Duplicated
    return dict(pairs)


def _parse_json(text: str, file: str) -> Any:
    import json

    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        problem = Problem((), f"JSON syntax: {exc.msg}", line=exc.lineno, column=exc.colno)
        raise SweepFileError(file, [problem]) from None
    except _Duplicated:
        raise SweepFileError(file, _json_duplicates(text)) from None


_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\],:]')


class _Frame:
    """An open JSON container: the keys its object has shown, and where in it the scan is."""

    def __init__(self, is_object: bool) -> None:
        self.keys: dict[str, int] | None = {} if is_object else None
        self.at: str | int = 0


def _json_duplicates(text: str) -> list[Problem]:
    """Every repeated key of a valid JSON text, at its line and column, with its path."""
    import json

    frames: list[_Frame] = []
    expect_key, problems = False, []
    for match in _JSON_TOKEN.finditer(text):
        token = match[0]
        if token in ("{", "["):
            frames.append(_Frame(token == "{"))
            expect_key = token == "{"
        elif token in ("}", "]"):
            frames.pop()
        elif token == ",":
            top = frames[-1]
            expect_key = top.keys is not None
            if top.keys is None:
                top.at = int(top.at) + 1
        elif token.startswith('"') and expect_key:
            problems += _json_key(json.loads(token), frames, text, match.start())
            expect_key = False
    return problems


def _json_key(key: str, frames: list[_Frame], text: str, offset: int) -> list[Problem]:
    top = frames[-1]
    assert top.keys is not None
    top.at = key
    line = text.count("\n", 0, offset) + 1
    if key not in top.keys:
        top.keys[key] = line
        return []
    loc = tuple(frame.at for frame in frames)
    rule = f"duplicate key {key!r} (first at line {top.keys[key]})"
    return [Problem(loc, rule, line=line, column=offset - text.rfind("\n", 0, offset))]


def _too_big(size: int, file: str) -> SweepFileError:
    rule = f"the file is {size} bytes; a sweep file may be at most {MAX_FILE_BYTES} (1 MiB)"
    return SweepFileError(file, [Problem((), rule)])


def parse_document(text: str, file: str, suffix: str) -> tuple[Any, Positions]:
    """Parse `text` as the format its file `suffix` names (`.yaml`/`.yml`, `.toml`, `.json`)."""
    if len(text) > MAX_FILE_BYTES and (size := len(text.encode("utf-8"))) > MAX_FILE_BYTES:
        raise _too_big(size, file)
    try:
        if suffix in (".yaml", ".yml"):
            return _parse_yaml(text, file)
        if suffix == ".toml":
            return _parse_toml(text, file), Positions()
        if suffix == ".json":
            return _parse_json(text, file), Positions()
    except RecursionError:
        raise SweepFileError(file, [Problem((), "values are nested too deeply")]) from None
    rule = "a sweep file must end in .yaml, .yml, .toml or .json"
    raise SweepFileError(file, [Problem((), rule, value=suffix)])


def read_document(path: str | Path) -> tuple[Any, Positions]:
    """Read and parse a sweep file; a missing, unreadable or too big file is a SweepFileError."""
    path = Path(path)
    try:
        if (size := path.stat().st_size) > MAX_FILE_BYTES:
            raise _too_big(size, str(path))
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SweepFileError(str(path), [Problem((), "no such file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SweepFileError(str(path), [Problem((), f"cannot be read: {exc}")]) from None
    return parse_document(text, str(path), path.suffix.lower())
