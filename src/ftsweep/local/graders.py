"""TRL reward functions built from the graders of reinforcement fine-tuning.

`reward_functions(grader)` turns the grader of a `reinforcement` method into reward functions
for TRL's GRPOTrainer. Each is called `f(prompts, completions, **columns)`: `completions` are
strings or conversational lists (`[{"role": "assistant", "content": "..."}]`), every other column
of the dataset arrives as a list aligned with them, and it returns one float a completion. It is
named by the grader's `name`, since TRL logs rewards by `__name__`.

What templates read
    `{{ sample.output_text }}` is the completion's text, `{{ sample.output_json }}` its JSON
    parse (absent when the text is not JSON), `{{ sample.output_tools }}` the tool calls of a
    conversational completion. `{{ item.x }}` is column `x` of the row (TRL's own arguments,
    `completion_ids`, `trainer_state`, `log_extra` and `log_metric`, are not columns);
    `{{ item.a.b }}` and `{{ item.a[0] }}` reach inside. A value that is not a string is
    written as JSON (`42`, `true`, `{"a": 1}`).

Nothing here stops a training run
    A template that reads a field the row or sample lacks scores that sample 0.0; so does a
    metric, judge or python grader that fails on it, and a formula undefined for it. Each such
    sample is counted in `Problems`, by grader and kind, and logged (a warning the first time).
    What stops a run is only what no sample can fix, and that is raised when the functions are
    built: a grader needing settings that are not given, or a library that is not installed.

The scores
    string_check      eq, ne, like (contains), ilike (contains, case folded): 1.0 or 0.0
    text_similarity   in [0, 1]; `ftsweep.local.similarity` names the library of each metric
    multi             `calculate_output` over the graders' scores (`ftsweep.local.formula`)
    score_model, label_model   a judge model (`ftsweep.local.judge`)
    python            `grade(sample, item)` in a subprocess per batch (`ftsweep.local.pygrader`)

A multi grader gives one function, not one per grader: TRL adds the rewards of its functions,
so sub-graders as functions of their own would change the reward (or, weighted 0, ask a judge
twice for each sample only to be logged).
"""

from __future__ import annotations

import json
import logging
import operator
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from ftsweep.api.graders import (
    AnyGrader,
    LabelModelGrader,
    MultiGrader,
    PythonGrader,
    ScoreModelGrader,
    StringCheckGrader,
    TextSimilarityGrader,
    parse_grader,
)

# The template pattern of the checker, private to it, so rendering finds what checking found.
from ftsweep.api.templates import _TEMPLATE
from ftsweep.local.formula import Formula, UndefinedError
from ftsweep.local.similarity import require, similarity

if TYPE_CHECKING:
    from ftsweep.local.judge import JudgeSettings

__all__ = [
    "MissingField",
    "Problems",
    "RewardFunction",
    "items_of",
    "render",
    "reward_functions",
    "sample_of",
]

_log = logging.getLogger(__name__)

Sample = Mapping[str, Any]
Item = Mapping[str, Any]
Scorer = Callable[[Sequence[Sample], Sequence[Item]], list[float]]
"""Scores a batch: one float for each (sample, item) pair."""
Report = Callable[[str, str], None]
"""Counts one sample scored 0.0: (kind, detail)."""


class Problems:
    """The samples scored 0.0 because something failed, counted by grader and kind.

    Kinds: `template` (a field the row or sample lacks), `metric` (a similarity library failed),
    `formula` (calculate_output undefined), `judge` and `python`. A sub-grader of a multi grader
    counts as `multi_name.key`. Thread-safe. The first problem of each grader and kind is logged
    as a warning on the `ftsweep.local.graders` logger, later ones at debug level.
    """

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def add(self, grader: str, kind: str, detail: str) -> None:
        with self._lock:
            self._counts[grader, kind] += 1
            first = self._counts[grader, kind] == 1
        level = logging.WARNING if first else logging.DEBUG
        _log.log(level, "grader %r scored a sample 0.0 (%s): %s", grader, kind, detail)

    def reporter(self, grader: str) -> Report:
        """A `Report` that counts under `grader`."""
        return partial(self.add, grader)

    @property
    def counts(self) -> dict[tuple[str, str], int]:
        """{(grader, kind): samples}."""
        with self._lock:
            return dict(self._counts)

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())


# --- samples, items and templates ------------------------------------------------------------

