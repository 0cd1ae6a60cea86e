"""Shared helpers of the sweep tests: sweep texts with known lines, and loaders.

The helpers are plain functions (imported by the test modules) and fixtures that write a sweep
text to `tmp_path` and load it, so error messages name a real file.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ftsweep.errors import Problem, SweepFileError
from ftsweep.sweep import Sweep, load_sweep, loads_sweep

MODEL = "gpt-4.1-mini-2025-04-14"

#: A valid reinforcement grader (a multi grader keyed by name) and response format.
STRING_CHECK = {
    "type": "string_check",
    "name": "accuracy",
    "input": "{{ sample.output_text }}",
    "reference": "{{ item.answer }}",
    "operation": "eq",
}
TEXT_SIMILARITY = {
    "type": "text_similarity",
    "name": "style",
    "input": "{{ sample.output_text }}",
    "reference": "{{ item.reference_answer }}",
    "evaluation_metric": "fuzzy_match",
}
MULTI_GRADER = {
    "type": "multi",
    "name": "combined",
    "graders": {"accuracy": STRING_CHECK, "style": TEXT_SIMILARITY},
    "calculate_output": "0.7 * accuracy + 0.3 * style",
}
RESPONSE_FORMAT = {
    "type": "json_schema",
    "json_schema": {
        "name": "answer_v1",
        "schema": {
            "type": "object",
            "properties": {"answer": {"type": "string"}},
            "required": ["answer"],
            "additionalProperties": False,
        },
        "strict": True,
    },
}

GRADER_YAML = """\
grader:
  type: string_check
  name: exact
  input: "{{ sample.output_text }}"
  reference: "{{ item.answer }}"
  operation: eq
"""


def sweep_yaml(
    method: str = "supervised",
    space: str = "  n_epochs: [1, 2]\n",
    rest: str = "",
    *,
    name: str = "t",
    grader: bool = True,
    validation_file: bool = True,
) -> str:
    """A sweep file in YAML: the header, `space:` with the given lines, then `rest`.

    Reinforcement sweeps get a validation file and a grader unless asked not to.
    """
    head = f"name: {name}\nmethod: {method}\nmodel: {MODEL}\ntraining_file: file-train\n"
    if method == "reinforcement" and validation_file:
        head += "validation_file: file-valid\n"
    tail = GRADER_YAML if method == "reinforcement" and grader else ""
    return head + "space:\n" + space + rest + tail


def line_of(text: str, needle: str, start: int = 1) -> int:
    """The 1-based number of the first line at or after `start` that contains `needle`."""
    for number, line in enumerate(text.splitlines(), start=1):
        if number >= start and needle in line:
            return number
    raise AssertionError(f"{needle!r} is not in the text")


def problems_of(text: str, format: str = "yaml") -> tuple[Problem, ...]:
    """The problems a sweep text is refused with (fails the test when it loads)."""
    with pytest.raises(SweepFileError) as exc:
        loads_sweep(text, format)
    return exc.value.problems


def by_path(problems: tuple[Problem, ...]) -> dict[str, Problem]:
    return {p.path: p for p in problems}


def walk(node: Any) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every (path, value) of nested dicts and lists, the containers included."""
    stack: list[tuple[tuple[Any, ...], Any]] = [((), node)]
    while stack:
        path, value = stack.pop()
        yield path, value
        if isinstance(value, dict):
            stack += [((*path, k), v) for k, v in value.items()]
        elif isinstance(value, list):
            stack += [((*path, i), v) for i, v in enumerate(value)]


def canonical(body: dict[str, Any]) -> str:
    """JSON text that tells 3 from 3.0 and ignores key order."""
    return json.dumps(body, sort_keys=True)


@pytest.fixture
def write_sweep(tmp_path: Path) -> Callable[..., Path]:
    """Write a sweep text to a file in tmp_path and return its path."""

    def write(text: str, suffix: str = ".yaml", stem: str = "sweep") -> Path:
        path = tmp_path / f"{stem}{suffix}"
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def load(write_sweep: Callable[..., Path]) -> Callable[..., Sweep]:
    """Write a sweep text to a file and load it from there."""

    def load_text(text: str, suffix: str = ".yaml") -> Sweep:
        return load_sweep(write_sweep(text, suffix))

    return load_text
