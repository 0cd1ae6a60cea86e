"""Whether a JSON schema defines a path: what `{{ sample.output_json.<path> }}` may read.

A name steps through `properties` (or a schema-valued `additionalProperties`), an index or a
digit name through `items` / `prefixItems`; `$ref` to `#/...` (so `$defs` and `definitions`)
is followed; under `anyOf`, `oneOf` and `allOf` a path exists when it exists in any branch (the
output may take that branch). Recursive schemas are fine: each step looks one level down, and
`$ref` chains are cut after a fixed depth.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

__all__ = ["schema_has_path"]

_MAX_REFS = 32
_MAX_FRONTIER = 256
_BRANCHES = ("anyOf", "oneOf", "allOf")


def schema_has_path(schema: Mapping[str, Any], path: Sequence[str | int]) -> bool:
    """True when an output valid against `schema` can have a value at `path`."""
    frontier: list[object] = [schema]
    for part in path:
        frontier = [
            child
            for node in frontier
            for branch in _branches(node, schema, 0)
            for child in _children(branch, part)
        ][:_MAX_FRONTIER]
        if not frontier:
            return False
    return True


def _branches(node: object, root: Mapping[str, Any], depth: int) -> Iterator[Mapping[str, Any]]:
    """The node and every schema it stands for through $ref and the combinators."""
    if not isinstance(node, Mapping) or depth > _MAX_REFS:
        return
    yield node
    ref = node.get("$ref")
    if isinstance(ref, str):
        yield from _branches(_resolve(root, ref), root, depth + 1)
    for key in _BRANCHES:
        subs = node.get(key)
        if isinstance(subs, list):
            for sub in subs:
                yield from _branches(sub, root, depth + 1)


def _resolve(root: Mapping[str, Any], ref: str) -> object:
    """A local reference (`#`, `#/$defs/x`); None for anything else."""
    if not ref.startswith("#"):
        return None
    node: object = root
    for token in filter(None, ref[1:].split("/")):
        key = token.replace("~1", "/").replace("~0", "~")
        node = node.get(key) if isinstance(node, Mapping) else None
    return node


def _children(node: Mapping[str, Any], part: str | int) -> list[object]:
    found: list[object] = []
    properties = node.get("properties")
    if isinstance(part, str) and isinstance(properties, Mapping) and part in properties:
        found.append(properties[part])
    elif isinstance(part, str) and isinstance(node.get("additionalProperties"), Mapping):
        found.append(node["additionalProperties"])
    index = part if isinstance(part, int) else int(part) if part.isdecimal() else None
    if index is not None:
        found += _items(node, index)
    return found


def _items(node: Mapping[str, Any], index: int) -> list[object]:
    prefix = node.get("prefixItems")
    if isinstance(prefix, list) and index < len(prefix):
        return [prefix[index]]
    items = node.get("items")
    if isinstance(items, list):  # the draft-07 tuple form
        return [items[index]] if index < len(items) else []
    return [items] if isinstance(items, Mapping) else []