_TRL_ARGUMENTS = frozenset({"completion_ids", "trainer_state", "log_extra", "log_metric"})
_ABSENT = object()
_STEP = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


def _text(content: object) -> str:
    """The text of a message's content: a string, or the text parts of a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = (part.get("text") for part in content if isinstance(part, Mapping))
        return "".join(text for text in texts if isinstance(text, str))
    return "" if content is None else str(content)


def sample_of(completion: object) -> dict[str, Any]:
    """The `sample` a grader reads for one TRL completion (a string or a list of messages)."""
    if isinstance(completion, list):
        messages = [message for message in completion if isinstance(message, Mapping)]
    else:
        messages = [{"role": "assistant", "content": completion}]
    text = "".join(_text(message.get("content")) for message in messages)
    calls = [message.get("tool_calls") for message in messages]
    sample: dict[str, Any] = {
        "output_text": text,
        "output_tools": [call for some in calls if isinstance(some, list) for call in some],
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}}],
    }
    try:
        sample["output_json"] = json.loads(text)
    except (ValueError, RecursionError):
        pass  # not JSON: `sample.output_json` is absent
    return sample


def items_of(columns: Mapping[str, Any], count: int) -> list[dict[str, Any]]:
    """The `item` of each of `count` completions: the dataset columns TRL passed, row by row.

    A keyword that is one of TRL's own arguments, or not a list of `count` values, is no column.
    """
    aligned = {
        name: values
        for name, values in columns.items()
        if name not in _TRL_ARGUMENTS and isinstance(values, list | tuple) and len(values) == count
    }
    return [{name: values[row] for name, values in aligned.items()} for row in range(count)]


class MissingField(LookupError):
    """A template reads a field that the row or the sample lacks."""


def _step(value: object, key: str) -> object:
    if isinstance(value, Mapping):
        return value.get(key, _ABSENT)
    if isinstance(value, list | tuple) and key.isdigit() and int(key) < len(value):
        return value[int(key)]
    return _ABSENT


def _lookup(reference: str, sample: Sample, item: Item) -> object:
    value: object = {"sample": sample, "item": item}
    path: list[str] = []
    for index, key in _STEP.findall(reference):
        value = _step(value, index or key)
        if value is _ABSENT:
            raise MissingField(f"'{{{{ {reference} }}}}': {'.'.join(path)} has no {index or key!r}")
        path.append(index or key)
    return value


def _written(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def render(text: str, sample: Sample, item: Item) -> str:
    """`text` with each `{{ ... }}` replaced by what it reads; MissingField if that is absent."""
    return _TEMPLATE.sub(lambda found: _written(_lookup(found[1], sample, item)), text)


# --- the graders -------------------------------------------------------------------------------

_OPERATIONS: dict[str, Callable[[str, str], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "like": lambda text, reference: reference in text,
    "ilike": lambda text, reference: reference.casefold() in text.casefold(),
}


def _string_check(grader: StringCheckGrader, sample: Sample, item: Item) -> float:
    text, reference = render(grader.input, sample, item), render(grader.reference, sample, item)
    return 1.0 if _OPERATIONS[grader.operation](text, reference) else 0.0


def _text_similarity(
    grader: TextSimilarityGrader, report: Report, sample: Sample, item: Item
) -> float:
    text, reference = render(grader.input, sample, item), render(grader.reference, sample, item)
    try:
        return similarity(grader.evaluation_metric, text, reference)
    except Exception as exc:  # a library on arbitrary text: one sample fails, not the run
        report("metric", f"{grader.evaluation_metric}: {type(exc).__name__}: {exc}")
        return 0.0


def _per_sample(score: Callable[[Sample, Item], float], report: Report) -> Scorer:
    def scorer(samples: Sequence[Sample], items: Sequence[Item]) -> list[float]:
        pairs = zip(samples, items, strict=True)
        return [_rendered(score, sample, item, report) for sample, item in pairs]

    return scorer


def _rendered(
    score: Callable[[Sample, Item], float], sample: Sample, item: Item, report: Report
) -> float:
    try:
        return score(sample, item)
    except MissingField as exc:
        report("template", str(exc))
        return 0.0


# --- multi -----------------------------------------------------------------------------------


def _evaluated(formula: Formula, scores: Mapping[str, float], report: Report) -> float:
    try:
        return formula.evaluate(scores)
    except UndefinedError as exc:
        report("formula", str(exc))
        return 0.0


def _multi(grader: MultiGrader, parts: Mapping[str, Scorer], report: Report) -> Scorer:
    formula = Formula(grader.calculate_output, grader.graders)

    def scorer(samples: Sequence[Sample], items: Sequence[Item]) -> list[float]:
        columns = {name: part(samples, items) for name, part in parts.items()}
        rows = [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]
        return [_evaluated(formula, row, report) for row in rows]

    return scorer


# --- reward functions ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Options:
    judge: JudgeSettings | None
    python_timeout: float
    problems: Problems


def _scorer(name: str, grader: AnyGrader, options: _Options) -> Scorer:
    report = options.problems.reporter(name)
    if isinstance(grader, StringCheckGrader):
        return _per_sample(partial(_string_check, grader), report)
    if isinstance(grader, TextSimilarityGrader):
        require(grader.evaluation_metric)
        return _per_sample(partial(_text_similarity, grader, report), report)
    if isinstance(grader, MultiGrader):
        parts = {key: _scorer(f"{name}.{key}", sub, options) for key, sub in grader.graders.items()}
        return _multi(grader, parts, report)
    if isinstance(grader, PythonGrader):
        from ftsweep.local.pygrader import python_scorer

        return python_scorer(grader.source, options.python_timeout, report)
    from ftsweep.local.judge import judge_scorer

    assert options.judge is not None  # _refuse_unset saw to it
    return judge_scorer(grader, options.judge, report)


def _names(graders: Iterable[AnyGrader], kinds: tuple[type[BaseModel], ...]) -> str:
    return ", ".join(repr(grader.name) for grader in graders if isinstance(grader, kinds))


def _refuse_unset(grader: AnyGrader, judge: object, allow_python_grader: bool) -> None:
    """Raise ValueError if the grader needs a judge or the python opt-in and lacks it."""
    leaves = list(grader.graders.values()) if isinstance(grader, MultiGrader) else [grader]
    judged = _names(leaves, (ScoreModelGrader, LabelModelGrader))
    if judged and judge is None:
        raise ValueError(
            f"grader {judged} asks a model for its score; to run it on this machine,"
            " set service.judge: {base_url: ..., model: ...} (an OpenAI-compatible endpoint)"
        )
    python = _names(leaves, (PythonGrader,))
    if python and not allow_python_grader:
        raise ValueError(
            f"grader {python} is python whose source would run on this machine with your"
            " rights; set service.allow_python_grader: true to allow that"
        )


class RewardFunction:
    """A TRL reward function, `f(prompts, completions, **columns) -> list[float]`.

    Named (`__name__`) by its grader; `problems` counts the samples it scored 0.0 for a failure.
    """

    __name__: str

    def __init__(self, name: str, scorer: Scorer, problems: Problems) -> None:
        self.__name__ = name
        self.problems = problems
        self._scorer = scorer

    def __call__(
        self, prompts: Sequence[Any] | None = None, completions: Sequence[Any] = (), **columns: Any
    ) -> list[float]:
        samples = [sample_of(completion) for completion in completions]
        return self._scorer(samples, items_of(columns, len(samples)))

    def __repr__(self) -> str:
        return f"RewardFunction({self.__name__!r})"


def reward_functions(
    grader: Mapping[str, Any] | AnyGrader,
    *,
    judge: JudgeSettings | None = None,
    allow_python_grader: bool = False,
    python_timeout: float = 10.0,
    problems: Problems | None = None,
) -> list[RewardFunction]:
    """TRL reward functions for a reinforcement grader (a dict, or a parsed grader model).

    A model grader needs `judge`, a python grader `allow_python_grader=True` (it then has
    `python_timeout` seconds a batch); otherwise, and for a grader that `parse_grader` refuses,
    ValueError. Samples scored 0.0 for a failure are counted in `problems` (a new one if None).
    A multi grader gives one function (see the module docstring); so does every grader today,
    and the list leaves room for more.
    """
    parsed = grader if isinstance(grader, BaseModel) else parse_grader(grader)
    if not python_timeout > 0:
        raise ValueError(f"python_timeout must be > 0 seconds, got {python_timeout}")
    _refuse_unset(parsed, judge, allow_python_grader)
    options = _Options(judge, python_timeout, problems if problems is not None else Problems())
    scorer = _scorer(parsed.name, parsed, options)
    return [RewardFunction(parsed.name, scorer, options.problems)]
